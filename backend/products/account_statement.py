"""Estado de cuenta of a savings account for one month: opening and closing balance and every movement.

Read from the postings `cooprogreso check` verifies (each posting's `balance_after`), in the co-op's wall-clock
time; rendered by `backend.security.documents` as PDF or CSV, signed like a receipt.
"""

from __future__ import annotations


from datetime import date, timedelta

from backend.core.clock import parse_iso
from backend.core.context import Context, Principal
from backend.core.db import Connection, Row
from backend.core.errors import NotFound, ValidationError
from backend.core.money import format_money
from backend.core.periods import month_label, parse_month
from backend.security import documents
from backend.security.documents import Paper
from backend.security.auth import AuthService
from backend.security.roles import ATENCION, AUDITOR, SUPERVISOR, staff_only

STAFF_ROLES = (ATENCION, SUPERVISOR, AUDITOR)


def savings_document(conn: Connection, ctx: Context, account: Row, month: str) -> documents.Document:
    """The statement of `account` (an accounts row of kind ahorros) for `month` (AAAA-MM)."""
    now = ctx.now()
    first, last = parse_month(month, now.date())
    if account["kind"] != "ahorros":
        raise ValidationError("El estado de cuenta mensual es para cuentas de ahorros y tarjetas.", field="cuenta")
    opened = date.fromisoformat(account["opened_on"][:10])
    if last < opened.replace(day=1):
        raise ValidationError(f"La cuenta se abrió el {opened:%d/%m/%Y}: elige un mes desde entonces.", field="mes")
    end = min(last, now.date())
    start_at, end_at = first.isoformat(), (end + timedelta(days=1)).isoformat()
    # sums, not the last row's balance_after: two postings of one second may be ordered otherwise than booked
    opening = conn.execute("SELECT COALESCE(SUM(amount), 0) FROM postings WHERE account_id = ? AND posted_at < ?",
                           (account["id"], start_at)).fetchone()[0]
    rows: list[tuple[str, ...]] = []
    credits, debits, n_credits, n_debits = 0, 0, 0, 0
    for r in conn.execute("SELECT posted_at, memo, amount, balance_after FROM postings WHERE account_id = ?"
                          " AND posted_at >= ? AND posted_at < ? ORDER BY posted_at, id",
                          (account["id"], start_at, end_at)):
        amount = r[2]
        if amount > 0:
            credits, n_credits = credits + amount, n_credits + 1
        else:
            debits, n_debits = debits - amount, n_debits + 1
        rows.append((f"{parse_iso(r[0]):%d/%m/%Y %H:%M}", r[1], format_money(-amount) if amount < 0 else "",
                     format_money(amount) if amount > 0 else "", format_money(r[3])))
    closing = opening + credits - debits
    member = conn.execute("SELECT first_names || ' ' || last_names FROM members WHERE id = ?",
                          (account["member_id"],)).fetchone()[0]
    running = " (mes en curso)" if end < last else ""
    name, ruc = documents.coop_identity(ctx.settings)
    return documents.Document(
        title="Estado de cuenta - Cuenta de Ahorros", stem=f"estado-de-cuenta-{account['number']}-{first:%Y-%m}",
        issued_at=now, coop_name=name, coop_ruc=ruc,
        header=(("Socio", member), ("Cuenta de ahorros", account["number"]),
                ("Período", f"{month_label(first)}: del {first:%d/%m/%Y} al {end:%d/%m/%Y}{running}")),
        summary=(("Saldo inicial", format_money(opening)), (f"Créditos ({n_credits})", format_money(credits)),
                 (f"Débitos ({n_debits})", format_money(debits)), ("Saldo final", format_money(closing))),
        columns=("Fecha", "Descripción", "Débito", "Crédito", "Saldo"), widths=(28, 82, 24, 24, 24),
        aligns=("L", "L", "R", "R", "R"), rows=tuple(rows),
        notes=("Horas en la zona horaria de la cooperativa (America/Guayaquil).",))


class AccountStatements:
    """Savings statements for the member (their own accounts) and for the back office (any member's, audited)."""

    def __init__(self, ctx: Context, auth: AuthService) -> None:
        self.ctx = ctx
        self.auth = auth

    def savings_accounts(self, token: str) -> list[tuple[int, str]]:
        who = self.auth.principal(token)
        return [(r[0], r[1]) for r in self.ctx.db.conn.execute(
            "SELECT id, number FROM accounts WHERE member_id = ? AND kind = 'ahorros' ORDER BY number",
            (who.member_id,))]

    def statement(self, token: str, account_id: int, month: str, fmt: str = "pdf") -> Paper:
        who = self.auth.principal(token)
        conn = self.ctx.db.conn
        account = conn.execute("SELECT * FROM accounts WHERE id = ? AND member_id = ?",
                               (account_id if isinstance(account_id, int) else -1, who.member_id)).fetchone()
        if account is None:
            raise NotFound("La cuenta no existe o no te pertenece.")
        paper = documents.render_paper(self.ctx, savings_document(conn, self.ctx, account, month), fmt)
        self.ctx.audit_now(who.username, "estado_cuenta.emitir", "ok", cuenta=account["number"], mes=month,
                           formato=fmt)
        return paper

    @staff_only(*STAFF_ROLES)
    def statement_for(self, who: Principal, number: str, month: str, fmt: str = "pdf") -> Paper:
        """The back office's copy of a member's statement (`cooprogreso statement`)."""
        conn = self.ctx.db.conn
        account = conn.execute("SELECT * FROM accounts WHERE number = ? AND kind = 'ahorros'",
                               (str(number),)).fetchone()
        if account is None:
            raise NotFound("No existe una cuenta de ahorros con ese número.")
        paper = documents.render_paper(self.ctx, savings_document(conn, self.ctx, account, month), fmt)
        self.ctx.audit_now(who.username, "estado_cuenta.emitir_personal", "ok", rol=who.role,
                           member_id=account["member_id"], cuenta=account["number"], mes=month, formato=fmt)
        return paper
