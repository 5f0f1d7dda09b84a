"""The demo member's «Mis solicitudes»: a microcrédito under review and a card request rejected with its
reason (no money moves at request time, so the demo's balances stay as they are). The figures come from
the same simulators a real request uses."""

from __future__ import annotations

from datetime import date, timedelta

from .rates import default_book
from .simulators import bp, card_rate, simulate_loan

DEMO_KEYS = ("demo-solicitud-1", "demo-solicitud-2")
REJECTED_REASON = ("El cupo solicitado supera tu capacidad de pago declarada; puedes solicitar una tarjeta con un cupo "
                   "de hasta $1,500.00.")


def add_demo_requests(backend, username: str, today: date) -> None:
    book = default_book()
    micro = simulate_loan(book, "microcredito", 3_000_00, 18, "frances", today)
    asked, decided = today - timedelta(days=12), today - timedelta(days=9)
    recent = today - timedelta(days=3)
    with backend.db.write() as conn:
        user_id, member_id = conn.execute("SELECT id, member_id FROM users WHERE username = ?", (username,)).fetchone()
        account = conn.execute("SELECT id FROM accounts WHERE member_id = ? AND kind = 'ahorros' ORDER BY id LIMIT 1",
                               (member_id,)).fetchone()[0]
        rows = [
            ("tarjeta", 4_000_00, 0, "", bp(card_rate(book, asked)), 0, 1_200_00, "Compras del hogar y emergencias",
             "Rechazada", REJECTED_REASON, DEMO_KEYS[1], f"{asked} 09:40:00", "atencion", f"{decided} 11:05:00",
             f"{decided} 11:05:00"),
            ("microcredito", micro.amount, micro.months, micro.method, micro.rate_bp, micro.cuota, 1_200_00,
             "Capital de trabajo para la tienda de abarrotes", "En revisión", None, DEMO_KEYS[0],
             f"{recent} 16:20:00", "atencion", f"{today - timedelta(days=2)} 10:00:00", None),
        ]
        for (product, amount, term, method, rate, cuota, income, purpose, state, reason, key, created, reviewer,
             reviewed, decided_at) in rows:
            conn.execute(
                "INSERT INTO product_requests (user_id, member_id, product, amount, term, method, rate_bp, installment,"
                " income, purpose, account_id, state, reason, idempotency_key, created_at, reviewed_by, reviewed_at,"
                " decided_by, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (user_id, member_id, product, amount, term, method, rate, cuota, income, purpose, account, state,
                 reason, key, created, reviewer, reviewed, reviewer if decided_at else None, decided_at))
