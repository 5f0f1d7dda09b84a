"""Product requests for the back-office tests, as «Solicita tus Productos» leaves them (state Recibida)."""

from __future__ import annotations

import uuid
from datetime import date

from backend.product_opening import LOANS, loan_schedule


def savings_of(backend, member_id: int) -> int:
    return backend.db.conn.execute("SELECT id FROM accounts WHERE member_id = ? AND kind = 'ahorros' ORDER BY id"
                                   " LIMIT 1", (member_id,)).fetchone()[0]


def new_request(backend, member_id: int, product: str = "consumo", amount: int = 1000_00, term: int = 12,
                method: str = "frances", rate_bp: int = 1677, account_id: int | None = None,
                income: int = 1500_00, purpose: str = "Arreglo de la casa") -> int:
    """Insert a request row directly (the member side books it through its own authorised operation)."""
    user = backend.db.conn.execute("SELECT id FROM users WHERE member_id = ?", (member_id,)).fetchone()
    account = account_id if account_id is not None else savings_of(backend, member_id)
    installment = 0
    if product in LOANS:
        first = loan_schedule({"rate_bp": rate_bp, "method": method, "amount": amount, "term": term},
                              date(2026, 11, 25))[0]
        installment = first[1] + first[2]
    with backend.db.write() as conn:
        return conn.execute(
            "INSERT INTO product_requests (user_id, member_id, product, amount, term, method, rate_bp, installment,"
            " income, purpose, account_id, state, idempotency_key, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'Recibida', ?, ?) RETURNING id",
            (user[0] if user else None, member_id, product, amount, term, method, rate_bp, installment, income,
             purpose, account, uuid.uuid4().hex, backend.ctx.now_iso())).fetchone()[0]
