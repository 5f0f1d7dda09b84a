"""The booking path and numbering stay O(log n): no full table scan inside the write lock."""

import secrets
import sqlite3

import pytest

from backend.core import accounts
from backend.transfers.transfers import TransferRequest
from tests.transfer_helpers import demo_member
from tests.transfers.test_clearing import interbank


def plans_of_booking(backend, who, request) -> dict[str, list[str]]:
    """Every statement the booking ran, with its query plan (the trace gives the bound values)."""
    conn = backend.db.conn
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        with backend.db.write() as c:
            backend.transfers._book(c, who, request, secrets.token_urlsafe(16))
    finally:
        conn.set_trace_callback(None)
    plans = {}
    for sql in statements:
        # An INSERT's plan lists foreign-key scans of child tables that run only while a deferred
        # violation is pending (OP_FkIfZero); the lookups that matter are reads and updates.
        if sql.split()[0].upper() in ("SELECT", "UPDATE", "DELETE"):
            try:
                plans[sql] = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]
            except sqlite3.Error:  # e.g. RETURNING rows already consumed; nothing to plan
                pass
    return plans


@pytest.mark.sqlite_only  # SQLite's query planner and trace hook
def test_interbank_booking_uses_indexes_only(make_backend):
    backend = make_backend(session_idle_seconds=10**7)
    who = demo_member(backend)
    principal = backend.auth.principal(who.token)
    request = TransferRequest(origin_id=who.accounts[0], **interbank("22001234", 1_00))
    plans_of_booking(backend, principal, request)  # the first one creates the co-op's internal accounts
    plans = plans_of_booking(backend, principal, request)
    assert any("accounts" in sql and "interna" in sql for sql in plans)
    scans = {sql: plan for sql, plan in plans.items()
             if any(step.startswith("SCAN") and "CONSTANT" not in step for step in plan)}
    assert scans == {}, "\n".join(f"{sql}\n  {plan}" for sql, plan in scans.items())


@pytest.mark.sqlite_only  # SQLite's query planner and trace hook
def test_account_numbers_follow_on_without_counting(backend):
    with backend.db.write() as conn:
        before = conn.execute("SELECT COUNT(*) FROM accounts WHERE kind = 'ahorros'").fetchone()[0]
        member = conn.execute("SELECT MIN(id) FROM members").fetchone()[0]
        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        new = accounts.open_savings(conn, member, "2026-11-25")
        conn.set_trace_callback(None)
        number = conn.execute("SELECT number FROM accounts WHERE id = ?", (new,)).fetchone()[0]
    assert number[2:9] == f"{before + 1:07d}"
    assert not any("COUNT(" in sql.upper() for sql in statements)
    assert backend.check() == []


def test_existing_databases_continue_the_numbering(tmp_path):
    """A file from before migration 5 seeds its counters from the accounts it already has."""
    from backend.core.database import open_database
    from backend.core.db import statements as _statements
    from backend.core.schema import MIGRATIONS

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    for number in range(4):
        for statement in _statements(MIGRATIONS[number]):
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 4")
    conn.execute("INSERT INTO members (id, id_type, id_number, first_names, last_names, created_at)"
                 " VALUES (1, 'cedula', '1710034065', 'Ana', 'Prueba', '2026-01-01 00:00:00')")
    for serial in (1, 2, 3):
        conn.execute("INSERT INTO accounts (number, member_id, kind, name, opened_on)"
                     " VALUES (?, 1, 'ahorros', 'Cuenta de Ahorros', '2026-01-01')",
                     (accounts.account_number("41", serial),))
    conn.close()
    db = open_database(path)
    with db.write() as c:
        new = accounts.open_savings(c, 1, "2026-11-25")
        assert c.execute("SELECT number FROM accounts WHERE id = ?", (new,)).fetchone()[0] == \
            accounts.account_number("41", 4)
    db.close()


@pytest.mark.sqlite_only  # SQLite's query planner and trace hook
def test_demo_keeps_its_indexes(backend):
    """demo-data replays history without the (account, time) index and must rebuild it."""
    names = {r[0] for r in backend.db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"postings_account_time", "accounts_kind_name"} <= names
    assert backend.check() == []
