"""The close checks what came since the last close's checkpoint (backend/audit_books.py), not the whole history:
tampering above the checkpoint stops the close; tampering below it is `cooprogreso check`'s to find."""

from __future__ import annotations

import pytest

from backend.branch import end_of_day
from backend.core import accounts
from backend.core.errors import ValidationError
from backend.core.ledger import Leg, post
from tests.conftest import add_member


def _move(backend, src: int, dst: int, cents: int) -> int:
    with backend.db.write() as conn:
        return post(conn, kind="transferencia_propia", description="Prueba", posted_at=backend.ctx.now_iso(),
                    actor="test", legs=[Leg(src, -cents, "Prueba"), Leg(dst, cents, "Prueba")])


def _checkpoint(backend):
    with backend.db.read() as conn:
        return backend.books.checkpoint(conn)


@pytest.fixture
def closed_once(backend, clock):
    """Two members, a movement, a first close (full check, then a checkpoint); the next day has come."""
    _, a = add_member(backend, cedula="1104680135", balance=500_00)
    _, b = add_member(backend, cedula="0926687856", balance=100_00)
    _move(backend, a, b, 10_00)
    assert _checkpoint(backend) is None
    end_of_day.run(backend.ctx, backend, "test")
    mark = _checkpoint(backend)
    last = backend.db.conn.execute("SELECT MAX(id) FROM postings").fetchone()[0]
    assert mark is not None and mark.posting_id == last
    clock.advance(days=1)
    return a, b


def _day(backend) -> str:
    return backend.db.get_meta("business_date")


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_a_clean_day_moves_the_checkpoint_on(backend, closed_once):
    a, b = closed_once
    entry = _move(backend, b, a, 5_00)
    end_of_day.run(backend.ctx, backend, "test")
    assert _checkpoint(backend).entry_id == entry and backend.check() == []


@pytest.mark.parametrize("tamper", ["balance_after", "amount", "stored_balance", "lonely_posting"])
def test_tampering_above_the_checkpoint_stops_the_close(backend, closed_once, tamper):
    a, b = closed_once
    entry = _move(backend, b, a, 5_00)
    with backend.db.write() as conn:
        posting = conn.execute("SELECT id FROM postings WHERE entry_id = ? AND account_id = ?", (entry, a)).fetchone()[0]
        if tamper == "balance_after":
            conn.execute("UPDATE postings SET balance_after = balance_after + 1 WHERE id = ?", (posting,))
        elif tamper == "amount":  # the entry no longer sums to zero, and the running balance breaks
            conn.execute("UPDATE postings SET amount = amount + 100 WHERE id = ?", (posting,))
        elif tamper == "stored_balance":
            conn.execute("UPDATE accounts SET balance = balance + 100 WHERE id = ?", (a,))
        else:  # a posting of its own into an old entry (below the checkpoint)
            old = conn.execute("SELECT MIN(id) FROM entries").fetchone()[0]
            conn.execute("INSERT INTO postings (entry_id, account_id, amount, balance_after, posted_at, memo)"
                         " SELECT ?, ?, 100, balance + 100, '2026-11-26 09:00:00', 'x' FROM accounts WHERE id = ?",
                         (old, a, a))
            conn.execute("UPDATE accounts SET balance = balance + 100 WHERE id = ?", (a,))
    before, mark = _day(backend), _checkpoint(backend)
    with pytest.raises(ValidationError, match="la contabilidad no cuadra") as refused:
        end_of_day.run(backend.ctx, backend, "test")
    assert refused.value.code == "descuadre"
    assert _day(backend) == before and _checkpoint(backend) == mark  # nothing closed, the checkpoint stays
    assert backend.check() != []  # and the full check agrees


def test_tampering_below_the_checkpoint_is_found_by_the_full_check_not_the_close(backend, closed_once):
    """Documented (backend/branch/end_of_day.py, backend/CONVENTIONS.md): the close looks only past its checkpoint."""
    a, b = closed_once
    with backend.db.write() as conn:  # an old posting and its account's balance, edited together
        first = conn.execute("SELECT MIN(id) FROM postings WHERE account_id = ?", (a,)).fetchone()[0]
        conn.execute("UPDATE postings SET amount = amount + 100, balance_after = balance_after + 100 WHERE id = ?",
                     (first,))
    end_of_day.run(backend.ctx, backend, "test")  # not its to see
    problems = backend.check()
    assert any(p.startswith("asiento ") and "(debe ser $0.00)" in p for p in problems)
    assert any(p.startswith("partida ") for p in problems)


def test_an_account_opened_since_with_a_balance_and_no_posting_stops_the_close(backend, closed_once):
    with backend.db.write() as conn:
        member = conn.execute("SELECT member_id FROM accounts WHERE id = ?", (closed_once[0],)).fetchone()[0]
        extra = accounts.open_savings(conn, member, "2026-11-26")
        conn.execute("UPDATE accounts SET balance = 999 WHERE id = ?", (extra,))
    with pytest.raises(ValidationError, match="saldo tras su última partida"):
        end_of_day.run(backend.ctx, backend, "test")


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_an_unreadable_checkpoint_means_the_full_check(backend, closed_once):
    a, _ = closed_once
    with backend.db.write() as conn:
        first = conn.execute("SELECT MIN(id) FROM postings WHERE account_id = ?", (a,)).fetchone()[0]
        conn.execute("UPDATE postings SET balance_after = balance_after + 1 WHERE id = ?", (first,))
        conn.execute("UPDATE meta SET value = 'x' WHERE key = 'books_checked'")
    with pytest.raises(ValidationError, match="la contabilidad no cuadra"):
        end_of_day.run(backend.ctx, backend, "test")
