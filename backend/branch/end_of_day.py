"""Cierre del día: refuse while a till is open, run the day's passes (interbank settlement, scheduled
payments, card cycle close, plazos fijos that mature, loan cuotas due), require clean books, report
the day's totals by operation kind (selected by business day), and move the business date on — once per day.

The close checks the books incrementally (backend/audit_books.py): every invariant over what came after the
last close's checkpoint, then moves the checkpoint; the first close (no checkpoint) checks everything. A row
edited at or below a checkpoint (an old posting, an old balance) is not looked at by the close: `cooprogreso
check` re-derives everything and finds it — run it on the co-op's own schedule, not only at the close.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, is_dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from backend.branch import counter_ops
from backend.core import accounts, business_days, ledger
from backend.core.clock import date_text
from backend.core.context import Context, Principal
from backend.core.errors import ValidationError
from backend.core.invariants import Books
from backend.core.text import counted
from backend.security.roles import SUPERVISOR, staff_only

if TYPE_CHECKING:
    from backend.core.db import Connection
    from backend.security.auth import AuthService

Progress = Callable[[int, int, str], None]  # (step done, steps, label)
WAIT_POLL_SECONDS = 0.25  # how often a close waiting for claimed work looks again


@dataclass(frozen=True)
class KindTotal:
    kind: str
    entries: int
    amount: int  # cents: the sum of each entry's credits (a till close: cash returned to the vault)

    @property
    def label(self) -> str:
        return ledger.kind_label(self.kind)


@dataclass(frozen=True)
class DayReport:
    day: str
    next_day: str
    totals: tuple[KindTotal, ...]
    passes: tuple[tuple[str, str], ...]  # (pass, what it did)


def count(n: int, singular: str, plural: str) -> str:
    """«1 pagado», «2 pagados»."""
    return f"{n} {singular if n == 1 else plural}"


SCHEDULED = "Pagos programados"


class _Settles(Protocol):
    def settle(self) -> object: ...


class _ClosesCycles(Protocol):
    def close_due(self, day: date) -> object: ...


class _Reports(Protocol):
    """A products pass's report (backend/products/maturities.py), as the day's report line."""

    def line(self) -> str: ...


class DayBackend(Protocol):
    """What the close uses of `backend.service.Backend` (an area never imports the facade): the areas' passes,
    each read as counts (`_summary`)."""

    @property
    def ctx(self) -> Context: ...

    @property
    def clearing(self) -> _Settles: ...

    @property
    def card_cycle(self) -> _ClosesCycles: ...

    def scheduled_runner(self, crash: Callable[[str], None] | None = None, label: str = "pagos programados") -> Any: ...

    def rate_warnings(self) -> list[str]: ...

    def mature_deposits(self, day: date) -> _Reports: ...

    def collect_instalments(self, day: date) -> _Reports: ...

    @property
    def books(self) -> Books: ...  # the books audit composed from every area (backend/audit_books.py)


class _ScheduledPass:
    """The close's pass of Pagos Programados: run again after the close waited for another runner's claims
    (a dead runner's come back when its lease ends), its counts added up for the report."""

    def __init__(self, backend: DayBackend, actor: str) -> None:
        self.backend, self.actor = backend, actor
        self.runner: Any = None  # made at the first run: a backend without the pass fails there, audited
        self.due = self.paid = self.failed = self.deferred = self.skipped = 0

    def __call__(self, day: date) -> str:
        if self.runner is None:
            self.runner = self.backend.scheduled_runner(label=f"cierre del día ({self.actor})")
        r = self.runner.run_pass(until=day)
        self.due, self.paid, self.failed = self.due + r.due, self.paid + r.paid, self.failed + r.failed
        self.deferred, self.skipped = self.deferred + r.deferred, self.skipped + r.skipped
        return ", ".join((count(self.due, "vencido", "vencidos"), count(self.paid, "pagado", "pagados"),
                          count(self.failed, "fallido", "fallidos"), f"{self.deferred} por reintentar",
                          count(self.skipped, "omitido", "omitidos")))


def day_passes(backend: DayBackend, actor: str = "cierre") -> list[tuple[str, Callable[[date], object]]]:
    """The day's passes, in order; each takes the business date. Called explicitly: a pass that is missing
    from the backend is an error (AttributeError), never a silent skip."""
    return [
        ("Liquidación interbancaria", lambda day: backend.clearing.settle()),
        (SCHEDULED, _ScheduledPass(backend, actor)),
        ("Cierre de ciclo de tarjetas", lambda day: backend.card_cycle.close_due(day)),
        ("Vencimiento de plazos fijos", lambda day: backend.mature_deposits(day).line()),
        ("Cobro de cuotas de crédito", lambda day: backend.collect_instalments(day).line()),
    ]


# The counts the passes report (clearing.SettleReport, card_cycle.CloseReport, scheduled_runner.PassReport),
# as the report reads them.
PASS_FIELDS = {
    "checked": "revisadas", "credited": "acreditadas", "returned": "devueltas", "pending": "pendientes",
    "failed": "fallidas", "cards": "tarjetas", "statements": "estados de cuenta",
    "busy": "en curso en otro servidor", "due": "vencidos", "paid": "pagados", "skipped": "omitidos",
    "deferred": "postergados", "resent": "reenviados", "lost": "tomados por otro proceso",
}


def _summary(result: object) -> str:
    """A pass's counts in Spanish («3 revisadas, 2 acreditadas»); lists of ids are left out."""
    if is_dataclass(result) and not isinstance(result, type):
        return ", ".join(f"{v} {PASS_FIELDS.get(k, k.replace('_', ' '))}" for k, v in asdict(result).items()
                         if isinstance(v, int) and not isinstance(v, bool))
    return "" if result is None else str(result)


def open_tills_reason(conn: Connection) -> str | None:
    rows = conn.execute("SELECT s.username FROM tills t JOIN staff_users s ON s.id = t.staff_id"
                        " WHERE t.status = 'abierta' ORDER BY s.username").fetchall()
    if rows:
        names = ", ".join(r[0] for r in rows)
        return f"No se puede cerrar el día: hay cajas abiertas ({names}). Cada cajero debe cerrar su caja."
    pending = conn.execute("SELECT COUNT(*) FROM counter_ops WHERE state = 'por_aprobar'").fetchone()[0]
    if pending:
        return f"No se puede cerrar el día: hay {counted(pending, 'operación', 'operaciones')} esperando aprobación."
    return None


def _internal_id(conn: Connection, key: str) -> int:
    row = conn.execute("SELECT id FROM accounts WHERE kind = 'interna' AND name = ?",
                       (accounts.INTERNAL[key],)).fetchone()
    return row[0] if row else 0


def day_totals(conn: Connection, day: str) -> tuple[KindTotal, ...]:
    """Entries and amounts by kind. An entry's amount is the sum of its credits, except a till close:
    its amount is the cash returned to the vault, and its difference goes on the faltantes and
    sobrantes lines (from the postings on that account), never mixed into one figure."""
    where = " WHERE e.business_date = ?"
    rows = conn.execute(
        "SELECT e.kind, COUNT(DISTINCT e.id), COALESCE(SUM(CASE WHEN p.amount > 0 THEN p.amount ELSE 0 END), 0)"
        " FROM entries e JOIN postings p ON p.entry_id = e.id" + where + " AND e.kind != 'cierre_caja'"
        " GROUP BY e.kind ORDER BY e.kind", (day,)).fetchall()
    totals = [KindTotal(r[0], r[1], r[2]) for r in rows]
    vault, diff = _internal_id(conn, "caja"), _internal_id(conn, "faltantes_sobrantes")
    closes, returned, short_n, short, over_n, over = conn.execute(
        "SELECT COUNT(DISTINCT e.id),"
        " COALESCE(SUM(CASE WHEN p.account_id = ? THEN -p.amount ELSE 0 END), 0),"
        " COALESCE(SUM(CASE WHEN p.account_id = ? AND p.amount < 0 THEN 1 ELSE 0 END), 0),"
        " COALESCE(SUM(CASE WHEN p.account_id = ? AND p.amount < 0 THEN -p.amount ELSE 0 END), 0),"
        " COALESCE(SUM(CASE WHEN p.account_id = ? AND p.amount > 0 THEN 1 ELSE 0 END), 0),"
        " COALESCE(SUM(CASE WHEN p.account_id = ? AND p.amount > 0 THEN p.amount ELSE 0 END), 0)"
        " FROM entries e JOIN postings p ON p.entry_id = e.id" + where + " AND e.kind = 'cierre_caja'",
        (vault, diff, diff, diff, diff, day)).fetchone()
    if closes:
        totals.append(KindTotal("cierre_caja", closes, returned))
    if short_n:
        totals.append(KindTotal(ledger.SHORTAGE, short_n, short))
    if over_n:
        totals.append(KindTotal(ledger.SURPLUS, over_n, over))
    return tuple(sorted(totals, key=lambda t: t.kind))


def closed_reason(conn: Connection, day: str) -> str | None:
    """Who closed `day` and when, or None while it is open: the supervisor who tried a moment after another
    is told who did it, never asked to try again."""
    row = conn.execute("SELECT closed_at, closed_by FROM business_days WHERE day = ?", (day,)).fetchone()
    if row is None:
        return None
    closed_at, actor = row
    staff = conn.execute("SELECT full_name FROM staff_users WHERE username = ?", (actor,)).fetchone()
    if staff:
        who = f"ya lo cerró {staff[0]} ({actor})"
    elif actor == "cli":
        who = "ya se cerró desde la consola del servidor (cooprogreso end-of-day)"
    else:
        who = f"ya lo cerró {actor}"
    return f"El día {date_text(day)} {who} el {date_text(closed_at[:10])} a las {closed_at[11:16]}."


CLAIMS_SQL = ("SELECT claimed_by, claimed_until, COUNT(*), MIN(next_run) FROM bill_schedules"
              " WHERE claimed_until IS NOT NULL AND claimed_by != ? GROUP BY claimed_by, claimed_until")


def held_claims(conn: Connection, now: str, horizon: str, mine: str) -> tuple[list[tuple[str, int, str]], int]:
    """Claims on scheduled payments not booked yet, other than the close's own (those are schedules its pass
    could not run, already counted «por reintentar»): the live ones, as (holder, how many, until when), which
    the close waits for, since what they book is stamped with the open day; and how many of the day's have
    ended without a booking (a holder that died), which the close's pass then pays. An index range: few rows."""
    live: dict[str, tuple[int, str]] = {}
    ended = 0
    for holder, until, n, due in conn.execute(CLAIMS_SQL, (mine,)).fetchall():
        if until > now:
            count_, last = live.get(holder, (0, until))
            live[holder] = (count_ + n, max(last, until))
        elif due is not None and due <= horizon:
            ended += n
    return [(holder, n, until) for holder, (n, until) in sorted(live.items())], ended


def held_reason(day: str, held: list[tuple[str, int, str]]) -> str:
    who = "; ".join(f"{counted(n, 'tomado', 'tomados')} por «{holder}» hasta las {until[11:19]} del {date_text(until[:10])}"
                    for holder, n, until in held)
    return (f"No se puede cerrar el día {date_text(day)} todavía: hay pagos programados de ese día en curso ({who}). "
            "Si ese proceso se detuvo, quedan libres a esa hora; intenta de nuevo entonces.")


def not_yet(day: str) -> str:
    return f"El día {date_text(day)} todavía no llega; se cierra desde ese día."


def run(ctx: Context, backend: DayBackend, actor: str, progress: Progress | None = None, expected: str | None = None) -> DayReport:
    """The whole close; the CLI calls it directly, the supervisor's screen through the service.

    `expected` is the day the supervisor saw and confirmed: if another closed it meanwhile, nothing else is
    closed in its place (after midnight the next day could be closed at once)."""
    if expected is not None:
        try:
            expected = date.fromisoformat(expected).isoformat() if isinstance(expected, str) else ""
        except ValueError:
            expected = ""
        if not expected:
            raise ValidationError("El día a cerrar no es una fecha válida.", code="cierre_rechazado")
    with ctx.db.read() as conn:
        day = counter_ops.business_date(conn, ctx)
        reason = open_tills_reason(conn)
        done = closed_reason(conn, expected or day)
    if done:
        reason = done
    elif expected and expected != day:
        reason = f"El día de negocio ya no es el {date_text(expected)} sino el {date_text(day)}; vuelve a revisarlo."
    elif day > ctx.now().date().isoformat():
        # A business day that has not come yet cannot be closed: it would close card cycles and
        # scheduled payments ahead of time.
        reason = not_yet(day)
    if reason:
        ctx.audit_now(actor, "cierre_dia", "rechazado", dia=expected or day, motivo=reason)
        raise ValidationError(reason, code="dia_ya_cerrado" if done else "cierre_rechazado")
    passes = day_passes(backend, actor)
    books = backend.books
    steps = len(passes) + 2
    results: dict[str, str] = {}

    def run_pass(label: str, fn: Callable[[date], object]) -> None:
        try:
            results[label] = _summary(fn(date.fromisoformat(day)))
        except Exception as exc:  # the close stops here, told and audited; the day stays open
            ctx.audit_now(actor, "cierre_dia", "error", dia=day, paso=label, motivo=type(exc).__name__)
            raise

    for n, (label, fn) in enumerate(passes):
        if progress:
            progress(n, steps, label)
        run_pass(label, fn)
    deadline = time.monotonic() + ctx.settings.end_of_day_wait_seconds
    horizon = f"{day} 23:59:59"  # the close's pass pays what is due up to the day's end
    scheduled = dict(passes)[SCHEDULED]
    reruns = 0
    while True:
        if progress:
            progress(len(passes), steps, "Verificación de la contabilidad")
        with ctx.db.read() as conn:
            problems = books.check_close(conn)  # what came since the last close (backend/audit_books.py)
        if problems:
            _refuse_unbalanced(ctx, actor, day, problems)
        if progress:
            progress(len(passes) + 1, steps, "Informe y nuevo día de negocio")
        mine = getattr(getattr(scheduled, "runner", None), "name", "")
        with ctx.db.write() as conn:
            conn.lock(ledger.BUSINESS_DAY_LOCK)  # bookings stamped with this day commit first (ledger.post, ledger._BUSINESS_DAY)
            done = closed_reason(conn, day)
            late = done or open_tills_reason(conn)  # another supervisor closed it, or a till opened meanwhile
            # Scheduled payments claimed under this day and not booked yet (a runner from cron waiting on the
            # network, or one killed mid-pass): claims are taken under the same lock, so none slips in after this.
            held, ended = ([], 0) if late else held_claims(conn, ctx.now_iso(), horizon, mine)
            if not late and not held and not ended:
                # Again under the lock: what booked since the look above. The checkpoint then moves to every row
                # there is, none of them still uncommitted (ledger.post holds this lock shared until it commits).
                problems = books.check_close(conn)
            if not late and not held and not ended and not problems:
                cal = business_days.current(conn)
                next_day = cal.next_business_day(date.fromisoformat(day)).isoformat()
                if conn.execute("SELECT 1 FROM meta WHERE key = 'business_date'").fetchone() is None:
                    _first_close(conn, cal, date.fromisoformat(day))
                totals = day_totals(conn, day)
                report = DayReport(day, next_day, totals, tuple((label, results[label]) for label, _ in passes))
                conn.execute("INSERT INTO business_days (day, closed_at, closed_by, report) VALUES (?, ?, ?, ?)",
                             (day, ctx.now_iso(), actor, json.dumps(asdict(report), ensure_ascii=False)))
                counter_ops.set_business_date(conn, next_day)
                since = books.checkpoint(conn)
                books.advance(conn, ctx.now().date().isoformat())
                ctx.audit(conn, actor, "cierre_dia", "ok", dia=day, siguiente=next_day,
                          asientos=sum(t.entries for t in totals),
                          verificado=f"desde el asiento {since.entry_id + 1}" if since else "completo")
        if problems:
            _refuse_unbalanced(ctx, actor, day, problems)
        if late:
            ctx.audit_now(actor, "cierre_dia", "rechazado", dia=day, motivo=late)
            raise ValidationError(late, code="dia_ya_cerrado" if done else "cierre_rechazado")
        if not held and not ended:
            break
        # Wait (reads only) until the holders book or release, or their leases end; then pay what they left.
        while held and time.monotonic() < deadline:
            if progress:
                progress(len(passes), steps, f"Esperando {sum(n for _, n, _ in held)} pagos programados en curso")
            time.sleep(max(0.0, min(WAIT_POLL_SECONDS, deadline - time.monotonic())))
            with ctx.db.read() as conn:
                held, ended = held_claims(conn, ctx.now_iso(), horizon, mine)
        if held or (reruns and time.monotonic() >= deadline):
            with ctx.db.read() as conn:
                every = held_claims(conn, "", horizon, mine)[0]  # live or not: who holds what, until when
            if not every:
                continue  # released just now: look again
            reason = held_reason(day, every)
            ctx.audit_now(actor, "cierre_dia", "rechazado", dia=day, motivo=reason)
            raise ValidationError(reason, code="trabajo_en_curso")
        run_pass(SCHEDULED, scheduled)
        reruns += 1
    if progress:
        progress(steps, steps, "Listo")
    return report


def _refuse_unbalanced(ctx: Context, actor: str, day: str, problems: list[str]) -> NoReturn:
    ctx.audit_now(actor, "cierre_dia", "contabilidad_descuadrada", dia=day, problemas=len(problems))
    raise ValidationError("No se puede cerrar el día: la contabilidad no cuadra. " + "; ".join(problems[:3]),
                          code="descuadre")


def _first_close(conn: Connection, cal: business_days.Calendar, day: date) -> None:
    """Before the first close, an entry belongs to its calendar day (ledger._BUSINESS_DAY), which may be the weekend
    or holiday just before this business day (counter_ops.business_date rolls it): those entries join this day."""
    start = day - timedelta(days=1)
    while not cal.is_business_day(start) and (day - start).days < 31:
        start -= timedelta(days=1)
    conn.execute("UPDATE entries SET business_date = ? WHERE business_date > ? AND business_date < ?",
                 (day.isoformat(), start.isoformat(), day.isoformat()))


class EndOfDayService:
    def __init__(self, ctx: Context, auth: AuthService, backend: DayBackend) -> None:
        self.ctx = ctx
        self.auth = auth
        self.backend = backend

    @staff_only(SUPERVISOR)
    def business_day(self, who: Principal) -> tuple[str, str | None]:
        """(business date, why it cannot be closed yet or None)."""
        with self.ctx.db.read() as conn:
            day = counter_ops.business_date(conn, self.ctx)
            reason = open_tills_reason(conn)
        if reason is None and day > self.ctx.now().date().isoformat():
            reason = not_yet(day)  # the button stays off until the day comes (the close would refuse it)
        return day, reason

    @staff_only(SUPERVISOR)
    def rate_warnings(self, who: Principal) -> list[str]:
        """What the supervisor must know about the legal rate caps before closing (a stale table, an offer above
        its cap): the BCE publishes them monthly and a quote above one is refused."""
        return self.backend.rate_warnings()

    @staff_only(SUPERVISOR)
    def close_day(self, who: Principal, day: str | None = None) -> DayReport:
        """`day`: the business day the supervisor confirmed (the screen passes the one it shows)."""
        return run(self.ctx, self.backend, who.username, expected=day)
