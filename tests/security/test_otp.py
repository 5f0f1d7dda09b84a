import re

import pytest

from backend.core.errors import OtpError
from tests.conftest import add_member, last_code


@pytest.fixture
def member(backend):
    member_id, _ = add_member(backend, cedula="1104680135", mobile="0991234678")
    return member_id


def issue(backend, member, amount=1000, dest="4100000019"):
    return backend.otp.issue(member, "transferencia", {"amount": amount, "origin": "A", "destination": dest}, "t")


def verify(backend, member, challenge, code, amount=1000, dest="4100000019"):
    return backend.otp.verify_then(challenge.id, code, member_id=member, purpose="transferencia",
                                   details={"amount": amount, "origin": "A", "destination": dest}, actor="t",
                                   then=lambda conn: "hecho")


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_right_code_runs_the_operation_once(backend, member):
    ch = issue(backend, member)
    assert ch.masked_phone == "09*****678" and ch.tries_left == 3
    code = last_code(backend)
    assert verify(backend, member, ch, code) == "hecho"
    with pytest.raises(OtpError) as err:
        verify(backend, member, ch, code)
    assert err.value.code == "otp_used"


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
@pytest.mark.parametrize("change", [dict(amount=1001), dict(dest="4100000027")])
def test_changing_any_detail_voids_the_code(backend, member, change):
    ch = issue(backend, member)
    code = last_code(backend)
    with pytest.raises(OtpError) as err:
        verify(backend, member, ch, code, **change)
    assert err.value.code == "otp_details_changed"
    with pytest.raises(OtpError) as err:  # and the original details no longer work either
        verify(backend, member, ch, code)
    assert err.value.code == "otp_void"


@pytest.mark.sqlite_only(covered=True)
def test_expiry(backend, member, clock):
    ch = issue(backend, member)
    code = last_code(backend)
    clock.advance(seconds=backend.settings.otp_ttl_seconds)
    with pytest.raises(OtpError) as err:
        verify(backend, member, ch, code)
    assert err.value.code == "otp_expired"


@pytest.mark.sqlite_only(covered=True)
def test_three_wrong_tries_void_the_challenge(backend, member):
    ch = issue(backend, member)
    code = last_code(backend)
    wrong = "000000" if code != "000000" else "111111"
    messages = []
    for _ in range(3):
        with pytest.raises(OtpError) as err:
            verify(backend, member, ch, wrong)
        messages.append((err.value.code, err.value.tries_left))
    assert messages == [("otp_wrong", 2), ("otp_wrong", 1), ("otp_exhausted", 0)]
    with pytest.raises(OtpError) as err:
        verify(backend, member, ch, code)
    assert err.value.code == "otp_void"


@pytest.mark.sqlite_only(covered=True)
def test_another_member_cannot_use_the_challenge(backend, member):
    other, _ = add_member(backend, cedula="0926687856",
                          mobile="0987654321")
    ch = issue(backend, member)
    with pytest.raises(OtpError):
        verify(backend, other, ch, last_code(backend))


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_failed_operation_rolls_back_the_code(backend, member):
    ch = issue(backend, member)
    code = last_code(backend)

    def boom(conn):
        raise OtpError("fallo de la operación", code="x")

    with pytest.raises(OtpError):
        backend.otp.verify_then(ch.id, code, member_id=member, purpose="transferencia",
                                details={"amount": 1000, "origin": "A", "destination": "4100000019"}, actor="t",
                                then=boom)
    assert verify(backend, member, ch, code) == "hecho"


@pytest.mark.sqlite_only(covered=True)
def test_resend_is_rate_limited_and_replaces_the_code(backend, member, clock):
    ch = issue(backend, member)
    first = last_code(backend)
    with pytest.raises(OtpError) as err:
        backend.otp.resend(ch.id, member, "t")
    assert err.value.code == "otp_resend_wait"
    clock.advance(seconds=backend.settings.otp_resend_interval_seconds)
    backend.otp.resend(ch.id, member, "t")
    second = last_code(backend)
    if first != second:
        with pytest.raises(OtpError):
            verify(backend, member, ch, first)
    assert verify(backend, member, ch, second) == "hecho"


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_code_is_never_stored_in_clear(backend, member, db_path):
    issue(backend, member)
    code = last_code(backend)
    conn = backend.db.conn
    rows = conn.execute("SELECT * FROM otp_challenges").fetchall() + conn.execute("SELECT * FROM audit_log").fetchall()
    assert not any(code in str(value) for row in rows for value in row)


ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.mark.parametrize("table", [ARABIC_INDIC, FULLWIDTH])
@pytest.mark.sqlite_only(covered=True)
def test_look_alike_digits_are_the_same_code_and_burn_no_try(backend, member, table):
    ch = issue(backend, member)
    code = last_code(backend)
    assert verify(backend, member, ch, " " + code.translate(table) + " ") == "hecho"
    assert backend.otp.get(ch.id).tries_left == 3


@pytest.mark.parametrize("race", ["confirmed", "voided"])
def test_a_resend_racing_a_confirmation_or_void_gives_the_closed_code_no_new_life(backend, member, clock, db_path, race):
    """The code is confirmed (or voided) in another session while the resend's SMS is on its way: the resend
    must not replace the closed challenge's code nor extend it, and says why it is closed."""
    from backend.core.delivery import OutboxChannel

    ch = issue(backend, member)
    first = last_code(backend)
    clock.advance(seconds=backend.settings.otp_resend_interval_seconds)

    class RacingPhone(OutboxChannel):
        def send(self, db, recipient, body, at):
            if race == "confirmed":
                assert verify(backend, member, ch, first) == "hecho"
            else:
                with pytest.raises(OtpError):
                    verify(backend, member, ch, first, amount=999)  # other details: the code is void
            return super().send(db, recipient, body, at)

    backend.ctx.channel = RacingPhone()
    before = backend.db.conn.execute("SELECT code_hash, expires_at, resends FROM otp_challenges WHERE id = ?",
                                     (ch.id,)).fetchone()
    with pytest.raises(OtpError) as err:
        backend.otp.resend(ch.id, member, "t")
    assert err.value.code == ("otp_used" if race == "confirmed" else "otp_void")
    after = backend.db.conn.execute("SELECT code_hash, expires_at, resends FROM otp_challenges WHERE id = ?",
                                    (ch.id,)).fetchone()
    assert tuple(after) == tuple(before)
    assert not re.search(r"\b\d{6}\b", backend.outbox(last=1)[-1].body)  # the dead code sent is masked
    outcomes = [r[0] for r in backend.db.conn.execute(
        "SELECT outcome FROM audit_log WHERE action = 'otp.reenviar'").fetchall()]
    assert outcomes == [err.value.code]


@pytest.mark.sqlite_only  # SQLite's query planner and trace hook
def test_the_guessing_budget_reads_only_the_codes_that_cost(backend, member, clock):
    """A code used right costs nothing, so the budget's lookup must not read the day's used codes either: found
    through an index of the costly ones only, a new code costs the same at the day's last transfer as at its
    first (bench: otp_abandon_ratio)."""
    for _ in range(3):  # used codes; without statistics the planner's choice does not depend on how many
        ch = issue(backend, member)
        assert verify(backend, member, ch, last_code(backend)) == "hecho"
        clock.advance(seconds=60)
    conn = backend.db.conn
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        issue(backend, member)
    finally:
        conn.set_trace_callback(None)
    budget = [sql for sql in statements if sql.startswith("SELECT") and "FROM otp_challenges" in sql
              and "created_at >" in sql]
    assert len(budget) == 1
    plan = " ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + budget[0]))
    index = re.search(r"USING (?:COVERING )?INDEX (\w+)", plan)
    assert index, plan
    definition = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?",
                              (index.group(1),)).fetchone()[0]
    assert "verified_at IS NULL" in definition, (plan, definition)
