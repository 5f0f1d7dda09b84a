"""Shared steps for Pago de Servicios tests: the catalogue loaded, schedules created, payments checked."""

from __future__ import annotations

from datetime import date

from backend.bill_payments import billers
from backend.bill_payments.scheduled import NewSchedule, ServiceScheduleHandler


def loaded(backend):
    billers.ensure_loaded(backend.db)
    return backend


def savings_of(backend, member_id: int) -> list[int]:
    return [r[0] for r in backend.db.conn.execute(
        "SELECT id FROM accounts WHERE member_id = ? AND kind = 'ahorros' ORDER BY id", (member_id,))]


def add_schedule(backend, who, *, identifier: str, biller: str = "CNT-FIJO", day: int | None = 26,
                 max_amount: int = 100_00, start: date | None = None, end: date | None = None,
                 limit: int | None = None, account_id: int | None = None) -> int:
    """A schedule as the Programar handler books it (the code step is tested with the flow itself)."""
    loaded(backend)
    start = start or backend.ctx.now().date()
    account_id = account_id or savings_of(backend, who.member_id)[0]
    plan = NewSchedule(account_id, biller, identifier, day, max_amount, start, end, limit)
    principal = backend.auth.principal(who.token)
    with backend.db.write() as conn:
        return ServiceScheduleHandler(backend.ctx).execute(conn, principal, plan, "test")


def paid_periods(backend) -> dict[tuple[int, str], int]:
    """(schedule, period) → how many payments debited and not refunded."""
    out: dict[tuple[int, str], int] = {}
    for sid, period, count in backend.db.conn.execute(
            "SELECT schedule_id, period, COUNT(*) FROM bill_payments WHERE schedule_id IS NOT NULL"
            " AND entry_id IS NOT NULL AND refund_entry_id IS NULL GROUP BY schedule_id, period"):
        out[(sid, period)] = count
    return out


