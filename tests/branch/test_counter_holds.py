"""Withdrawals waiting for a supervisor hold the member's money and the till's cash; rejecting gives
it back, approving pays it out; two withdrawals at once never hold the same money."""

from __future__ import annotations

import threading
import uuid

import pytest

from backend.core.errors import ServiceError, ValidationError
from backend.service import Backend
from tests.conftest import add_member, fast_settings
from tests.staff_helpers import team


@pytest.fixture
def staff(backend, clock):
    return team(backend, clock)


@pytest.fixture
def account(backend):
    return add_member(backend, cedula="1104680135", first="Ana", last="Prueba Uno", balance=6000_00)[1]


def figures(backend, account_id):
    return tuple(backend.db.conn.execute("SELECT balance, held FROM accounts WHERE id = ?", (account_id,)).fetchone())


def withdraw(backend, who, account_id, amount):
    return backend.counter.cash(who.token, "retiro", account_id, amount, uuid.uuid4().hex)


def test_queued_withdrawals_hold_the_money_and_refuse_what_is_not_available(backend, staff, account):
    t = staff["cajero"]
    backend.tills.open_till(t.token, "20000")
    assert withdraw(backend, t, account, "2500").state == "por_aprobar"
    assert withdraw(backend, t, account, "2500").state == "por_aprobar"
    assert figures(backend, account) == (6000_00, 5000_00)
    with pytest.raises(ValidationError) as err:  # a third would overdraw: only $1,000.00 is available
        withdraw(backend, t, account, "2500")
    assert "$1,000.00" in err.value.message and err.value.field == "monto"
    with pytest.raises(ValidationError):  # nor can a direct one below the threshold take the held money
        withdraw(backend, t, account, "1500")
    card = backend.counter.find_member(t.token, "1104680135")[0]
    assert card.accounts[0].available == 1000_00
    assert backend.check() == []


def test_rejecting_releases_and_approving_pays_out_the_hold(backend, staff, account):
    t, sup = staff["cajero"], staff["supervisor"]
    backend.tills.open_till(t.token, "20000")
    first = withdraw(backend, t, account, "2500")
    second = withdraw(backend, t, account, "3000")
    lines = dict(next(a for a in backend.approvals.pending(sup.token) if a.id == first.op_id).lines)
    assert lines["Disponible (ya retenido)"] == "$500.00" and lines["Efectivo en la caja"] == "$20,000.00"
    backend.approvals.reject(sup.token, first.op_id, "Firma no coincide")
    assert figures(backend, account) == (6000_00, 3000_00)
    backend.approvals.approve(sup.token, second.op_id, "")
    assert figures(backend, account) == (3000_00, 0)
    assert backend.check() == []


def test_the_till_cash_promised_to_queued_withdrawals_is_not_paid_twice(backend, staff, account):
    t = staff["cajero"]
    backend.tills.open_till(t.token, "4000")
    withdraw(backend, t, account, "2500")
    with pytest.raises(ValidationError) as err:
        withdraw(backend, t, account, "1600")  # $4,000 in the till, $2,500 of it promised
    assert "efectivo" in err.value.message


def test_a_hold_out_of_step_with_the_queue_is_reported_by_check(backend, staff, account):
    t = staff["cajero"]
    backend.tills.open_till(t.token, "20000")
    withdraw(backend, t, account, "2500")
    with backend.db.write() as conn:
        conn.execute("UPDATE accounts SET held = 0 WHERE id = ?", (account,))
    assert any("retenido" in p for p in backend.check())


def test_two_tellers_at_once_cannot_both_hold_the_same_money(backend, staff, account, db_path, clock):
    t1, t2 = staff["cajero"], staff["cajero2"]
    for t in (t1, t2):
        backend.tills.open_till(t.token, "20000")
    others = [Backend(db_path, fast_settings(session_idle_seconds=10**7), clock) for _ in range(2)]
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def go(b: Backend, who) -> None:
        start.wait()
        try:
            outcomes.append(b.counter.cash(who.token, "retiro", account, "4000", uuid.uuid4().hex).state)
        except ServiceError as exc:
            outcomes.append(exc.message)
        finally:
            b.close()

    threads = [threading.Thread(target=go, args=(b, who)) for b, who in zip(others, (t1, t2))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(outcomes)[0] == "Saldo insuficiente: el disponible es $2,000.00." and "por_aprobar" in outcomes
    assert figures(backend, account) == (6000_00, 4000_00) and backend.check() == []


@pytest.mark.sqlite_only(covered=True)
def test_an_empty_opening_amount_is_refused_and_zero_must_be_typed(backend, staff):
    t = staff["cajero"]
    for empty in ("", "   "):
        with pytest.raises(ValidationError) as err:
            backend.tills.open_till(t.token, empty)
        assert "escribe 0" in err.value.message
    assert backend.tills.my_till(t.token) is None
    assert backend.tills.open_till(t.token, "0").cash == 0


def test_the_migration_holds_the_withdrawals_queued_before_it(backend, staff, account):
    from backend.core.db import statements
    from backend.core.schema import MIGRATIONS

    t, sup = staff["cajero"], staff["supervisor"]
    backend.tills.open_till(t.token, "20000")
    queued = withdraw(backend, t, account, "2500")
    with backend.db.write() as conn:  # as a database from before holds would have it
        conn.execute("UPDATE accounts SET held = 0 WHERE id = ?", (account,))
    with backend.db.write() as conn:
        for statement in statements(next(sql for sql in MIGRATIONS if "SET held = held +" in sql)):
            conn.execute(statement)
    assert figures(backend, account) == (6000_00, 2500_00) and backend.check() == []
    backend.approvals.approve(sup.token, queued.op_id, "")
    assert figures(backend, account) == (3500_00, 0)


def test_a_close_waits_for_a_cash_operation_in_flight_on_its_till(backend, staff, account, db_path, clock):
    """Same teller, two windows (or a deposit and the close at once): on PostgreSQL, where writes for different
    members run side by side, the close read the till's cash before a deposit in flight committed and was then
    refused as changed («debe contar de nuevo»). It now queues behind the till's row, as on SQLite, and judges
    the count against the cash with the deposit in it."""
    from backend.core.ledger import Leg, post

    t = staff["cajero"]
    backend.tills.open_till(t.token, "100")
    depositor = Backend(db_path, fast_settings(session_idle_seconds=10**7), clock)
    till = depositor.db.conn.execute("SELECT id, account_id FROM tills WHERE status = 'abierta'").fetchone()
    locked, release = threading.Event(), threading.Event()
    failed: list[BaseException] = []

    def deposit() -> None:  # what counter.cash does, held open between its lock and its commit
        try:
            with depositor.db.write() as conn:
                conn.execute("SELECT id FROM tills WHERE id = ? FOR UPDATE", (till[0],))
                post(conn, kind="deposito_ventanilla", description="Depósito en curso",
                     posted_at=depositor.ctx.now_iso(), actor="cajero1",
                     legs=[Leg(account, 50_00, "Depósito"), Leg(till[1], -50_00, "Depósito")])
                locked.set()
                release.wait(30)
        except BaseException as exc:
            failed.append(exc)
            locked.set()
        finally:
            depositor.close()

    first = threading.Thread(target=deposit)
    first.start()
    assert locked.wait(30) and not failed, failed
    closing: list = []
    def close() -> None:
        try:
            closing.append(backend.tills.close_till(t.token, {10000: 1}))
        except BaseException as exc:  # the assertion below shows it
            closing.append(exc)

    second = threading.Thread(target=close)
    second.start()
    second.join(0.5)
    release.set()
    first.join(30)
    second.join(30)
    result = closing[0]
    assert not isinstance(result, BaseException), result
    assert (result.expected, result.counted) == (150_00, 100_00)  # the deposit's cash is counted as expected
    assert result.state == "por_aprobar" and result.difference == -50_00  # a faltante, for the supervisor
    cash = -backend.db.conn.execute("SELECT balance FROM accounts WHERE id = ?", (till[1],)).fetchone()[0]
    assert cash == 150_00 and backend.check() == []
