"""The auditor's read-only views: the audit log filtered by staff user, member, action and date,
and any member's movements, each exportable as CSV (private file). Every look is itself audited.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from backend.core.clock import date_text
from backend.core.context import Context, Principal
from backend.core.errors import NotFound
from backend.core.files import write_private
from backend.core.money import format_plain
from backend.core.periods import within_days
from backend.core.text import clean_text, csv_cell
from backend.core.movement_filter import parse_filter
from backend.security.roles import AUDITOR, staff_only

if TYPE_CHECKING:
    from backend.security.auth import AuthService

MAX_ROWS = 500


@dataclass(frozen=True)
class AuditRow:
    at: str
    actor: str
    action: str
    outcome: str
    member_id: int | None
    details: str


@dataclass(frozen=True)
class MemberMovement:
    posted_at: str
    account: str
    memo: str
    amount: int
    balance_after: int
    actor: str


def _filters(filters: dict) -> tuple[str, list]:
    sql, params = " WHERE 1 = 1", list[object]()
    user = clean_text(filters.get("staff_user", "") or "", field="staff_user", label="El usuario", max_len=40)
    if user:
        sql += " AND actor = ?"
        params.append(user.lower())
    member = filters.get("member_id")
    if member not in (None, ""):
        if isinstance(member, bool) or not isinstance(member, int):
            raise NotFound("El socio no existe.", field="member_id")
        sql += " AND member_id = ?"
        params.append(member)
    action = clean_text(filters.get("action", "") or "", field="action", label="La acción", max_len=40)
    if action:
        sql += " AND action LIKE ? ESCAPE '\\'"
        params.append(action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
    flt = parse_filter(filters.get("desde", "") or "", filters.get("hasta", "") or "", "")
    days, day_params = within_days("at", flt.date_from, flt.date_to)
    sql += days
    params += day_params
    return sql, params


class AuditViewsService:
    def __init__(self, ctx: Context, auth: AuthService) -> None:
        self.ctx = ctx
        self.auth = auth

    @staff_only(AUDITOR)
    def audit_entries(self, who: Principal, filters: dict) -> list[AuditRow]:
        return self._audit_entries(who, filters)

    def _audit_entries(self, who: Principal, filters: dict) -> list[AuditRow]:
        where, params = _filters(filters)
        rows = self.ctx.db.conn.execute(
            "SELECT at, actor, action, outcome, member_id, details FROM audit_log" + where +
            " ORDER BY id DESC LIMIT ?", (*params, MAX_ROWS)).fetchall()
        self.ctx.audit_now(who.username, "auditoria.consultar", "ok", rol=who.role, filas=len(rows))
        return [AuditRow(*r) for r in rows]

    @staff_only(AUDITOR)
    def export_audit_csv(self, who: Principal, filters: dict, directory: str) -> str:
        rows = self._audit_entries(who, filters)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["fecha", "actor", "accion", "resultado", "socio", "detalles"])
        for r in rows:
            writer.writerow([date_text(r.at, seconds=True), csv_cell(r.actor), csv_cell(r.action), csv_cell(r.outcome),
                             r.member_id or "", csv_cell(r.details)])
        path = write_private(directory, "bitacora", ".csv", out.getvalue().encode("utf-8"))
        self.ctx.audit_now(who.username, "auditoria.exportar", "ok", rol=who.role, filas=len(rows))
        return str(path)

    @staff_only(AUDITOR)
    def member_movements(self, who: Principal, member_id: int, desde: str = "", hasta: str = "") -> list[MemberMovement]:
        return self._member_movements(who, member_id, desde, hasta)

    def _member_movements(self, who: Principal, member_id: int, desde: str, hasta: str) -> list[MemberMovement]:
        if isinstance(member_id, bool) or not isinstance(member_id, int):
            raise NotFound("El socio no existe.", field="member_id")
        flt = parse_filter(desde, hasta, "")
        sql = ("SELECT p.posted_at, a.number, p.memo, p.amount, p.balance_after, e.actor FROM postings p"
               " JOIN accounts a ON a.id = p.account_id JOIN entries e ON e.id = p.entry_id WHERE a.member_id = ?")
        params: list = [member_id]
        days, day_params = within_days("p.posted_at", flt.date_from, flt.date_to)
        sql += days
        params += day_params
        rows = self.ctx.db.conn.execute(sql + " ORDER BY p.posted_at DESC, p.id DESC LIMIT ?",
                                        (*params, MAX_ROWS)).fetchall()
        self.ctx.audit_now(who.username, "auditoria.movimientos", "ok", rol=who.role, member_id=member_id,
                           filas=len(rows))
        return [MemberMovement(*r) for r in rows]

    @staff_only(AUDITOR)
    def export_movements_csv(self, who: Principal, member_id: int, desde: str, hasta: str, directory: str) -> str:
        rows = self._member_movements(who, member_id, desde, hasta)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["fecha", "cuenta", "concepto", "monto", "saldo", "registrado_por"])
        for r in rows:
            writer.writerow([date_text(r.posted_at, seconds=True), r.account, csv_cell(r.memo), format_plain(r.amount),
                             format_plain(r.balance_after), csv_cell(r.actor)])
        path = write_private(directory, f"movimientos-socio-{member_id}", ".csv", out.getvalue().encode("utf-8"))
        self.ctx.audit_now(who.username, "auditoria.exportar_movimientos", "ok", rol=who.role, member_id=member_id)
        return str(path)
