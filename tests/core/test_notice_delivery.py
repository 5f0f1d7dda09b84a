"""Transactional outbox: notices commit with their booking; the delivery worker sends them afterwards."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.local_http import LocalServer
from tests.transfer_helpers import demo_member
from tests.transfers.test_clearing import send

ROOT = Path(__file__).resolve().parents[2]


def notices(backend):
    return backend.db.conn.execute("SELECT id, status, channel, attempts, body FROM outbox"
                                   " WHERE body LIKE '%fue devuelta%' ORDER BY id").fetchall()


def test_a_crash_after_the_return_cannot_lose_its_sms(db_path, backend, clock):
    """The process dies (kill -9) the moment anything tries to send: the SMS is already in the outbox."""
    who = demo_member(backend)
    ref = send(backend, who, "22001299").reference
    script = textwrap.dedent("""
        import os, sys
        from datetime import datetime
        from backend.core.clock import FixedClock
        from backend.service import Backend
        from backend.core.settings import Settings

        class Dies:
            name = "http"
            def send(self, *args):
                os._exit(9)

        backend = Backend(sys.argv[1], Settings(scrypt_log_n=8), FixedClock(datetime(2026, 11, 25, 10, 5)))
        backend.ctx.channel = Dies()
        print(backend.clearing.settle().returned, flush=True)
    """)
    out = subprocess.run([sys.executable, "-c", script, str(db_path)], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip() == "1", out.stderr
    assert backend.transfers.history(who.token)[0].state == "Devuelta"
    [(_, status, _, _, body)] = notices(backend)
    assert status == "pendiente" and ref in body
    assert backend.notices.deliver().sent == 1  # the outbox channel: stored is delivered
    assert notices(backend)[0][1] == "enviado"


class Gateway:
    def __init__(self):
        self.status = 200
        self.server = LocalServer(lambda headers, body: (self.status, None), "/sms")


@pytest.fixture
def gateway():
    g = Gateway()
    yield g
    g.server.close()


def returned_via_http(make_backend, clock, gateway, **overrides):
    """A returned transfer (its code read from the outbox), then a backend whose SMS go to the gateway."""
    branch = make_backend(session_idle_seconds=10**7)
    who = demo_member(branch)
    send(branch, who, "22001299")
    clock.advance(minutes=1)
    assert branch.clearing.settle().returned == 1
    return make_backend(otp_channel="http", sms_gateway_url=gateway.server.url, sms_timeout_seconds=2, **overrides)


def test_worker_sends_queued_notices_through_the_gateway_once(make_backend, clock, gateway):
    backend = returned_via_http(make_backend, clock, gateway)
    before = len(gateway.server.requests)
    assert notices(backend)[0][1] == "pendiente"
    assert backend.notices.deliver().sent == 1
    assert backend.notices.deliver().sent == 0  # delivered once
    [(headers, body)] = gateway.server.requests[before:]
    assert "fue devuelta" in body["message"]
    _, status, channel, attempts, _ = notices(backend)[0]
    assert (status, channel, attempts) == ("enviado", "http", 1)


def test_two_passes_at_once_never_both_send(make_backend, clock, gateway):
    backend = returned_via_http(make_backend, clock, gateway)
    first = backend.notices._claim(10)
    assert len(first) == 1 and backend.notices._claim(10) == []


def test_a_refusing_gateway_backs_off_then_gives_up_for_staff(make_backend, clock, gateway, db_path):
    backend = returned_via_http(make_backend, clock, gateway, delivery_max_attempts=3, delivery_retry_seconds=10)
    gateway.status = 401  # e.g. a wrong token
    report = backend.notices.deliver()
    assert (report.sent, report.failed) == (0, 1) and "401" in report.last_error
    assert backend.notices.deliver().failed == 0  # not due yet: 10 s back-off
    clock.advance(seconds=10)
    assert backend.notices.deliver().failed == 1
    clock.advance(seconds=19)
    assert backend.notices.deliver().failed == 0  # the back-off doubled to 20 s
    clock.advance(seconds=1)
    assert backend.notices.deliver().given_up == 1
    clock.advance(hours=2)
    calls = len(gateway.server.requests)
    assert backend.notices.deliver().failed == 0 and len(gateway.server.requests) == calls  # no silent retries
    [failed] = backend.notices.undelivered()
    assert failed.attempts == 3 and "401" in failed.last_error and failed.recipient.startswith("09***")
    from tests.core.test_database import cli

    command = ["--set", "otp_channel=http", "--set", f"sms_gateway_url={gateway.server.url}", "deliver", "--db",
               str(db_path)]
    out = cli(*command)
    assert out.returncode == 1 and "NO entregados (1)" in out.stdout and "401" in out.stdout
    gateway.status = 200
    out = cli(*command, "--retry-failed")
    assert out.returncode == 0 and "Enviados 1" in out.stdout, out.stdout + out.stderr
    assert notices(backend)[0][1] == "enviado"
