"""A staff call that passed its session check and then waited at a member's lock writes nothing once the session
ended meanwhile (signed out elsewhere, the idle limit, the user disabled by a supervisor): `staff_only` has each
write check the session again just before it commits, every lock held."""

from __future__ import annotations

import uuid

import pytest

from backend.core.errors import SessionExpired
from tests.conftest import add_member
from tests.security.test_security_center import _held_at_the_lock
from tests.staff_helpers import team

SIGNED_OUT = ("UPDATE staff_sessions SET ended_at = ?, end_reason = ? WHERE ended_at IS NULL AND staff_id ="
              " (SELECT id FROM staff_users WHERE username = ?)")
ENDS = {  # what commits elsewhere while the deposit waits at the lock, and what the teller is told
    "inactividad": (lambda conn, now, user: conn.execute(SIGNED_OUT, (now, "inactividad", user)), "por inactividad"),
    "deshabilitado": (lambda conn, now, user: conn.execute(
        "UPDATE staff_users SET status = 'inactivo' WHERE username = ?", (user,)), "Tu sesión terminó"),
}


@pytest.mark.parametrize("end", sorted(ENDS))
def test_a_deposit_waiting_at_the_lock_while_the_tellers_session_ends_is_not_booked(backend, db_path, clock, end):
    people = team(backend, clock)
    ended, other = people["cajero"], people["cajero2"]
    member, account = add_member(backend, cedula="1104680135", first="Ana", last="Prueba Uno", balance=100_00)
    for teller in (ended, other):
        backend.tills.open_till(teller.token, "1000")
    ops = backend.db.conn.execute("SELECT COUNT(*) FROM counter_ops").fetchone()[0]
    commit, says = ENDS[end]

    def deposit(who):
        return lambda: backend.counter.cash(who.token, "deposito", account, "40", uuid.uuid4().hex)

    refused, booked = _held_at_the_lock(backend, db_path, member, [deposit(ended), deposit(other)],
                                        then=lambda conn: commit(conn, backend.ctx.now_iso(), ended.username))
    assert isinstance(refused, SessionExpired) and says in refused.message, refused
    assert booked.state == "ejecutada", booked  # the teller whose session is open books as before
    balance = backend.db.conn.execute("SELECT balance FROM accounts WHERE id = ?", (account,)).fetchone()[0]
    assert balance == 140_00
    assert backend.db.conn.execute("SELECT COUNT(*) FROM counter_ops").fetchone()[0] == ops + 1
    assert backend.check() == []
