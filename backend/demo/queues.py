"""The demo co-op's back-office queues: Contacto cases of the demo member (one answered, one reclamo
still open with its deadline near, one consulta), and product requests waiting for a decision.

The requests belong to a second member (with an online user that must affiliate again), so the demo
member's own «Mis solicitudes» starts empty and a newcomer can ask for any product. One request is
above the approval threshold and already in review by «atencion»: the supervisor approves it (four eyes).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from backend.core.clock import iso
from backend.core.rates import default_book
from backend.products.product_opening import loan_schedule
from backend.products.simulators import bp, simulate_loan

if TYPE_CHECKING:
    from backend.core.db import Connection
    from backend.service import Backend

CASES = [  # (days ago, subject, body, answer days ago or None, answer)
    (20, "reclamo", "Me debitaron dos veces la cuota del crédito de octubre. Pido la devolución del valor "
                    "duplicado.", 8, "Revisamos tu cuenta: el segundo débito fue un error del proceso nocturno. "
                                     "Devolvimos $48.20 a tu cuenta de ahorros el mismo día. Disculpa las molestias."),
    (12, "reclamo", "Hice una transferencia interbancaria hace una semana y el destinatario dice que no le llegó. "
                    "El estado sigue «Enviada».", None, ""),
    (2, "consulta", "¿Puedo cambiar el día de pago de mi tarjeta de crédito al 20 de cada mes?", None, ""),
]


def add_demo_queues(backend: Backend, member_username: str, today: date, requester_id: int | None) -> None:
    at = datetime.combine(today, datetime.min.time())
    days = backend.ctx.settings.reclamo_response_days
    with backend.db.write() as conn:
        user = conn.execute("SELECT id FROM users WHERE username = ?", (member_username,)).fetchone()[0]
        for ago, subject, body, answered, answer in CASES:
            created = at - timedelta(days=ago) + timedelta(hours=15, minutes=ago)
            due = (created.date() + timedelta(days=days)).isoformat() if subject == "reclamo" else None
            state = "Respondido" if answered is not None else "Recibido"
            answered_at = iso(at - timedelta(days=answered) + timedelta(hours=11)) if answered is not None else None
            case = conn.execute("INSERT INTO contact_cases (user_id, subject, body, state, created_at, due_on,"
                                " answered_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                                (user, subject, body, state, iso(created), due, answered_at)).fetchone()[0]
            if answered_at:
                conn.execute("INSERT INTO contact_replies (case_id, author, body, created_at) VALUES (?, ?, ?, ?)",
                             (case, "atencion", answer, answered_at))
        if requester_id is not None:
            _requests(conn, requester_id, today, at)


def _requests(conn: Connection, member_id: int, today: date, at: datetime) -> None:
    first = conn.execute("SELECT first_names FROM members WHERE id = ?", (member_id,)).fetchone()[0]
    username = f"{first.split()[0].lower()}.solicitudes".translate(str.maketrans("áéíóúñ", "aeioun"))
    user = conn.execute("INSERT INTO users (member_id, username, password_hash, created_at, access_reset_at)"
                        " VALUES (?, ?, '!', ?, ?) RETURNING id",
                        (member_id, username, iso(at - timedelta(days=30)), iso(at - timedelta(days=1)))).fetchone()[0]
    account = conn.execute("SELECT id FROM accounts WHERE member_id = ? AND kind = 'ahorros' ORDER BY id LIMIT 1",
                           (member_id,)).fetchone()[0]
    book = default_book()
    wanted = [  # (hours ago, product, amount, term, method, purpose, reviewer)
        (50, "consumo", 12_000_00, 36, "frances", "Compra de un vehículo usado para trabajo", "atencion"),
        (26, "microcredito", 3_000_00, 18, "aleman", "Capital de trabajo para la tienda de abarrotes", None),
        (3, "plazo_fijo", 500_00, 181, "", "Ahorro para la matrícula de la universidad", None),
    ]
    for hours, product, amount, term, method, purpose, reviewer in wanted:
        created = at + timedelta(hours=9) - timedelta(hours=hours)
        if product == "plazo_fijo":
            rate, installment = 725, 0
        else:
            rate = bp(simulate_loan(book, product, amount, term, method, today).effective)
            row = {"rate_bp": rate, "method": method, "amount": amount, "term": term}
            due, capital, interest = loan_schedule(row, today)[0]
            installment = capital + interest
        conn.execute(
            "INSERT INTO product_requests (user_id, member_id, product, amount, term, method, rate_bp, installment,"
            " income, purpose, account_id, state, idempotency_key, created_at, reviewed_by, reviewed_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (user, member_id, product, amount, term, method, rate, installment, 2_400_00, purpose, account,
             "En revisión" if reviewer else "Recibida", f"demo-{uuid.uuid4().hex}", iso(created), reviewer,
             iso(created + timedelta(hours=20)) if reviewer else None))
