"""The http channel against a real HTTP server on 127.0.0.1: success, error status, timeout."""

import time

import pytest

from backend.core.errors import DeliveryError
from tests.conftest import add_member
from tests.local_http import LocalServer


class Gateway:
    """An SMS gateway whose status and delay the test sets."""

    def __init__(self):
        self.status, self.delay = 200, 0.0
        self.server = LocalServer(self._respond, "/sms")
        self.url = self.server.url

    def _respond(self, headers, body):
        time.sleep(self.delay)
        return self.status, None

    @property
    def received(self):
        return [(headers.get("Authorization"), body) for headers, body in self.server.requests]


@pytest.fixture
def gateway():
    g = Gateway()
    yield g
    g.server.close()


@pytest.fixture
def http_backend(make_backend, gateway):
    return make_backend(otp_channel="http", sms_gateway_url=gateway.url, sms_gateway_token="secreto",
                        sms_timeout_seconds=0.5)


def challenges(backend):
    return backend.db.conn.execute("SELECT COUNT(*) FROM otp_challenges").fetchone()[0]


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_message_is_posted_to_the_gateway(http_backend, gateway):
    member, _ = add_member(http_backend, cedula="1104680135", mobile="0991234678")
    ch = http_backend.otp.issue(member, "transferencia", {"amount": 1}, "t")
    auth, payload = gateway.received[-1]
    assert auth == "Bearer secreto"
    assert payload["to"] == "0991234678" and "código de seguridad" in payload["message"]
    assert challenges(http_backend) == 1 and ch.masked_phone == "09*****678"
    assert http_backend.outbox() == []  # nothing went to the embedded outbox


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_error_status_changes_nothing(http_backend, gateway):
    member, _ = add_member(http_backend, cedula="1104680135")
    gateway.status = 503
    with pytest.raises(DeliveryError) as err:
        http_backend.otp.issue(member, "transferencia", {"amount": 1}, "t")
    assert "503" in err.value.message
    assert challenges(http_backend) == 0


def test_timeout_changes_nothing(http_backend, gateway):
    member, _ = add_member(http_backend, cedula="1104680135")
    gateway.delay = 1.5
    with pytest.raises(DeliveryError) as err:
        http_backend.otp.issue(member, "transferencia", {"amount": 1}, "t")
    assert "no respondió a tiempo" in err.value.message
    assert challenges(http_backend) == 0
    outcome = http_backend.db.conn.execute(
        "SELECT outcome FROM audit_log WHERE action = 'otp.enviar' ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert outcome == "error_envio"
