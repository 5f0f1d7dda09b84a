"""Card bookings (deferral, payment, cycle close) look rows up by index: no full scan in the write lock."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from backend.cards.requests import CardPaymentRequest, DeferralRequest
from tests.card_helpers import demo_card
from tests.conftest import last_code

pytestmark = pytest.mark.sqlite_only  # SQLite's query planner and trace hook

CARD_TABLES = ("card_", "cards", "registered_cards")


def card_scans(backend, action) -> dict[str, list[str]]:
    conn = backend.db.conn
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        action()
    finally:
        conn.set_trace_callback(None)
    scans = {}
    for sql in statements:
        if sql.split()[0].upper() not in ("SELECT", "UPDATE", "DELETE") or not any(t in sql for t in CARD_TABLES):
            continue
        try:
            plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]
        except sqlite3.Error:
            continue
        bad = [step for step in plan if step.startswith("SCAN") and "CONSTANT" not in step]
        if bad:
            scans[sql] = bad
    return scans


def test_deferral_and_payment_bookings_use_indexes(backend, lucia):
    card = demo_card(backend)
    ids = [p.id for p in backend.deferrals.eligible(lucia.token, card)][:2]
    pending = backend.deferrals.prepare_deferral(lucia.token, DeferralRequest(card_id=card, kind="consumos", purchases=ids, months=6))
    backend.ops.request_code(lucia.token, pending.id)
    code = last_code(backend)
    assert card_scans(backend, lambda: backend.ops.authorise(lucia.token, pending.id, code)) == {}
    pending = backend.cards.prepare_payment(lucia.token, CardPaymentRequest(card=f"propia:{card}", origin_id=lucia.accounts[0],
                                                                            option="otro", amount=10_00))
    backend.ops.request_code(lucia.token, pending.id)
    code = last_code(backend)
    assert card_scans(backend, lambda: backend.ops.authorise(lucia.token, pending.id, code)) == {}


def test_cycle_close_uses_indexes(backend):
    scans = card_scans(backend, lambda: backend.card_cycle.close_due(date(2027, 1, 20)))
    # the pass walks every card once by design; each card's own lookups must be indexed
    scans.pop("SELECT account_id FROM cards ORDER BY account_id", None)
    assert scans == {}, "\n".join(f"{sql}\n  {plan}" for sql, plan in scans.items())
