"""A year of co-op days: a demo co-op moved forward day by day through the real services.

Members sign in and transfer, pay services and cards, defer purchases, program payments and ask for
products (each with the code read from the outbox, as a member reads the phone); tellers open and close
their tills; the back office answers requests; the supervisor closes every business day. After every day
the books must check clean and the calendar rules hold. The clock is a FixedClock the simulation moves, so
a year takes minutes and the same seed on the same demo gives the same year. Demo databases only.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from backend.bill_payments.requests import ServicePaymentRequest, ServiceScheduleRequest
from backend.branch import counter_ops
from backend.branch.tills import DENOMINATIONS
from backend.cards import card_cycle, card_ledger
from backend.cards.requests import CardPaymentRequest, DeferralRequest
from backend.core import business_days
from backend.core.clock import FixedClock, date_text
from backend.core.errors import Forbidden, ServiceError, ValidationError
from backend.products.requests import ProductRequest
from backend.security.auth import SignedIn
from backend.security.staff import StaffChallenge
from backend.transfers.transfers import TransferRequest

if TYPE_CHECKING:
    from backend.core.db import Connection
    from backend.security.operations import Pending
    from backend.security.receipts import Receipt
    from backend.service import Backend

Progress = Callable[[int, int, str], None]  # (days done, days, the day's label)

MEMBER_PASSWORD = "Socio-Simulado-2026"
SIM_PREFIX = "simulado"  # usernames of the members the simulation affiliates: simulado<member id>
TELLERS = ("cajero", "cajero2")
BACK_OFFICE = "atencion"
SUPERVISOR = "supervisor"
CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
MAX_PROBLEMS = 200  # kept in the report; the count goes on


@dataclass
class SimulationReport:
    start: str
    end: str = ""
    days: int = 0
    closed: int = 0  # business days closed
    operations: Counter = field(default_factory=Counter)  # kind → done
    refused: Counter = field(default_factory=Counter)  # kind → refused by the service (funds, quota...)
    reasons: Counter = field(default_factory=Counter)  # (kind, the service's message) → times
    problems: list[str] = field(default_factory=list)  # invariant failures and unexpected errors, with the day
    problem_count: int = 0
    calendar_problems: int = 0  # of those, due dates on a non-business day
    seconds: list[float] = field(default_factory=list)  # wall time of each simulated day
    stopped: str = ""  # why the run ended early (books that do not check)
    last_closed: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem_count and not self.stopped


def refuse_unless_demo(backend: Backend) -> None:
    """The simulation writes a year of invented activity: never on a real co-op."""
    if not backend.is_demo:
        raise Forbidden("La simulación solo corre sobre una base de demostración (cooprogreso demo-data); "
                        "esta base no lo es y no se modificó.", code="solo_demo")


class Simulation:
    def __init__(self, backend: Backend, *, seed: int = 2026, members: int = 8) -> None:
        refuse_unless_demo(backend)
        clock = backend.ctx.clock
        if not isinstance(clock, FixedClock):
            raise ValidationError("La simulación necesita un reloj fijo que ella misma avanza.")
        self.backend = backend
        self.clock: FixedClock = clock
        self.rng = random.Random(seed)
        self.wanted_members = max(1, members)
        self.members: list[_Member] = []
        self.payees: list[str] = []  # savings account numbers of the co-op's members (terceros)
        self.counter_accounts: list[int] = []
        self.report = SimulationReport(start="")
        self._checked_statements = 0  # card statements whose due date was already looked at

    # -- the run ------------------------------------------------------------------------------------
    def run(self, days: int, progress: Progress | None = None) -> SimulationReport:
        day = self._first_day()
        self.report.start = day.isoformat()
        if self.clock.current.date() != day:  # the CLI starts on today's clock; the co-op's day is its own
            self.clock.current = datetime.combine(day, datetime.min.time()) + timedelta(hours=7)
        self._setup()
        for n in range(days):
            started = time.perf_counter()
            if progress:
                progress(n, days, f"{day:%d/%m/%Y}")
            self._day(day)
            self.report.seconds.append(time.perf_counter() - started)
            self.report.days += 1
            self.report.end = day.isoformat()
            if self.report.stopped:
                break
            day += timedelta(days=1)
        if progress:
            progress(self.report.days, days, "Listo")
        return self.report

    def _first_day(self) -> date:
        """The open business day: a second run goes on where the first stopped."""
        with self.backend.db.read() as conn:
            return date.fromisoformat(counter_ops.business_date(conn, self.backend.ctx))

    def _move_to(self, day: date, hour: int, minute: int = 0) -> None:
        """The clock never goes back (codes, sessions and entries are stamped with it)."""
        target = datetime.combine(day, datetime.min.time()) + timedelta(hours=hour, minutes=minute)
        if target > self.clock.current:
            self.clock.current = target

    def _tick(self, seconds: int = 20) -> None:
        self.clock.advance(seconds=seconds)

    def _day(self, day: date) -> None:
        backend = self.backend
        with backend.db.read() as conn:
            business = counter_ops.business_date(conn, backend.ctx)
        is_business = business <= day.isoformat()
        self._move_to(day, 8)
        if is_business:
            self._tellers(day)
            self._move_to(day, 8, 45)
            self._back_office()
        self._move_to(day, 9)
        self._members(day)
        if is_business:
            self._move_to(day, 18, 30)
            self._close_day()
        self._invariants(day)

    # -- setup: members with an online user --------------------------------------------------------
    def _setup(self) -> None:
        backend = self.backend
        conn = backend.db.conn
        self.payees = [r[0] for r in conn.execute(
            "SELECT number FROM accounts WHERE kind = 'ahorros' AND status = 'activa' ORDER BY id")]
        self.counter_accounts = [r[0] for r in conn.execute(
            "SELECT id FROM accounts WHERE kind = 'ahorros' AND status = 'activa' ORDER BY id")]
        # The calendar rules are the simulation's days': statements already there were closed before it.
        self._checked_statements = conn.execute("SELECT COALESCE(MAX(id), 0) FROM card_statements").fetchone()[0]
        from backend.demo.coop import DEMO_PASSWORD, DEMO_USERNAME

        users = [(DEMO_USERNAME, DEMO_PASSWORD)]
        users += [(r[0], MEMBER_PASSWORD) for r in conn.execute(
            "SELECT username FROM users WHERE username LIKE ? ORDER BY id", (f"{SIM_PREFIX}%",))]
        candidates = [r[0] for r in conn.execute(
            "SELECT m.id_number FROM members m LEFT JOIN users u ON u.member_id = m.id"
            " WHERE u.id IS NULL AND m.status = 'activo' AND m.mobile IS NOT NULL ORDER BY m.id")]
        self.rng.shuffle(candidates)
        while len(users) < self.wanted_members and candidates:
            username = self._affiliate(candidates.pop())
            if username:
                users.append((username, MEMBER_PASSWORD))
        for username, password in users[:self.wanted_members]:
            signed = backend.auth.login(username, password)
            assert isinstance(signed, SignedIn)  # members sign in in one step
            token = signed.token
            who = backend.auth.principal(token)
            origins = [o.account_id for o in backend.transfers.origins(token)]
            cards = [int(c.key.split(":")[1]) for c in backend.cards.payable(token, "cooprogreso")]
            backend.auth.logout(token)
            if origins:
                self.members.append(_Member(username, password, who.member_id, origins, cards))
            self._tick()

    def _affiliate(self, id_number: str) -> str | None:
        auth = self.backend.auth
        try:
            start = auth.start_affiliation("cedula", id_number)
            self._tick()
            auth.verify_affiliation_code(start.challenge.id, self._code())
            member_id = self.backend.db.conn.execute("SELECT id FROM members WHERE id_number = ?",
                                                     (id_number,)).fetchone()[0]
            return auth.complete_affiliation(start.challenge.id, f"{SIM_PREFIX}{member_id}", MEMBER_PASSWORD)
        except ServiceError as exc:
            self._refused("afiliacion", exc)
            return None

    def _code(self) -> str:
        """The code just sent, as the member reads it on the phone (the demo's outbox)."""
        for message in reversed(self.backend.outbox(last=3)):
            found = CODE.search(message.body)
            if found:
                return found.group(1)
        raise AssertionError("no llegó el código al celular")

    # -- staff ---------------------------------------------------------------------------------------
    def _staff_sign_in(self, username: str) -> str:
        from backend.demo.staff import DEMO_STAFF_PASSWORD

        auth = self.backend.auth
        challenge = auth.login(username, DEMO_STAFF_PASSWORD)
        assert isinstance(challenge, StaffChallenge)  # staff finish with their code
        code = auth.staff_directory.current_code(username)
        return auth.staff_code(challenge.ticket, code).token

    def _tellers(self, day: date) -> None:
        backend = self.backend
        for username in TELLERS:
            self._tick(60)
            try:
                token = self._staff_sign_in(username)
            except ServiceError as exc:
                self._problem(day, f"el cajero {username} no pudo ingresar: {exc.message}")
                continue
            try:
                till = backend.tills.my_till(token)
                if till is None or till.status != "abierta":
                    backend.tills.open_till(token, "1000.00")
                    self.report.operations["apertura_caja"] += 1
                for _ in range(self.rng.randint(2, 5)):
                    self._tick()
                    kind = self.rng.choice(("deposito", "deposito", "retiro"))
                    amount = self.rng.randint(20, 600 if kind == "deposito" else 150)
                    account = self.rng.choice(self.counter_accounts)
                    key = f"sim-{day.isoformat()}-{self.rng.getrandbits(48):x}"
                    self._attempt(f"ventanilla_{kind}", partial(backend.counter.cash, token, kind, account,
                                                                f"{amount}.00", key))
                self._tick()
                till = backend.tills.my_till(token)
                assert till is not None  # opened above
                cash = till.cash
                result = backend.tills.close_till(token, _counts(cash))
                if result.state != "cerrada":
                    self._problem(day, f"la caja de {username} no cuadró: diferencia {result.difference}")
                else:
                    self.report.operations["cierre_caja"] += 1
            except ServiceError as exc:
                self._problem(day, f"caja de {username}: {exc.message}")
            finally:
                backend.auth.logout(token)

    def _back_office(self) -> None:
        """Answer what members asked for: the products open, so maturities and cuotas come due later."""
        backend = self.backend
        token = self._staff_sign_in(BACK_OFFICE)
        try:
            for request in backend.product_approvals.requests(token):
                if request.state != "Recibida":
                    continue
                self._tick()
                ok = self._attempt("aprobacion_producto", partial(self._approve, token, request.id))
                if not ok:  # above the back office's own limit, or no longer valid: said no, never left open
                    self._attempt("rechazo_producto", partial(backend.product_approvals.reject, token, request.id,
                                                              "No cumple las condiciones"))
        finally:
            backend.auth.logout(token)

    def _approve(self, token: str, request_id: int) -> None:
        self.backend.product_approvals.take(token, request_id)
        self.backend.product_approvals.approve(token, request_id, "Aprobada en la simulación")

    def _close_day(self) -> None:
        backend = self.backend
        token = self._staff_sign_in(SUPERVISOR)
        try:
            for pending in backend.approvals.pending(token):
                self._tick()
                self._attempt("aprobacion_ventanilla", partial(backend.approvals.approve, token, pending.id))
            self._tick()
            report = backend.end_of_day.close_day(token)
            self.report.closed += 1
            self.report.operations["cierre_dia"] += 1
            self.report.last_closed = report.day
        except ServiceError as exc:
            self.report.stopped = f"{self.clock.current:%d/%m/%Y}: el cierre del día no se hizo: {exc.message}"
        finally:
            backend.auth.logout(token)

    # -- members -------------------------------------------------------------------------------------
    def _members(self, day: date) -> None:
        for member in self.members:
            self._tick(self.rng.randint(60, 40 * 60))
            self._card_purchases(member)
            if self.rng.random() < 0.55:
                self._session(member, day)

    def _card_purchases(self, member: _Member) -> None:
        """Purchases reach the card from the card network (not a member's operation): booked as it books them."""
        from backend.demo.coop import SHOPS

        for card in member.cards:
            if self.rng.random() < 0.3:
                amount = self.rng.randint(5, 90) * 100 + self.rng.randint(0, 99)
                shop = self.rng.choice(SHOPS)
                try:
                    with self.backend.db.write() as conn:
                        card_ledger.record_purchase(conn, card, amount=amount, description=f"Consumo {shop}",
                                                    at=self.backend.ctx.now_iso(), actor="red_tarjetas")
                    self.report.operations["consumo_tarjeta"] += 1
                except ServiceError as exc:
                    self._refused("consumo_tarjeta", exc)

    def _session(self, member: _Member, day: date) -> None:
        backend = self.backend
        try:
            signed = backend.auth.login(member.username, member.password)
            assert isinstance(signed, SignedIn)  # members sign in in one step
            token = signed.token
        except ServiceError as exc:
            self._refused("ingreso", exc)
            return
        try:
            actions = [self._transfer, self._transfer, self._interbank, self._pay_service, self._pay_card,
                       self._defer, self._schedule, self._request_product]
            weights = [5, 3, 1, 3, 2, 1, 1, 1]
            for action in self.rng.choices(actions, weights, k=self.rng.randint(1, 3)):
                self._tick(self.rng.randint(20, 90))
                action(member, token, day)
        finally:
            backend.auth.logout(token)

    def _authorised(self, kind: str, token: str, prepare: Callable[[], Pending]) -> Receipt | None:
        """prepare → code to the phone → authorise with the code read there; None when refused."""
        ops = self.backend.ops
        try:
            pending = prepare()
            ops.request_code(token, pending.id)
            self._tick(15)
            receipt = ops.authorise(token, pending.id, self._code())
        except ServiceError as exc:
            self._refused(kind, exc)
            return None
        self.report.operations[kind] += 1
        return receipt

    def _transfer(self, member: _Member, token: str, day: date) -> None:
        mine = set(self._numbers(member))
        payee = self.rng.choice(self.payees)
        if payee in mine:
            return
        amount = self.rng.randint(1, 60) * 100 + self.rng.choice((0, 25, 50))
        request = TransferRequest("terceros", self.rng.choice(member.origins), amount, "Pago simulado",
                                  account_number=payee)
        self._authorised("transferencia", token, lambda: self.backend.transfers.prepare(token, request))

    def _interbank(self, member: _Member, token: str, day: date) -> None:
        request = TransferRequest("interbancaria", member.origins[0], self.rng.randint(5, 80) * 100, "Pago proveedor",
                                  account_number="2200123456", institution_code="0010", account_type="corriente",
                                  holder_name="Comercial Andes", holder_id_type="ruc", holder_id_number="1710034065001")
        self._authorised("interbancaria", token, lambda: self.backend.transfers.prepare(token, request))

    def _pay_service(self, member: _Member, token: str, day: date) -> None:
        services = self.backend.services
        identifier = f"{member.member_id % 100000:05d}{self.rng.choice('1345')}"
        try:
            presentment = services.consulta(token, "EPMAPS", identifier)
        except ServiceError as exc:
            self._refused("pago_servicio", exc)
            return
        if not presentment.bills:
            return
        request = ServicePaymentRequest(presentment.id, [b.number for b in presentment.bills], member.origins[0])
        self._authorised("pago_servicio", token, lambda: services.prepare_payment(token, request))

    def _pay_card(self, member: _Member, token: str, day: date) -> None:
        if not member.cards:
            return
        cards = self.backend.cards
        key = f"propia:{self.rng.choice(member.cards)}"
        options = cards.payment_options(token, key)
        option = next((o for o in ("minimo", "total") if o in options.options), None)
        if option is None:
            return
        request = CardPaymentRequest(card=key, option=option, origin_id=member.origins[0])
        self._authorised("pago_tarjeta", token, lambda: cards.prepare_payment(token, request))

    def _defer(self, member: _Member, token: str, day: date) -> None:
        if not member.cards:
            return
        deferrals = self.backend.deferrals
        card = self.rng.choice(member.cards)
        eligible = deferrals.eligible(token, card)
        if not eligible:
            return
        chosen = [p.id for p in self.rng.sample(eligible, min(len(eligible), self.rng.randint(1, 2)))]
        months = self.rng.choice((3, 6))
        request = DeferralRequest(card_id=card, kind="consumos", months=months, purchases=chosen)
        self._authorised("diferido", token, lambda: deferrals.prepare_deferral(token, request))

    def _schedule(self, member: _Member, token: str, day: date) -> None:
        if member.scheduled:
            return
        member.scheduled = True  # one per member: the next ones would be refused as duplicates anyway
        request = ServiceScheduleRequest(
            account_id=member.origins[0], biller="CNT-FIJO",
            identifier=f"02{member.member_id % 10000000:07d}"[:8] + self.rng.choice("1345"),
            day=self.rng.randint(1, 28), max_amount=100_00, start_date=day.isoformat())
        self._authorised("pago_programado", token, lambda: self.backend.scheduled.prepare_schedule(token, request))

    def _request_product(self, member: _Member, token: str, day: date) -> None:
        if self.rng.random() < 0.6:
            request = ProductRequest(product="plazo_fijo", amount=self.rng.randint(1, 3) * 100_00,
                                     term=self.rng.choice((30, 60, 90)), purpose="Ahorro", account_id=member.origins[0])
        else:
            request = ProductRequest(product="consumo", amount=self.rng.randint(3, 15) * 100_00,
                                     term=self.rng.choice((3, 6, 12)), method="frances", income=1500_00,
                                     purpose="Gastos del hogar", account_id=member.origins[0])
        self._authorised("solicitud_producto", token,
                         lambda: self.backend.product_requests.prepare_request(token, request))

    def _numbers(self, member: _Member) -> list[str]:
        if member.numbers is None:
            conn = self.backend.db.conn
            member.numbers = [conn.execute("SELECT number FROM accounts WHERE id = ?", (a,)).fetchone()[0]
                              for a in member.origins]
        return member.numbers

    # -- after every day -----------------------------------------------------------------------------
    def _invariants(self, day: date) -> None:
        """The books check clean; no due date on a non-business day; each scheduled period paid once;
        every card cut that came is closed (its statement re-derives: `check`)."""
        # A day that closed was checked by its close (end_of_day.run refuses a close whose books do not check,
        # and books nothing after it); any other day, what came since the last close's checkpoint (the full
        # re-derivation, O(every posting), is `backend.check()`: the caller's, at the end of a run).
        closed_today = self.report.last_closed == day.isoformat()
        problems: list[str] = []
        if not closed_today:
            with self.backend.db.read() as conn:
                problems = self.backend.books.check_close(conn)
        for problem in problems:
            self._problem(day, f"check: {problem}")
        if problems:
            self.report.stopped = self.report.stopped or f"{day:%d/%m/%Y}: la contabilidad no cuadra"
        for problem in calendar_problems(self.backend.db.conn, day, self._checked_statements):
            self.report.calendar_problems += 1
            self._problem(day, problem)
        self._checked_statements = self.backend.db.conn.execute(
            "SELECT COALESCE(MAX(id), 0) FROM card_statements").fetchone()[0]
        with self.backend.db.read() as conn:
            closed = conn.execute("SELECT 1 FROM business_days WHERE day = ?", (day.isoformat(),)).fetchone()
            last = conn.execute("SELECT MAX(day) FROM business_days").fetchone()[0]
            for problem in schedule_problems(conn, date.fromisoformat(last) if last else day - timedelta(days=1)):
                self._problem(day, problem)
            if closed:
                for card, cut in open_cuts(conn, day):
                    self._problem(day, f"tarjeta {card}: el corte del {cut:%d/%m/%Y} no tiene estado de cuenta")

    # -- bookkeeping of the run ----------------------------------------------------------------------
    def _attempt(self, kind: str, fn: Callable[[], object]) -> bool:
        try:
            fn()
        except ServiceError as exc:
            self._refused(kind, exc)
            return False
        self.report.operations[kind] += 1
        return True

    def _refused(self, kind: str, exc: ServiceError) -> None:
        self.report.refused[kind] += 1
        self.report.reasons[(kind, re.sub(r"\$[\d,.]+|\d[\d/.-]*", "…", exc.message))] += 1

    def _problem(self, day: date, text: str) -> None:
        self.report.problem_count += 1
        if len(self.report.problems) < MAX_PROBLEMS:
            self.report.problems.append(f"{day:%d/%m/%Y} {text}")


@dataclass
class _Member:
    username: str
    password: str
    member_id: int
    origins: list[int]
    cards: list[int]
    scheduled: bool = False
    numbers: list[str] | None = None


def _counts(cents: int) -> dict[int, int]:
    """The till's cash as the teller counts it: largest pieces first."""
    counts = {}
    for value, _ in DENOMINATIONS:
        counts[value], cents = divmod(cents, value)
    return {k: v for k, v in counts.items() if v}


def calendar_problems(conn: Connection, day: date, after_statement: int = 0) -> list[str]:
    """Due dates set on or for `day` that fall on a non-business day: card statements closed since
    `after_statement`, plazos fijos and loans opened that day, the next run of every active schedule."""
    is_business_day = business_days.current(conn).is_business_day  # the calendar in force in this database
    out = []
    for number, cut, due in conn.execute(
            "SELECT a.number, s.cut_date, s.due_date FROM card_statements s JOIN accounts a ON a.id = s.card_id"
            " WHERE s.id > ? ORDER BY s.id", (after_statement,)):
        if not is_business_day(date.fromisoformat(due)):
            out.append(f"calendario: tarjeta {number}, corte {date_text(cut)}: fecha máxima de pago {date_text(due)} no es día hábil")
    opened = day.isoformat()
    for number, maturity in conn.execute(
            "SELECT a.number, d.maturity_date FROM term_deposits d JOIN accounts a ON a.id = d.account_id"
            " WHERE d.start_date = ?", (opened,)):
        if not is_business_day(date.fromisoformat(maturity)):
            out.append(f"calendario: plazo fijo {number}: vence el {date_text(maturity)}, que no es día hábil")
    for number, n, due in conn.execute(
            "SELECT a.number, i.number, i.due_date FROM loans l JOIN accounts a ON a.id = l.account_id"
            " JOIN loan_installments i ON i.loan_id = l.account_id WHERE l.start_date = ? ORDER BY a.number, i.number",
            (opened,)):
        if not is_business_day(date.fromisoformat(due)):
            out.append(f"calendario: crédito {number}, cuota {n}: vence el {date_text(due)}, que no es día hábil")
    for sid, run in conn.execute("SELECT id, next_run FROM bill_schedules WHERE state = 'activo'"
                                 " AND next_run IS NOT NULL AND updated_at >= ?", (opened,)):
        if not is_business_day(date.fromisoformat(run[:10])):
            out.append(f"calendario: pago programado {sid}: próximo débito {date_text(run[:10])} no es día hábil")
    return out


def schedule_problems(conn: Connection, closed: date) -> list[str]:
    """Every scheduled period paid at most once, and none left behind once its day was closed."""
    out = [f"pago programado {sid}, período {period}: debitado {n} veces" for sid, period, n in conn.execute(
        "SELECT schedule_id, period, COUNT(*) FROM bill_payments WHERE schedule_id IS NOT NULL"
        " AND entry_id IS NOT NULL AND refund_entry_id IS NULL GROUP BY schedule_id, period HAVING COUNT(*) > 1")]
    for sid, run in conn.execute("SELECT id, next_run FROM bill_schedules WHERE state = 'activo' AND next_run < ?",
                                 (closed.isoformat(),)):
        out.append(f"pago programado {sid}: debía correr el {date_text(run[:10])} y sigue pendiente")
    return out


def open_cuts(conn: Connection, day: date) -> list[tuple[str, date]]:
    """Cards whose cut on or before `day` has no statement after the day's close."""
    out = []
    for card_id, number in conn.execute("SELECT c.account_id, a.number FROM cards c JOIN accounts a"
                                        " ON a.id = c.account_id WHERE a.status = 'activa'").fetchall():
        out += [(number, cut) for cut in card_cycle.pending_cuts(conn, card_id, day)]
    return out


def day_cost_ratio(seconds: list[float], early: tuple[int, int] = (1, 100), late: tuple[int, int] = (301, 400)) -> float:
    """Seconds per simulated day late in the run ÷ early in it (days numbered from 1)."""
    a = seconds[early[0] - 1:early[1]]
    b = seconds[late[0] - 1:late[1]]
    return (sum(b) / len(b)) / (sum(a) / len(a))
