from datetime import UTC

import pytest

from backend.core.db import statements
from backend.core.errors import AccountLocked, AuthError, Forbidden, SessionExpired, ValidationError
from backend.security import totp
from backend.security.roles import ROLE_REFUSED
from backend.security.staff import StaffChallenge
from tests.conftest import affiliate, unaffiliated_cedula
from tests.staff_helpers import PASSWORD, code_now, enrol, sign_in


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_staff_sign_in_needs_password_then_code(backend, clock):
    cajero = enrol(backend, "cajero1", "cajero", "Rosa Quispe")
    challenge = backend.auth.login("CAJERO1", PASSWORD)
    assert isinstance(challenge, StaffChallenge)
    signed = backend.auth.staff_code(challenge.ticket, code_now(backend, cajero))
    assert signed.role == "cajero" and "Rosa Quispe" in signed.member_name
    who = backend.auth.staff(signed.token, roles=("cajero",))
    assert who.role == "cajero" and who.is_staff and who.member_id == 0


@pytest.mark.sqlite_only(covered=True)
def test_code_reused_is_refused_even_in_a_new_sign_in(backend, clock):
    cajero = enrol(backend, "cajero1", "cajero")
    code = code_now(backend, cajero)
    backend.auth.staff_code(backend.auth.login("cajero1", PASSWORD).ticket, code)
    again = backend.auth.login("cajero1", PASSWORD)
    with pytest.raises(AuthError) as err:
        backend.auth.staff_code(again.ticket, code)
    assert err.value.code == "bad_credentials"


@pytest.mark.parametrize("steps,accepted", [(-2, False), (-1, True), (0, True), (1, True), (2, False)])
@pytest.mark.sqlite_only  # input checks before any engine-specific SQL: one engine is enough
def test_at_most_one_step_of_drift(backend, clock, steps, accepted):
    cajero = enrol(backend, "cajero1", "cajero")
    challenge = backend.auth.login("cajero1", PASSWORD)
    code = code_now(backend, cajero, steps)
    if accepted:
        assert backend.auth.staff_code(challenge.ticket, code).role == "cajero"
    else:
        with pytest.raises(AuthError):
            backend.auth.staff_code(challenge.ticket, code)


@pytest.mark.sqlite_only(covered=True)
def test_an_older_code_after_a_newer_one_is_refused(backend, clock):
    cajero = enrol(backend, "cajero1", "cajero")
    backend.auth.staff_code(backend.auth.login("cajero1", PASSWORD).ticket, code_now(backend, cajero, 1))
    with pytest.raises(AuthError):
        backend.auth.staff_code(backend.auth.login("cajero1", PASSWORD).ticket, code_now(backend, cajero, 0))


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_five_wrong_codes_lock_the_user(backend, clock):
    cajero = enrol(backend, "cajero1", "cajero")
    challenge = backend.auth.login("cajero1", PASSWORD)
    good = code_now(backend, cajero)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    for _ in range(4):
        with pytest.raises(AuthError) as err:
            backend.auth.staff_code(challenge.ticket, wrong)
        assert not isinstance(err.value, AccountLocked)
    with pytest.raises(AccountLocked):
        backend.auth.staff_code(challenge.ticket, wrong)
    with pytest.raises((AccountLocked, SessionExpired)):
        backend.auth.staff_code(challenge.ticket, good)  # the right code no longer helps
    with pytest.raises(AuthError) as err:  # the right password gets the answer a wrong one gets
        backend.auth.login("cajero1", PASSWORD)
    assert err.value.code == "bad_credentials" and not isinstance(err.value, AccountLocked)
    clock.advance(minutes=16)
    assert isinstance(backend.auth.login("cajero1", PASSWORD), StaffChallenge)


@pytest.mark.sqlite_only(covered=True)
def test_wrong_password_counts_and_reveals_nothing(backend, clock):
    enrol(backend, "cajero1", "cajero")
    with pytest.raises(AuthError) as err:
        backend.auth.login("cajero1", "Otra-clave-99")
    assert err.value.message.startswith("Usuario o contraseña incorrectos.")


def _answer(backend, username: str, password: str) -> tuple[type, str, str]:
    with pytest.raises(AuthError) as err:
        backend.auth.login(username, password)
    return type(err.value), err.value.code, err.value.message


def test_unknown_wrong_password_and_locked_staff_get_the_same_answer_after_the_same_work(backend, clock,
                                                                                         monkeypatch):
    """Nobody learns from the sign-in whether a staff user exists or is locked, nor, while it is locked,
    whether a password was right."""
    from backend.security import auth, staff

    enrol(backend, "ventanilla7", "cajero")
    enrol(backend, "ventanilla8", "cajero")
    hashes = []
    for module in (auth, staff):
        real = module.verify_password
        monkeypatch.setattr(module, "verify_password", lambda pw, stored, real=real: hashes.append(1) or real(pw, stored))
    unknown = _answer(backend, "ventanilla9", "Otra-clave-99")
    assert len(hashes) == 1
    wrong = _answer(backend, "ventanilla7", "Otra-clave-99")
    assert len(hashes) == 2
    answers = [_answer(backend, "ventanilla8", "Otra-clave-99") for _ in range(backend.settings.max_failed_logins)]
    assert len(hashes) == 2 + backend.settings.max_failed_logins
    locked = _answer(backend, "ventanilla8", "Otra-clave-99")  # locked now: still one hash, still the same answer
    assert len(hashes) == 3 + backend.settings.max_failed_logins
    assert unknown == wrong == locked and set(answers) == {unknown}
    assert unknown[0] is AuthError and unknown[1] == "bad_credentials"
    assert _answer(backend, "ventanilla8", PASSWORD) == unknown  # the right password confirms nothing while locked


@pytest.mark.sqlite_only(covered=True)
def test_ticket_expires(backend, clock):
    cajero = enrol(backend, "cajero1", "cajero")
    challenge = backend.auth.login("cajero1", PASSWORD)
    clock.advance(minutes=3)
    with pytest.raises(SessionExpired):
        backend.auth.staff_code(challenge.ticket, code_now(backend, cajero))


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_staff_idle_is_shorter_than_members(backend, clock):
    cajero = sign_in(backend, enrol(backend, "cajero1", "cajero"))
    clock.advance(seconds=backend.settings.staff_idle_seconds + 1)
    assert backend.settings.staff_idle_seconds < backend.settings.session_idle_seconds
    with pytest.raises(SessionExpired):
        backend.auth.staff(cajero.token)


@pytest.mark.sqlite_only(covered=True)
def test_staff_never_act_as_members_and_members_never_as_staff(backend, clock, lucia):
    cajero = sign_in(backend, enrol(backend, "cajero1", "cajero"))
    with pytest.raises(Forbidden) as err:
        backend.auth.principal(cajero.token)
    assert err.value.code == ROLE_REFUSED
    with pytest.raises(Forbidden) as err:
        backend.auth.staff(lucia.token)
    assert err.value.code == ROLE_REFUSED
    with pytest.raises(Forbidden):
        backend.products.position(cajero.token)


@pytest.mark.sqlite_only(covered=True)
def test_role_outside_the_list_is_refused_and_audited(backend, clock):
    auditor = sign_in(backend, enrol(backend, "auditor1", "auditor"))
    with pytest.raises(Forbidden):
        backend.auth.staff(auditor.token, roles=("cajero",))
    assert backend.audit_log(last=1)[0].outcome == "rol_no_autorizado"


@pytest.mark.sqlite_only(covered=True)
def test_disabled_staff_lose_their_session_and_cannot_sign_in(backend, clock):
    cajero = sign_in(backend, enrol(backend, "cajero1", "cajero"))
    backend.auth.staff_directory.disable("cajero1")
    with pytest.raises(SessionExpired):
        backend.auth.staff(cajero.token)
    with pytest.raises(AuthError):
        backend.auth.login("cajero1", PASSWORD)


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_usernames_are_one_namespace(backend, clock):
    enrol(backend, "cajero1", "cajero")
    with pytest.raises(ValidationError):
        enrol(backend, "Cajero1", "supervisor")
    with pytest.raises(ValidationError):
        enrol(backend, "demo", "cajero")  # the demo member's username
    with pytest.raises(ValidationError):
        affiliate(backend, unaffiliated_cedula(), "Cajero1")


@pytest.mark.sqlite_only(covered=True)
def test_secrets_never_reach_the_audit_log(backend, clock):
    cajero = sign_in(backend, enrol(backend, "cajero1", "cajero"))
    text = " ".join(f"{e.actor} {e.action} {e.details}" for e in backend.audit_log(last=100))
    assert cajero.secret not in text and PASSWORD not in text


def test_provisioning_uri_and_qr():
    uri = totp.provisioning_uri("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "cajero1")
    assert uri.startswith("otpauth://totp/Cooprogreso:cajero1?") and "issuer=Cooprogreso" in uri
    assert "▀" in totp.qr_text(uri) or "▄" in totp.qr_text(uri)


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_demo_staff_sign_in_with_the_printed_secret(backend, clock):
    from backend.demo.staff import DEMO_STAFF_PASSWORD

    challenge = backend.auth.login("cajero", DEMO_STAFF_PASSWORD)
    code = backend.auth.staff_directory.current_code("cajero", at=backend.now())
    assert backend.auth.staff_code(challenge.ticket, code).role == "cajero"


def test_the_demo_has_one_staff_user_per_role_and_its_compliance_officer_reads_the_resu(backend, clock):
    from backend.core.errors import Forbidden
    from backend.demo.staff import DEMO_STAFF_PASSWORD
    from backend.security.roles import STAFF_ROLES

    roles = {r for (r,) in backend.db.conn.execute("SELECT role FROM staff_users WHERE created_by = 'demo'")}
    assert roles == set(STAFF_ROLES)
    tokens = {}
    for user in ("cumplimiento", "auditor"):
        challenge = backend.auth.login(user, DEMO_STAFF_PASSWORD)
        tokens[user] = backend.auth.staff_code(challenge.ticket, backend.auth.staff_directory.current_code(
            user, at=backend.now())).token
    assert backend.uafe.resu(tokens["cumplimiento"], "2026-11").month == "2026-11"
    with pytest.raises(Forbidden):
        backend.uafe.resu(tokens["auditor"], "2026-11")


def test_codes_follow_unix_time_not_the_wall_clock_of_the_coop():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    quito = datetime(2026, 11, 25, 10, 0, 0)  # 15:00 UTC
    utc = datetime(2026, 11, 25, 15, 0, 0, tzinfo=UTC)
    assert totp.step_at(quito, ZoneInfo("America/Guayaquil")) == int(utc.timestamp()) // 30
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    import pyotp

    assert totp.code_at(secret, totp.step_at(utc)) == pyotp.TOTP(secret).at(utc)


def _stored_secret(backend, username: str) -> str:
    return backend.db.conn.execute("SELECT totp_secret FROM staff_users WHERE username = ?", (username,)).fetchone()[0]


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_authenticator_secrets_are_sealed_at_rest(backend, clock):
    cajero = enrol(backend, "ventanilla7", "cajero")
    stored = _stored_secret(backend, "ventanilla7")
    assert stored.startswith("enc1:") and cajero.secret not in stored
    demo = _stored_secret(backend, "cajero")  # the demo staff too
    assert demo.startswith("enc1:")
    sign_in(backend, cajero, clock)
    assert backend.auth.staff(cajero.token).username == "ventanilla7"


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_a_plain_secret_planted_in_the_database_is_refused(backend, clock):
    """Whoever can write to the database but has no key file must not be able to mint codes."""
    from backend.security import staff_secrets

    cajero = enrol(backend, "ventanilla7", "cajero")
    with backend.db.write() as conn:
        conn.execute("UPDATE staff_users SET totp_secret = ? WHERE username = 'ventanilla7'", (cajero.secret,))
    challenge = backend.auth.login("ventanilla7", PASSWORD)
    with pytest.raises(staff_secrets.SealedSecretError):
        backend.auth.staff_code(challenge.ticket, code_now(backend, cajero))
    assert _stored_secret(backend, "ventanilla7") == cajero.secret  # refused, not adopted


def test_an_older_databases_plain_secrets_are_sealed_when_it_opens_with_its_key(make_backend, clock):
    from backend.core.schema import MIGRATIONS

    backend = make_backend()
    cajero = enrol(backend, "ventanilla7", "cajero")
    with backend.db.write() as conn:  # as a version before sealing stored it; migration 17 marks the file
        conn.execute("UPDATE staff_users SET totp_secret = ? WHERE username = 'ventanilla7'", (cajero.secret,))
        for statement in statements(MIGRATIONS[16]):
            conn.execute(statement)
    backend.close()
    reopened = make_backend()
    assert _stored_secret(reopened, "ventanilla7").startswith("enc1:")
    assert reopened.db.get_meta("staff_secrets_to_seal") is None
    sign_in(reopened, cajero, clock)
    assert reopened.auth.staff(cajero.token).username == "ventanilla7"


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_a_sealed_secret_opens_only_for_its_user_and_with_this_database_key(backend, clock):
    from backend.security import staff_secrets

    cajero = enrol(backend, "ventanilla7", "cajero")
    enrol(backend, "ventanilla8", "cajero")
    theirs = _stored_secret(backend, "ventanilla7")
    with pytest.raises(staff_secrets.SealedSecretError):
        staff_secrets.unseal(b"\x01" * 32, "ventanilla7", theirs)  # a copy of the database, another key file
    assert staff_secrets.unseal(backend.ctx.secret("otp_pepper"), "ventanilla7", theirs) == cajero.secret
    with backend.db.write() as conn:  # moved into another user's row: does not open there
        conn.execute("UPDATE staff_users SET totp_secret = ? WHERE username = 'ventanilla8'", (theirs,))
    challenge = backend.auth.login("ventanilla8", PASSWORD)
    with pytest.raises(staff_secrets.SealedSecretError):
        backend.auth.staff_code(challenge.ticket, code_now(backend, cajero))


@pytest.mark.sqlite_only(covered=True)
def test_an_authenticator_code_in_arabic_indic_digits_signs_in(backend, clock):
    cajero = enrol(backend, "cajero1", "cajero")
    code = code_now(backend, cajero).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    signed = backend.auth.staff_code(backend.auth.login("cajero1", PASSWORD).ticket, code)
    assert signed.role == "cajero"


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_reset_totp_voids_the_old_secret_ends_sessions_and_is_audited(backend, clock):
    from backend.core.errors import NotFound
    from tests.staff_helpers import Staff

    cajero = sign_in(backend, enrol(backend, "cajero1", "cajero"), clock)
    other = sign_in(backend, enrol(backend, "ventanilla8", "cajero"), clock)
    fresh = backend.auth.staff_directory.reset_totp(" CAJERO1 ")
    assert fresh.username == "cajero1" and fresh.secret != cajero.secret
    assert fresh.uri.startswith("otpauth://totp/Cooprogreso:cajero1?")
    assert _stored_secret(backend, "cajero1").startswith("enc1:") and fresh.secret not in _stored_secret(backend, "cajero1")
    with pytest.raises(SessionExpired):
        backend.auth.staff(cajero.token)
    assert backend.auth.staff(other.token).username == "ventanilla8"  # nobody else's session
    clock.advance(seconds=totp.STEP_SECONDS)
    challenge = backend.auth.login("cajero1", PASSWORD)
    with pytest.raises(AuthError):  # the lost phone's code
        backend.auth.staff_code(challenge.ticket, code_now(backend, cajero))
    renewed = Staff("cajero1", "cajero", fresh.secret)
    assert backend.auth.staff_code(challenge.ticket, code_now(backend, renewed)).role == "cajero"
    entry = next(e for e in backend.audit_log(last=20) if e.action == "personal.autenticador_nuevo")
    assert entry.actor == "cli" and entry.outcome == "ok" and "cajero1" in str(entry.details)
    text = " ".join(f"{e.actor} {e.action} {e.details}" for e in backend.audit_log(last=100))
    assert fresh.secret not in text and cajero.secret not in text
    for hostile in ("nadie", "cajero1\x1b[2J", "", "' OR 1=1 --", "c\u200bajero1"):
        before = _stored_secret(backend, "cajero1")
        with pytest.raises(NotFound) as err:
            backend.auth.staff_directory.reset_totp(hostile)
        assert "No existe el usuario de personal" in err.value.message and "\x1b" not in err.value.message
        assert "\u200b" not in err.value.message and _stored_secret(backend, "cajero1") == before


def test_the_cumplimiento_role_migration_keeps_staff_their_sessions_and_the_role_check(tmp_path):
    """Migration 32 rebuilds staff_users on SQLite (its role CHECK widens to «cumplimiento»): the staff, their
    sessions and tills still point at the same rows, foreign keys are back on, and an unknown role is refused."""
    import sqlite3

    from backend.core.database import open_database
    from backend.core.db import for_engine, statements
    from backend.core.schema import MIGRATIONS

    version = next(i for i, m in enumerate(MIGRATIONS) if "'cumplimiento'" in m)
    path = tmp_path / "v30.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    for migration in MIGRATIONS[:version]:
        for statement in for_engine(statements(migration), "sqlite"):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.execute("INSERT INTO staff_users (id, username, full_name, role, password_hash, totp_secret, created_at,"
                 " created_by, cedula) VALUES (7, 'auditor1', 'Ana Ruiz', 'auditor', 'h', 's', '2026-11-01', 'cli',"
                 " '0906789128')")
    conn.execute("INSERT INTO staff_sessions (token_hash, staff_id, started_at, last_seen_at)"
                 " VALUES ('t', 7, '2026-11-01', '2026-11-01')")
    conn.close()
    db = open_database(path)
    try:
        c = db.conn
        assert c.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert c.execute("PRAGMA foreign_key_check").fetchall() == []
        assert tuple(c.execute("SELECT username, role, cedula FROM staff_users WHERE id = 7").fetchone()) == (
            "auditor1", "auditor", "0906789128")
        assert c.execute("SELECT s.token_hash FROM staff_sessions s JOIN staff_users u ON u.id = s.staff_id"
                         ).fetchone()[0] == "t"
        with db.write() as tx:
            tx.execute("INSERT INTO staff_users (username, full_name, role, password_hash, totp_secret, created_at,"
                       " created_by) VALUES ('cumplimiento1', 'Nora', 'cumplimiento', 'h', 's', '2026-11-01', 'cli')")
        with pytest.raises(sqlite3.IntegrityError), db.write() as tx:
            tx.execute("INSERT INTO staff_users (username, full_name, role, password_hash, totp_secret, created_at,"
                       " created_by) VALUES ('x', 'X', 'gerente', 'h', 's', '2026-11-01', 'cli')")
        with pytest.raises(sqlite3.IntegrityError), db.write() as tx:  # foreign keys enforced again
            tx.execute("INSERT INTO staff_sessions (token_hash, staff_id, started_at, last_seen_at)"
                       " VALUES ('u', 999, '2026-11-01', '2026-11-01')")
        assert c.execute("SELECT 1 FROM sqlite_master WHERE name = 'staff_users_cedula'").fetchone()
    finally:
        db.close()


def test_a_staff_theme_is_checked_and_needs_a_live_staff_session(backend, clock):
    """Migration 38: a staff user's display theme is kept like a member's, on both engines."""
    cajero = sign_in(backend, enrol(backend, "cajero1", "cajero"), clock)
    with pytest.raises(ValidationError):
        backend.auth.set_theme(cajero.token, "\x1b]0;hola\x07")
    backend.auth.set_theme(cajero.token, "claro")
    backend.auth.logout(cajero.token)
    with pytest.raises(SessionExpired):
        backend.auth.set_theme(cajero.token, "alto-contraste")  # an ended session changes nothing
    row = backend.db.conn.execute("SELECT theme FROM staff_users WHERE username = 'cajero1'").fetchone()
    assert row[0] == "claro"
    assert backend.db.conn.execute("SELECT COUNT(*) FROM users WHERE theme IS NOT NULL").fetchone()[0] == 0
    clock.advance(seconds=30)
    challenge = backend.auth.login("cajero1", PASSWORD)
    assert backend.auth.staff_code(challenge.ticket, code_now(backend, cajero)).theme == "claro"
