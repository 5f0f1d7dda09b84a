"""End of day pays matured plazos fijos and collects due loan cuotas: once, in order, never an overdraft."""

from __future__ import annotations

import threading
from datetime import date

import pytest

from backend.branch import end_of_day
from backend.core import accounts
from backend.core.ledger import Leg, post
from backend.products import maturities
from tests.conftest import add_member

DAY = date(2026, 11, 25)


def _balance(backend, account: int) -> int:
    return backend.db.conn.execute("SELECT balance FROM accounts WHERE id = ?", (account,)).fetchone()[0]


def _deposit(backend, balance: int = 5000_00):
    member, savings = add_member(backend, cedula="1104680135", balance=balance)
    with backend.db.write() as conn:
        deposit = accounts.open_term_deposit(conn, member, from_account=savings, principal=1000_00, rate_bp=600,
                                             start=date(2026, 5, 25), months=6, actor="test")
    return member, savings, deposit


def _loan(backend, cushion: int):
    """A loan disbursed into a second account; the member's first account holds `cushion` cents."""
    member, savings = add_member(backend, cedula="0926687856", balance=cushion)
    with backend.db.write() as conn:
        other = accounts.open_savings(conn, member, "2026-09-01")
        loan = accounts.open_loan(conn, member, to_account=other, principal=1200_00, rate_bp=1550, months=12,
                                  start=date(2026, 9, 20), actor="test")
    cuotas = backend.db.conn.execute("SELECT principal + interest FROM loan_installments WHERE loan_id = ?"
                                     " ORDER BY number", (loan,)).fetchall()
    return savings, loan, [r[0] for r in cuotas]


def _paid(backend, loan: int) -> list[int]:
    return [r[0] for r in backend.db.conn.execute("SELECT number FROM loan_installments WHERE loan_id = ?"
                                                  " AND paid_entry_id IS NOT NULL ORDER BY number", (loan,))]


def test_interest_is_the_simulators_simple_interest():
    assert maturities.deposit_interest(1000_00, 600, 184) == 30_67  # 1000 × 6% × 184/360 = 30.666…
    assert maturities.deposit_interest(10_00, 500, 30) == 4  # 0.0416… → $0.04
    assert maturities.deposit_interest(1, 500, 36) == 0


def test_a_matured_deposit_pays_capital_and_interest_once_and_closes(backend):
    member, savings, deposit = _deposit(backend)
    before = _balance(backend, savings)
    report = end_of_day.run(backend.ctx, backend, "test")
    assert _balance(backend, savings) == before + 1030_67 and _balance(backend, deposit) == 0
    assert backend.db.conn.execute("SELECT status FROM accounts WHERE id = ?", (deposit,)).fetchone()[0] == "cerrada"
    assert "pagado" in dict(report.passes)["Vencimiento de plazos fijos"]
    kinds = {t.kind: t for t in report.totals}
    assert kinds["vencimiento_plazo_fijo"].label == "Vencimiento de plazo fijo"
    assert backend.check() == []
    again = maturities.mature_deposits(backend.ctx, DAY)
    assert again.matured == 0 and _balance(backend, savings) == before + 1030_67
    audit = backend.db.conn.execute("SELECT outcome FROM audit_log WHERE action = 'plazo_fijo.vencimiento'"
                                    " AND member_id = ?", (member,)).fetchall()
    assert [r[0] for r in audit] == ["ok"]
    assert any("plazo fijo" in m.body and "$1,030.67" in m.body for m in backend.outbox(last=500))


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_a_deposit_not_yet_matured_is_left_alone(backend):
    _, savings, deposit = _deposit(backend)
    before = _balance(backend, savings)
    maturities.mature_deposits(backend.ctx, date(2026, 11, 24))
    assert _balance(backend, savings) == before and _balance(backend, deposit) == 1000_00


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_due_cuotas_are_collected_in_order_while_the_balance_covers_them(backend):
    savings, loan, cuotas = _loan(backend, cushion=150_00)
    assert cuotas[0] <= 150_00 < cuotas[0] + cuotas[1]
    report = end_of_day.run(backend.ctx, backend, "test")  # the 20/10 and 20/11 cuotas are due
    assert _paid(backend, loan) == [1] and _balance(backend, savings) == 150_00 - cuotas[0]
    line = dict(report.passes)["Cobro de cuotas de crédito"]
    assert "en mora" in line and "cobrada" in line
    assert backend.check() == []
    again = maturities.collect_instalments(backend.ctx, DAY)
    assert again.collected == 0 and again.arrears >= 1 and _paid(backend, loan) == [1]
    assert _balance(backend, savings) >= 0


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_a_cuota_not_covered_stays_pending_and_nothing_is_debited(backend):
    savings, loan, cuotas = _loan(backend, cushion=50_00)
    assert cuotas[0] > 50_00
    report = maturities.collect_instalments(backend.ctx, DAY)
    assert _paid(backend, loan) == [] and _balance(backend, savings) == 50_00
    assert report.arrears >= 2


def test_check_sees_a_loan_whose_paid_cuotas_do_not_match_its_balance(backend):
    _, loan, _ = _loan(backend, cushion=500_00)
    maturities.collect_instalments(backend.ctx, DAY)
    with backend.db.write() as conn:
        conn.execute("UPDATE loan_installments SET paid_entry_id = NULL WHERE loan_id = ? AND number = 1", (loan,))
    assert any("crédito" in p for p in backend.check())


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_check_sees_a_closed_deposit_still_holding_money(backend):
    _, _, deposit = _deposit(backend)
    with backend.db.write() as conn:
        conn.execute("UPDATE accounts SET status = 'cerrada' WHERE id = ?", (deposit,))
    assert any("plazo fijo" in p for p in backend.check())


def test_two_passes_at_once_book_each_item_once(make_backend, engine):
    if engine != "postgresql":
        pytest.skip("SQLite writers are serial; the race is PostgreSQL's")
    first = make_backend()
    _, savings, deposit = _deposit(first)
    _, loan, _ = _loan(first, cushion=5000_00)
    before = _balance(first, savings)
    others = [make_backend() for _ in range(3)]
    errors: list[BaseException] = []

    def run(b):
        try:
            maturities.mature_deposits(b.ctx, DAY)
            maturities.collect_instalments(b.ctx, DAY)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(b,)) for b in others]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _balance(first, savings) == before + 1030_67
    paid = first.db.conn.execute("SELECT COUNT(*) FROM postings WHERE account_id = ? AND amount > 0",
                                 (loan,)).fetchone()[0]
    assert first.db.conn.execute("SELECT COUNT(*) FROM entries WHERE kind = 'vencimiento_plazo_fijo'"
                                 " AND idempotency_key = ?", (f"vencimiento-plazo-fijo:{deposit}",)).fetchone()[0] == 1
    assert paid == 2 and _paid(first, loan) == [1, 2] and first.check() == []


def _funded_from_second_account(backend):
    member, first = add_member(backend, cedula="1104680135", balance=100_00)
    with backend.db.write() as conn:
        second = accounts.open_savings(conn, member, "2026-05-01")
        post(conn, kind="deposito", description="Depósito", posted_at="2026-05-01 09:00:00", actor="test",
             legs=[Leg(second, 2000_00, "Depósito"), Leg(accounts.internal_account(conn, "caja"), -2000_00, "Depósito")])
        deposit = accounts.open_term_deposit(conn, member, from_account=second, principal=1000_00, rate_bp=600,
                                             start=date(2026, 5, 25), months=6, actor="test")
    return first, second, deposit


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_a_matured_deposit_pays_into_the_account_that_funded_it_not_the_oldest(backend):
    first, second, deposit = _funded_from_second_account(backend)
    before_first, before_second = _balance(backend, first), _balance(backend, second)
    end_of_day.run(backend.ctx, backend, "test")
    assert _balance(backend, second) == before_second + 1030_67 and _balance(backend, first) == before_first


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_if_the_funding_account_is_closed_the_oldest_active_one_gets_it(backend):
    first, second, deposit = _funded_from_second_account(backend)
    with backend.db.write() as conn:
        conn.execute("UPDATE accounts SET status = 'cerrada' WHERE id = ?", (second,))
    before = _balance(backend, first)
    end_of_day.run(backend.ctx, backend, "test")
    assert _balance(backend, first) == before + 1030_67


@pytest.mark.sqlite_only  # replays the backfill by hand; every new database runs the migration on both engines
def test_deposits_opened_before_the_payout_column_learn_it_from_their_opening_entry(backend, db_path):
    import sqlite3

    from backend.core.schema import MIGRATIONS

    first, second, deposit = _funded_from_second_account(backend)
    backend.close()
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE term_deposits SET payout_account_id = NULL")
    conn.executescript(MIGRATIONS[17].split(";", 1)[1])  # the backfill, as on a database of version 17
    assert conn.execute("SELECT payout_account_id FROM term_deposits WHERE account_id = ?",
                        (deposit,)).fetchone()[0] == second
    conn.close()
