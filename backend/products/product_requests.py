"""Section 7, Solicita tus Productos (member side): catalogue, simulators, the request and «Mis solicitudes».

A request goes through the one authorised-operation flow (kind «solicitud_producto»): `prepare`
re-derives every figure (rate, cuota, interest) from the product, amount, plazo and method the member
chose — figures a client sends are never read — checks the declared income (a loan's largest cuota may
take at most `loan_income_share_pct` of it with the cuotas of active loans and loan requests in
process, a card's cupo at most `card_limit_income_multiple` times it with the cupos of the member's open
cards and card requests in process; a refusal names the maximum still available), the purpose text, the
member's own savings account and that no request of the same product is still in trámite (before any
code is sent; execute checks again under the lock). Executing stores the request as «Recibida» with a
number; no money moves until the back office approves it (backend/products/product_approvals.py).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from backend.core import business_days, notices
from backend.core.clock import parse_iso
from backend.core.context import Context, Principal
from backend.core.errors import NotFound, ValidationError
from backend.core.money import MAX_CENTS, format_money
from backend.core.rates import RateBook, current_book, default_book, format_rate
from backend.core.text import clean_text
from backend.products.requests import ProductRequest
from backend.products.simulators import (
    CARD,
    DEPOSIT,
    LOAN,
    METHODS,
    DepositBand,
    DepositSimulation,
    LoanSimulation,
    Product,
    bp,
    card_rate,
    catalogue,
    check_amount,
    cuota_labels,
    deposit_bands,
    deposit_interest,
    max_amount_for,
    product,
    product_name,
    rate_label,
    rate_line,
    simulate_deposit,
    simulate_loan,
)
from backend.security import receipts
from backend.security.auth import AuthService
from backend.security.operations import Prepared, parse_request

if TYPE_CHECKING:
    from backend.core.db import Connection, Row
    from backend.security.operations import Pending
    from backend.security.receipts import Receipt

__all__ = ["catalogue", "product_name", "request_number", "ProductRequestsService", "RequestSummary"]

KIND = "solicitud_producto"
OPEN_STATES = ("Recibida", "En revisión")
PURPOSE_MAX = 160


@dataclass(frozen=True)
class RequestSummary:
    id: int
    number: str
    product: str
    product_name: str
    amount: int
    term: int
    term_label: str
    method: str
    rate_bp: int
    installment: int
    state: str
    reason: str
    created_at: str


def request_number(request_id: int, created_at: str) -> str:
    """«S-2026-000123»: what the member quotes to the co-op."""
    return f"S-{created_at[:4]}-{request_id:06d}"


def parse_request_number(text: str) -> int:
    match = re.fullmatch(r"\s*S-\d{4}-(\d{1,9})\s*", text or "")
    if not match:
        raise ValidationError("Número de solicitud no válido (ejemplo: S-2026-000123).", field="solicitud")
    return int(match.group(1))


@dataclass(frozen=True)
class Derived:
    """Everything a request stores, derived on the server from the member's choices."""

    product: Product
    amount: int
    term: int
    method: str
    rate_bp: int
    installment: int
    income: int
    purpose: str
    account_id: int | None
    account_number: str
    loan: LoanSimulation | None = None
    deposit: DepositSimulation | None = None


def member_deposits(conn: Connection, member_id: int) -> int:
    """Cents the member holds at the co-op in savings and plazos fijos: what the COSEDE cover is measured on."""
    return conn.execute("SELECT COALESCE(SUM(balance), 0) FROM accounts WHERE member_id = ?"
                        " AND kind IN ('ahorros', 'plazo_fijo') AND status != 'cerrada'", (member_id,)).fetchone()[0]


class ProductRequestsService:
    def __init__(self, ctx: Context, auth: AuthService, ops: Any, book: RateBook | None = None):
        self.ctx = ctx
        self.auth = auth
        self.ops = ops
        self.book = book or default_book()  # the offers; the caps are the ones in force in the database
        ops.register(ProductRequestHandler(self))

    def catalogue(self, token: str) -> tuple[Product, ...]:
        self.auth.principal(token)
        return catalogue()

    def simulate_loan(self, token: str, product_code: str, amount: int, term: int, method: str) -> LoanSimulation:
        self.auth.principal(token)
        today = self.ctx.now().date()
        with self.ctx.db.read() as conn:
            book = current_book(conn, self.book, today)
        return simulate_loan(book, product_code, amount, term, method, today)

    def simulate_deposit(self, token: str, amount: int, days: int) -> DepositSimulation:
        who = self.auth.principal(token)
        with self.ctx.db.read() as conn:
            cal = business_days.current(conn)
            held = member_deposits(conn, who.member_id)
        return simulate_deposit(amount, days, self.ctx.now().date(), self.ctx.settings.deposit_insurance_ceiling, cal,
                                held)

    def deposit_bands(self, token: str) -> list[DepositBand]:
        """The plazo fijo day bands in force today, with their rates."""
        self.auth.principal(token)
        return deposit_bands(self.ctx.now().date())

    def accounts(self, token: str) -> list[tuple[int, str]]:
        """The member's active savings accounts (id, number): destination or debit of a request."""
        who = self.auth.principal(token)
        return [(r[0], r[1]) for r in self.ctx.db.conn.execute(
            "SELECT id, number FROM accounts WHERE member_id = ? AND kind = 'ahorros' AND status = 'activa'"
            " ORDER BY number", (who.member_id,))]

    def prepare_request(self, token: str, request: ProductRequest) -> Pending:
        """-> operations.Pending for the authorised-operation flow."""
        return self.ops.prepare(token, KIND, asdict(request))

    def my_requests(self, token: str) -> list[RequestSummary]:
        """«Mis solicitudes», newest first."""
        who = self.auth.principal(token)
        rows = self.ctx.db.conn.execute(
            "SELECT * FROM product_requests WHERE user_id = ? ORDER BY created_at DESC, id DESC",
            (who.user_id,)).fetchall()
        return [summary(r) for r in rows]

    def get(self, token: str, request_id: int) -> RequestSummary:
        who = self.auth.principal(token)
        row = self.ctx.db.conn.execute("SELECT * FROM product_requests WHERE id = ? AND user_id = ?",
                                       (request_id, who.user_id)).fetchone()
        if row is None:
            raise NotFound("La solicitud no existe o no es tuya.", field="solicitud")
        return summary(row)

    # -- derivation, shared by prepare and execute (on the given connection) ----------------------
    def derive(self, conn: Connection, who: Principal, request: ProductRequest) -> Derived:
        p = product(request.product)
        self._none_open(conn, who, p)
        today = self.ctx.now().date()
        purpose = clean_text(request.purpose, field="destino", label="El destino", max_len=PURPOSE_MAX,
                             min_len=3)
        income = request.income
        if isinstance(income, bool) or not isinstance(income, int) or not 0 <= income <= MAX_CENTS:
            raise ValidationError("Ingresa tu ingreso mensual.", field="ingreso")
        account_id, number = self._own_account(conn, who, request.account_id)
        base = Derived(p, 0, 0, "", 0, 0, income, purpose, account_id, number)
        if p.kind == LOAN:
            if income <= 0:
                raise ValidationError("Ingresa tu ingreso mensual para solicitar un crédito.", field="ingreso")
            book = current_book(conn, self.book, today)
            sim = simulate_loan(book, p.code, request.amount, request.term, request.method, today)
            self._income_check(book, sim, income, today, committed_cuotas(conn, who.member_id))
            return replace(base, amount=sim.amount, term=sim.months, method=sim.method, rate_bp=sim.rate_bp,
                           installment=sim.cuota, loan=sim)
        if p.kind == DEPOSIT:
            dep = simulate_deposit(request.amount, request.term, today,
                                   self.ctx.settings.deposit_insurance_ceiling, business_days.current(conn),
                                   member_deposits(conn, who.member_id))
            available = conn.execute("SELECT balance - held FROM accounts WHERE id = ?", (account_id,)).fetchone()[0]
            if available < dep.amount:
                raise ValidationError(f"Tu cuenta {number} tiene disponible {format_money(available)}: no alcanza "
                                      f"para invertir {format_money(dep.amount)}.", field="monto")
            return replace(base, amount=dep.amount, term=dep.days, method="", rate_bp=dep.rate_bp,
                           installment=0, deposit=dep)
        if p.kind == CARD:
            if income <= 0:
                raise ValidationError("Ingresa tu ingreso mensual para solicitar una tarjeta.", field="ingreso")
            amount = check_amount(p, request.amount)
            self._card_check(p, amount, income, committed_card_limits(conn, who.member_id))
            rate = card_rate(current_book(conn, self.book, today), today)
            return replace(base, amount=amount, term=0, method="", rate_bp=bp(rate),
                           installment=0)
        return replace(base, amount=0, term=0, method="", rate_bp=0, installment=0)

    def _none_open(self, conn: Connection, who: Principal, p: Product) -> None:
        """One request of a product in trámite at a time (prepare says so before a code is sent)."""
        open_one = conn.execute(
            "SELECT id, created_at FROM product_requests WHERE user_id = ? AND product = ? AND state IN (?, ?)"
            " LIMIT 1", (who.user_id, p.code, *OPEN_STATES)).fetchone()
        if open_one is not None:
            raise ValidationError(f"Ya tienes una solicitud de {p.name} en trámite "
                                  f"(N.º {request_number(open_one[0], open_one[1])}); espera su respuesta.",
                                  field="producto", code="request_open")

    def _card_check(self, p: Product, amount: int, income: int, committed: int) -> None:
        """The new cupo plus the cupos the member already has (or has asked for) must fit the multiple."""
        times = self.ctx.settings.card_limit_income_multiple
        limit = income * times
        room = limit - committed
        if amount <= room:
            return
        if not committed:
            fits = (f"solicita un cupo de hasta {format_money(limit)}" if limit >= p.min_amount else
                    f"con ese ingreso no alcanzas el cupo mínimo de la tarjeta ({format_money(p.min_amount)})")
            raise ValidationError(
                f"El cupo de {format_money(amount)} supera {times} veces tu ingreso mensual declarado "
                f"({format_money(income)}). El cupo máximo es {format_money(limit)}: {fits}.",
                field="monto", code="income_multiple")
        if room >= p.min_amount:
            fits = f"el cupo máximo que aún puedes solicitar es {format_money(room)}"
        elif room > 0:
            fits = (f"aún te quedan {format_money(room)}, menos que el cupo mínimo de la tarjeta "
                    f"({format_money(p.min_amount)})")
        else:
            fits = "no queda cupo disponible para otra tarjeta"
        raise ValidationError(
            f"Tus tarjetas y solicitudes de tarjeta en trámite ya suman un cupo de {format_money(committed)}; "
            f"con ellas, el cupo total no puede pasar de {times} veces tu ingreso mensual declarado "
            f"({format_money(limit)}): {fits}.", field="monto", code="income_multiple")

    def _income_check(self, book: RateBook, sim: LoanSimulation, income: int, today: date, committed: int) -> None:
        """The new cuota plus what the member already pays (or has asked to pay) must fit the share."""
        share = self.ctx.settings.loan_income_share_pct
        limit = income * share // 100 - committed
        if sim.max_cuota <= limit:
            return
        if limit <= 0:
            raise ValidationError(
                f"Tus cuotas de créditos vigentes y solicitados ({format_money(committed)} al mes) ya ocupan el {share}% "
                f"de tu ingreso mensual declarado ({format_money(income)}): no hay espacio para otra cuota.",
                field="monto", code="income_share")
        most = max_amount_for(book, sim.product, sim.months, sim.method, today, limit)
        fits = (f"en {sim.months} meses puedes solicitar hasta {format_money(most)}" if most else
                "ese monto de cuota no alcanza para el monto mínimo de este crédito en ese plazo")
        cuotas = {r.cuota for r in sim.schedule.rows}
        which = ("La cuota" if len(cuotas) == 1 else "La primera cuota (la más alta)" if sim.method == "aleman"
                 else "La cuota más alta (la última)")
        raise ValidationError(
            f"{which} de {format_money(sim.max_cuota)} supera el {share}% de tu ingreso mensual declarado "
            f"({format_money(income)})" + (f", descontadas tus cuotas vigentes y solicitadas de {format_money(committed)}"
                                           if committed else "") +
            f". La cuota máxima es {format_money(limit)}: {fits}. Prueba un monto menor "
            "o un plazo más largo.", field="monto", code="income_share")

    def _own_account(self, conn: Connection, who: Principal, account_id: object) -> tuple[int, str]:
        if isinstance(account_id, bool) or not isinstance(account_id, int):
            raise ValidationError("Elige tu cuenta de ahorros.", field="cuenta")
        row = conn.execute("SELECT id, number FROM accounts WHERE id = ? AND member_id = ? AND kind = 'ahorros'"
                           " AND status = 'activa'", (account_id, who.member_id)).fetchone()
        if row is None:
            raise NotFound("La cuenta no existe o no te pertenece.", field="cuenta")
        return row[0], row[1]


def committed_cuotas(conn: Connection, member_id: int) -> int:
    """What the member already owes each month on loans: the largest unpaid cuota of each active loan,
    plus the cuota of every loan request still in process (they may all be approved)."""
    loans = conn.execute(
        "SELECT COALESCE(SUM((SELECT MAX(i.principal + i.interest) FROM loan_installments i"
        " WHERE i.loan_id = a.id AND i.paid_entry_id IS NULL)), 0) FROM accounts a"
        " WHERE a.member_id = ? AND a.kind = 'prestamo' AND a.status = 'activa'", (member_id,)).fetchone()[0]
    asked = conn.execute(
        "SELECT COALESCE(SUM(installment), 0) FROM product_requests WHERE member_id = ? AND state IN (?, ?)"
        " AND product IN ('consumo', 'microcredito', 'inmobiliario')", (member_id, *OPEN_STATES)).fetchone()[0]
    return int(loans) + int(asked)


def committed_card_limits(conn: Connection, member_id: int) -> int:
    """The cupos the member already holds: every Cooprogreso card whose account is still open (a blocked
    card keeps its cupo), plus the cupo of every card request still in process (it may be approved)."""
    cards = conn.execute(
        "SELECT COALESCE(SUM(c.credit_limit), 0) FROM cards c JOIN accounts a ON a.id = c.account_id"
        " WHERE a.member_id = ? AND a.kind = 'tarjeta' AND a.status = 'activa'", (member_id,)).fetchone()[0]
    asked = conn.execute(
        "SELECT COALESCE(SUM(amount), 0) FROM product_requests WHERE member_id = ? AND state IN (?, ?)"
        " AND product = 'tarjeta'", (member_id, *OPEN_STATES)).fetchone()[0]
    return int(cards) + int(asked)


def summary(r: Row) -> RequestSummary:
    p_name = product_name(r["product"])
    unit = {"plazo_fijo": "días"}.get(r["product"], "meses")
    term_label = f"{r['term']} {unit}" if r["term"] else "—"
    return RequestSummary(r["id"], request_number(r["id"], r["created_at"]), r["product"], p_name, r["amount"],
                          r["term"], term_label, r["method"], r["rate_bp"], r["installment"], r["state"],
                          r["reason"] or "", r["created_at"])


def lines_for(d: Derived) -> list[tuple[str, str]]:
    """What the member confirms; the receipt prints the same labels and figures (`receipt_lines`)."""
    lines = [("Producto", d.product.name)]
    if d.loan is not None:
        first, last = cuota_labels(d.method)
        lines += [("Monto", format_money(d.amount)), ("Plazo", d.product.term_label(d.term)),
                  ("Amortización", METHODS[d.method]),
                  (rate_label(d.product.code), rate_line(d.loan.effective, d.loan.cap)),
                  (first, format_money(d.installment))]
        if d.method == "aleman":
            lines.append((last, format_money(d.loan.schedule.rows[-1].cuota)))
        lines.append(("Interés total", format_money(d.loan.total_interest)))
    elif d.deposit is not None:
        lines += [("Monto", format_money(d.amount)), ("Plazo", d.product.term_label(d.term)),
                  *deposit_lines(d.amount, d.rate_bp, d.term, d.deposit.opens, d.deposit.maturity)]
    elif d.product.kind == CARD:
        lines += [("Cupo solicitado", format_money(d.amount)), (rate_label(d.product.code), rate_text(d.rate_bp))]
    if d.income:  # not asked of a plazo fijo or a savings account: left out rather than «$0.00»
        lines.append(("Ingreso mensual", format_money(d.income)))
    lines += [("Destino", d.purpose), (account_label(d.product.kind), d.account_number)]
    return lines


def rate_text(rate_bp: int) -> str:
    return format_rate(Decimal(rate_bp) / 10_000)


def account_label(kind: str) -> str:
    return "Cuenta de débito" if kind == DEPOSIT else "Cuenta"


def deposit_lines(amount: int, rate_bp: int, days: int, on: date, maturity: date) -> list[tuple[str, str]]:
    """A plazo fijo's rate, interest and maturity (a business day) from its stored figures; it runs from the day
    it opens."""
    interest = deposit_interest(amount, Decimal(rate_bp) / 10_000, days)
    return [(rate_label("plazo_fijo"), rate_text(rate_bp)), ("Interés", format_money(interest)),
            ("Al vencimiento", format_money(amount + interest)),
            ("Vencimiento", f"{maturity:%d/%m/%Y} si se abre el {on:%d/%m/%Y}")]


class ProductRequestHandler:
    kind = KIND
    otp_label = "tu solicitud de producto"

    def __init__(self, service: ProductRequestsService):
        self.service = service

    def prepare(self, conn: Connection, who: Principal, request: dict[str, Any]) -> Prepared[Derived]:
        d = self.service.derive(conn, who, parse_request(ProductRequest, request))
        details = {"product": d.product.code, "amount": d.amount, "term": d.term, "method": d.method,
                   "rate_bp": d.rate_bp, "installment": d.installment, "income": d.income, "purpose": d.purpose,
                   "account_id": d.account_id}
        return Prepared(details=details, title="Confirma tu solicitud", lines=lines_for(d), plan=d)

    def execute(self, conn: Connection, who: Principal, plan: Derived, key: str) -> int:
        d = plan
        ctx = self.service.ctx
        self.service._none_open(conn, who, d.product)  # the race backstop: prepare checked it before the code
        at = ctx.now_iso()
        request_id = conn.execute(
            "INSERT INTO product_requests (user_id, member_id, product, amount, term, method, rate_bp, installment,"
            " income, purpose, account_id, state, idempotency_key, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'Recibida', ?, ?) RETURNING id",
            (who.user_id, who.member_id, d.product.code, d.amount, d.term, d.method, d.rate_bp, d.installment,
             d.income, d.purpose, d.account_id, key, at)).fetchone()[0]
        number = request_number(request_id, at)
        ctx.audit(conn, who.username, "solicitud.crear", "ok", member_id=who.member_id, solicitud=number,
                  producto=d.product.code, monto=d.amount, plazo=d.term, tasa_bp=d.rate_bp)
        notices.queue(conn, who.member_id, f"Cooprogreso: recibimos tu solicitud N.º {number} de {d.product.name}. "
                      "Sigue su estado en «Mis solicitudes».", at)
        return request_id

    def receipt(self, conn: Connection, who: Principal, result_id: int) -> Receipt:
        row = conn.execute("SELECT * FROM product_requests WHERE id = ? AND user_id = ?",
                           (result_id, who.user_id)).fetchone()
        if row is None:
            raise NotFound("La solicitud no existe o no es tuya.")
        s = summary(row)
        kind = next((p.kind for p in catalogue() if p.code == s.product), "")  # a product since withdrawn: ""
        account = conn.execute("SELECT number FROM accounts WHERE id = ?", (row["account_id"],)).fetchone() \
            if row["account_id"] is not None else None
        lines = [("Producto", s.product_name)]  # the request's number is the receipt's «Referencia»
        if kind == DEPOSIT and s.amount and s.term and s.rate_bp:
            opened = parse_iso(row["created_at"]).date()
            lines += [("Monto", format_money(s.amount)), ("Plazo", s.term_label),
                      *deposit_lines(s.amount, s.rate_bp, s.term, opened,
                                     business_days.current(conn).roll(opened + timedelta(days=s.term)))]
        else:
            if s.amount:
                lines.append(("Cupo solicitado" if kind == CARD else "Monto", format_money(s.amount)))
            if s.term:
                lines.append(("Plazo", s.term_label))
            if s.method:
                lines.append(("Amortización", METHODS.get(s.method, s.method)))
            if s.rate_bp:
                lines.append((rate_label(s.product), rate_text(s.rate_bp)))
            if s.installment:
                lines.append((cuota_labels(s.method)[0], format_money(s.installment)))
        if row["income"]:
            lines.append(("Ingreso mensual", format_money(row["income"])))
        lines.append(("Destino", row["purpose"]))
        if account is not None:
            lines.append((account_label(kind), account[0]))
        lines.append(("Estado", "Recibida"))
        return receipts.make(self.service.ctx.secret("receipt_secret"), kind=KIND, title="Solicitud de Producto",
                             lines=lines, reference=s.number, created_at=parse_iso(row["created_at"]),
                             result_id=row["id"])
