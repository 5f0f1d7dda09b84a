"""The demo member's Pago de Servicios: two registered services and one scheduled payment (no money moves,
so the rest of the demo's balances stay as they are)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from backend.bill_payments import billers
from backend.bill_payments.scheduled import first_period, first_run, run_at
from backend.core import business_days

if TYPE_CHECKING:
    from backend.service import Backend

# (entity, identifier, alias): identifiers the simulated network answers with one pending bill
DEMO_SERVICES = [("CNT-FIJO", "022345671", "Teléfono casa"), ("EEQ", "1234561", "Luz departamento")]
DEMO_SCHEDULE = ("EEQ", "1234561", 15, 80_00)  # entity, identifier, day of month, monto máximo


def add_demo_services(backend: Backend, username: str, today: date, created_at: str) -> None:
    billers.ensure_loaded(backend.db)
    with backend.db.write() as conn:
        user_id, member_id = conn.execute("SELECT id, member_id FROM users WHERE username = ?", (username,)).fetchone()
        account = conn.execute("SELECT id FROM accounts WHERE member_id = ? AND kind = 'ahorros' ORDER BY id LIMIT 1",
                               (member_id,)).fetchone()[0]
        for code, identifier, alias in DEMO_SERVICES:
            conn.execute("INSERT INTO bill_services (user_id, biller_code, identifier, alias, account_id, created_at,"
                         " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (user_id, code, identifier, alias, account, created_at, created_at))
        code, identifier, day, maximum = DEMO_SCHEDULE
        conn.execute("INSERT INTO bill_schedules (user_id, account_id, biller_code, identifier, day, max_amount,"
                     " start_date, state, period, next_run, created_at, updated_at)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?, 'activo', ?, ?, ?, ?)",
                     (user_id, account, code, identifier, day, maximum, today.isoformat(), first_period(today, day),
                      run_at(first_run(today, day, business_days.current(conn)), backend.settings.scheduled_run_hour),
                      created_at, created_at))

