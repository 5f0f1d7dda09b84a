"""Pago de Servicios' booking paths use indexes only: no full table scan inside the write lock."""

import secrets
import sqlite3

import pytest

from tests.bill_payments.test_services import pay
from tests.services_helpers import add_schedule, loaded
from tests.transfer_helpers import demo_member

pytestmark = pytest.mark.sqlite_only  # SQLite's query planner and trace hook


# The co-op calendar: a few dozen rows a year, read whole (backend.core.business_days.current), growing with the
# years loaded, never with members or movements.
REFERENCE_TABLES = ("holiday_years", "holidays")


def _scans(backend, book) -> dict[str, list[str]]:
    conn = backend.db.conn
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        with backend.db.write() as c:
            book(c)
    finally:
        conn.set_trace_callback(None)
    scans = {}
    for sql in statements:
        if sql.split()[0].upper() not in ("SELECT", "UPDATE", "DELETE"):
            continue  # an INSERT's plan lists foreign-key checks that only run on a pending violation
        try:
            plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]
        except sqlite3.Error:
            continue
        if any(step.startswith("SCAN") and "CONSTANT" not in step and step.split()[1] not in REFERENCE_TABLES
               for step in plan):
            scans[sql] = plan
    return scans


def test_paying_a_bill_reads_through_indexes(make_backend):
    backend = loaded(make_backend(session_idle_seconds=10**7))
    who = demo_member(backend)
    pay(backend, who, identifier="022345673")  # internal accounts and usage rows exist from here on
    presentment = backend.services.consulta(who.token, "CNT-FIJO", "022345672")
    principal = backend.auth.principal(who.token)
    handler = backend.ops._handler("pago_servicio")
    request = {"presentment_id": presentment.id, "bills": [presentment.bills[0].number],
               "account_id": who.accounts[0], "amount": 0}

    def book(conn):
        prepared = handler.prepare(conn, principal, request)
        handler.execute(conn, principal, prepared.plan, secrets.token_urlsafe(16))

    scans = _scans(backend, book)
    assert scans == {}, "\n".join(f"{sql}\n  {plan}" for sql, plan in scans.items())


def test_a_scheduled_payment_reads_through_indexes(make_backend, clock):
    backend = loaded(make_backend(session_idle_seconds=10**7))
    who = demo_member(backend)
    pay(backend, who, identifier="022345673")
    sid = add_schedule(backend, who, identifier="022345671", day=26)
    clock.advance(days=1)
    runner = backend.scheduled_runner()
    runner._claim(backend.ctx.now_iso(), 10, [])
    biller = backend.db.conn.execute("SELECT code FROM billers WHERE code = 'CNT-FIJO'").fetchone()[0]
    from backend.bill_payments import billers

    b = billers.get(backend.db.conn, biller)
    statement = backend.bill_gateway.statement(b, "022345671")

    def book(conn):
        s = runner._mine(conn, sid)
        assert runner._decide(conn, s, b, statement)[0] == "pagado"

    scans = _scans(backend, book)
    assert scans == {}, "\n".join(f"{sql}\n  {plan}" for sql, plan in scans.items())
