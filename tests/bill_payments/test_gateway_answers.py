"""Gateways answering nonsense: one failed attempt on that item, the pass goes on; stuck items go to staff.

Real HTTP servers on 127.0.0.1 (tests/local_http.py), never mocks.
"""


import pytest

from tests.local_http import LocalServer
from tests.transfer_helpers import demo_member
from tests.transfers.test_clearing import send

ANSWERS = {
    "22000001": {"status": "Devuelta", "reason": {"code": 7, "text": "objeto"}},
    "22000002": {"status": "Devuelta", "reason": ["una", "lista"]},
    "22000003": {"status": ["Acreditada"]},
    "22000004": {"status": 200},
    "22000005": {"status": "Devuelta", "reason": "Cuenta\x1b[31m cerrada\u202e"},
    "22000006": {"status": "Acreditada"},
}


class Network:
    def __init__(self, answers):
        self.answers = answers
        self.server = LocalServer(self._respond)

    def _respond(self, headers, body):
        answer = self.answers[body["dest_account_number"]]
        return 200, answer


@pytest.fixture
def network():
    n = Network(dict(ANSWERS))
    yield n
    n.server.close()


@pytest.fixture
def http_backend(make_backend, network):
    return make_backend(session_idle_seconds=10**7, clearing_gateway="http", clearing_url=network.server.url,
                        clearing_timeout_seconds=2, clearing_max_attempts=3, clearing_retry_seconds=60)


def state_of(backend, reference):
    return backend.db.conn.execute("SELECT state, attempts, last_error, return_reason FROM transfers"
                                   " WHERE reference = ?", (reference,)).fetchone()


def test_answers_of_any_shape_fail_only_their_own_item(http_backend):
    who = demo_member(http_backend)
    refs = {number: send(http_backend, who, number, 10_00).reference for number in ANSWERS}
    report = http_backend.clearing.settle()
    assert report.checked == 6 and report.failed == 4 and report.returned == 1 and report.credited == 1
    for number in ("22000001", "22000002", "22000003", "22000004"):
        state, attempts, error, _ = state_of(http_backend, refs[number])
        assert state == "Enviada" and attempts == 1 and error
    assert state_of(http_backend, refs["22000006"])[0] == "Acreditada"
    state, _, _, reason = state_of(http_backend, refs["22000005"])
    assert state == "Devuelta" and "\x1b" not in reason and "\u202e" not in reason and "cerrada" in reason
    assert http_backend.check() == []


def test_items_never_answered_are_flagged_for_staff_and_not_retried(http_backend, network, clock):
    who = demo_member(http_backend)
    ref = send(http_backend, who, "22000001", 10_00).reference
    for _ in range(3):
        assert http_backend.clearing.settle().failed == 1
        clock.advance(seconds=61)
    calls = len(network.server.requests)
    assert http_backend.clearing.settle().checked == 0  # flagged: no more silent retries
    assert len(network.server.requests) == calls
    [flagged] = http_backend.clearing.flagged()
    assert flagged.reference == ref and flagged.attempts == 3 and "forma inesperada" in flagged.last_error
    actions = [(e.action, e.outcome) for e in http_backend.audit_log(last=10)]
    assert ("transferencia.envio", "revision_personal") in actions
    # staff fix it with the network and send it again
    network.answers["22000001"] = {"status": "Acreditada"}
    assert http_backend.clearing.requeue(ref)
    assert http_backend.clearing.settle().credited == 1
    assert http_backend.clearing.flagged() == []


def test_settle_command_lists_flagged_items(db_path, http_backend, network, clock):
    who = demo_member(http_backend)
    ref = send(http_backend, who, "22000002", 10_00).reference
    with http_backend.db.write() as conn:
        conn.execute("UPDATE transfers SET attempts = 3 WHERE reference = ?", (ref,))
    from tests.core.test_database import cli

    out = cli("--set", "clearing_gateway=http", "--set", f"clearing_url={network.server.url}",
              "--set", "clearing_max_attempts=3", "settle", "--db", str(db_path))
    assert out.returncode == 1, out.stderr
    assert "revisión del personal" in out.stdout and ref in out.stdout and "3 intentos" in out.stdout


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_answer_without_status_is_a_failed_attempt(make_backend):
    server = LocalServer(lambda headers, body: (200, None))  # the helper sends `{}`
    try:
        backend = make_backend(session_idle_seconds=10**7, clearing_gateway="http", clearing_url=server.url)
        who = demo_member(backend)
        send(backend, who, "22000009", 10_00)
        assert backend.clearing.settle().failed == 1
    finally:
        server.close()
