"""Background passes (the worker's, and the session's own keep-alive): failures are logged and said once,
never silently retried forever."""

import logging

import pytest

from cooprogreso_tui import logs
from tests.core.test_notice_delivery import returned_via_http
from tests.local_http import LocalServer
from cooprogreso_tui.worker import Worker
from tests.ui import SIZE, FakeMonotonic, make_app, settle


@pytest.fixture
def log_file(tmp_path):
    logger = logging.getLogger(logs.LOGGER)
    before = list(logger.handlers)
    path = logs.setup(str(tmp_path / "logs"))
    yield path
    for handler in logger.handlers[:]:
        if handler not in before:
            logger.removeHandler(handler)
            handler.close()


class RefusingGateway:
    def __init__(self):
        self.server = LocalServer(lambda headers, body: (401, None), "/sms")


@pytest.fixture
def refusing_gateway():
    gateway = RefusingGateway()
    yield gateway
    gateway.server.close()


def test_a_refusing_sms_gateway_is_said_once_and_logged(make_backend, clock, refusing_gateway, log_file):
    backend = returned_via_http(make_backend, clock, refusing_gateway, delivery_retry_seconds=0)
    said: list[str] = []
    worker = Worker(backend, say=said.append)
    for _ in range(3):
        worker.run_pass("deliver")
    assert len(said) == 1 and "401" in said[0] and "avisos SMS" in said[0]
    assert len(refusing_gateway.server.requests) == 3  # each pass tried; the member's SMS stays queued
    text = log_file.read_text()
    assert "background job deliver" in text and "401" in text


class Broken:
    def settle(self):
        raise RuntimeError("clearing_token=s3cr3t broke")

    def flagged(self):
        return []


def test_a_failing_pass_backs_off_and_is_logged_with_traceback(backend, log_file):
    clock = FakeMonotonic()
    said: list[str] = []
    worker = Worker(backend, say=said.append, monotonic=clock)
    backend.__dict__["clearing"] = Broken()
    worker.run_pass("settle")
    assert not worker.jobs.due("settle")  # backing off instead of hammering every 15 s
    clock.advance(15)
    assert worker.jobs.due("settle")
    worker.run_pass("settle")
    assert not worker.jobs.due("settle")
    clock.advance(15)
    assert not worker.jobs.due("settle")  # the pause doubled
    assert len(said) == 1 and "liquidación" in said[0] and "RuntimeError" in said[0]
    text = log_file.read_text()
    assert text.count("Traceback") == 2 and "RuntimeError" in text and "s3cr3t" not in text


async def test_a_session_ended_elsewhere_is_noticed_by_the_keepalive(backend):
    from screens.security.login import LoginScreen
    from tests.ui import login

    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        backend.auth.logout(app.token, "salir")
        app._keepalive(app.token)
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen) and app.signed_in is None
