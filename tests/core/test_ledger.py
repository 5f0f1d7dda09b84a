
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend import audit_books
from backend.core import accounts
from backend.core.invariants import Since
from backend.core.database import open_database
from backend.core.errors import InsufficientFunds
from backend.core.ledger import LedgerError, Leg, post
from tests.conftest import add_member


def test_demo_books_are_sound(backend):
    assert backend.check() == []
    total = backend.db.conn.execute("SELECT SUM(balance) FROM accounts").fetchone()[0]
    assert total == 0  # every cent has a counterpart


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(1, 500_00)), min_size=1, max_size=30))
def test_random_entries_keep_the_invariant(empty_db, moves):
    db = open_database(empty_db())
    with db.write() as conn:
        caja = accounts.internal_account(conn, "caja")
        member = accounts.create_member(conn, id_type="cedula", id_number="1710034065", first_names="A",
                                        last_names="B", mobile=None, email=None, created_at="2026-01-01 00:00:00")
        accs = [accounts.open_savings(conn, member, "2026-01-01") for _ in range(4)]
        for a in accs:
            post(conn, kind="d", description="d", legs=[Leg(a, 1000_00, "d"), Leg(caja, -1000_00, "d")],
                 posted_at="2026-01-01 00:00:00", actor="t")
    expected = {a: 1000_00 for a in accs}
    for src, dst, amount in moves:
        if src == dst:
            continue
        try:
            with db.write() as conn:
                post(conn, kind="t", description="t", posted_at="2026-01-02 00:00:00", actor="t",
                     legs=[Leg(accs[src], -amount, "t"), Leg(accs[dst], amount, "t")])
            expected[accs[src]] -= amount
            expected[accs[dst]] += amount
        except InsufficientFunds:
            assert expected[accs[src]] < amount
    with db.read() as conn:
        assert audit_books.check(conn) == [] and audit_books.check_since(conn, Since(0, 0, 0, "")) == []
        for a, cents in expected.items():
            balance = conn.execute("SELECT balance FROM accounts WHERE id = ?", (a,)).fetchone()[0]
            assert balance == cents >= 0
    db.close()


def test_unbalanced_or_empty_entries_are_refused(backend):
    _, acc = add_member(backend, cedula="1104680135")
    with backend.db.write() as conn:
        caja = accounts.internal_account(conn, "caja")
    for legs in ([Leg(acc, 100, "x"), Leg(caja, -99, "x")], [Leg(acc, 100, "x")],
                 [Leg(acc, 0, "x"), Leg(caja, 0, "x")], [Leg(acc, 1.5, "x"), Leg(caja, -1.5, "x")]):
        with pytest.raises(LedgerError):
            with backend.db.write() as conn:
                post(conn, kind="x", description="x", legs=legs, posted_at="2026-01-01 00:00:00", actor="t")
    assert backend.check() == []
    assert backend.db.conn.execute("SELECT COUNT(*) FROM postings WHERE account_id = ?", (acc,)).fetchone()[0] == 0


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_overdraft_rolls_back_the_whole_entry(backend):
    _, acc = add_member(backend, cedula="1104680135", balance=50_00)
    with backend.db.write() as conn:
        caja = accounts.internal_account(conn, "caja")
    before = backend.db.conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
    with pytest.raises(InsufficientFunds) as err:
        with backend.db.write() as conn:
            post(conn, kind="x", description="x", legs=[Leg(caja, 60_00, "x"), Leg(acc, -60_00, "x")],
                 posted_at="2026-01-03 00:00:00", actor="t")
    assert "Saldo insuficiente" in err.value.message and "$50.00" in err.value.message
    assert backend.db.conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == before
    assert backend.db.conn.execute("SELECT balance FROM accounts WHERE id = ?", (acc,)).fetchone()[0] == 50_00


def test_legs_on_one_account_update_it_once_and_keep_each_running_balance(backend):
    """`post` updates an account once for all its legs (a payment and its fee): each posting still shows the
    balance right after it, a later leg that overdraws refuses the whole entry, and the books stay sound."""
    _, acc = add_member(backend, cedula="1104680135", balance=50_00)
    with backend.db.write() as conn:
        caja = accounts.internal_account(conn, "caja")
        fees = accounts.internal_account(conn, "comisiones")
        entry = post(conn, kind="x", description="x", posted_at="2026-01-03 00:00:00", actor="t",
                     legs=[Leg(acc, -30_00, "pago"), Leg(caja, 30_00, "pago"), Leg(acc, -50, "comisión"),
                           Leg(fees, 50, "comisión")])
    rows = backend.db.conn.execute("SELECT memo, amount, balance_after FROM postings WHERE entry_id = ? AND"
                                   " account_id = ? ORDER BY id", (entry, acc)).fetchall()
    assert [tuple(r) for r in rows] == [("pago", -30_00, 20_00), ("comisión", -50, 19_50)]
    with pytest.raises(InsufficientFunds) as err:
        with backend.db.write() as conn:
            post(conn, kind="x", description="x", posted_at="2026-01-03 00:00:00", actor="t",
                 legs=[Leg(acc, -19_00, "pago"), Leg(caja, 20_00, "pago"), Leg(acc, -1_00, "comisión")])
    assert "$50" not in err.value.message and "$0.50" in err.value.message  # what was left before the fee
    assert backend.db.conn.execute("SELECT balance FROM accounts WHERE id = ?", (acc,)).fetchone()[0] == 19_50
    assert backend.check() == []


def test_check_catches_a_tampered_posting(backend):
    conn = backend.db.conn
    pid, number = conn.execute("SELECT p.id, a.number FROM postings p JOIN accounts a ON a.id = p.account_id"
                               " WHERE a.kind = 'ahorros' LIMIT 1").fetchone()
    conn.execute("UPDATE postings SET amount = amount + 1 WHERE id = ?", (pid,))
    problems = backend.check()
    assert any(number in p and "suma de partidas" in p for p in problems)
    assert any("partidas que suman $0.01" in p for p in problems)


def test_check_command_exit_codes(db_path):
    def run():
        from tests.core.test_database import cli

        return cli("check", "--db", str(db_path))
    ok = run()
    assert ok.returncode == 0 and "cuadrada" in ok.stdout
    db = open_database(db_path)
    with db.write() as conn:
        conn.execute("UPDATE accounts SET balance = balance + 100 WHERE id = (SELECT MAX(id) FROM accounts)")
    db.close()
    bad = run()
    assert bad.returncode == 1 and "saldo guardado" in bad.stdout
