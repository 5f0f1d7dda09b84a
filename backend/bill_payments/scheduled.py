"""Pagos Programados: a member's standing order to pay a service every month, and its calendar.

A schedule pays one period (`YYYY-MM`) at a time: on its day of the month (or, «al vencimiento», on the
bill's due date), rolled forward to the next business day by the co-op's calendar (backend/core/business_days.py:
weekends and national holidays as observed). `next_run` is the moment the
runner (`backend.bill_payments.scheduled_runner`) should look at it; paused, cancelled and finished schedules have
none, so a pass only ever reads the schedules that are due.
"""

from __future__ import annotations

import calendar
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from backend.bill_payments import billers as cat
from backend.bill_payments.requests import ServiceScheduleRequest
from backend.core import business_days
from backend.core.business_days import Calendar
from backend.core.clock import iso, parse_iso
from backend.core.context import Context, Principal
from backend.core.errors import NotFound, ValidationError
from backend.core.identity import mask_account
from backend.core.money import format_money
from backend.security.operations import Pending, Prepared, parse_request
from backend.security.receipts import Receipt

if TYPE_CHECKING:
    from backend.core.db import Connection, Row
    from backend.security.auth import AuthService
    from backend.security.operations import OperationsService, Pending

STATES = {"activo": "Activo", "pausado": "Pausado", "cancelado": "Cancelado", "terminado": "Terminado"}
MAX_AHEAD_DAYS = 366


# -- the calendar -------------------------------------------------------------------------------------
def roll(day: date, cal: Calendar) -> date:
    """The day itself when it is a business day, else the next one that is (the co-op's calendar)."""
    return cal.roll(day)


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def next_period(period: str) -> str:
    year, month = int(period[:4]), int(period[5:])
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


def nominal(period: str, day: int | None) -> date:
    """The period's day before rolling: its day of the month (clamped to the month's end), or its 1st
    for «al vencimiento» (when the runner first looks for the bill and learns its due date)."""
    year, month = int(period[:4]), int(period[5:])
    return date(year, month, min(day or 1, calendar.monthrange(year, month)[1]))


def run_at(day: date, hour: int) -> str:
    return iso(datetime(day.year, day.month, day.day, hour))


def first_period(start: date, day: int | None) -> str:
    period = period_of(start)
    return period if day is None or nominal(period, day) >= start else next_period(period)


def first_run(start: date, day: int | None, cal: Calendar) -> date:
    period = first_period(start, day)
    return roll(max(start, nominal(period, day)), cal)


# -- schedules ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScheduleSummary:
    id: int
    biller_code: str
    biller_name: str
    id_label: str
    identifier: str
    account_masked: str
    day: int | None
    max_amount: int
    start_date: date
    end_date: date | None
    payments_limit: int | None
    payments_done: int
    state: str
    next_run: datetime | None
    last_result: str | None

    @property
    def day_label(self) -> str:
        return f"Día {self.day}" if self.day else "Al vencimiento"

    @property
    def state_label(self) -> str:
        return STATES[self.state]


# The states a schedule may be in for each change («reanudar» an active one changes nothing).
CHANGES = {"pausar": ("activo",), "reanudar": ("pausado",), "cancelar": ("activo", "pausado")}


def change_refusal(s: ScheduleSummary, action: str) -> str:
    """Why `action` cannot be done to `s` as it stands ("" when it can): asked by the screen before its «¿Está
    seguro…?», and again by the service under the lock (the schedule may have changed in between)."""
    if s.state in CHANGES[action]:
        return ""
    return f"Este pago programado está {s.state_label.lower()}; no se puede {action}."


def day_text(day: int | None) -> str:
    if day is None:
        return "En la fecha de vencimiento (o el siguiente día hábil)"
    return f"Día {day} de cada mes (o el siguiente día hábil)"


def _parse_day(text: object, field: str, label: str, required: bool) -> date | None:
    if text in (None, ""):
        if required:
            raise ValidationError(f"Ingresa {label}.", field=field)
        return None
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        raise ValidationError(f"{label[0].upper()}{label[1:]} no es una fecha válida.", field=field) from None


@dataclass(frozen=True)
class NewSchedule:
    """The plan of a new scheduled payment: the row it adds."""

    account_id: int
    biller_code: str
    identifier: str
    day: int | None
    max_amount: int
    start: date
    end: date | None
    payments_limit: int | None


class ServiceScheduleHandler:
    kind = "pago_programado"
    otp_label = "programar tu pago de servicio"

    def __init__(self, ctx: Context):
        self.ctx = ctx

    def prepare(self, conn: Connection, who: Principal, request: dict[str, Any]) -> Prepared[NewSchedule]:
        from backend.bill_payments.services import owned_savings
        req = parse_request(ServiceScheduleRequest, request)
        account_id, number, _ = owned_savings(conn, who, req.account_id)
        biller = cat.get(conn, req.biller)
        identifier = cat.normalize(biller, req.identifier)
        day = req.day
        if day is not None and (isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= 31):
            raise ValidationError("El día de pago va del 1 al 31.", field="day")
        if day is None and biller.is_topup:
            raise ValidationError("Una recarga no tiene vencimiento: elige un día del mes.", field="day")
        amount = req.max_amount
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise ValidationError("Ingresa el monto máximo.", field="max_amount")
        if amount > biller.max_amount:
            raise ValidationError(f"El monto máximo para {biller.name} es {format_money(biller.max_amount)}.",
                                  field="max_amount")
        today = self.ctx.now().date()
        start = _parse_day(req.start_date, "start_date", "la fecha de inicio", True)
        assert start is not None  # required: _parse_day refuses a missing date
        if start < today or start > today + timedelta(days=MAX_AHEAD_DAYS):
            raise ValidationError("La fecha de inicio va desde hoy hasta dentro de un año.", field="start_date")
        end = _parse_day(req.end_date, "end_date", "la fecha de fin", False)
        if end is not None and end <= start:
            raise ValidationError("La fecha de fin debe ser posterior a la de inicio.", field="end_date")
        limit = req.payments_limit  # None: no limit; 0 is a number typed, not «none» (refused below)
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 600):
            raise ValidationError("El número de pagos va de 1 a 600.", field="payments_limit")
        if conn.execute("SELECT 1 FROM bill_schedules WHERE user_id = ? AND biller_code = ? AND identifier = ?"
                        " AND state IN ('activo', 'pausado')", (who.user_id, biller.code, identifier)).fetchone():
            raise ValidationError("Ya tienes un pago programado para ese servicio; puedes verlo en "
                                  "Consultar Pagos Programados.", field="identifier", code="duplicate")
        first = first_run(start, day, business_days.current(conn))
        if end is not None and first > end:
            raise ValidationError("No habría ningún pago antes de la fecha de fin.", field="end_date")
        lines = [("Cuenta de débito", f"Ahorros {mask_account(number)}"), ("Categoría", biller.category),
                 ("Entidad", biller.name), (biller.id_label, identifier), ("Día de pago", day_text(day)),
                 ("Monto" if biller.is_topup else "Monto máximo", format_money(amount)),
                 ("Desde", f"{start:%d/%m/%Y}")]
        if end:
            lines.append(("Hasta", f"{end:%d/%m/%Y}"))
        if limit:
            lines.append(("Número de pagos", str(limit)))
        lines.append(("Primer débito", f"{first:%d/%m/%Y}"))
        details = {"account": number, "biller": biller.code, "identifier": identifier, "day": day, "max_amount": amount,
                   "start": start.isoformat(), "end": end.isoformat() if end else None, "limit": limit}
        plan = NewSchedule(account_id, biller.code, identifier, day, amount, start, end, limit)
        return Prepared(details=details, title="Confirma el pago programado", lines=lines, plan=plan)

    def execute(self, conn: Connection, who: Principal, plan: NewSchedule, key: str) -> int:
        start, day = plan.start, plan.day
        now = self.ctx.now_iso()
        schedule_id = conn.execute(
            "INSERT INTO bill_schedules (user_id, account_id, biller_code, identifier, day, max_amount, start_date,"
            " end_date, payments_limit, state, period, next_run, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'activo', ?, ?, ?, ?) RETURNING id",
            (who.user_id, plan.account_id, plan.biller_code, plan.identifier, day, plan.max_amount, start.isoformat(),
             plan.end.isoformat() if plan.end else None, plan.payments_limit, first_period(start, day),
             run_at(first_run(start, day, business_days.current(conn)), self.ctx.settings.scheduled_run_hour),
             now, now)).fetchone()[0]
        self.ctx.audit(conn, who.username, "servicio.programar", "ok", programado=schedule_id, entidad=plan.biller_code,
                       identificador=plan.identifier, monto_maximo=plan.max_amount)
        return schedule_id

    def receipt(self, conn: Connection, who: Principal, result_id: int) -> Receipt:
        s = _own(conn, who, result_id)
        lines = [("Entidad", s.biller_name), (s.id_label, s.identifier),
                 ("Cuenta de débito", f"Ahorros {s.account_masked}"), ("Día de pago", day_text(s.day)),
                 ("Monto máximo", format_money(s.max_amount)), ("Desde", f"{s.start_date:%d/%m/%Y}")]
        if s.end_date:
            lines.append(("Hasta", f"{s.end_date:%d/%m/%Y}"))
        if s.payments_limit:
            lines.append(("Número de pagos", str(s.payments_limit)))
        if s.next_run:
            lines.append(("Próximo débito", f"{s.next_run:%d/%m/%Y}"))
        lines.append(("Estado", s.state_label))
        created = conn.execute("SELECT created_at FROM bill_schedules WHERE id = ?", (s.id,)).fetchone()[0]
        from backend.security.receipts import make

        return make(self.ctx.secret("receipt_secret"), kind=self.kind, title="Pago Programado", lines=lines,
                    reference=f"PP{s.id:08d}", created_at=parse_iso(created), result_id=s.id)


_SELECT = ("SELECT s.*, b.name AS biller_name, b.id_label, a.number FROM bill_schedules s"
           " JOIN billers b ON b.code = s.biller_code JOIN accounts a ON a.id = s.account_id")


def _summary(r: Row) -> ScheduleSummary:
    return ScheduleSummary(
        r["id"], r["biller_code"], r["biller_name"], r["id_label"], r["identifier"], mask_account(r["number"]), r["day"],
        r["max_amount"], date.fromisoformat(r["start_date"]), date.fromisoformat(r["end_date"]) if r["end_date"] else None,
        r["payments_limit"], r["payments_done"], r["state"], parse_iso(r["next_run"]) if r["next_run"] else None,
        r["last_result"])


def _own(conn: Connection, who: Principal, schedule_id: object) -> ScheduleSummary:
    if isinstance(schedule_id, bool) or not isinstance(schedule_id, int):
        raise NotFound("El pago programado no existe o no te pertenece.")
    row = conn.execute(_SELECT + " WHERE s.id = ? AND s.user_id = ?", (schedule_id, who.user_id)).fetchone()
    if row is None:
        raise NotFound("El pago programado no existe o no te pertenece.")
    return _summary(row)


def resume_point(period: str, day: int | None, today: date, cal: Calendar) -> tuple[str, date]:
    """The first period whose run day has not passed, and when it runs: missed months are not paid late."""
    while (period < period_of(today)) if day is None else (roll(nominal(period, day), cal) < today):
        period = next_period(period)
    return period, roll(max(today, nominal(period, day)), cal)


class ScheduledService:
    def __init__(self, ctx: Context, auth: AuthService, ops: OperationsService) -> None:
        self.ctx = ctx
        self.auth = auth
        self.ops = ops
        ops.register(ServiceScheduleHandler(ctx))

    def prepare_schedule(self, token: str, request: ServiceScheduleRequest) -> Pending:
        self.auth.principal(token)
        return self.ops.prepare(token, ServiceScheduleHandler.kind, asdict(request))

    def schedules(self, token: str) -> list[ScheduleSummary]:
        who = self.auth.principal(token)
        return [_summary(r) for r in self.ctx.db.conn.execute(
            _SELECT + " WHERE s.user_id = ? ORDER BY CASE s.state WHEN 'activo' THEN 0 WHEN 'pausado' THEN 1"
            " ELSE 2 END, s.next_run, s.id", (who.user_id,))]

    def get(self, token: str, schedule_id: int) -> ScheduleSummary:
        return _own(self.ctx.db.conn, self.auth.principal(token), schedule_id)

    def pause(self, token: str, schedule_id: int) -> ScheduleSummary:
        return self._change(token, schedule_id, "pausar")

    def resume(self, token: str, schedule_id: int) -> ScheduleSummary:
        return self._change(token, schedule_id, "reanudar")

    def cancel(self, token: str, schedule_id: int) -> ScheduleSummary:
        return self._change(token, schedule_id, "cancelar")

    def _change(self, token: str, schedule_id: int, action: str) -> ScheduleSummary:
        who = self.auth.principal(token)
        with self.auth.writing(who) as conn:
            s = _own(conn, who, schedule_id)
            refused = change_refusal(s, action)
            if refused:
                raise ValidationError(refused, code="schedule_state")
            now = self.ctx.now_iso()
            if action == "reanudar":
                row = conn.execute("SELECT period FROM bill_schedules WHERE id = ?", (s.id,)).fetchone()
                period, day = resume_point(row[0], s.day, self.ctx.now().date(), business_days.current(conn))
                if (s.end_date and day > s.end_date):
                    raise ValidationError("Ya no quedan pagos antes de la fecha de fin.", code="schedule_state")
                conn.execute("UPDATE bill_schedules SET state = 'activo', period = ?, next_run = ?, attempts = 0,"
                             " updated_at = ? WHERE id = ?",
                             (period, run_at(day, self.ctx.settings.scheduled_run_hour), now, s.id))
            else:
                state = "pausado" if action == "pausar" else "cancelado"
                conn.execute("UPDATE bill_schedules SET state = ?, next_run = NULL, updated_at = ? WHERE id = ?",
                             (state, now, s.id))
            self.ctx.audit(conn, who.username, f"servicio.programado.{action}", "ok", programado=s.id)
            return _own(conn, who, s.id)
