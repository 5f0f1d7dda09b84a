"""The demo co-op's cards: a year of consumos, monthly statements, payments and deferrals.

Each card's events join demo.py's timeline: purchases, the cycle close the day after each fecha de
corte, and a payment on each fecha máxima de pago (usually the pago total, sometimes only the
mínimo, so revolving interest shows). The demo member also has two deferrals in the past and, in the
open cycle, the manual's two purchases ($15.00 food, $25.00 housing) still eligible for deferral.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

from backend.cards import card_ledger
from backend.cards.card_cycle import close_statement, cuts_between
from backend.cards.deferrals import book_deferral, eligible_purchases, simulation_for
from backend.core import business_days
from backend.core.context import Context
from backend.core.errors import ValidationError
from backend.core.ledger import Leg, post
from backend.core.rates import default_book

if TYPE_CHECKING:
    from backend.core.db import Connection

# One event of the timeline: booked inside the replay's write transaction at its timestamp (ISO text).
Step: TypeAlias = "Callable[[Connection, str], None]"

SHOPS = ["Supermaxi", "Tía", "Farmacias Cruz Azul", "Fybeca", "Gasolinera Primax", "Kywi", "De Prati",
         "Akí", "Sana Sana", "Almacenes Juan Eljuri", "Restaurante El Chacarero", "Librería Española"]
PROMOTIONS = {"De Prati", "Almacenes Juan Eljuri"}  # merchants offering 3 meses sin intereses


def plan(events: list, rng: random.Random, ctx: Context, start: date, today: date, card: int, savings: int,
         *, demo_member: bool) -> None:
    chance = 0.3 if demo_member else 0.18
    d = start + timedelta(days=1)
    while d < today - timedelta(days=4 if demo_member else 0):
        if rng.random() < chance:
            shop = rng.choice(SHOPS)
            promo = 3 if shop in PROMOTIONS and rng.random() < 0.5 else 0
            amount = rng.randint(3, 120) * 100 + rng.choice([0, 25, 50, 75, 99])
            memo = f"Consumo {shop}" + (" (3 meses sin intereses)" if promo else "")
            events.append((datetime(d.year, d.month, d.day, rng.randint(9, 21), rng.randint(0, 59)), 4,
                           _purchase(card, amount, memo, promo)))
        d += timedelta(days=1)
    if demo_member:
        for days, memo, amount in ((3, "Consumo Comida", 15_00), (2, "Consumo Vivienda", 25_00)):
            at = datetime.combine(today - timedelta(days=days), datetime.min.time()) + timedelta(hours=13)
            events.append((at, 4, _purchase(card, amount, memo, 0)))
        for days, months in ((120, 6), (45, 3)):
            at = datetime.combine(today - timedelta(days=days), datetime.min.time()) + timedelta(hours=18)
            events.append((at, 6, _deferral(ctx, card, months)))
    # the card was just opened in the caller's transaction, on this thread's connection
    cutoff = ctx.db.conn.execute("SELECT cutoff_day FROM cards WHERE account_id = ?", (card,)).fetchone()[0]
    cal = business_days.current(ctx.db.conn)
    for cut in cuts_between(cutoff, start, today):
        closing = datetime.combine(cut + timedelta(days=1), datetime.min.time()) + timedelta(minutes=5)
        if closing.date() < today:
            events.append((closing, -1, _close(ctx, card, cut)))
        due = cal.roll(cut + timedelta(days=ctx.settings.card_due_days))  # as card_cycle stores it
        if due < today:
            minimum_only = rng.random() < (0.35 if demo_member else 0.2)
            events.append((datetime.combine(due, datetime.min.time()) + timedelta(hours=9), 5,
                           _payment(card, savings, minimum_only)))


def _purchase(card: int, amount: int, memo: str, promo: int) -> Step:
    def run(conn: Connection, at: str) -> None:
        try:
            card_ledger.record_purchase(conn, card, amount=amount, description=memo, at=at, actor="demo",
                                        interest_free_months=promo)
        except ValidationError:  # over the cupo: the terminal declines it
            pass
    return run


def _close(ctx: Context, card: int, cut: date) -> Step:
    def run(conn: Connection, at: str) -> None:
        close_statement(conn, ctx, card, cut, notify=False, at=at)
    return run


def _payment(card: int, savings: int, minimum_only: bool) -> Step:
    def run(conn: Connection, at: str) -> None:
        from backend.cards.cards import last_statement

        st = last_statement(conn, card)
        if st is None:
            return
        want = st.minimum_left if minimum_only else st.total_left
        available = conn.execute("SELECT balance - held FROM accounts WHERE id = ?", (savings,)).fetchone()[0]
        amount = min(want, max(0, available))
        if amount > 0:
            post(conn, kind=card_ledger.PAYMENT, description="Pago tarjeta de crédito", posted_at=at, actor="demo",
                 legs=[Leg(savings, -amount, "Pago tarjeta de crédito Cooprogreso"),
                       Leg(card, amount, "Pago recibido, gracias")])
    return run


def _deferral(ctx: Context, card: int, months: int) -> Step:
    def run(conn: Connection, at: str) -> None:
        day = date.fromisoformat(at[:10])
        chosen = sorted(eligible_purchases(conn, card, day), key=lambda p: -p.amount)[:2]
        owed = card_ledger.balances(conn, card).revolving
        if not chosen or sum(p.amount for p in chosen) > owed:
            return
        row = conn.execute("SELECT c.masked_pan, a.member_id FROM cards c JOIN accounts a ON a.id = c.account_id"
                           " WHERE c.account_id = ?", (card,)).fetchone()
        sim = simulation_for(default_book(), card, row[0], "consumos", tuple(sorted(p.id for p in chosen)),
                             sum(p.amount for p in chosen), months, day)
        book_deferral(conn, ctx, sim, user_id=None, member_id=row[1], actor="demo", at=at,
                      key=f"demo-diferido-{card}-{at}", notify=False)
    return run
