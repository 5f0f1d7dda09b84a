"""The demo member's «Mis solicitudes»: the consumo loan she already has, asked for online and approved
(the request points at that loan and its disbursement), and a card request rejected with its reason.
Neither waits in the back-office queue, and no money moves here: the demo's balances stay as they are."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from backend.core.rates import default_book
from backend.products.simulators import bp, card_rate

if TYPE_CHECKING:
    from backend.service import Backend

DEMO_KEYS = ("demo-solicitud-1", "demo-solicitud-2")
REJECTED_REASON = ("El cupo solicitado supera tu capacidad de pago declarada; puedes solicitar una tarjeta con un cupo "
                   "de hasta $1,500.00.")
COLUMNS = ("user_id, member_id, product, amount, term, method, rate_bp, installment, income, purpose, account_id, state,"
           " reason, idempotency_key, created_at, reviewed_by, reviewed_at, decided_by, decided_at, product_account_id,"
           " entry_id")


def add_demo_requests(backend: Backend, username: str, today: date) -> None:
    with backend.db.write() as conn:
        user_id, member_id = conn.execute("SELECT id, member_id FROM users WHERE username = ?", (username,)).fetchone()
        account = conn.execute("SELECT id FROM accounts WHERE member_id = ? AND kind = 'ahorros' ORDER BY id LIMIT 1",
                               (member_id,)).fetchone()[0]
        rows: list[tuple] = []
        loan = conn.execute("SELECT l.* FROM loans l JOIN accounts a ON a.id = l.account_id WHERE a.member_id = ?"
                            " ORDER BY l.start_date LIMIT 1", (member_id,)).fetchone()
        if loan is not None:
            start = date.fromisoformat(loan["start_date"])
            first = conn.execute("SELECT principal + interest FROM loan_installments WHERE loan_id = ? AND number = 1",
                                 (loan["account_id"],)).fetchone()[0]
            entry = conn.execute("SELECT MIN(entry_id) FROM postings WHERE account_id = ?",
                                 (loan["account_id"],)).fetchone()[0]
            asked, decided = f"{start - timedelta(days=6)} 18:12:00", f"{start - timedelta(days=1)} 15:30:00"
            rows.append((user_id, member_id, "consumo", loan["principal"], loan["term_months"], "frances",
                         loan["rate_bp"], first, 1_200_00, "Compra de electrodomésticos para el hogar", account,
                         "Aprobada", None, DEMO_KEYS[0], asked, "atencion", asked[:10] + " 09:00:00", "supervisor",
                         decided, loan["account_id"], entry))
        asked_on = today - timedelta(days=12)
        rows.append((user_id, member_id, "tarjeta", 4_000_00, 0, "", bp(card_rate(default_book(), asked_on)), 0,
                     1_200_00, "Compras del hogar y emergencias", account, "Rechazada", REJECTED_REASON, DEMO_KEYS[1],
                     f"{asked_on} 09:40:00", "atencion", f"{asked_on + timedelta(days=1)} 10:00:00", "atencion",
                     f"{asked_on + timedelta(days=3)} 11:05:00", None, None))
        conn.executemany(f"INSERT INTO product_requests ({COLUMNS}) VALUES ({', '.join('?' * 21)})", rows)
