"""The UAFE's monthly RESU (cash operations that reach the threshold), exported with full IDs by the compliance
officer («cumplimiento»).

The audit log masks the depositor's ID; the report is the one place the full IDs leave the database, so it is
the compliance officer's alone (the auditor keeps read-only views with masked IDs), written 0600, and every
look and export is audited. The rule (threshold, the 30-day window in which several operations add up) and
the column layout are data in backend/data/uafe_resu.toml, with their sources and what could not be verified.

A cash deposit of the month is reported when, alone or with the same person's other cash deposits (any member's
account, any till) within a window of `window_days` that ends in the month, it reaches the threshold.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from backend.branch import cash_declaration
from backend.core.context import Context, Principal
from backend.core.errors import ValidationError
from backend.core.files import write_private_file
from backend.core.money import format_plain
from backend.core.text import csv_cell
from backend.security.roles import CUMPLIMIENTO, staff_only

if TYPE_CHECKING:
    from backend.core.db import Connection
    from backend.security.auth import AuthService

_MONTH = re.compile(r"\d{4}-\d{2}")


@dataclass(frozen=True)
class ResuRow:
    period: str
    business_date: str
    reference: str
    kind: str
    amount: str
    currency: str
    account: str
    owner_id_type: str
    owner_id: str
    owner_name: str
    depositor_id_type: str
    depositor_id: str
    depositor_name: str
    origin: str
    teller: str
    depositor_total: str
    reason: str


@dataclass(frozen=True)
class Resu:
    month: str
    rows: tuple[ResuRow, ...]
    depositors: int
    verified_layout: bool  # `verificado` in backend/data/uafe_resu.toml
    unverified: str = ""  # what is not verified, in Spanish, told with the export


def month_bounds(month: object) -> tuple[date, date]:
    if not isinstance(month, str) or not _MONTH.fullmatch(month):
        raise ValidationError("Indica el mes como AAAA-MM, p. ej. 2026-11.", field="mes")
    try:
        first = date.fromisoformat(month + "-01")
    except ValueError:
        raise ValidationError("Indica el mes como AAAA-MM, p. ej. 2026-11.", field="mes") from None
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return first, last


def build(conn: Connection, month: str, threshold: int) -> Resu:
    """The RESU rows of `month`: each reported cash deposit, with the depositor's total in the month."""
    first, last = month_bounds(month)
    rule = cash_declaration.rule()
    since = (first - timedelta(days=rule.window_days - 1)).isoformat()
    rows = conn.execute(
        "SELECT o.id, o.reference, o.amount, o.request, o.depositor_type, o.depositor_id, o.depositor_name,"
        " e.business_date, a.number, m.id_type, m.id_number, m.first_names, m.last_names, s.username"
        " FROM counter_ops o JOIN entries e ON e.id = o.entry_id JOIN accounts a ON a.id = o.account_id"
        " JOIN members m ON m.id = o.member_id JOIN staff_users s ON s.id = o.maker_id"
        " WHERE o.kind = 'deposito' AND o.state = 'ejecutada' AND e.business_date >= ? AND e.business_date <= ?"
        " ORDER BY e.business_date, o.id", (since, last.isoformat())).fetchall()
    by_person: dict[tuple[str, str], list] = {}
    for r in rows:
        declared = cash_declaration.from_request(_json(r["request"]))
        key = ((declared.id_type, declared.id_number) if declared else
               (r["depositor_type"] or r["id_type"], r["depositor_id"] or r["id_number"]))
        by_person.setdefault(key, []).append((r, declared))
    out: list[ResuRow] = []
    for (id_type, id_number), ops in by_person.items():
        reported: dict[int, str] = {}
        for r, _ in ops:  # every window that starts at one of the person's deposits
            end = (date.fromisoformat(r["business_date"]) + timedelta(days=rule.window_days - 1)).isoformat()
            group = [o for o, _ in ops if r["business_date"] <= o["business_date"] <= end]
            if sum(o["amount"] for o in group) >= threshold:
                for o in group:
                    reported.setdefault(o["id"], "individual" if o["amount"] >= threshold else
                                        f"acumulado en {rule.window_days} días")
        in_month = [(r, d) for r, d in ops if r["business_date"] >= first.isoformat()]
        total = sum(r["amount"] for r, _ in in_month)
        for r, declared in in_month:
            if r["id"] not in reported:
                continue
            out.append(ResuRow(
                period=month, business_date=r["business_date"], reference=r["reference"],
                kind="deposito_efectivo", amount=format_plain(r["amount"]), currency="USD", account=r["number"],
                owner_id_type=r["id_type"], owner_id=r["id_number"],
                owner_name=f"{r['first_names']} {r['last_names']}", depositor_id_type=id_type,
                depositor_id=id_number,
                depositor_name=declared.name if declared else (r["depositor_name"] or
                                                               f"{r['first_names']} {r['last_names']}"),
                origin=declared.origin if declared else "", teller=r["username"],
                depositor_total=format_plain(total), reason=reported[r["id"]]))
    out.sort(key=lambda row: (row.business_date, row.reference))
    return Resu(month, tuple(out), len({(r.depositor_id_type, r.depositor_id) for r in out}), rule.verified_layout,
                rule.unverified)


def to_csv(resu: Resu) -> bytes:
    columns = cash_declaration.rule().columns
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([header for header, _ in columns])
    for row in resu.rows:
        values = asdict(row)
        writer.writerow([csv_cell(values[field]) for _, field in columns])
    return buf.getvalue().encode("utf-8")


def _json(text: str) -> dict:
    import json

    return json.loads(text or "{}")


class UafeService:
    def __init__(self, ctx: Context, auth: AuthService) -> None:
        self.ctx = ctx
        self.auth = auth

    @staff_only(CUMPLIMIENTO)
    def resu(self, who: Principal, month: str) -> Resu:
        """The month's report, to look at before exporting (full IDs: audited)."""
        with self.ctx.db.read() as conn:
            resu = build(conn, month, self.ctx.settings.cash_declaration_threshold)
        self.ctx.audit_now(who.username, "uafe.resu_consultar", "ok", rol=who.role, mes=month, filas=len(resu.rows))
        return resu

    @staff_only(CUMPLIMIENTO)
    def export_resu(self, who: Principal, month: str, out: str) -> tuple[str, Resu]:
        """Write the month's RESU to the new file `out` (mode 0600, never over an existing file)."""
        with self.ctx.db.read() as conn:
            resu = build(conn, month, self.ctx.settings.cash_declaration_threshold)
        path = write_private_file(out, to_csv(resu))
        self.ctx.audit_now(who.username, "uafe.resu_exportar", "ok", rol=who.role, mes=month, filas=len(resu.rows),
                           depositantes=resu.depositors, archivo=str(path))
        return str(path), resu
