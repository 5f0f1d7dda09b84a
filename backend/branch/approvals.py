"""The supervisor's approvals queue (maker-checker): large withdrawals, till closes with a difference,
changes of a member's registered mobile, registrations of politically exposed persons. Nobody approves
their own operation; approving runs the booking in the same transaction as the decision, rejecting leaves
nothing but the decision.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from backend.branch import counter_ops
from backend.branch.tills import till_cash
from backend.core.context import Context, Principal
from backend.core.db import Connection, member_lock
from backend.core.errors import Forbidden, ValidationError
from backend.core.identity import mask_id
from backend.core.money import format_money
from backend.core.text import clean_text
from backend.security.roles import SUPERVISOR, staff_only
from backend.security.staff_conflicts import refuse_own

if TYPE_CHECKING:
    from backend.security.auth import AuthService


@dataclass(frozen=True)
class Approval:
    id: int
    kind: str
    label: str
    maker: str
    member: str
    amount: int
    created_at: str
    lines: tuple[tuple[str, str], ...]


Executor = Callable[[Connection, Context, counter_ops.CounterOp, Principal, str], "int | None"]


def executors() -> dict[str, Executor]:
    """kind → the booking an approval runs, inside the approval's transaction."""
    from backend.branch import backoffice, counter, tills

    return {"retiro": counter.approve_withdrawal, "cierre_caja": tills.approve_close,
            "cambio_celular": backoffice.approve_mobile_change, "socio_pep": backoffice.approve_pep}


def on_reject() -> dict[str, Executor]:
    """kind → what a rejection gives back (a withdrawal's hold), inside the decision's transaction."""
    from backend.branch import backoffice, counter

    return {"retiro": counter.release_withdrawal, "socio_pep": backoffice.reject_pep}


def _lines(conn: Connection, op: counter_ops.CounterOp) -> tuple[tuple[str, str], ...]:
    lines = [("Operación", op.label), ("Solicitado por", op.maker), ("Referencia", op.reference)]
    if op.member_id:
        m = conn.execute("SELECT first_names, last_names, id_number FROM members WHERE id = ?", (op.member_id,)).fetchone()
        lines.append(("Socio", f"{m[0]} {m[1]} ({mask_id(m[2])})"))
    if op.kind in ("deposito", "retiro"):
        number = conn.execute("SELECT number FROM accounts WHERE id = ?", (op.account_id,)).fetchone()[0]
        lines += [("Cuenta", number), ("Monto", format_money(op.amount))]
        if op.kind == "retiro" and op.state == "por_aprobar":  # can the account and the till cover it?
            balance, held = conn.execute("SELECT balance, held FROM accounts WHERE id = ?", (op.account_id,)).fetchone()
            lines += [("Saldo de la cuenta", format_money(balance)),
                      ("Disponible (ya retenido)", format_money(balance - held))]
            till = conn.execute("SELECT account_id FROM tills WHERE id = ?", (op.till_id,)).fetchone()
            if till is not None:
                lines.append(("Efectivo en la caja", format_money(till_cash(conn, till[0]))))
    elif op.kind == "cierre_caja":
        r = op.request
        diff = r["counted"] - r["expected"]
        lines += [("Según el sistema", format_money(r["expected"])), ("Contado", format_money(r["counted"])),
                  ("Faltante" if diff < 0 else "Sobrante", format_money(abs(diff)))]
        if r.get("note"):
            lines.append(("Observación del cajero", r["note"]))
    elif op.kind == "cambio_celular":
        lines += [("Celular actual", op.request.get("old_masked", "-")), ("Celular nuevo", op.request["new_mobile"]),
                  ("Motivo", op.request.get("reason", ""))]
    elif op.kind == "socio_pep":
        from backend.branch.backoffice import opening_lines

        lines += opening_lines(conn, op)
    return tuple(lines)


class ApprovalsService:
    def __init__(self, ctx: Context, auth: AuthService) -> None:
        self.ctx = ctx
        self.auth = auth
        self.executors = executors()
        self.on_reject = on_reject()

    @staff_only(SUPERVISOR)
    def pending(self, who: Principal) -> list[Approval]:
        with self.ctx.db.read() as conn:
            return [Approval(op.id, op.kind, op.label, op.maker, op.member_name or "-", op.amount, op.created_at,
                             _lines(conn, op)) for op in counter_ops.pending(conn)]

    @staff_only(SUPERVISOR)
    def approve(self, who: Principal, op_id: int, note: str = "") -> str:
        return self._decide(who, op_id, note, approve=True)

    @staff_only(SUPERVISOR)
    def reject(self, who: Principal, op_id: int, note: str) -> str:
        return self._decide(who, op_id, note, approve=False)

    def _decide(self, who: Principal, op_id: int, note: str, *, approve: bool) -> str:
        with self.ctx.db.read() as conn:
            queued = counter_ops.get(conn, op_id)
        kind = queued.kind
        refuse_own(self.ctx, who, queued.member_id, action="aprobacion.decidir", operacion=op_id,
                   message="No puedes aprobar ni rechazar una operación sobre tu propio registro de socio.")
        needs_note = not approve or kind == "cierre_caja"
        note = clean_text(note or "", field="nota", label="La nota", max_len=200, min_len=3 if needs_note else 0)
        with self.ctx.db.write() as conn:
            member = conn.execute("SELECT member_id FROM counter_ops WHERE id = ?", (op_id,)).fetchone()
            if member is not None and member[0] is not None:
                conn.lock(member_lock(member[0]))  # first: queue with the member's own writes (PostgreSQL)
            # Two supervisors deciding at once: the second waits here and then sees the decision made.
            conn.execute("SELECT id FROM counter_ops WHERE id = ? FOR UPDATE", (op_id,))
            op = counter_ops.get(conn, op_id)
            if op.state != "por_aprobar":
                raise ValidationError("Esa operación ya fue decidida.", code="decidida")
            if op.maker_id == who.user_id:
                self.ctx.audit(conn, who.username, "aprobacion.decidir", "propia_rechazada", rol=who.role,
                               operacion=op_id, member_id=op.member_id)
                refused = True
            else:
                refused = False
                conn.execute("UPDATE counter_ops SET checker_id = ?, decided_at = ?, decision_note = ? WHERE id = ?",
                             (who.user_id, self.ctx.now_iso(), note, op_id))
                if approve:  # books and marks it executed; any refusal rolls the decision back too
                    self.executors[op.kind](conn, self.ctx, counter_ops.get(conn, op_id), who, note)
                else:
                    conn.execute("UPDATE counter_ops SET state = 'rechazada' WHERE id = ?", (op_id,))
                    if op.kind in self.on_reject:
                        self.on_reject[op.kind](conn, self.ctx, op, who, note)
                self.ctx.audit(conn, who.username, f"aprobacion.{op.kind}", "aprobada" if approve else "rechazada",
                               rol=who.role, operacion=op_id, member_id=op.member_id, solicitante=op.maker,
                               monto=op.amount, **({"nota": note} if note else {}))  # why, for the auditor
        if refused:  # the audit entry above is committed; the refusal changes nothing else
            raise Forbidden("No puedes aprobar ni rechazar una operación que tú solicitaste.", code="propia")
        return "aprobada" if approve else "rechazada"
