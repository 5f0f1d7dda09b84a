"""Section 1, Productos: the consolidated position and each product's movements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from backend.core import business_days
from backend.core.card_debt import card_debt
from backend.core.accounts import LOAN_NAMES
from backend.core.clock import iso, parse_iso
from backend.core.context import Context, Principal
from backend.core.errors import NotFound, ValidationError
from backend.core.files import write_private
from backend.core.ids import row_id
from backend.core.money import format_plain
from backend.core.movement_filter import MovementFilter
from backend.core.folded_like import contains
from backend.core.periods import within_days
from backend.core.text import clean_text, csv_cell
from backend.security.auth import AuthService

if TYPE_CHECKING:
    from backend.core.db import Row

KIND_LABELS = {
    "ahorros": "Cuenta de Ahorros",
    "plazo_fijo": "Depósito a Plazo Fijo",
    "prestamo": "Crédito de Consumo",
    "tarjeta": "Tarjeta de Crédito Cooprogreso",
}
PAGE_SIZE = 50
MAX_PAGE = 500


@dataclass(frozen=True)
class Product:
    account_id: int
    kind: str
    label: str
    number: str
    status: str
    balance: int  # accounting balance; loans and cards show what is owed as a positive amount
    available: int
    rate_bp: int | None = None
    maturity: date | None = None
    next_installment: int | None = None
    next_installment_date: date | None = None
    installments_left: int | None = None
    credit_limit: int | None = None
    due_date: date | None = None
    cutoff_date: date | None = None
    masked_pan: str | None = None
    card_consumos: int | None = None  # a card's debt, split as every screen shows it (backend/core/card_debt.py)
    card_diferidos: int | None = None


@dataclass(frozen=True)
class Movement:
    posting_id: int
    posted_at: datetime
    description: str
    amount: int  # positive: crédito; negative: débito
    balance_after: int


@dataclass(frozen=True)
class Installment:
    number: int
    due_date: date
    principal: int
    interest: int
    paid: bool

    @property
    def total(self) -> int:
        return self.principal + self.interest


@dataclass(frozen=True)
class Export:
    path: str
    rows: int


@dataclass(frozen=True)
class ExportData:
    stem: str  # file name without suffix, e.g. movimientos-4100000019-20261125-100000
    data: bytes
    rows: int


@dataclass(frozen=True)
class MovementPage:
    movements: tuple[Movement, ...]
    next_cursor: str | None  # pass back as `after` for the following (older) page


class ProductsService:
    def __init__(self, ctx: Context, auth: AuthService):
        self.ctx = ctx
        self.auth = auth

    def position(self, token: str) -> list[Product]:
        who = self.auth.principal(token)
        conn = self.ctx.db.conn
        rows = conn.execute(
            "SELECT a.*, d.rate_bp AS d_rate, d.maturity_date, l.rate_bp AS l_rate, l.product AS l_product,"
            " c.credit_limit, c.cutoff_day, c.due_day, c.masked_pan, COALESCE(ci.balance, 0) AS deferred"
            " FROM accounts a LEFT JOIN term_deposits d ON d.account_id = a.id"
            " LEFT JOIN loans l ON l.account_id = a.id LEFT JOIN cards c ON c.account_id = a.id"
            " LEFT JOIN accounts ci ON ci.id = c.installment_account_id"
            " WHERE a.member_id = ? AND a.status != 'cerrada'"
            " AND (a.kind != 'tarjeta' OR c.account_id IS NOT NULL)"  # a card's diferidos show within the card
            " ORDER BY CASE a.kind WHEN 'ahorros' THEN 0 WHEN 'plazo_fijo' THEN 1 WHEN 'prestamo' THEN 2"
            " ELSE 3 END, a.number", (who.member_id,)).fetchall()
        today = self.ctx.now().date()
        cal = business_days.current(conn)  # a card's fecha máxima de pago falls on a business day
        products = []
        for r in rows:
            kind = r["kind"]
            label = LOAN_NAMES.get(r["l_product"], KIND_LABELS[kind]) if kind == "prestamo" else KIND_LABELS[kind]
            common = dict(account_id=r["id"], kind=kind, label=label, number=r["number"],
                          status=r["status"])
            if kind == "ahorros":
                products.append(Product(**common, balance=r["balance"], available=r["balance"] - r["held"]))
            elif kind == "plazo_fijo":
                products.append(Product(**common, balance=r["balance"], available=0, rate_bp=r["d_rate"],
                                        maturity=date.fromisoformat(r["maturity_date"])))
            elif kind == "prestamo":
                nxt = conn.execute(
                    "SELECT due_date, principal + interest AS total, (SELECT COUNT(*) FROM loan_installments"
                    " WHERE loan_id = ? AND paid_entry_id IS NULL) AS left_count FROM loan_installments"
                    " WHERE loan_id = ? AND paid_entry_id IS NULL ORDER BY number LIMIT 1",
                    (r["id"], r["id"])).fetchone()
                products.append(Product(
                    **common, balance=-r["balance"], available=0, rate_bp=r["l_rate"],
                    next_installment=nxt["total"] if nxt else None,
                    next_installment_date=date.fromisoformat(nxt["due_date"]) if nxt else None,
                    installments_left=nxt["left_count"] if nxt else 0))
            else:
                debt = card_debt(conn, r["id"])
                assert debt is not None  # the query joined the card
                products.append(Product(
                    **common, balance=debt.total, available=debt.available, card_consumos=debt.consumos,
                    card_diferidos=debt.diferidos, credit_limit=r["credit_limit"], masked_pan=r["masked_pan"],
                    cutoff_date=_next_day_of_month(today, r["cutoff_day"]),
                    due_date=cal.roll(_next_day_of_month(today, r["due_day"]))))
        return products

    def movements(self, token: str, account_id: int, flt: MovementFilter = MovementFilter(),
                  after: str | None = None, limit: int = PAGE_SIZE) -> MovementPage:
        """Newest first, keyset-paginated on (posted_at, id): page 1,000 costs what page 1 costs."""
        who = self.auth.principal(token)
        self._own(who, account_id)
        limit = max(1, min(limit, MAX_PAGE))
        sql, params = _movement_query(account_id, flt, after)
        rows = self.ctx.db.conn.execute(sql + " LIMIT ?", (*params, limit + 1)).fetchall()
        items = tuple(_movement(r) for r in rows[:limit])
        cursor = None
        if len(rows) > limit:
            last = items[-1]
            cursor = f"{last.posted_at:%Y-%m-%d %H:%M:%S}|{last.posting_id}"
        return MovementPage(items, cursor)

    def loan_schedule(self, token: str, account_id: int) -> list[Installment]:
        """The loan's installment schedule (tabla de amortización), paid ones marked."""
        who = self.auth.principal(token)
        account = self._own(who, account_id)
        if account["kind"] != "prestamo":
            raise ValidationError("La tabla de amortización es solo para créditos.")
        return [Installment(r[0], date.fromisoformat(r[1]), r[2], r[3], r[4] is not None) for r in self.ctx.db.conn.execute(
            "SELECT number, due_date, principal, interest, paid_entry_id FROM loan_installments"
            " WHERE loan_id = ? ORDER BY number", (account_id,))]

    def export_data(self, token: str, account_id: int, flt: MovementFilter) -> ExportData:
        """Every movement that matches the filter (not just one page) as CSV bytes, with a file name stem."""
        import csv
        import io

        who = self.auth.principal(token)
        account = self._own(who, account_id)
        stamp = self.ctx.now().strftime("%Y%m%d-%H%M%S")
        sql, params = _movement_query(account_id, flt, None)
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer)
        writer.writerow(["Fecha", "Hora", "Descripción", "Débito", "Crédito", "Saldo"])
        count = 0
        for r in self.ctx.db.conn.execute(sql, params):
            m = _movement(r)
            writer.writerow([
                m.posted_at.strftime("%d/%m/%Y"), m.posted_at.strftime("%H:%M"), csv_cell(m.description),
                format_plain(-m.amount) if m.amount < 0 else "",
                format_plain(m.amount) if m.amount > 0 else "", format_plain(m.balance_after)])
            count += 1
        self.ctx.audit_now(who.username, "movimientos.exportar", "ok", cuenta=account["number"], filas=count)
        return ExportData(f"movimientos-{account['number']}-{stamp}", buffer.getvalue().encode("utf-8"), count)

    def export_csv(self, token: str, account_id: int, flt: MovementFilter, directory: str) -> Export:
        """Write the export to a new private file in `directory` (the terminal channels)."""
        data = self.export_data(token, account_id, flt)
        path = write_private(directory, data.stem, ".csv", data.data)
        return Export(str(path), data.rows)

    def _own(self, who: Principal, account_id: int) -> Row:
        account_id = row_id(account_id, "La cuenta no existe o no te pertenece.")
        account = self.ctx.db.conn.execute(
            "SELECT * FROM accounts WHERE id = ? AND member_id = ?", (account_id, who.member_id)).fetchone()
        if account is None:
            raise NotFound("La cuenta no existe o no te pertenece.")
        return account


def _movement_query(account_id: int, flt: MovementFilter, after: str | None) -> tuple[str, list]:
    sql = "SELECT id, posted_at, memo, amount, balance_after FROM postings WHERE account_id = ?"
    params: list = [account_id]
    days, day_params = within_days("posted_at", flt.date_from, flt.date_to)
    sql += days
    params += day_params
    if flt.text:
        text = clean_text(flt.text, field="texto", label="El texto a buscar", max_len=60)
        condition, pattern = contains("memo", text)  # «ACREDITACIÓN», «acreditacion»: the same movements
        sql += f" AND {condition}"
        params.append(pattern)
    if after:
        try:
            at, pid = after.rsplit("|", 1)
            params.extend([iso(parse_iso(at)), row_id(int(pid))])
        except (ValueError, TypeError, AttributeError, NotFound):
            raise ValidationError("Página no válida.") from None
        sql += " AND (posted_at, id) < (?, ?)"
    sql += " ORDER BY posted_at DESC, id DESC"
    return sql, params


def _movement(r: Row) -> Movement:
    return Movement(r["id"], parse_iso(r["posted_at"]), r["memo"], r["amount"], r["balance_after"])


def _next_day_of_month(today: date, day: int) -> date:
    year, month = today.year, today.month
    if today.day > day:
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return date(year, month, min(day, 28))
