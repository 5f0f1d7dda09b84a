"""Card arrears: interest on capital only (Código Civil art. 2113), the valor vencido carried forward, and
interés de mora on overdue capital, covered first by a late payment."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.cards import card_arrears
from backend.cards.card_arrears import State, allocate
from backend.cards.requests import CardPaymentRequest
from backend.core.rates import monthly_from_effective
from tests.card_helpers import buy, new_card
from tests.conftest import last_code
from tests.transfer_helpers import balance_of, other_member

EFFECTIVE = Decimal("0.1677")  # the rotativo rate in backend/data/tasas_cooprogreso.csv


def _statements(backend, card):
    return backend.db.conn.execute("SELECT * FROM card_statements WHERE card_id = ? ORDER BY cut_date",
                                   (card,)).fetchall()


def _mora(capital: int, days: int) -> Decimal:
    annual = EFFECTIVE * card_arrears.mora_rule().factor
    daily = ((1 + annual) ** (Decimal(1) / 365) - 1).quantize(Decimal("1e-12"))
    return Decimal(capital) * daily * days


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_twelve_unpaid_cycles_charge_interest_on_capital_only_and_carry_the_arrears(backend):
    member = other_member(backend)
    card = new_card(backend, member.member_id)
    buy(backend, card, 1000_00, "2027-03-10 10:00:00")
    backend.card_cycle.close_due(date(2028, 3, 16))
    rows = _statements(backend, card)
    assert len(rows) == 13
    monthly = monthly_from_effective(EFFECTIVE)
    flat = int((Decimal(1000_00) * monthly).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert flat == 13_00
    # never $13.17, $13.34…: unpaid interest and mora bear no interest
    assert [r["interest"] for r in rows] == [0] + [13_00] * 12
    for before, r in zip(rows, rows[1:], strict=False):
        assert r["overdue"] == before["minimum_due"]  # the unpaid minimum is carried as valor vencido
        assert r["minimum_due"] >= r["overdue"] + r["late_interest"]
        assert r["late_interest"] > 0
        assert r["interest_owed"] == before["interest_owed"] + 13_00
        assert r["mora_owed"] == before["mora_owed"] + r["late_interest"]
    # the first mora: the $100.00 minimum overdue from the day after the fecha máxima to the cut
    second = rows[1]
    days = (date.fromisoformat(second["cut_date"]) - date.fromisoformat(rows[0]["due_date"])).days
    assert second["overdue_capital"] == 100_00
    assert second["late_interest"] == int(_mora(100_00, days).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    last = rows[-1]
    assert last["total_due"] == 1000_00 + 12 * 13_00 + sum(r["late_interest"] for r in rows)
    # each unpaid minimum's capital becomes overdue: $100.00, then $190.00 (10 % of the $900.00 still current)…
    overdue = [r["overdue_capital"] for r in rows]
    assert overdue[:3] == [0, 100_00, 190_00] and overdue == sorted(overdue) and overdue[-1] < 1000_00
    assert backend.check() == []


def _pay(backend, clock, member, card, option, amount=0):
    token = backend.auth.login("ana.prueba", "Clave2026x").token
    pending = backend.cards.prepare_payment(token, CardPaymentRequest(card=f"propia:{card}", origin_id=member.accounts[0],
                                                                      option=option, amount=amount))
    backend.ops.request_code(token, pending.id)
    return pending, backend.ops.authorise(token, pending.id, last_code(backend))


def test_a_late_payment_pays_the_mora_first(backend, clock):
    member = other_member(backend, balance=2000_00)
    card = new_card(backend, member.member_id)
    buy(backend, card, 1000_00, "2026-11-26 10:00:00")
    backend.card_cycle.close_due(date(2026, 12, 16))
    st = _statements(backend, card)[0]
    due = date.fromisoformat(st["due_date"])
    clock.advance(seconds=(datetime.combine(due + timedelta(days=13), datetime.min.time())
                           + timedelta(hours=10) - clock.now().replace(tzinfo=None)).total_seconds())
    token = backend.auth.login("ana.prueba", "Clave2026x").token
    options = backend.cards.payment_options(token, f"propia:{card}")
    mora = int(_mora(st["minimum_due"], 13).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert mora > 0  # paying the whole balance 13 days late is no longer free
    assert options.total == st["total_due"] + mora and options.owed == options.total
    pending, _ = _pay(backend, clock, member, card, "total")
    assert ("Incluye interés de mora", f"${mora / 100:,.2f}") in pending.lines
    assert balance_of(backend, card) == 0  # the payment covered the mora booked just before it
    booked = backend.db.conn.execute(
        "SELECT -SUM(p.amount) FROM postings p JOIN entries e ON e.id = p.entry_id WHERE p.account_id = ?"
        " AND e.kind = 'mora_tarjeta'", (card,)).fetchone()[0]
    assert booked == mora
    backend.card_cycle.close_due(date(2027, 1, 16))
    nxt = _statements(backend, card)[1]
    assert (nxt["late_interest"], nxt["mora_owed"], nxt["overdue_capital"], nxt["total_due"]) == (mora, 0, 0, 0)
    assert nxt["overdue"] == 0 and nxt["interest"] == 0  # all capital paid within the cycle
    assert backend.check() == []


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_a_partial_late_payment_covers_mora_then_interest_then_arrears(backend, clock):
    member = other_member(backend, balance=2000_00)
    card = new_card(backend, member.member_id)
    buy(backend, card, 1000_00, "2026-11-26 10:00:00")
    backend.card_cycle.close_due(date(2027, 1, 16))  # December unpaid: January has vencido, interest, mora
    jan = _statements(backend, card)[1]
    assert jan["overdue_capital"] == 100_00 and jan["interest_owed"] == 13_00 and jan["mora_owed"] > 0
    due = date.fromisoformat(jan["due_date"])
    clock.advance(seconds=(datetime.combine(due + timedelta(days=5), datetime.min.time())
                           + timedelta(hours=10) - clock.now().replace(tzinfo=None)).total_seconds())
    state = card_arrears.due_now(backend.db.conn, card, clock.now().date())
    pay = state.mora + state.interest + 50_00
    _pay(backend, clock, member, card, "otro", pay)
    after = card_arrears.due_now(backend.db.conn, card, clock.now().date())
    assert (after.mora, after.interest) == (0, 0)
    assert after.overdue == state.overdue - 50_00
    backend.card_cycle.close_due(date(2027, 2, 16))
    assert backend.check() == []


def test_check_sees_a_tampered_mora_or_valor_vencido(backend):
    member = other_member(backend)
    card = new_card(backend, member.member_id)
    buy(backend, card, 1000_00, "2027-03-10 10:00:00")
    backend.card_cycle.close_due(date(2027, 6, 16))
    with backend.db.write() as conn:
        conn.execute("UPDATE card_statements SET overdue = overdue - 1 WHERE card_id = ? AND cut_date = '2027-05-15'",
                     (card,))
    assert any("valor vencido" in p for p in backend.check())


amounts = st.integers(min_value=0, max_value=10**9)


@given(mora=amounts, interest=amounts, overdue=amounts, payment=amounts)
def test_a_payment_is_split_in_order_and_the_parts_sum_exactly(mora, interest, overdue, payment):
    state = State(mora=mora, interest=interest, overdue=overdue, minimum_left=mora + interest + overdue)
    after, a = allocate(state, payment)
    assert a.mora + a.interest + a.overdue + a.current == payment
    assert min(a.mora, a.interest, a.overdue, a.current) >= 0
    assert a.interest == 0 or a.mora == mora  # interest only once the mora is paid
    assert a.overdue == 0 or a.interest == interest
    assert a.current == 0 or a.overdue == overdue
    assert (after.mora, after.interest, after.overdue) == (mora - a.mora, interest - a.interest, overdue - a.overdue)
    assert after.capital_paid == a.overdue + a.current


class _Undo(Exception):
    pass


# Each way of tampering with what the cards' check re-derives per statement (it reads a card's postings once and
# slices them by cut), with the exact findings: the same ones the per-statement queries found before.
TAMPERED = {
    "a payment moved past the cut": (
        "UPDATE postings SET posted_at = '2027-06-16 09:00:00' WHERE id = (SELECT p.id FROM postings p JOIN entries e"
        " ON e.id = p.entry_id WHERE p.account_id = :card AND e.kind = 'pago_tarjeta')",
        ["{june}: interés de mora $2.81 ≠ $3.16 según los pagos", "{june}: valor vencido $282.68 ≠ $332.68 según los pagos",
         "{june}: capital vencido $282.06 ≠ $312.81 según los pagos", "{june}: mora adeudada $2.46 ≠ $3.99 según los pagos",
         "{june}: intereses adeudados $11.22 ≠ $30.26 según los pagos",
         "{june}: pago total $883.90 ≠ $933.90 según el libro al corte",
         "{july}: interés de mora $4.68 ≠ $4.21 según los pagos", "{july}: valor vencido $445.63 ≠ $395.63 según los pagos",
         "{july}: capital vencido $431.95 ≠ $394.12 según los pagos", "{july}: mora adeudada $7.14 ≠ $4.09 según los pagos",
         "{july}: intereses adeudados $22.54 ≠ $11.32 según los pagos"]),
    "a mora posting relabelled": (
        "UPDATE entries SET kind = 'cierre_tarjeta' WHERE id IN (SELECT p.entry_id FROM postings p JOIN entries e"
        " ON e.id = p.entry_id WHERE p.account_id = :card AND e.kind = 'mora_tarjeta' AND p.posted_at LIKE '2027-05-20%')",
        ["{june}: interés de mora $2.81 ≠ $2.46 en el libro"]),
    "a cuota's interest": (
        "UPDATE card_deferral_cuotas SET interest = interest + 1 WHERE statement_id = (SELECT id FROM card_statements"
        " WHERE card_id = :card AND cut_date = '2027-06-15')",
        ["diferido {deferral}: capital $300.00 / interés $7.27 ≠ cuotas $300.00 / $7.28",
         "{june}: intereses adeudados $11.22 ≠ $11.23 según los pagos"]),
    "a diferido posting": (
        "UPDATE postings SET amount = amount - 1 WHERE id = (SELECT MIN(p.id) FROM postings p JOIN cards c"
        " ON c.installment_account_id = p.account_id WHERE c.account_id = :card)",
        ["{april}: saldo diferido $201.19 ≠ $201.20 según el libro al corte",
         "{may}: saldo diferido $101.19 ≠ $101.20 según el libro al corte",
         "{june}: saldo diferido $0.00 ≠ $0.01 según el libro al corte",
         "{july}: saldo diferido $0.00 ≠ $0.01 según el libro al corte"]),
    "a purchase's amount": (
        "UPDATE card_purchases SET amount = amount + 1 WHERE card_id = :card AND posted_at = '2027-03-20 10:00:00'",
        ["consumo {purchase}: $300.01 registrado ≠ $300.00 en el libro"]),
}


def test_check_finds_each_tampering_of_a_cards_postings_exactly(backend):
    from backend.cards import card_ledger
    from backend.cards.deferrals import book_deferral, simulation_for
    from backend.core.accounts import internal_account
    from backend.core.ledger import Leg, post
    from backend.core.rates import default_book

    member = other_member(backend)
    card = new_card(backend, member.member_id)
    buy(backend, card, 600_00, "2027-03-10 10:00:00")
    deferred = buy(backend, card, 300_00, "2027-03-20 10:00:00")
    sim = simulation_for(default_book(), card, "3261 XXXX XXXX 0000", "consumos", (deferred,), 300_00, 3,
                         date(2027, 3, 21))
    with backend.db.write() as conn:
        deferral = book_deferral(conn, backend.ctx, sim, user_id=None, member_id=member.member_id, actor="test",
                      at="2027-03-21 10:00:00", key="k1")
    backend.card_cycle.close_due(date(2027, 5, 16))
    with backend.db.write() as conn:  # $50 paid with capital overdue since April: the mora is booked first
        card_arrears.accrue_mora(conn, card, date(2027, 5, 20), "2027-05-20 09:00:00", actor="test")
        post(conn, kind=card_arrears.PAYMENT, description="Pago", posted_at="2027-05-20 09:00:00", actor="test",
             legs=[Leg(internal_account(conn, "caja"), -50_00, "Pago"), Leg(card, 50_00, "Pago")])
    backend.card_cycle.close_due(date(2027, 7, 16))
    assert backend.check() == []
    number = backend.db.conn.execute("SELECT number FROM accounts WHERE id = ?", (card,)).fetchone()[0]
    names = {"purchase": deferred, "deferral": deferral} | {
        month: f"estado de cuenta {number} al 2027-{m:02d}-15" for m, month in ((4, "april"), (5, "may"), (6, "june"), (7, "july"))}
    for what, (sql, expected) in TAMPERED.items():
        try:
            with backend.db.write() as conn:
                assert conn.execute(sql.replace(":card", str(card))).rowcount == 1, what
                found = card_ledger.check(conn)
                raise _Undo
        except _Undo:
            pass
        assert found == [p.format(**names) for p in expected], what
    assert backend.check() == []
