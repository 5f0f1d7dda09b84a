"""Shared steps for card tests: the demo member's card, its balances, and a fresh card for a member."""

from __future__ import annotations

from backend.cards import card_ledger
from backend.core import accounts
from backend.core.pan import pan_secret
from backend.demo.coop import demo_pan


def demo_card(backend) -> int:
    """The demo member's Cooprogreso card (3261 XXXX XXXX 6989)."""
    return backend.db.conn.execute("SELECT account_id FROM cards WHERE masked_pan = '3261 XXXX XXXX 6989'").fetchone()[0]


def internal_total(backend) -> int:
    """What the co-op's own accounts hold, taken together."""
    return backend.db.conn.execute("SELECT COALESCE(SUM(balance), 0) FROM accounts WHERE kind = 'interna'").fetchone()[0]


def new_card(backend, member_id: int, *, limit: int = 1000_00, cutoff_day: int = 15, pan: str | None = None) -> int:
    import random

    with backend.db.write() as conn:
        return accounts.open_card(conn, member_id, pan=pan or demo_pan(random.Random(member_id)),
                                  credit_limit=limit, cutoff_day=cutoff_day, due_day=1, opened_on="2026-01-01",
                                  secret=pan_secret(backend.ctx.secret("otp_pepper")))


def buy(backend, card: int, amount: int, at: str, memo: str = "Consumo Supermaxi", promo: int = 0) -> int:
    with backend.db.write() as conn:
        return card_ledger.record_purchase(conn, card, amount=amount, description=memo, at=at, actor="test",
                                           interest_free_months=promo)
