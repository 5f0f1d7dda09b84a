"""Product requests for the back-office tests: asked for by the member through «Solicita tus Productos»
(the authorised flow, state Recibida), or written straight in for figures the catalogue does not offer."""

from __future__ import annotations

import uuid
from datetime import date

from backend.products.product_opening import LOANS, loan_schedule
from backend.products.requests import ProductRequest

from .conftest import last_code


def savings_of(backend, member_id: int) -> int:
    return backend.db.conn.execute("SELECT id FROM accounts WHERE member_id = ? AND kind = 'ahorros' ORDER BY id"
                                   " LIMIT 1", (member_id,)).fetchone()[0]


def new_request(backend, member, product: str = "consumo", amount: int = 1000_00, term: int = 12,
                method: str = "frances", income: int = 1500_00, purpose: str = "Arreglo de la casa") -> int:
    """The member asks: prepare, code to the phone, authorise; returns the request's id."""
    request = ProductRequest(product=product, amount=amount, term=term, method=method, income=income,
                             purpose=purpose, account_id=member.accounts[0])
    pending = backend.product_requests.prepare_request(member.token, request)
    backend.ops.request_code(member.token, pending.id)
    return backend.ops.authorise(member.token, pending.id, last_code(backend)).result_id


def insert_request(backend, member_id: int, product: str = "consumo", amount: int = 1000_00, term: int = 12,
                   method: str = "frances", rate_bp: int = 1677, account_id: int | None = None) -> int:
    """A request row as the member side stores it, at a rate of the test's choosing."""
    user = backend.db.conn.execute("SELECT id FROM users WHERE member_id = ?", (member_id,)).fetchone()[0]
    installment = 0
    if product in LOANS:
        first = loan_schedule({"rate_bp": rate_bp, "method": method, "amount": amount, "term": term},
                              date(2026, 11, 25))[0]
        installment = first[1] + first[2]
    with backend.db.write() as conn:
        return conn.execute(
            "INSERT INTO product_requests (user_id, member_id, product, amount, term, method, rate_bp, installment,"
            " income, purpose, account_id, state, idempotency_key, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 150000, 'Prueba', ?, 'Recibida', ?, ?) RETURNING id",
            (user, member_id, product, amount, term, method, rate_bp, installment,
             account_id if account_id is not None else savings_of(backend, member_id), uuid.uuid4().hex,
             backend.ctx.now_iso())).fetchone()[0]
