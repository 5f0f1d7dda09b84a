"""The http channel against a real HTTP server on 127.0.0.1: success, error status, timeout."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from backend.errors import DeliveryError

from .conftest import add_member


class Gateway:
    def __init__(self):
        self.received = []
        self.status = 200
        self.delay = 0.0
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(gateway.delay)
                gateway.received.append((self.headers.get("Authorization"), json.loads(body)))
                self.send_response(gateway.status)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/sms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway():
    g = Gateway()
    yield g
    g.close()


@pytest.fixture
def http_backend(make_backend, gateway):
    return make_backend(otp_channel="http", sms_gateway_url=gateway.url, sms_gateway_token="secreto",
                        sms_timeout_seconds=0.5)


def challenges(backend):
    return backend.db.conn.execute("SELECT COUNT(*) FROM otp_challenges").fetchone()[0]


def test_message_is_posted_to_the_gateway(http_backend, gateway):
    member, _ = add_member(http_backend, cedula="1104680135", mobile="0991234678")
    ch = http_backend.otp.issue(member, "transferencia", {"amount": 1}, "t")
    auth, payload = gateway.received[-1]
    assert auth == "Bearer secreto"
    assert payload["to"] == "0991234678" and "código de seguridad" in payload["message"]
    assert challenges(http_backend) == 1 and ch.masked_phone == "09*****678"
    assert http_backend.outbox() == []  # nothing went to the embedded outbox


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
