"""The back office decides what members ask for in «Solicita tus Productos».

A request moves Recibida → En revisión (someone takes it, and is recorded as its reviewer) →
Aprobada or Rechazada (with a reason). Above `backoffice_approval_threshold` a second person
approves (four eyes): never the reviewer. Approval opens the product in the same transaction that
marks the request approved, the request row locked first (FOR UPDATE), so two staff approving at
once, a second approval or an approval after a rejection open nothing more.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from backend.core import notices, pan
from backend.core.context import Context, Principal
from backend.core.errors import Forbidden, InsufficientFunds, NotFound, ValidationError
from backend.core.money import format_money
from backend.core.text import clean_text
from backend.products.product_opening import LOANS, open_product
from backend.products.product_requests import rate_text
from backend.products.product_requests import request_number as number_of
from backend.products.simulators import cuota_labels, product_name, rate_label
from backend.security.roles import ATENCION, SUPERVISOR, staff_only
from backend.security.staff_conflicts import refuse_own

if TYPE_CHECKING:
    from backend.core.db import Connection, Row
    from backend.security.auth import AuthService

PENDING = ("Recibida", "En revisión")
FILTERS = {"pendientes": "Pendientes", "Recibida": "Recibidas", "En revisión": "En revisión",
           "Aprobada": "Aprobadas", "Rechazada": "Rechazadas", "todas": "Todas"}
LIMIT = 200


@dataclass(frozen=True)
class ProductRequest:
    id: int
    number: str
    member_id: int
    member_name: str
    product: str
    amount: int
    term: int  # months for loans, days for a plazo fijo
    method: str
    rate_bp: int
    installment: int
    income: int
    purpose: str
    account_number: str | None
    state: str
    reason: str | None
    created_at: str
    reviewed_by: str | None
    decided_by: str | None
    decided_at: str | None
    product_account_number: str | None
    needs_second_person: bool  # above the threshold: the approver must not be the reviewer

    @property
    def product_label(self) -> str:
        return product_name(self.product)

    @property
    def term_label(self) -> str:
        if self.product in LOANS:
            return f"{self.term} meses"
        return f"{self.term} días" if self.product == "plazo_fijo" else "-"

    def lines(self) -> tuple[tuple[str, str], ...]:
        out = [("Solicitud", self.number), ("Socio", self.member_name), ("Producto", self.product_label)]
        if self.product != "ahorros":
            out.append(("Cupo" if self.product == "tarjeta" else "Monto", format_money(self.amount)))
        if self.product in LOANS or self.product == "plazo_fijo":
            out.append(("Plazo", self.term_label))
        if self.rate_bp:  # named and printed as the member saw it (confirm and receipt)
            out.append((rate_label(self.product), rate_text(self.rate_bp)))
        if self.product in LOANS:
            out += [("Amortización", "Alemana" if self.method == "aleman" else "Francesa"),
                    (cuota_labels(self.method)[0], format_money(self.installment)), ("Ingreso declarado", format_money(self.income))]
        if self.account_number:
            out.append(("Cuenta del socio", self.account_number))
        out += [("Destino", self.purpose or "-"), ("Estado", self.state)]
        if self.reviewed_by:
            out.append(("Revisa", self.reviewed_by))
        if self.decided_by:
            out.append(("Decidió", self.decided_by))
        if self.reason:
            out.append(("Motivo", self.reason))
        if self.product_account_number:
            out.append(("Producto abierto", self.product_account_number))
        return tuple(out)


def request_number(row: Row) -> str:
    return number_of(row["id"], row["created_at"])


_SELECT = ("SELECT r.*, m.first_names, m.last_names, a.number AS account_number, p.number AS product_number"
           " FROM product_requests r JOIN members m ON m.id = r.member_id"
           " LEFT JOIN accounts a ON a.id = r.account_id LEFT JOIN accounts p ON p.id = r.product_account_id")


class ProductApprovalsService:
    def __init__(self, ctx: Context, auth: AuthService) -> None:
        self.ctx = ctx
        self.auth = auth

    @staff_only(ATENCION, SUPERVISOR)
    def requests(self, who: Principal, state: str = "pendientes") -> list[ProductRequest]:
        """Oldest first: the queue is worked in the order members asked."""
        if state not in FILTERS:
            raise ValidationError("Filtro de estado no válido.", field="state")
        where, params = "", tuple[str, ...]()
        if state == "pendientes":
            where = " WHERE r.state IN (?, ?)"
            params = PENDING
        elif state != "todas":
            where, params = " WHERE r.state = ?", (state,)
        with self.ctx.db.read() as conn:
            rows = conn.execute(_SELECT + where + " ORDER BY r.created_at, r.id LIMIT ?", (*params, LIMIT)).fetchall()
            return [self._request(row) for row in rows]

    @staff_only(ATENCION, SUPERVISOR)
    def request(self, who: Principal, request_id: int) -> ProductRequest:
        with self.ctx.db.read() as conn:
            return self._request(self._row(conn, request_id))

    @staff_only(ATENCION, SUPERVISOR)
    def take(self, who: Principal, request_id: int) -> ProductRequest:
        """Take a Recibida request into review; its reviewer is recorded (the four-eyes rule reads it)."""
        self._not_own(who, request_id)
        with self.ctx.db.write() as conn:
            row = self._row(conn, request_id, lock=True)
            if row["state"] == "En revisión" and row["reviewed_by"] == who.username:
                return self._request(row)
            if row["state"] != "Recibida":
                by = f" por {row['reviewed_by']}" if row["state"] == "En revisión" else ""
                raise ValidationError(f"La solicitud ya está {row['state'].lower()}{by}.", code="estado")
            conn.execute("UPDATE product_requests SET state = 'En revisión', reviewed_by = ?, reviewed_at = ?"
                         " WHERE id = ?", (who.username, self.ctx.now_iso(), row["id"]))
            self.ctx.audit(conn, who.username, "solicitud.revisar", "ok", rol=who.role, member_id=row["member_id"],
                           solicitud=request_number(row), producto=row["product"])
            notices.queue(conn, row["member_id"], f"Cooprogreso: tu solicitud {request_number(row)} está en "
                          "revisión.", self.ctx.now_iso())
            return self._request(self._row(conn, row["id"]))

    @staff_only(ATENCION, SUPERVISOR)
    def approval_check(self, who: Principal, request_id: int) -> ProductRequest:
        """What `approve` would refuse this user before anything opens, so a screen says it before asking for
        a confirmation (not in review, already decided, four eyes, in their own name). A read: `approve`
        checks again under the lock and stays the authority. Returns the request as it is now."""
        self._not_own(who, request_id)
        with self.ctx.db.read() as conn:
            row = self._row(conn, request_id)
        refusal = self._approval_refusal(who, row)
        if refusal is not None:
            raise refusal
        return self._request(row)

    @staff_only(ATENCION, SUPERVISOR)
    def approve(self, who: Principal, request_id: int, note: str = "") -> ProductRequest:
        """Open the product and move its money in the transaction that marks the request approved."""
        note = clean_text(note or "", field="note", label="La nota", max_len=200, min_len=0)
        member_id = self._not_own(who, request_id)
        pan_key = pan.pan_secret(self.ctx.secret("pan_pepper"))
        self.ctx.db.act_for(member_id)  # PostgreSQL: queue with the member's own operations
        try:
            with self.ctx.db.write() as conn:
                row = self._row(conn, request_id, lock=True)
                refusal = self._approval_refusal(who, row)
                if refusal is None:
                    opened = open_product(conn, self.ctx, row, actor=who.username, pan_key=pan_key,
                                          pan=_new_pan(), number=request_number(row))
                    conn.execute("UPDATE product_requests SET state = 'Aprobada', decided_by = ?, decided_at = ?,"
                                 " reason = ?, product_account_id = ?, entry_id = ? WHERE id = ?",
                                 (who.username, self.ctx.now_iso(), note or None, opened.account_id,
                                  opened.entry_id, row["id"]))
                    self.ctx.audit(conn, who.username, "solicitud.aprobar", "aprobada", rol=who.role,
                                   member_id=row["member_id"], solicitud=request_number(row),
                                   producto=row["product"], monto=row["amount"], revisor=row["reviewed_by"])
                    return self._request(self._row(conn, row["id"]))
        except (InsufficientFunds, ValidationError) as exc:
            self.ctx.audit_now(who.username, "solicitud.aprobar", "rechazada_por_sistema", rol=who.role,
                               member_id=member_id, solicitud=request_id, motivo=exc.code)
            raise
        finally:
            self.ctx.db.act_for(None)
        self.ctx.audit_now(who.username, "solicitud.aprobar", refusal.code, rol=who.role, member_id=member_id,
                           solicitud=request_id)
        raise refusal

    @staff_only(ATENCION, SUPERVISOR)
    def reject(self, who: Principal, request_id: int, reason: str) -> ProductRequest:
        reason = clean_text(reason or "", field="reason", label="El motivo del rechazo", max_len=200, min_len=5)
        self._not_own(who, request_id)
        with self.ctx.db.write() as conn:
            row = self._row(conn, request_id, lock=True)
            if row["state"] not in PENDING:
                raise ValidationError(f"La solicitud ya fue {row['state'].lower()}.", code="decidida")
            conn.execute("UPDATE product_requests SET state = 'Rechazada', reason = ?, decided_by = ?,"
                         " decided_at = ? WHERE id = ?", (reason, who.username, self.ctx.now_iso(), row["id"]))
            self.ctx.audit(conn, who.username, "solicitud.rechazar", "rechazada", rol=who.role,
                           member_id=row["member_id"], solicitud=request_number(row), producto=row["product"],
                           monto=row["amount"])
            notices.queue(conn, row["member_id"], f"Cooprogreso: tu solicitud {request_number(row)} no fue aprobada."
                          " Mira el motivo en «Mis solicitudes».", self.ctx.now_iso())
            return self._request(self._row(conn, row["id"]))

    # -- rules ---------------------------------------------------------------------------------------
    def _approval_refusal(self, who: Principal, row: Row) -> ValidationError | Forbidden | None:
        if row["state"] == "Recibida":
            return ValidationError("Primero toma la solicitud en revisión.", code="sin_revision")
        if row["state"] != "En revisión":
            return ValidationError(f"La solicitud ya fue {row['state'].lower()}.", code="decidida")
        if row["amount"] > self.ctx.settings.backoffice_approval_threshold and row["reviewed_by"] == who.username:
            limit = format_money(self.ctx.settings.backoffice_approval_threshold)
            return Forbidden(f"Sobre {limit} aprueba una persona distinta de quien revisó la solicitud.",
                             code="cuatro_ojos")
        return None

    def _not_own(self, who: Principal, request_id: int) -> int:
        """A staff user who is the member (their cédula, or their name) decides nothing of it."""
        with self.ctx.db.read() as conn:
            row = self._row(conn, request_id)
        refuse_own(self.ctx, who, row["member_id"], action="solicitud.decidir",
                   message="No puedes revisar ni decidir una solicitud a tu nombre.", solicitud=request_number(row))
        return int(row["member_id"])

    def _row(self, conn: Connection, request_id: int, lock: bool = False) -> Row:
        if isinstance(request_id, bool) or not isinstance(request_id, int):
            raise NotFound("La solicitud no existe.", field="request")
        row = conn.execute(_SELECT + " WHERE r.id = ?" + (" FOR UPDATE OF r" if lock else ""),
                           (request_id,)).fetchone()
        if row is None:
            raise NotFound("La solicitud no existe.", field="request")
        return row

    def _request(self, row: Row) -> ProductRequest:
        return ProductRequest(
            row["id"], request_number(row), row["member_id"], f"{row['first_names']} {row['last_names']}",
            row["product"], row["amount"], row["term"], row["method"], row["rate_bp"], row["installment"],
            row["income"], row["purpose"], row["account_number"], row["state"], row["reason"], row["created_at"],
            row["reviewed_by"], row["decided_by"], row["decided_at"], row["product_number"],
            row["amount"] > self.ctx.settings.backoffice_approval_threshold)


def _new_pan() -> str:
    """A new 16-digit Cooprogreso card number (prefix 3261) with its Luhn digit; only its digest is kept."""
    body = "3261" + "".join(str(secrets.randbelow(10)) for _ in range(11))
    for digit in "0123456789":
        if pan.luhn_ok(body + digit):
            return body + digit
    raise AssertionError("unreachable: one check digit always fits")

