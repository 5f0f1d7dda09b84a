"""The runner of Pagos Programados: one pass pays everything due, safely beside other passes.

A pass claims due schedules (`next_run <= now`, an index range: O(due), not O(all)) with
`FOR UPDATE SKIP LOCKED` and a lease, asks the entity what is owed outside any transaction, then books
in ONE transaction: the ledger entry, the payment, the unique (schedule, period) row and the schedule's
next run. So each (schedule, period) is paid at most once even with several runners at once, and a
runner killed at any point leaves either nothing or the whole booking (its lease expires and a later
pass carries on). Each run meets the limits in force that day, with the very checks of a manual payment
(`bill_payments.check_payment`): the entity's maximum, the member's daily cupo, the account, the entity
still collected for. No partial debits: refused, nothing is debited; the attempt is recorded as failed
with its reason and the member gets an SMS. Short of funds or of today's cupo it is tried again the next
business day up to `scheduled_retries` times.

A claim records the business day it was made under, and a booking goes ahead only under that same day: the
end of day (backend/branch/end_of_day.py) waits for live claims before it moves the day on, and a runner whose
claim outlived its lease across a close gives the schedule back, to be claimed again under the new day.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from backend.bill_payments import billers as cat
from backend.bill_payments import payments as pay
from backend.bill_payments.bill_gateway import Bill, GatewayUnavailable, Recaudacion, Statement, UnknownIdentifier
from backend.bill_payments.scheduled import next_period, nominal, roll, run_at
from backend.core import business_days, ledger, notices
from backend.core.clock import iso
from backend.core.db import IntegrityError
from backend.core.errors import InsufficientFunds, ServiceError
from backend.core.money import format_money

if TYPE_CHECKING:
    from backend.core.context import Context
    from backend.core.db import Connection, Row

SYSTEM = "sistema:pagos_programados"
log = logging.getLogger("cooprogreso")


@dataclass
class PassReport:
    due: int = 0
    paid: int = 0
    failed: int = 0
    skipped: int = 0
    deferred: int = 0
    resent: int = 0
    lost: int = 0  # another runner got there first
    payments: list[int] = field(default_factory=list)

    def line(self) -> str:
        return (f"Programados revisados {self.due} · pagados {self.paid} · fallidos {self.failed} · "
                f"omitidos {self.skipped} · por reintentar {self.deferred} · pagos reenviados {self.resent}")


class Runner:
    def __init__(self, ctx: Context, gateway: Recaudacion, *, crash: Callable[[str], None] | None = None,
                 label: str = "pagos programados") -> None:
        self.ctx = ctx
        self.gateway = gateway
        self.crash = crash or (lambda point: None)  # tests stop a pass here, as a kill would
        # who holds a claim, as the close names it to a supervisor (unique: several runners per process)
        self.name = f"{label} · {socket.gethostname()} · proceso {os.getpid()} · {secrets.token_hex(3)}"

    def run_pass(self, until: date | None = None, batch: int = 100) -> PassReport:
        now = self.ctx.now()
        horizon = iso(datetime(until.year, until.month, until.day, 23, 59, 59)) if until else iso(now)
        report = PassReport(resent=pay.resend_due(self.ctx, self.gateway))
        deferred: list[int] = []
        while True:
            claimed = self._claim(horizon, batch, deferred)
            if not claimed:
                return report
            report.due += len(claimed)
            for schedule_id in claimed:
                try:
                    outcome = self._run_one(schedule_id, report)
                except Exception as exc:  # one broken schedule must not stop the others; its lease expires
                    log.exception("scheduled payment %s failed", schedule_id)
                    self.ctx.audit_now(SYSTEM, "servicio.programado.error", "error", programado=schedule_id,
                                       motivo=type(exc).__name__)
                    report.deferred += 1
                    outcome = "deferred"
                if outcome == "deferred":
                    deferred.append(schedule_id)
            if len(deferred) > 1000:  # the entity is down for everyone: the next pass tries again
                return report

    # -- claiming ----------------------------------------------------------------------------------
    def _claim(self, horizon: str, batch: int, deferred: list[int]) -> list[int]:
        now = self.ctx.now_iso()
        until = iso(self.ctx.now() + timedelta(seconds=self.ctx.settings.scheduled_lease_seconds))
        skip = f" AND id NOT IN ({','.join('?' * len(deferred))})" if deferred else ""
        with self.ctx.db.write() as conn:
            # under the business-day lock (shared): a claim commits before the close looks for live claims, or
            # waits for the close and is made under the new day
            day = ledger.business_day(conn, now)
            rows = conn.execute(
                "SELECT id FROM bill_schedules WHERE next_run <= ? AND (claimed_until IS NULL OR claimed_until <= ?)"
                + skip + " ORDER BY next_run, id LIMIT ?" + pay.SKIP_LOCKED,
                (horizon, now, *deferred, batch)).fetchall()
            for row in rows:
                conn.execute("UPDATE bill_schedules SET claimed_until = ?, claimed_by = ?, claimed_day = ? WHERE id = ?",
                             (until, self.name, day, row[0]))
        self.crash("claimed")
        return [row[0] for row in rows]

    def _mine(self, conn: Connection, schedule_id: int) -> Row | None:
        row = conn.execute("SELECT * FROM bill_schedules WHERE id = ?", (schedule_id,)).fetchone()
        if row is None or row["state"] != "activo" or row["claimed_by"] != self.name or row["next_run"] is None:
            return None
        return row

    # -- one schedule --------------------------------------------------------------------------------
    def _run_one(self, schedule_id: int, report: PassReport) -> str:
        s = self._mine(self.ctx.db.conn, schedule_id)
        if s is None:
            report.lost += 1
            return "lost"
        biller = cat.find(self.ctx.db.conn, s["biller_code"])
        assert biller is not None  # a schedule's biller row is never deleted (foreign key)
        try:
            pay.usable_biller(self.ctx.db.conn, biller.code)
        except ServiceError as exc:  # the co-op no longer collects for it: the entity is not asked
            return self._book(schedule_id, biller, None, report, refused=exc)
        try:
            statement = self.gateway.statement(biller, s["identifier"])
        except GatewayUnavailable as exc:
            later = self.ctx.now() + timedelta(seconds=self.ctx.settings.services_retry_seconds)
            self._update(schedule_id, next_run=iso(later), last_result=f"La entidad no respondió ({exc}); se reintentará")
            report.deferred += 1
            return "deferred"
        except UnknownIdentifier:
            statement = None
        self.crash("consulted")
        today = self.ctx.now().date()
        if statement is not None and s["day"] is None and statement.bills:
            due = roll(min(b.due_date for b in statement.bills), business_days.current(self.ctx.db.conn))
            if due > today:  # «al vencimiento»: wait for the due date
                self._update(schedule_id, next_run=run_at(due, self.ctx.settings.scheduled_run_hour),
                             last_result=f"Factura encontrada; se pagará el {due:%d/%m/%Y}")
                return "waiting"
        return self._book(schedule_id, biller, statement, report)

    def _book(self, schedule_id: int, biller: cat.Biller, statement: Statement | None, report: PassReport,
              refused: ServiceError | None = None) -> str:
        payment_id = None
        try:
            with self.ctx.db.write() as conn:
                s = self._mine(conn, schedule_id)
                if s is None:
                    report.lost += 1
                    return "lost"
                if s["claimed_day"] is not None and s["claimed_day"] != ledger.business_day(conn, self.ctx.now_iso()):
                    # the day was closed after this claim's lease ran out: never book it under the next day as
                    # if claimed there; give it back, a later pass claims it under the new day
                    conn.execute("UPDATE bill_schedules SET claimed_until = NULL, claimed_by = NULL, claimed_day = NULL"
                                 " WHERE id = ?", (schedule_id,))
                    report.deferred += 1
                    return "deferred"
                outcome, payment_id = self._decide(conn, s, biller, statement, refused)
                self.crash("booked")
        except IntegrityError:  # the (schedule, period) row exists: another runner booked it
            report.lost += 1
            return "lost"
        self.crash("committed")
        if outcome == "pagado":
            assert payment_id is not None  # _decide books a payment whenever it answers "pagado"
            report.paid += 1
            report.payments.append(payment_id)
            pay.submit(self.ctx, self.gateway, payment_id)
        elif outcome == "deferred":
            report.deferred += 1
        elif outcome in ("fallido", "reintento"):
            report.failed += 1
        else:
            report.skipped += 1
        return outcome

    def _decide(self, conn: Connection, s: Row, biller: cat.Biller, statement: Statement | None,
                refused: ServiceError | None = None) -> tuple[str, int | None]:
        """Inside the booking transaction: pay, skip or fail this period; always moves the schedule on."""
        period, member = s["period"], conn.execute("SELECT member_id FROM users WHERE id = ?",
                                                   (s["user_id"],)).fetchone()[0]
        label = f"{biller.name} {s['identifier']}"
        if refused is not None:
            reason = _reason(refused)
            return self._close(conn, s, "fallido", None, reason, member,
                               f"Cooprogreso: tu pago programado de {label} no se realizó: {_lower_first(reason)}. "
                               "No se harán más intentos este mes."), None
        if statement is None:
            return self._close(conn, s, "fallido", None, f"{biller.name} no reconoce el identificador", member,
                               f"Cooprogreso: tu pago programado de {label} no se realizó: la entidad no reconoce "
                               f"el identificador."), None
        chosen: list[Bill] = []
        over: list[Bill] = []
        if biller.is_topup:
            amount = s["max_amount"]
        else:
            open_bills = [b for b in sorted(statement.bills, key=lambda b: (b.due_date, b.number))
                          if not conn.execute("SELECT 1 FROM bill_payment_items WHERE biller_code = ? AND identifier = ?"
                                              " AND bill_number = ? AND released = 0",
                                              (biller.code, s["identifier"], b.number)).fetchone()]
            amount = 0
            for bill in open_bills:
                if amount + bill.amount <= s["max_amount"]:
                    chosen.append(bill)
                    amount += bill.amount
                else:
                    over.append(bill)
            if not chosen:
                if over:
                    return self._close(conn, s, "omitido", None,
                                       f"La factura de {format_money(over[0].amount)} supera tu monto máximo", member,
                                       f"Cooprogreso: no pagamos {label}: la factura de {format_money(over[0].amount)}"
                                       f" supera el monto máximo de {format_money(s['max_amount'])} de tu pago "
                                       "programado. Págala en Pago de Servicios."), None
                if s["next_run"][:10] > self.ctx.now().date().isoformat():
                    # run ahead of its day (--until): the bill may not be out yet, so the period stays open
                    conn.execute("UPDATE bill_schedules SET claimed_until = NULL, claimed_by = NULL WHERE id = ?",
                                 (s["id"],))
                    return "deferred", None
                return self._close(conn, s, "omitido", None, "Sin valores pendientes", None, None), None
        booking = pay.Booking(s["user_id"], member, SYSTEM, biller, s["identifier"], statement.holder, tuple(chosen),
                              s["account_id"], amount, origin="automatico", schedule_id=s["id"], period=period)
        try:  # the limits in force now (the manual payment's own checks), not those when it was scheduled
            fresh, _, _ = pay.check_payment(self.ctx, conn, user_id=s["user_id"], member_id=member,
                                            biller_code=biller.code, identifier=s["identifier"], bills=tuple(chosen),
                                            account_id=s["account_id"], amount=amount)
        except ServiceError as exc:
            return self._refuse(conn, s, booking, exc, member, label)
        booking = replace(booking, biller=fresh)  # today's commission and collection account
        payment_id = pay.book(self.ctx, conn, booking, f"prog-{s['id']}-{period}")
        self._close(conn, s, "pagado", payment_id, f"Pagado {format_money(booking.total)}", None, None)
        return "pagado", payment_id

    def _refuse(self, conn: Connection, s: Row, booking: pay.Booking, exc: ServiceError, member: int,
                label: str) -> tuple[str, int | None]:
        """A period the limits refused: nothing debited, the attempt kept with its reason, the member told.
        Short of funds or of today's cupo it is tried again the next business day; anything else ends the month."""
        period = s["period"]
        reason = _reason(exc)
        attempt = s["attempts"] + 1
        failed = pay.record_failure(self.ctx, conn, booking, f"prog-{s['id']}-{period}-f{attempt}", reason)
        retry = isinstance(exc, InsufficientFunds) or exc.code == "limit_daily"
        if not retry or attempt > self.ctx.settings.scheduled_retries:
            return self._close(conn, s, "fallido", failed, reason, member,
                               f"Cooprogreso: tu pago programado de {label} ({format_money(booking.total)}) no se "
                               f"realizó: {_lower_first(reason)}. No se harán más intentos este mes."), failed
        day = business_days.current(conn).next_business_day(self.ctx.now().date())
        conn.execute("UPDATE bill_schedules SET attempts = ?, next_run = ?, claimed_until = NULL, claimed_by = NULL,"
                     " last_result = ?, last_run_at = ?, updated_at = ? WHERE id = ?",
                     (attempt, run_at(day, self.ctx.settings.scheduled_run_hour),
                      f"{reason}; se reintentará el {day:%d/%m/%Y}", self.ctx.now_iso(), self.ctx.now_iso(), s["id"]))
        notices.queue(conn, member, f"Cooprogreso: tu pago programado de {label} ({format_money(booking.total)}) "
                                    f"no se realizó: {_lower_first(reason)}. Lo intentaremos de nuevo el "
                                    f"{day:%d/%m/%Y}.", self.ctx.now_iso())
        self.ctx.audit(conn, SYSTEM, "servicio.programado.pago", "fallido", programado=s["id"], periodo=period,
                       motivo=reason)
        return "reintento", failed

    def _close(self, conn: Connection, s: Row, outcome: str, payment_id: int | None, reason: str, member: int | None,
               sms: str | None) -> str:
        """Write the period's one row and move the schedule to its next period (or finish it)."""
        now = self.ctx.now_iso()
        conn.execute("INSERT INTO bill_schedule_runs (schedule_id, period, outcome, payment_id, reason, at)"
                     " VALUES (?, ?, ?, ?, ?, ?)", (s["id"], s["period"], outcome, payment_id, reason, now))
        done = s["payments_done"] + (1 if outcome == "pagado" else 0)
        period = next_period(s["period"])
        day = roll(nominal(period, s["day"]), business_days.current(conn))
        finished = (s["payments_limit"] and done >= s["payments_limit"]) or (
            s["end_date"] and nominal(period, s["day"]).isoformat() > s["end_date"])
        conn.execute("UPDATE bill_schedules SET period = ?, next_run = ?, state = ?, payments_done = ?, attempts = 0,"
                     " claimed_until = NULL, claimed_by = NULL, last_result = ?, last_run_at = ?, updated_at = ?"
                     " WHERE id = ?",
                     (period, None if finished else run_at(day, self.ctx.settings.scheduled_run_hour),
                      "terminado" if finished else "activo", done, reason, now, now, s["id"]))
        if sms and member:
            notices.queue(conn, member, sms, now)
        self.ctx.audit(conn, SYSTEM, "servicio.programado.periodo", outcome, programado=s["id"], periodo=s["period"],
                       pago=payment_id, motivo=reason)
        return outcome

    def _update(self, schedule_id: int, **values: object) -> None:
        with self.ctx.db.write() as conn:
            conn.execute("UPDATE bill_schedules SET next_run = ?, last_result = ?, claimed_until = NULL,"
                         " claimed_by = NULL, updated_at = ? WHERE id = ? AND claimed_by = ? AND state = 'activo'",
                         (values["next_run"], values["last_result"], self.ctx.now_iso(), schedule_id, self.name))


def _reason(exc: ServiceError) -> str:
    """A refusal as the period's reason: short of funds says just that (the SMS does not show the balance)."""
    return "Saldo insuficiente" if isinstance(exc, InsufficientFunds) else exc.message.rstrip(".")


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
