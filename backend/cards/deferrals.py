"""Section 5, Diferido de Tarjetas Cooprogreso: defer purchases or the revolving balance in cuotas.

A simulation prices every offered plazo with the co-op's rate for it (never above the legal cap in
force: backend.core.rates) and the French schedule in exact cents (backend.core.amortization). Confirming
(authorised-operation flow, kind «diferido») moves the capital from the card's revolving balance to
its diferidos account — no money enters or leaves the co-op — and stores the cuotas; each following
cycle close bills one. A purchase is deferred once; a purchase with a merchant promotion is deferred
sin intereses (rate 0) for plazos up to its promotion's months.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from backend.cards.card_cycle import cut_on
from backend.cards.card_ledger import DEFERRAL, balances, installment_account
from backend.cards.requests import DeferralRequest
from backend.core import audit, business_days, notices
from backend.core.amortization import Schedule, french
from backend.core.clock import parse_iso
from backend.core.context import Context, Principal
from backend.core.errors import NotFound, ServiceError, ValidationError
from backend.core.ledger import Leg, post
from backend.core.money import format_money
from backend.core.rates import RateBook, current_book, default_book, format_rate
from backend.core.settings import deferral_terms
from backend.security import receipts
from backend.security.auth import AuthService
from backend.security.operations import Prepared, parse_request

if TYPE_CHECKING:
    from backend.core.db import Connection, Row
    from backend.security.operations import Pending
    from backend.security.receipts import Receipt

KIND = "diferido"
KINDS = {"consumos": "Diferido Transacciones", "rotativo": "Diferido Saldo Actual Rotativo"}
MAX_SELECTED = 200


@dataclass(frozen=True)
class Purchase:
    id: int
    posted_at: datetime
    description: str
    amount: int
    interest_free_months: int


@dataclass(frozen=True)
class TermOption:
    months: int
    available: bool
    cuota: int = 0
    total_interest: int = 0
    effective: Decimal = Decimal(0)
    cap: Decimal = Decimal(0)
    reason: str = ""  # why a plazo is not offered (above the cap, not in the co-op's table)


@dataclass(frozen=True)
class Simulation:
    card_id: int
    masked_pan: str
    kind: str
    purchase_ids: tuple[int, ...]
    principal: int
    months: int
    effective: Decimal
    cap: Decimal
    schedule: Schedule
    due_dates: tuple[date, ...]
    options: tuple[TermOption, ...]

    @property
    def cuota(self) -> int:
        return self.schedule.cuota

    @property
    def total_interest(self) -> int:
        return self.schedule.total_interest


@dataclass(frozen=True)
class DeferralSummary:
    id: int
    reference: str
    created_at: datetime
    kind: str
    masked_pan: str
    principal: int
    months: int
    effective: Decimal
    cuota: int
    billed: int
    remaining_capital: int
    remaining_cuotas: int


class DeferralsService:
    def __init__(self, ctx: Context, auth: AuthService, ops: Any, book: RateBook | None = None):
        self.ctx = ctx
        self.auth = auth
        self.ops = ops
        self.book = book or default_book()
        ops.register(DeferralHandler(self))

    @property
    def terms(self) -> tuple[int, ...]:
        return deferral_terms(self.ctx.settings.card_deferral_terms)

    def eligible(self, token: str, card_id: int) -> list[Purchase]:
        who = self.auth.principal(token)
        conn = self.ctx.db.conn
        own_card(conn, who, card_id)
        return eligible_purchases(conn, card_id, self.ctx.now().date())

    def simulate(self, token: str, card_id: int, kind: str, purchase_ids: list[int], months: int) -> Simulation:
        who = self.auth.principal(token)
        return self._simulate(self.ctx.db.conn, who, DeferralRequest(card_id, kind, months, purchase_ids))

    def prepare_deferral(self, token: str, request: DeferralRequest) -> Pending:
        """-> operations.Pending for the authorised-operation flow."""
        return self.ops.prepare(token, KIND, asdict(request))

    def mine(self, token: str) -> list[DeferralSummary]:
        """Mis diferidos: each deferral with what is left of it."""
        who = self.auth.principal(token)
        rows = self.ctx.db.conn.execute(
            "SELECT d.*, c.masked_pan, (SELECT capital + interest FROM card_deferral_cuotas WHERE deferral_id = d.id"
            " AND number = 1) AS cuota, SUM(CASE WHEN q.statement_id IS NOT NULL THEN 1 ELSE 0 END) AS billed,"
            " SUM(CASE WHEN q.statement_id IS NULL THEN q.capital ELSE 0 END) AS left_capital"
            " FROM card_deferrals d JOIN cards c ON c.account_id = d.card_id JOIN accounts a ON a.id = d.card_id"
            " JOIN card_deferral_cuotas q ON q.deferral_id = d.id WHERE a.member_id = ?"
            " GROUP BY d.id, c.masked_pan ORDER BY d.created_at DESC, d.id DESC", (who.member_id,)).fetchall()
        return [DeferralSummary(r["id"], r["reference"], parse_iso(r["created_at"]), r["kind"], r["masked_pan"],
                                r["principal"], r["months"], Decimal(r["effective_rate"]), r["cuota"], r["billed"],
                                r["left_capital"], r["months"] - r["billed"]) for r in rows]

    # -- the simulation, from the kind's request, on the given connection -----------------------
    def _simulate(self, conn: Connection, who: Principal, request: DeferralRequest) -> Simulation:
        card_id, kind, months = request.card_id, request.kind, request.months
        if kind not in KINDS:
            raise ValidationError("Tipo de diferido no válido.", field="kind")
        card = own_card(conn, who, card_id)
        assert isinstance(card_id, int)  # own_card refuses anything else
        if card["status"] != "Activo" or card["account_status"] != "activa":
            raise ValidationError("La tarjeta no está activa.", field="card")
        if isinstance(months, bool) or not isinstance(months, int) or months not in self.terms:
            raise ValidationError("Selecciona un plazo de la lista.", field="plazo")
        today = self.ctx.now().date()
        owed = balances(conn, card_id).revolving
        if kind == "consumos":
            chosen = _chosen(conn, card_id, request.purchases, today)
            principal = sum(p.amount for p in chosen)
            free_months = min(p.interest_free_months for p in chosen)
            ids = tuple(sorted(p.id for p in chosen))
            if principal > owed:
                raise ValidationError(f"El monto a diferir ({format_money(principal)}) supera tu saldo rotativo "
                                      f"actual ({format_money(max(owed, 0))}).", field="purchases")
        else:
            principal, free_months, ids = owed, 0, ()
            if principal <= 0:
                raise ValidationError("No tienes saldo rotativo para diferir.", field="card")
        if principal < self.ctx.settings.card_deferral_min:
            raise ValidationError(f"El monto mínimo a diferir es {format_money(self.ctx.settings.card_deferral_min)}.",
                                  field="purchases")
        book = current_book(conn, self.book, today)  # the caps in force in the database
        options = tuple(self._option(book, principal, m, today, free_months) for m in self.terms)
        quote = book.quote(KIND, months, today, interest_free=months <= free_months)
        schedule = french(principal, quote.monthly, months)
        first_cut = next_cut(card["cutoff_day"], today)
        cal = business_days.current(conn)  # each cuota is due on its statement's fecha máxima de pago (card_cycle)
        due = tuple(cal.roll(_add_months(first_cut, n) + timedelta(days=self.ctx.settings.card_due_days))
                    for n in range(months))
        return Simulation(card_id, card["masked_pan"], kind, ids, principal, months, quote.effective,
                          quote.cap.max_effective, schedule, due, options)

    def _option(self, book: RateBook, principal: int, months: int, today: date, free_months: int) -> TermOption:
        try:
            quote = book.quote(KIND, months, today, interest_free=months <= free_months)
        except ServiceError as exc:
            return TermOption(months, False, reason=exc.message)
        s = french(principal, quote.monthly, months)
        return TermOption(months, True, s.cuota, s.total_interest, quote.effective, quote.cap.max_effective)


class DeferralHandler:
    kind = KIND
    otp_label = "tu diferido"

    def __init__(self, service: DeferralsService):
        self.service = service

    def prepare(self, conn: Connection, who: Principal, request: dict[str, Any]) -> Prepared[Simulation]:
        sim = self.service._simulate(conn, who, parse_request(DeferralRequest, request))
        details = {"card": sim.masked_pan, "card_id": sim.card_id, "kind": sim.kind, "purchases": list(sim.purchase_ids),
                   "principal": sim.principal, "months": sim.months, "rate": str(sim.effective),
                   "cuota": sim.cuota, "interest": sim.total_interest}
        return Prepared(details=details, title="Confirma el diferido", plan=sim, lines=[
            ("Tarjeta", f"Tarjeta No. {sim.masked_pan}"), ("Tipo", KINDS[sim.kind]),
            ("Total Monto a Diferir", format_money(sim.principal)), ("Número de Cuotas", str(sim.months)),
            ("Tasa efectiva", _rate_line(sim.effective, sim.cap)),
            ("Valor Interés", format_money(sim.total_interest)), ("Valor Cuota", format_money(sim.cuota))])

    def execute(self, conn: Connection, who: Principal, plan: Simulation, key: str) -> int:
        return book_deferral(conn, self.service.ctx, plan, user_id=who.user_id, member_id=who.member_id,
                             actor=who.username, at=self.service.ctx.now_iso(), key=key)

    def receipt(self, conn: Connection, who: Principal, result_id: int) -> Receipt:
        r = conn.execute("SELECT d.*, c.masked_pan FROM card_deferrals d JOIN cards c ON c.account_id = d.card_id"
                         " JOIN accounts a ON a.id = d.card_id WHERE d.id = ? AND a.member_id = ?",
                         (result_id, who.member_id)).fetchone()
        if r is None:
            raise NotFound("El diferido no existe o no te pertenece.")
        cuota = conn.execute("SELECT capital + interest FROM card_deferral_cuotas WHERE deferral_id = ? AND number = 1",
                             (result_id,)).fetchone()[0]
        lines = [("Tarjeta", r["masked_pan"]), ("Tipo", KINDS[r["kind"]]),
                 ("Total Monto a Diferir", format_money(r["principal"])), ("Número de Cuotas", str(r["months"])),
                 ("Tasa efectiva", _rate_line(Decimal(r["effective_rate"]), Decimal(r["cap_rate"]))),
                 ("Valor Interés", format_money(r["total_interest"])), ("Valor Cuota", format_money(cuota)),
                 ("Estado", "Diferido exitoso")]
        return receipts.make(self.service.ctx.secret("receipt_secret"), kind=KIND,
                             title="Diferido Tarjetas Cooprogreso", lines=lines, reference=r["reference"],
                             created_at=parse_iso(r["created_at"]), result_id=r["id"])


def book_deferral(conn: Connection, ctx: Context, sim: Simulation, *, user_id: int | None, member_id: int, actor: str, at: str,
                  key: str, notify: bool = True) -> int:
    """Move the capital to the diferidos account and store the cuotas (inside the caller's write)."""
    inst = installment_account(conn, sim.card_id)
    what = f"{KINDS[sim.kind]} a {sim.months} meses"
    entry = post(conn, kind=DEFERRAL, description=what, posted_at=at, actor=actor, idempotency_key=key,
                 legs=[Leg(sim.card_id, sim.principal, f"{what}: pasa a cuotas"), Leg(inst, -sim.principal, what)])
    reference = f"D{at[2:4]}{at[5:7]}{at[8:10]}{entry:08d}"
    deferral_id = conn.execute(
        "INSERT INTO card_deferrals (reference, idempotency_key, card_id, user_id, kind, principal, months,"
        " effective_rate, cap_rate, total_interest, entry_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " RETURNING id", (reference, key, sim.card_id, user_id, sim.kind, sim.principal, sim.months,
                          str(sim.effective), str(sim.cap), sim.total_interest, entry, at)).fetchone()[0]
    for row in sim.schedule.rows:
        conn.execute("INSERT INTO card_deferral_cuotas (deferral_id, number, capital, interest) VALUES (?, ?, ?, ?)",
                     (deferral_id, row.number, row.capital, row.interest))
    if sim.kind == "consumos":
        marks = [conn.execute("UPDATE card_purchases SET deferral_id = ? WHERE id = ? AND card_id = ?"
                              " AND deferral_id IS NULL RETURNING id", (deferral_id, pid, sim.card_id)).fetchone()
                 for pid in sim.purchase_ids]
        if not all(marks):
            raise ValidationError("Uno de los consumos ya fue diferido.", field="purchases")
    else:  # the balance is deferred: none of the purchases in it can be deferred again
        conn.execute("UPDATE card_purchases SET deferral_id = ? WHERE card_id = ? AND deferral_id IS NULL"
                     " AND posted_at <= ?", (deferral_id, sim.card_id, at))
    audit.record(conn, at=at, actor=actor, action="tarjeta.diferido", outcome="ok", referencia=reference,
                 tarjeta=sim.masked_pan, tipo=sim.kind, monto=sim.principal, plazo=sim.months, tasa=str(sim.effective))
    if notify:
        notices.queue(conn, member_id, f"Cooprogreso: diferiste {format_money(sim.principal)} de tu tarjeta "
                      f"{sim.masked_pan} a {sim.months} meses; cuota {format_money(sim.cuota)}. Ref. {reference}.", at)
    return deferral_id


def simulation_for(book: RateBook, card_id: int, masked_pan: str, kind: str, purchase_ids: tuple[int, ...],
                   principal: int, months: int, on: date, interest_free: bool = False) -> Simulation:
    """A bare simulation (no side-by-side, no dates): for back-office and demo bookings."""
    quote = book.quote(KIND, months, on, interest_free=interest_free)
    return Simulation(card_id, masked_pan, kind, purchase_ids, principal, months, quote.effective,
                      quote.cap.max_effective, french(principal, quote.monthly, months), (), ())


def _rate_line(effective: Decimal, cap: Decimal) -> str:
    if effective == 0:
        return "Sin intereses (0.00%)"
    return f"{format_rate(effective)} (máxima legal {format_rate(cap)})"


def own_card(conn: Connection, who: Principal, card_id: object) -> Row:
    if isinstance(card_id, bool) or not isinstance(card_id, int):
        raise NotFound("La tarjeta no existe o no te pertenece.")
    row = conn.execute(
        "SELECT c.*, a.status AS account_status, a.member_id FROM cards c JOIN accounts a ON a.id = c.account_id"
        " WHERE c.account_id = ? AND a.member_id = ?", (card_id, who.member_id)).fetchone()
    if row is None:
        raise NotFound("La tarjeta no existe o no te pertenece.")
    return row


def window_start(conn: Connection, card_id: int, today: date) -> str:
    """Purchases after this instant may be deferred: the open cycle, and the last statement until it is due."""
    last = conn.execute("SELECT cut_date, due_date FROM card_statements WHERE card_id = ? ORDER BY cut_date DESC"
                        " LIMIT 2", (card_id,)).fetchall()
    if not last:
        return ""
    if last[0]["due_date"] >= today.isoformat():
        return f"{last[1]['cut_date']} 23:59:59" if len(last) > 1 else ""
    return f"{last[0]['cut_date']} 23:59:59"


def eligible_purchases(conn: Connection, card_id: int, today: date) -> list[Purchase]:
    return [Purchase(r[0], parse_iso(r[1]), r[2], r[3], r[4]) for r in conn.execute(
        "SELECT id, posted_at, description, amount, interest_free_months FROM card_purchases"
        " WHERE card_id = ? AND deferral_id IS NULL AND posted_at > ? ORDER BY posted_at, id",
        (card_id, window_start(conn, card_id, today)))]


def _chosen(conn: Connection, card_id: int, ids: object, today: date) -> list[Purchase]:
    if not isinstance(ids, list) or not ids:
        raise ValidationError("Selecciona al menos un consumo para diferir.", field="purchases")
    if len(ids) > MAX_SELECTED or any(isinstance(i, bool) or not isinstance(i, int) for i in ids):
        raise ValidationError("La selección de consumos no es válida.", field="purchases")
    if len(set(ids)) != len(ids):
        raise ValidationError("Un consumo está seleccionado dos veces.", field="purchases")
    eligible = {p.id: p for p in eligible_purchases(conn, card_id, today)}
    missing = [i for i in ids if i not in eligible]
    if missing:
        raise ValidationError("Uno de los consumos seleccionados ya no se puede diferir (ya fue diferido o pertenece "
                              "a un estado de cuenta vencido).", field="purchases")
    return [eligible[i] for i in ids]


def next_cut(cutoff_day: int, today: date) -> date:
    c = cut_on(today.year, today.month, cutoff_day)
    return c if c >= today else _add_months(c, 1)


def _add_months(d: date, months: int) -> date:
    month = d.month - 1 + months
    return date(d.year + month // 12, month % 12 + 1, min(d.day, 28))
