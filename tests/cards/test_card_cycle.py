"""Card statements: the demo year, closing once per card and cut, interest, cuotas, and check."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from backend.cards import card_ledger
from backend.cards.card_cycle import close_statement, cuts_between
from backend.cards.deferrals import book_deferral, simulation_for
from backend.core.errors import ValidationError
from backend.core.rates import default_book, monthly_from_effective
from tests.card_helpers import buy, demo_card, internal_total, new_card
from tests.conftest import add_member, fast_settings


def test_demo_card_has_a_year_of_statements_and_the_books_agree(backend):
    card = demo_card(backend)
    cuts = [r[0] for r in backend.db.conn.execute(
        "SELECT cut_date FROM card_statements WHERE card_id = ? ORDER BY cut_date", (card,))]
    assert len(cuts) >= 11
    assert backend.db.conn.execute("SELECT COUNT(*) FROM card_deferrals WHERE card_id = ?", (card,)).fetchone()[0] >= 1
    assert backend.check() == []


def test_cuts_between_is_strict_and_clamps_the_day():
    assert cuts_between(31, date(2026, 1, 28), date(2026, 4, 28)) == [date(2026, 2, 28), date(2026, 3, 28)]
    assert cuts_between(15, date(2026, 1, 15), date(2026, 1, 16)) == []


def test_close_cycle_is_idempotent(backend):
    first = backend.card_cycle.close_due(date(2027, 2, 1))
    assert first.statements > 0
    again = backend.card_cycle.close_due(date(2027, 2, 1))
    assert again.statements == 0
    dupes = backend.db.conn.execute("SELECT card_id, cut_date, COUNT(*) FROM card_statements"
                                    " GROUP BY card_id, cut_date HAVING COUNT(*) > 1").fetchall()
    assert dupes == []
    assert backend.check() == []


def test_a_cut_closes_only_after_its_day_has_ended(backend):
    member, _ = add_member(backend, cedula="1104680135")
    card = new_card(backend, member)
    buy(backend, card, 100_00, "2027-03-10 10:00:00")
    count = "SELECT COUNT(*) FROM card_statements WHERE card_id = ?"
    backend.card_cycle.close_due(date(2027, 3, 15))
    assert backend.db.conn.execute(count, (card,)).fetchone()[0] == 0
    backend.card_cycle.close_due(date(2027, 3, 16))
    assert backend.db.conn.execute(count, (card,)).fetchone()[0] == 1
    st = backend.db.conn.execute("SELECT * FROM card_statements WHERE card_id = ?", (card,)).fetchone()
    assert (st["cut_date"], st["due_date"], st["purchases"], st["total_due"]) == ("2027-03-15", "2027-03-30", 100_00, 100_00)
    assert st["minimum_due"] == 10_00  # 10 % of the revolving capital


def test_unpaid_balance_is_charged_the_revolving_rate(backend):
    member, _ = add_member(backend, cedula="1104680135")
    card = new_card(backend, member)
    buy(backend, card, 1000_00, "2027-03-10 10:00:00")
    backend.card_cycle.close_due(date(2027, 3, 16))
    with backend.db.write() as conn:  # the member pays $400 of the $1,000
        from backend.core.accounts import internal_account
        from backend.core.ledger import Leg, post

        post(conn, kind=card_ledger.PAYMENT, description="Pago", posted_at="2027-03-25 09:00:00", actor="test",
             legs=[Leg(internal_account(conn, "caja"), -400_00, "Pago"), Leg(card, 400_00, "Pago")])
    backend.card_cycle.close_due(date(2027, 4, 16))
    st = backend.db.conn.execute("SELECT * FROM card_statements WHERE card_id = ? AND cut_date = '2027-04-15'",
                                 (card,)).fetchone()
    monthly = monthly_from_effective(Decimal("0.1677"))
    assert st["interest"] == int((Decimal(600_00) * monthly).quantize(Decimal(1), rounding="ROUND_HALF_UP"))
    assert st["interest"] == 7_80
    assert st["total_due"] == 600_00 + 7_80
    assert backend.check() == []


def test_deferral_moves_no_money_and_cuotas_are_billed_one_per_statement(backend):
    member, _ = add_member(backend, cedula="1104680135")
    card = new_card(backend, member)
    purchase = buy(backend, card, 1000_00, "2027-03-10 10:00:00")
    before_internal = internal_total(backend)
    before = card_ledger.balances(backend.db.conn, card)
    sim = simulation_for(default_book(), card, "3261 XXXX XXXX 0000", "consumos", (purchase,), 1000_00, 3,
                         date(2027, 3, 11))
    with backend.db.write() as conn:
        book_deferral(conn, backend.ctx, sim, user_id=None, member_id=member, actor="test",
                      at="2027-03-11 10:00:00", key="k1")
    after = card_ledger.balances(backend.db.conn, card)
    assert internal_total(backend) == before_internal
    assert after.owed == before.owed and after.installments == 1000_00 and after.revolving == 0
    assert backend.check() == []
    backend.card_cycle.close_due(date(2027, 6, 16))
    rows = backend.db.conn.execute("SELECT installments, installment_balance FROM card_statements WHERE card_id = ?"
                                   " ORDER BY cut_date", (card,)).fetchall()
    # the deferral was made before the 15 March cut: its cuotas are on the March, April and May statements
    assert [r[0] for r in rows] == [r.cuota for r in sim.schedule.rows] + [0]
    assert [r[1] for r in rows] == [r.balance for r in sim.schedule.rows] + [0]
    assert sum(r[0] for r in rows) == 1000_00 + sim.total_interest
    assert backend.check() == []


@pytest.mark.sqlite_only(covered=True)
def test_a_purchase_above_the_cupo_is_refused(backend):
    member, _ = add_member(backend, cedula="1104680135")
    card = new_card(backend, member, limit=100_00)
    buy(backend, card, 60_00, "2027-03-10 10:00:00")
    with pytest.raises(ValidationError) as err:
        buy(backend, card, 40_01, "2027-03-10 11:00:00")
    assert "Cupo insuficiente" in err.value.message


def test_check_sees_a_tampered_statement_and_a_tampered_diferido(backend):
    card = demo_card(backend)
    with backend.db.write() as conn:
        conn.execute("UPDATE card_statements SET total_due = total_due + 1 WHERE card_id = ? AND cut_date ="
                     " (SELECT MAX(cut_date) FROM card_statements WHERE card_id = ?)", (card, card))
        conn.execute("UPDATE card_deferral_cuotas SET capital = capital + 5 WHERE statement_id IS NULL")
    problems = backend.check()
    assert any("pago total" in p for p in problems)
    assert any("saldo diferido" in p or "diferido" in p for p in problems)


@pytest.mark.parametrize("page", [1, 7])
def test_check_pages_through_the_statements_and_finds_the_same(backend, monkeypatch, page):
    """`cooprogreso check` reads the statements a page at a time (its memory stays flat as the co-op grows): a page
    boundary inside a card's run of statements neither invents a problem nor hides one, in the full check or the
    close's check of what came since (whose first statement per card is compared with the one before it)."""
    from backend.core.invariants import Since

    conn = backend.db.conn
    cards = [r[0] for r in conn.execute("SELECT DISTINCT card_id FROM card_statements ORDER BY card_id")]
    assert len(cards) >= 2
    card = cards[-1]  # the last card: every page boundary comes before its statements end
    cuts = [r[0] for r in conn.execute("SELECT cut_date FROM card_statements WHERE card_id = ? ORDER BY cut_date",
                                       (card,))]
    since = Since(0, 0, 0, conn.execute("SELECT closed_at FROM card_statements WHERE card_id = ? AND cut_date = ?",
                                        (card, cuts[5])).fetchone()[0][:10])
    with backend.db.write() as w:
        w.execute("UPDATE card_statements SET previous_balance = previous_balance + 1 WHERE card_id = ?"
                  " AND cut_date = ?", (card, cuts[5]))
    whole, recent = backend.check(), card_ledger.check_since(conn, since)
    assert any("saldo anterior" in p and cuts[5] in p for p in whole)
    assert any("saldo anterior" in p and cuts[5] in p for p in recent)
    monkeypatch.setattr(card_ledger, "PAGE", page)
    assert backend.check() == whole
    assert card_ledger.check_since(conn, since) == recent


def test_two_servers_closing_at_once_close_each_cut_once(db_path, tmp_path):
    """Two processes (forked by tests/fork_server.py: a fresh interpreter each cost ~0.3 s of imports)."""
    from backend.service import Backend
    from tests.core.test_races import run_workers

    outs = run_workers(tmp_path, """
        from datetime import date
        sys.stdin.readline()
        print(backend.card_cycle.close_due(date.fromisoformat(sys.argv[2])).statements)
        backend.close()
    """, [[str(db_path), "2027-06-01"]] * 2)
    counts = [int(out) for out in outs]

    backend = Backend(db_path, fast_settings())
    try:
        total = backend.db.conn.execute("SELECT COUNT(*) FROM card_statements WHERE closed_at > '2026-11-25 09:00:00'").fetchone()[0]
        assert sum(counts) == total > 0
        assert backend.check() == []
    finally:
        backend.close()


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_close_statement_twice_in_one_pass_is_a_no_op(backend):
    card = demo_card(backend)
    cut = date.fromisoformat(backend.db.conn.execute(
        "SELECT MAX(cut_date) FROM card_statements WHERE card_id = ?", (card,)).fetchone()[0])
    with backend.db.write() as conn:
        assert close_statement(conn, backend.ctx, card, cut) is None


def test_the_cycle_prices_the_revolving_balance_under_the_caps_loaded_in_the_database(backend, tmp_path):
    """A consumo cap loaded with `cooprogreso tasas --load` under the shipped one lowers the revolving rate of the
    next cut (a debt already owed is priced at the cap, not refused); the cut before it keeps the shipped rate."""
    from backend.core import rates

    member, _ = add_member(backend, cedula="1104680135")
    card = new_card(backend, member)
    buy(backend, card, 1000_00, "2027-03-10 10:00:00")
    backend.card_cycle.close_due(date(2027, 4, 16))  # cuts 15/03 and 15/04 under the shipped 16.77 %
    path = tmp_path / "tasas.csv"
    path.write_text("segment,valid_from,valid_to,max_effective,verified,source\n"
                    "consumo,2027-05-01,,12.00,si,Prueba\n", encoding="utf-8")
    rates.load_file(backend.ctx, path, "cli")
    backend.card_cycle.close_due(date(2027, 5, 16))
    rows = {r["cut_date"]: r["interest"] for r in backend.db.conn.execute(
        "SELECT cut_date, interest FROM card_statements WHERE card_id = ? ORDER BY cut_date", (card,))}

    def charge(effective: str) -> int:
        return int((Decimal(1000_00) * monthly_from_effective(Decimal(effective))).quantize(
            Decimal(1), rounding="ROUND_HALF_UP"))

    assert rows["2027-04-15"] == charge("0.1677") == 13_00
    assert rows["2027-05-15"] == charge("0.12") != charge("0.1677")
    assert backend.check() == []
