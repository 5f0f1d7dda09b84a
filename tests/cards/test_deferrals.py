"""5. Diferido: simulation, cap, confirmation through the one authorised flow, no money created."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from backend.cards import card_ledger
from backend.cards.requests import DeferralRequest
from backend.core.errors import NotFound, ServiceError, ValidationError
from backend.core.rates import LegalCap, Offer, RateAboveCap, RateBook, percent
from tests.card_helpers import buy, demo_card, internal_total
from tests.conftest import last_code


def authorise(backend, who, pending):
    backend.ops.request_code(who.token, pending.id)
    return backend.ops.authorise(who.token, pending.id, last_code(backend))


def _manual_purchases(backend, lucia):
    card = demo_card(backend)
    eligible = backend.deferrals.eligible(lucia.token, card)
    chosen = [p for p in eligible if p.description in ("Consumo Comida", "Consumo Vivienda")]
    assert [p.amount for p in chosen] == [15_00, 25_00]
    return card, eligible, [p.id for p in chosen]


@pytest.mark.sqlite_only(covered=True)
def test_the_manuals_two_purchases_are_eligible_and_simulate(backend, lucia):
    card, _, ids = _manual_purchases(backend, lucia)
    sim = backend.deferrals.simulate(lucia.token, card, "consumos", ids, 3)
    assert sim.principal == 40_00 and sim.months == 3
    assert sum(r.cuota for r in sim.schedule.rows) == 40_00 + sim.total_interest
    assert sim.effective <= sim.cap == Decimal("0.1677")
    assert [o.months for o in sim.options] == [3, 6, 9, 12, 18, 24, 36]
    assert all(o.available and o.effective <= o.cap for o in sim.options)
    assert len(sim.due_dates) == 3 and sim.due_dates[0] > date(2026, 11, 25)


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_confirming_moves_debt_not_money_and_purchases_cannot_be_deferred_twice(backend, lucia):
    card, _, ids = _manual_purchases(backend, lucia)
    before = card_ledger.balances(backend.db.conn, card)
    coop = internal_total(backend)
    pending = backend.deferrals.prepare_deferral(lucia.token, DeferralRequest(card_id=card, kind="consumos", purchases=ids, months=3))
    assert dict(pending.lines)["Total Monto a Diferir"] == "$40.00"
    receipt = authorise(backend, lucia, pending)
    assert receipt.get("Estado") == "Diferido exitoso"
    after = card_ledger.balances(backend.db.conn, card)
    assert after.owed == before.owed and after.installments == before.installments + 40_00
    assert internal_total(backend) == coop
    assert backend.check() == []
    assert not {p.id for p in backend.deferrals.eligible(lucia.token, card)} & set(ids)
    again = backend.deferrals.prepare_deferral
    with pytest.raises(ValidationError):
        again(lucia.token, DeferralRequest(card_id=card, kind="consumos", purchases=ids, months=3))
    mine = backend.deferrals.mine(lucia.token)
    assert mine[0].principal == 40_00 and mine[0].remaining_cuotas == 3


def test_cuotas_appear_on_the_following_statements(backend, lucia):
    card, _, ids = _manual_purchases(backend, lucia)
    authorise(backend, lucia, backend.deferrals.prepare_deferral(
        lucia.token, DeferralRequest(card_id=card, kind="consumos", purchases=ids, months=3)))
    deferral = backend.deferrals.mine(lucia.token)[0]
    backend.card_cycle.close_due(date(2027, 3, 1))
    billed = backend.db.conn.execute("SELECT COUNT(*) FROM card_deferral_cuotas WHERE deferral_id = ?"
                                     " AND statement_id IS NOT NULL", (deferral.id,)).fetchone()[0]
    assert billed == 3
    assert backend.deferrals.mine(lucia.token)[0].remaining_cuotas == 0
    assert backend.check() == []


def test_rotativo_defers_the_revolving_balance(backend, lucia):
    card = demo_card(backend)
    owed = card_ledger.balances(backend.db.conn, card).revolving
    pending = backend.deferrals.prepare_deferral(lucia.token, DeferralRequest(card_id=card, kind="rotativo", purchases=[], months=12))
    authorise(backend, lucia, pending)
    after = card_ledger.balances(backend.db.conn, card)
    assert after.revolving == 0 and backend.check() == []
    assert backend.deferrals.mine(lucia.token)[0].principal == owed
    assert backend.deferrals.eligible(lucia.token, card) == []  # nothing in it can be deferred again
    with pytest.raises(ValidationError, match="saldo rotativo"):
        backend.deferrals.simulate(lucia.token, card, "rotativo", [], 3)


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_interest_free_promotion_is_rate_zero_up_to_its_months(backend, lucia):
    card = demo_card(backend)
    pid = buy(backend, card, 90_00, "2026-11-24 12:00:00", "Consumo De Prati (3 meses sin intereses)", promo=3)
    three = backend.deferrals.simulate(lucia.token, card, "consumos", [pid], 3)
    assert three.effective == 0 and three.total_interest == 0 and [r.cuota for r in three.schedule.rows] == [30_00] * 3
    six = backend.deferrals.simulate(lucia.token, card, "consumos", [pid], 6)
    assert six.effective > 0


@pytest.mark.sqlite_only(covered=True)
def test_a_rate_above_the_cap_is_refused(backend, lucia):
    card, _, ids = _manual_purchases(backend, lucia)
    jan = date(2020, 1, 1)
    backend.deferrals.book = RateBook([LegalCap("consumo", jan, percent("16.77"))],
                                      [Offer("diferido", "consumo", 1, 36, percent("17.00"), jan)])
    with pytest.raises(RateAboveCap, match="supera la tasa máxima legal"):
        backend.deferrals.simulate(lucia.token, card, "consumos", ids, 3)


@pytest.mark.parametrize("request_", [
    {"kind": "consumos", "purchases": [], "months": 3},
    {"kind": "consumos", "purchases": "1,2", "months": 3},
    {"kind": "consumos", "purchases": [True], "months": 3},
    {"kind": "consumos", "months": 5},
    {"kind": "otro", "purchases": [], "months": 3},
])
@pytest.mark.sqlite_only  # input checks before any engine-specific SQL: one engine is enough
def test_bad_requests_are_refused_in_spanish(backend, lucia, request_):
    card = demo_card(backend)
    with pytest.raises(ValidationError):
        backend.ops.prepare(lucia.token, "diferido", {"card_id": card, **request_})  # as JSON from outside


@pytest.mark.sqlite_only(covered=True)
def test_another_members_card_or_purchase_is_not_yours(backend, lucia, ana):
    card, _, ids = _manual_purchases(backend, lucia)
    with pytest.raises(NotFound):
        backend.deferrals.simulate(ana.token, card, "consumos", ids, 3)
    with pytest.raises(NotFound):
        backend.deferrals.eligible(ana.token, card)


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_a_purchase_deferred_after_the_code_was_sent_voids_the_code(backend, lucia):
    card, _, ids = _manual_purchases(backend, lucia)
    first = backend.deferrals.prepare_deferral(lucia.token, DeferralRequest(card_id=card, kind="consumos", purchases=ids, months=3))
    second = backend.deferrals.prepare_deferral(lucia.token, DeferralRequest(card_id=card, kind="consumos", purchases=ids[:1],
                                                                             months=6))
    backend.ops.request_code(lucia.token, first.id)
    code = last_code(backend)
    authorise(backend, lucia, second)
    with pytest.raises(ServiceError):
        backend.ops.authorise(lucia.token, first.id, code)
    assert backend.check() == []
    assert card_ledger.balances(backend.db.conn, card).installments >= 15_00


def test_two_processes_deferring_the_same_purchase_book_it_once(backend, lucia, db_path, tmp_path):
    """Two processes (forked by tests/fork_server.py: a fresh interpreter each cost ~0.3 s of imports), on the
    tests' clock (COOPROGRESO_CLOCK, which the launcher inherits)."""
    from tests.core.test_races import run_workers

    card, _, ids = _manual_purchases(backend, lucia)
    jobs = []
    for months in (3, 6):
        pending = backend.deferrals.prepare_deferral(lucia.token, DeferralRequest(card_id=card, kind="consumos", purchases=ids,
                                                                                  months=months))
        backend.ops.request_code(lucia.token, pending.id)
        jobs.append((str(db_path), lucia.token, pending.id, last_code(backend)))
    results = [out.strip() for out in run_workers(tmp_path, """
        from backend.core.errors import ServiceError
        sys.stdin.readline()
        try:
            print(backend.ops.authorise(sys.argv[2], sys.argv[3], sys.argv[4]).reference)
        except ServiceError as exc:
            print(f"refused: {exc.message}")
        backend.close()
    """, [list(job) for job in jobs])]
    assert sum(not r.startswith("refused") for r in results) == 1, results
    assert backend.db.conn.execute("SELECT COUNT(*) FROM card_deferrals WHERE kind = 'consumos' AND principal = 4000"
                                   ).fetchone()[0] == 1
    assert backend.check() == []
