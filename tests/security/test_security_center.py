"""«Centro de seguridad»: sign-ins with their channel, sessions closed from another, password change with a
code, alerts, «No fui yo», and that nobody reaches another member's rows by guessing ids."""

from datetime import timedelta

import pytest

from backend.core.errors import AuthError, Forbidden, NotFound, SessionExpired, ValidationError
from backend.security.origins import Origin, from_environment
from backend.security.security_center import movement_alerts
from tests.conftest import last_code
from tests.staff_helpers import team
from tests.transfer_helpers import demo_member, other_member


def _sign_in(backend, origin=Origin()):
    return backend.auth.login("demo", "Demo-2026!", origin).token


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_sign_ins_keep_channel_address_and_result(backend, clock):
    with pytest.raises(AuthError):
        backend.auth.login("demo", "wrong-1234", Origin("ssh", "203.0.113.7"))
    clock.advance(minutes=1)
    token = _sign_in(backend, Origin("web", "198.51.100.4"))
    seen = backend.security_center.sign_ins(token)
    assert [(s.channel, s.address, s.result, s.ok) for s in seen[:2]] == [
        ("Navegador", "198.51.100.4", "Ingreso correcto", True),
        ("SSH", "203.0.113.7", "Contraseña incorrecta", False)]
    assert seen[0].at == clock.now()


def sign_in_ids(backend) -> list[int]:
    return [r[0] for r in backend.db.conn.execute("SELECT id FROM sign_ins ORDER BY id")]


def test_sign_ins_are_kept_400_days_then_the_worker_forgets_them(backend, clock):
    """CONVENTIONS «Retention»: members see their recent sign-ins, auditors need a year; the worker's pass
    deletes what is older than `sign_in_retention_days`, and says so in the audit log."""
    from cooprogreso_tui.worker import Worker

    assert backend.settings.sign_in_retention_days == 400
    with pytest.raises(AuthError):
        backend.auth.login("demo", "wrong-1234", Origin("ssh", "203.0.113.7"))
    old = sign_in_ids(backend)[-1]
    clock.advance(days=400)
    token = _sign_in(backend, Origin("web", "198.51.100.4"))
    recent = sign_in_ids(backend)[-1]
    said: list[str] = []
    worker = Worker(backend, say=said.append)
    worker.run_pass("forget")
    assert old in sign_in_ids(backend)  # exactly 400 days old: still kept
    clock.advance(seconds=1)
    worker.run_pass("forget")
    assert old not in sign_in_ids(backend) and recent in sign_in_ids(backend)
    assert [s.address for s in backend.security_center.sign_ins(token)] == ["198.51.100.4"]
    actor, details = backend.db.conn.execute("SELECT actor, details FROM audit_log WHERE action = 'ingresos.depurar'"
                                             " ORDER BY id DESC").fetchone()
    assert actor == "sistema:retencion" and '"dias": 400' in details
    assert said == [] and worker.jobs.due("forget")  # a failing pass is said and backs off, never raised


def test_the_forget_pass_deletes_in_batches_and_leaves_recent_rows(backend, clock):
    from backend.core.clock import iso
    from backend.security.security_center import FORGET_BATCH, forget_old_sign_ins

    user = backend.db.conn.execute("SELECT id FROM users WHERE username = 'demo'").fetchone()[0]
    long_ago = iso(clock.now() - timedelta(days=500))
    with backend.db.write() as conn:
        conn.executemany("INSERT INTO sign_ins (user_id, at, channel, result) VALUES (?, ?, 'local', 'ok')",
                         [(user, long_ago)] * (2 * FORGET_BATCH + 1))
    keep = len(backend.db.conn.execute("SELECT id FROM sign_ins WHERE at >= ?",
                                       (iso(clock.now() - timedelta(days=400)),)).fetchall())
    assert forget_old_sign_ins(backend.ctx) >= 2 * FORGET_BATCH + 1
    assert len(sign_in_ids(backend)) == keep
    batches = backend.db.conn.execute("SELECT COUNT(*) FROM audit_log WHERE action = 'ingresos.depurar'").fetchone()[0]
    assert batches == 3 and forget_old_sign_ins(backend.ctx) == 0


def test_a_retention_under_a_year_is_refused():
    from backend.core.settings import Settings, SettingsError

    with pytest.raises(SettingsError, match="sign_in_retention_days"):
        Settings(sign_in_retention_days=90)


@pytest.mark.sqlite_only(covered=True)
def test_an_address_that_is_not_an_ip_is_never_stored(backend):
    token = _sign_in(backend, Origin("ssh", "\x1b[31mevil\x1b[0m"))
    assert backend.security_center.sign_ins(token)[0].address == ""
    token = _sign_in(backend, Origin("telepathy", "10.0.0.1"))  # unknown channel: local
    assert backend.security_center.sign_ins(token)[0].channel == "Terminal local"


def test_channel_from_environment():
    env = {"SSH_CONNECTION": "203.0.113.9 52344 10.0.0.2 22", "COOPROGRESO_WEB_CLIENT": "198.51.100.8"}
    assert from_environment(env, web=False) == Origin("ssh", "203.0.113.9")
    # a browser session never believes SSH_CONNECTION (inherited from whoever started the server)
    assert from_environment(env, web=True) == Origin("web", "198.51.100.8")
    assert from_environment({"COOPROGRESO_WEB_CLIENT": "x; rm"}, web=True) == Origin("web", None)
    assert from_environment({}, web=False) == Origin("local", None)


def test_close_other_sessions_ends_the_first_at_its_next_call(backend, clock):
    first = _sign_in(backend)
    clock.advance(minutes=2)
    second = _sign_in(backend, Origin("ssh", "203.0.113.7"))
    center = backend.security_center
    sessions = center.sessions(second)
    assert [(s.current, s.channel) for s in sessions] == [(True, "SSH"), (False, "Terminal local")]
    assert center.close_other_sessions(second) == 1
    with pytest.raises(SessionExpired) as err:
        backend.products.position(first)
    assert "otra de tus sesiones" in err.value.message
    assert [s.current for s in center.sessions(second)] == [True]
    actions = [r[0] for r in backend.db.conn.execute("SELECT action FROM audit_log WHERE actor = 'demo'")]
    assert "sesion.cerrar_demas" in actions


def test_a_member_cannot_see_or_close_another_members_sessions(backend):
    lucia = demo_member(backend)
    ana = other_member(backend)
    center = backend.security_center
    lucia_ids = {s.id for s in center.sessions(lucia.token)}
    assert not lucia_ids & {s.id for s in center.sessions(ana.token)}
    for session_id in lucia_ids:
        with pytest.raises(NotFound):
            center.close_session(ana.token, session_id)
    assert center.close_other_sessions(ana.token) == 0
    backend.products.position(lucia.token)  # still open
    assert {s.id for s in center.sign_ins(ana.token)}.isdisjoint(s.id for s in center.sign_ins(lucia.token))
    lucia_sign_in = center.sign_ins(lucia.token)[0].id
    with pytest.raises(NotFound):
        center.not_me(ana.token, "sign_in", lucia_sign_in)
    lucia_movement = center.movements(lucia.token)[0].id
    with pytest.raises(NotFound):
        center.not_me(ana.token, "movement", lucia_movement)
    backend.products.position(lucia.token)  # nothing of Lucía's was locked


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_close_one_session_by_id(backend, clock):
    first = _sign_in(backend)
    second = _sign_in(backend)
    other = next(s.id for s in backend.security_center.sessions(second) if not s.current)
    backend.security_center.close_session(second, other)
    with pytest.raises(SessionExpired):
        backend.auth.principal(first)
    with pytest.raises(NotFound):
        backend.security_center.close_session(second, other)  # already closed


def test_password_change_needs_current_password_and_code(backend, clock):
    first = _sign_in(backend)
    token = _sign_in(backend)
    center = backend.security_center
    with pytest.raises(ValidationError) as err:
        center.prepare_password_change(token, "not-it-123", "NuevaClave77", "NuevaClave77")
    assert err.value.field == "current"
    with pytest.raises(ValidationError) as err:
        center.prepare_password_change(token, "Demo-2026!", "corta1", "corta1")
    assert "8 caracteres" in err.value.message
    with pytest.raises(ValidationError):
        center.prepare_password_change(token, "Demo-2026!", "NuevaClave77", "NuevaClave78")
    pending = center.prepare_password_change(token, "Demo-2026!", "NuevaClave77", "NuevaClave77")
    backend.ops.request_code(token, pending.id)
    receipt = backend.ops.authorise(token, pending.id, last_code(backend))
    assert receipt.title == "Cambio de contraseña"
    with pytest.raises(AuthError):
        backend.auth.login("demo", "Demo-2026!")
    assert backend.auth.login("demo", "NuevaClave77").token
    with pytest.raises(SessionExpired) as err:
        backend.auth.principal(first)  # other sessions end with the change
    assert "contraseña cambió" in err.value.message
    backend.auth.principal(token)
    stored = backend.db.conn.execute("SELECT request FROM operations WHERE id = ?", (pending.id,)).fetchone()[0]
    assert "NuevaClave77" not in stored
    audit = " ".join(str(r) for r in backend.db.conn.execute("SELECT details FROM audit_log").fetchall())
    assert "NuevaClave77" not in audit and "Demo-2026!" not in audit


@pytest.mark.sqlite_only(covered=True)
def test_password_change_cannot_be_forged_through_the_operations_flow(backend):
    from backend.security.passwords import hash_password

    token = _sign_in(backend)
    forged = hash_password("Atacante123", log_n=4, r=8, p=1)
    with pytest.raises(ValidationError):
        backend.security_center  # noqa: B018 - registers the kind
        backend.ops.prepare(token, "cambio_contrasena", {"new_hash": forged, "proof": "0" * 64})


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_wrong_current_passwords_lock_the_user(backend):
    token = _sign_in(backend)
    center = backend.security_center
    for _ in range(backend.settings.max_failed_logins - 1):
        with pytest.raises(ValidationError):
            center.prepare_password_change(token, "guess-12345", "NuevaClave77", "NuevaClave77")
    with pytest.raises(AuthError):
        center.prepare_password_change(token, "guess-12345", "NuevaClave77", "NuevaClave77")
    with pytest.raises(SessionExpired) as err:
        backend.auth.principal(token)
    assert "intentos fallidos" in err.value.message


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_sign_in_alert_sms(backend, clock):
    token = _sign_in(backend)
    backend.security_center.set_alerts(token, "", True)
    _sign_in(backend, Origin("ssh", "203.0.113.7"))
    body = backend.outbox(last=1)[-1].body
    assert "ingresaste" in body and "203.0.113.7" in body and "25/11/2026 10:00" in body


@pytest.mark.sqlite_only(covered=True)
def test_movement_alerts_above_the_amount(backend, clock):
    lucia = demo_member(backend)
    ana = other_member(backend)
    center = backend.security_center
    with pytest.raises(ValidationError):
        center.set_alerts(lucia.token, "diez", False)
    assert center.set_alerts(lucia.token, "50.00", False).movement_threshold == 50_00
    assert movement_alerts(backend.ctx) == 0  # the first pass marks where it starts
    _book(backend, lucia.accounts[0], ana.accounts[0], 20_00)
    _book(backend, lucia.accounts[0], ana.accounts[0], 75_00)
    assert movement_alerts(backend.ctx) == 1
    body = backend.outbox(last=1)[-1].body
    assert "débito de $75.00" in body and "No fui yo" in body
    assert movement_alerts(backend.ctx) == 0  # each posting once


def test_a_posting_that_commits_late_with_a_lower_id_is_still_alerted_once(backend, engine, db_path):
    """PostgreSQL hands out posting ids at insert, not at commit: a transfer still open while a later one commits
    and the pass runs must be alerted when it commits, and only once."""
    if engine != "postgresql":
        pytest.skip("PostgreSQL only: SQLite writers take turns, ids follow commits")
    from backend.core.database import open_database

    lucia = demo_member(backend)
    ana = other_member(backend)
    backend.security_center.set_alerts(lucia.token, "50.00", False)
    assert movement_alerts(backend.ctx) == 0  # marks where it starts
    # Two entries on disjoint accounts (one on the same account would wait for the open one's row lock).
    lucia_other, payer = backend.db.conn.execute(
        "SELECT (SELECT MIN(id) FROM accounts WHERE member_id = ? AND id <> ?),"
        " (SELECT MIN(id) FROM accounts WHERE kind = 'ahorros' AND balance >= 10000 AND member_id NOT IN (?, ?))",
        (lucia.member_id, lucia.accounts[0], lucia.member_id, ana.member_id)).fetchone()
    assert lucia_other and payer
    before = len(backend.outbox(last=100))
    slow = open_database(db_path)
    try:
        with slow.write() as conn:
            _book_on(conn, backend, lucia.accounts[0], ana.accounts[0], 61_00)
            held = conn.execute("SELECT MAX(id) FROM postings").fetchone()[0]  # sends the postings: ids taken
            _book(backend, payer, lucia_other, 72_00)  # committed, with higher ids
            assert backend.db.conn.execute("SELECT MIN(id) FROM postings WHERE amount = 7200").fetchone()[0] > held
            assert movement_alerts(backend.ctx) == 1
            assert "$72.00" in backend.outbox(last=1)[-1].body
        assert movement_alerts(backend.ctx) == 1  # the late one, now visible below the watermark
        assert "$61.00" in backend.outbox(last=1)[-1].body
    finally:
        slow.close()
    assert movement_alerts(backend.ctx) == 0
    bodies = [m.body for m in backend.outbox(last=100)][-(len(backend.outbox(last=100)) - before):]
    assert sum("$61.00" in b for b in bodies) == sum("$72.00" in b for b in bodies) == 1


def test_passes_that_meet_each_send_an_alert_once(backend, clock):
    """Two passes reading the same window (two workers, or one re-reading below its watermark): one SMS."""
    lucia = demo_member(backend)
    ana = other_member(backend)
    backend.security_center.set_alerts(lucia.token, "50.00", False)
    assert movement_alerts(backend.ctx) == 0
    _book(backend, lucia.accounts[0], ana.accounts[0], 80_00)
    assert movement_alerts(backend.ctx) == 1
    with backend.db.write() as conn:  # as if a second worker still held the old watermark
        top = conn.execute("SELECT MAX(id) FROM postings").fetchone()[0]
        conn.execute("UPDATE meta SET value = ? WHERE key = 'alertas_movimientos_hasta'", (str(top - 2),))
    assert movement_alerts(backend.ctx) == 0
    assert sum("$80.00" in m.body for m in backend.outbox(last=50)) == 1


def _book(backend, source, target, cents):
    with backend.db.write() as conn:
        _book_on(conn, backend, source, target, cents)


def _book_on(conn, backend, source, target, cents):
    from backend.core.ledger import Leg, post

    post(conn, kind="transferencia", description="Prueba", legs=[Leg(source, -cents, "x"), Leg(target, cents, "x")],
         posted_at=backend.ctx.now_iso(), actor="test")


def test_not_me_locks_access_opens_a_reclamo_and_explains(backend, clock):
    first = _sign_in(backend)
    token = _sign_in(backend, Origin("web", "198.51.100.4"))
    center = backend.security_center
    suspicious = center.sign_ins(token)[0].id
    result = center.not_me(token, "sign_in", suspicious)
    assert result.case_number.startswith("C-2026-") and "agencia" in result.message
    for ended in (first, token):
        with pytest.raises(SessionExpired) as err:
            backend.auth.principal(ended)
        assert "No fui yo" in err.value.message
    with pytest.raises(AuthError):
        backend.auth.login("demo", "Demo-2026!")  # locked: the same answer a stranger gets
    case = backend.db.conn.execute("SELECT subject, body FROM contact_cases ORDER BY id DESC LIMIT 1").fetchone()
    assert case[0] == "reclamo" and "198.51.100.4" in case[1]
    assert result.case_number in backend.outbox(last=1)[-1].body


@pytest.mark.sqlite_only(covered=True)
def test_staff_see_sign_ins_never_secrets(backend, clock):
    lucia = demo_member(backend)
    people = team(backend, clock)
    seen = backend.security_center.member_sign_ins(people["atencion"].token, lucia.member_id)
    assert seen and seen[0].result == "Ingreso correcto"
    assert not any(hasattr(s, "password") or hasattr(s, "code") for s in seen)
    with pytest.raises(Forbidden):
        backend.security_center.member_sign_ins(people["cajero"].token, lucia.member_id)
    with pytest.raises(Forbidden):
        backend.security_center.member_sign_ins(lucia.token, lucia.member_id)


def _held_at_the_lock(backend, db_path, member_id, calls, then=None):
    """Run `calls` in threads while another connection holds the member's write lock, so each has passed its
    session check and waits at the lock; `then(conn)` writes in that transaction first (another session's doing).
    Returns each call's result or exception, in order."""
    import threading
    import time

    from backend.core.database import open_database
    from backend.core.db import member_lock

    out: list = [None] * len(calls)

    def run(i, call):
        try:
            out[i] = call()
        except Exception as exc:
            out[i] = exc

    slow = open_database(db_path)
    try:
        with slow.write() as conn:
            conn.lock(member_lock(member_id))
            if then is not None:
                then(conn)
            threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
            for t in threads:
                t.start()
            time.sleep(1.0)  # each reaches the lock (the session check and reads before it take milliseconds)
        for t in threads:
            t.join(30)
    finally:
        slow.close()
    return out


def test_two_not_me_at_once_open_one_reclamo(backend, db_path, clock):
    """«No fui yo» pressed in two sessions at once: the first locks access and ends both; the second session
    has ended by the time it writes, so it opens no second reclamo and sends no second SMS."""
    first, second = _sign_in(backend), _sign_in(backend, Origin("web", "198.51.100.4"))
    center = backend.security_center
    suspicious = center.sign_ins(first)[0].id
    member_id = backend.auth.principal(first).member_id
    cases = backend.db.conn.execute("SELECT COUNT(*) FROM contact_cases").fetchone()[0]
    results = _held_at_the_lock(backend, db_path, member_id, [
        lambda: center.not_me(first, "sign_in", suspicious), lambda: center.not_me(second, "sign_in", suspicious)])
    done = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(done) == 1 and len(refused) == 1, results
    assert isinstance(refused[0], SessionExpired) and "No fui yo" in refused[0].message
    assert backend.db.conn.execute("SELECT COUNT(*) FROM contact_cases").fetchone()[0] == cases + 1
    assert sum("abrimos el reclamo" in m.body for m in backend.outbox(last=20)) == 1


def test_an_operation_confirmed_while_another_session_says_not_me_is_not_booked(backend, db_path, clock):
    """A thief's session confirming a transfer while the member presses «No fui yo» elsewhere: the thief's
    call passed its session check before the lock; once the member's «No fui yo» commits, nothing is booked."""
    from backend.transfers.transfers import TransferRequest
    from tests.transfer_helpers import balance_of

    lucia = demo_member(backend)
    thief = _sign_in(backend, Origin("web", "203.0.113.9"))
    a, b = lucia.accounts[:2]
    pending = backend.transfers.prepare(thief, TransferRequest("propia", a, 5_00, "ahorro", dest_account_id=b))
    backend.ops.request_code(thief, pending.id)
    code = last_code(backend)
    before = balance_of(backend, a)

    def not_me(conn):  # what the member's «No fui yo» in another session commits first
        conn.execute("UPDATE users SET locked_until = '9999-12-31 23:59:59' WHERE member_id = ?", (lucia.member_id,))
        conn.execute("UPDATE sessions SET ended_at = ?, end_reason = 'no_fui_yo' WHERE user_id ="
                     " (SELECT id FROM users WHERE member_id = ?) AND ended_at IS NULL",
                     (backend.ctx.now_iso(), lucia.member_id))

    [result] = _held_at_the_lock(backend, db_path, lucia.member_id,
                                 [lambda: backend.ops.authorise(thief, pending.id, code)], then=not_me)
    assert isinstance(result, SessionExpired) and "No fui yo" in result.message, result
    assert balance_of(backend, a) == before
    assert backend.db.conn.execute("SELECT state FROM operations WHERE id = ?", (pending.id,)).fetchone()[0] \
        == "pendiente"


def test_a_code_resent_while_another_session_says_not_me_confirms_nothing(backend, db_path, clock):
    """«Reenviar código» passed its session check before the lock; the member's «No fui yo» elsewhere committed
    first: the new code is bound to nothing (the challenge is void, its SMS masked now) and the call says why."""
    from backend.transfers.transfers import TransferRequest

    lucia = demo_member(backend)
    thief = _sign_in(backend, Origin("web", "203.0.113.9"))
    a, b = lucia.accounts[:2]
    pending = backend.transfers.prepare(thief, TransferRequest("propia", a, 5_00, "ahorro", dest_account_id=b))
    challenge = backend.ops.request_code(thief, pending.id)
    clock.advance(seconds=31)
    backend.auth.principal(thief)  # seen now: the resend's own check of the session writes nothing, waits for nothing
    audits = backend.db.conn.execute("SELECT COUNT(*) FROM audit_log WHERE action = 'otp.reenviar'").fetchone()[0]

    def not_me(conn):
        conn.execute("UPDATE sessions SET ended_at = ?, end_reason = 'no_fui_yo' WHERE user_id ="
                     " (SELECT id FROM users WHERE member_id = ?) AND ended_at IS NULL",
                     (backend.ctx.now_iso(), lucia.member_id))

    [result] = _held_at_the_lock(backend, db_path, lucia.member_id,
                                 [lambda: backend.ops.resend_code(thief, pending.id)], then=not_me)
    assert isinstance(result, SessionExpired) and "No fui yo" in result.message, result
    row = backend.db.conn.execute("SELECT voided_at, resends FROM otp_challenges WHERE id = ?",
                                  (challenge.id,)).fetchone()
    assert row[0] is not None and row[1] == 0
    assert not any(ch.isdigit() for ch in backend.outbox(last=1)[-1].body.split(" es ")[1][:6])  # masked now
    assert backend.db.conn.execute("SELECT COUNT(*) FROM audit_log WHERE action = 'otp.reenviar' AND outcome = 'ok'"
                                   ).fetchone()[0] == audits


def test_writes_waiting_at_the_lock_when_another_session_says_not_me_write_nothing(backend, db_path, clock):
    """Not only money: alerts or a message to the co-op from a session that passed its check
    before the lock, while the member's «No fui yo» elsewhere committed first, are refused and change nothing."""
    lucia = demo_member(backend)
    thief = _sign_in(backend, Origin("web", "203.0.113.9"))
    center, contact = backend.security_center, backend.contact
    before_alerts = center.alerts(lucia.token)
    cases = backend.db.conn.execute("SELECT COUNT(*) FROM contact_cases").fetchone()[0]
    audits = backend.db.conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]

    def not_me(conn):
        conn.execute("UPDATE sessions SET ended_at = ?, end_reason = 'no_fui_yo' WHERE user_id ="
                     " (SELECT id FROM users WHERE member_id = ?) AND ended_at IS NULL",
                     (backend.ctx.now_iso(), lucia.member_id))

    results = _held_at_the_lock(backend, db_path, lucia.member_id, [
        lambda: center.set_alerts(thief, "1.00", False),
        lambda: contact.write(thief, "consulta", "Mensaje escrito por quien no es el socio."),
    ], then=not_me)
    assert all(isinstance(r, SessionExpired) and "No fui yo" in r.message for r in results), results
    assert backend.db.conn.execute("SELECT COUNT(*) FROM contact_cases").fetchone()[0] == cases
    assert backend.db.conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0] == audits
    assert center.alerts(_sign_in(backend, Origin("web", "198.51.100.4"))) == before_alerts


def test_card_movements_are_named_by_the_card_not_by_its_ledger_accounts(backend, clock):
    """A card's movements were listed, alerted and claimed under the co-op's two ledger accounts for it (******0016,
    ******0024), numbers the member has never seen: now by the card, as Productos shows it."""
    from tests.card_helpers import buy, demo_card

    lucia = demo_member(backend)
    center = backend.security_center
    card = demo_card(backend)
    ledger = {r[0] for r in backend.db.conn.execute(
        "SELECT a.number FROM accounts a JOIN cards c ON a.id IN (c.account_id, c.installment_account_id)"
        " WHERE c.account_id = ?", (card,))}
    assert len(ledger) == 2
    assert center.set_alerts(lucia.token, "50.00", False).movement_threshold == 50_00
    assert movement_alerts(backend.ctx) == 0
    buy(backend, card, 80_00, "2026-11-25 09:30:00", memo="Consumo Kywi")
    assert movement_alerts(backend.ctx) == 1
    assert "en tu tarjeta 3261 XXXX XXXX 6989" in backend.outbox(last=1)[-1].body
    listed = center.movements(lucia.token)
    shown = {m.account for m in listed}
    assert "Tarj *6989" in shown and not any(number[-4:] in place for number in ledger for place in shown)
    assert all(len(place) <= 10 for place in shown)  # the screen's column
    bought = next(m for m in listed if m.description == "Consumo Kywi")
    center.not_me(lucia.token, "movement", bought.id)
    case = backend.db.conn.execute("SELECT body FROM contact_cases ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert "en la tarjeta 3261 XXXX XXXX 6989" in case and not any(number[-4:] in case for number in ledger)
