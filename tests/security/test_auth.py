import json

import pytest

from backend.core.errors import AccountLocked, AuthError, OtpError, SessionExpired, ValidationError
from backend.security.passwords import check_policy, hash_password, verify_password
from tests.conftest import add_member, affiliate, demo_cedula, last_code, unaffiliated_cedula


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_affiliation_happy_path(backend):
    start = backend.auth.start_affiliation("cedula", unaffiliated_cedula())
    assert start.challenge.masked_phone.startswith("09*****")
    backend.auth.verify_affiliation_code(start.challenge.id, last_code(backend))
    assert backend.auth.complete_affiliation(start.challenge.id, "jorge.luis", "Montaña2026") == "jorge.luis"
    signed = backend.auth.login("jorge.luis", "Montaña2026")
    assert signed.member_name == "Jorge Luis Chicaiza Vega" and signed.previous_login is None


@pytest.mark.sqlite_only  # the check digit refuses it before any SQL: one engine is enough
def test_affiliation_refuses_an_invalid_number(backend):
    with pytest.raises(ValidationError) as err:
        backend.auth.start_affiliation("cedula", "1710034066")
    assert err.value.code == "invalid"


@pytest.mark.sqlite_only(covered=True)
def test_affiliation_refusals_do_not_tell_who_is_a_member(backend):
    """Unknown, inactive, already affiliated, without phone: one answer; the audit keeps the reason."""
    add_member(backend, cedula="1104680135", status="inactivo")
    add_member(backend, cedula="0926687856", mobile=None)
    answers = {}
    for number, reason in (("1714616123", "no_socio"), ("1104680135", "inactivo"), (demo_cedula(), "ya_afiliado"),
                           ("0926687856", "sin_celular")):
        with pytest.raises(ValidationError) as err:
            backend.auth.start_affiliation("cedula", number)
        answers[reason] = (type(err.value), err.value.code, err.value.field, err.value.message)
        audited = backend.db.conn.execute(
            "SELECT outcome FROM audit_log WHERE action = 'afiliacion.iniciar' ORDER BY id DESC LIMIT 1").fetchone()
        assert audited[0] == reason
    assert len(set(answers.values())) == 1, answers


@pytest.mark.sqlite_only(covered=True)
def test_user_cannot_be_created_without_a_verified_code(backend):
    start = backend.auth.start_affiliation("cedula", unaffiliated_cedula())
    with pytest.raises(OtpError):
        backend.auth.complete_affiliation(start.challenge.id, "jorge.luis", "Montaña2026")


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_verified_code_creates_only_one_user(backend):
    start = backend.auth.start_affiliation("cedula", unaffiliated_cedula())
    backend.auth.verify_affiliation_code(start.challenge.id, last_code(backend))
    backend.auth.complete_affiliation(start.challenge.id, "jorge.luis", "Montaña2026")
    with pytest.raises(OtpError):
        backend.auth.complete_affiliation(start.challenge.id, "otro.user", "Montaña2026")


@pytest.mark.parametrize("password,fragment", [("corta1", "8 caracteres"), ("soloLetras", "letras y números"),
                                               ("1234567890", "letras y números"),
                                               ("x1710034065", "identificación"), ("jorge.luis99", "usuario")])
def test_weak_passwords(password, fragment):
    with pytest.raises(ValidationError) as err:
        check_policy(password, username="jorge.luis", id_number="1710034065")
    assert fragment in err.value.message


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_username_already_taken(backend):
    start = backend.auth.start_affiliation("cedula", unaffiliated_cedula())
    backend.auth.verify_affiliation_code(start.challenge.id, last_code(backend))
    with pytest.raises(ValidationError) as err:
        backend.auth.complete_affiliation(start.challenge.id, "DEMO", "Montaña2026")
    assert "en uso" in err.value.message


def test_password_hash_is_scrypt_and_salted():
    a, b = hash_password("Clave2026x", log_n=8, r=8, p=1), hash_password("Clave2026x", log_n=8, r=8, p=1)
    assert a != b and a.startswith("scrypt$8$8$1$")
    assert verify_password("Clave2026x", a) and not verify_password("Clave2026y", a)


def test_production_default_is_strong():
    from backend.core.settings import Settings

    s = Settings()
    assert (s.scrypt_log_n, s.scrypt_r, s.scrypt_p) == (17, 8, 1)


@pytest.mark.sqlite_only(covered=True)
def test_wrong_user_and_wrong_password_get_the_same_message(backend):
    with pytest.raises(AuthError) as unknown:
        backend.auth.login("nadie", "Demo-2026!")
    with pytest.raises(AuthError) as wrong:
        backend.auth.login("demo", "otra-clave1")
    assert unknown.value.message == wrong.value.message
    assert unknown.value.message.startswith("Usuario o contraseña incorrectos.")


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_lockout_after_five_failures_and_release(backend, clock):
    for _ in range(5):
        with pytest.raises(AuthError) as err:
            backend.auth.login("demo", "mala-clave1")
        assert not isinstance(err.value, AccountLocked)  # the same answer an unknown user gets
        assert "bloquea 15 minutos" in err.value.message
    assert "se bloqueó por 5 intentos fallidos" in backend.outbox(last=1)[-1].body  # the member learns it by SMS
    answers = set()
    for password in ("otra-clave2", "Demo-2026!"):  # while locked the right password is refused like a wrong one
        with pytest.raises(AuthError) as err:
            backend.auth.login("demo", password)
        answers.add((type(err.value), err.value.code, err.value.message))
    assert len(answers) == 1 and not isinstance(err.value, AccountLocked)
    clock.advance(minutes=15)
    assert backend.auth.login("demo", "Demo-2026!").username == "demo"


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_lockout_is_configurable(make_backend):
    backend = make_backend(max_failed_logins=2, lockout_minutes=3)
    for _ in range(2):
        with pytest.raises(AuthError):
            backend.auth.login("demo", "mala-clave1")
    with pytest.raises(AuthError) as err:
        backend.auth.login("demo", "Demo-2026!")
    assert err.value.code == "bad_credentials" and "bloquea 3 minutos" in err.value.message


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_session_records_previous_login_and_logout(backend, clock):
    first = backend.auth.login("demo", "Demo-2026!")
    clock.advance(hours=2)
    second = backend.auth.login("demo", "Demo-2026!")
    assert second.previous_login == clock.now().replace(hour=10)
    assert first.previous_login is not None and first.previous_login != second.previous_login
    backend.auth.logout(second.token)
    with pytest.raises(SessionExpired):
        backend.products.position(second.token)


@pytest.mark.sqlite_only(covered=True)
def test_idle_session_expires_in_the_backend(backend, clock):
    signed = backend.auth.login("demo", "Demo-2026!")
    clock.advance(seconds=backend.settings.session_idle_seconds - 1)
    backend.products.position(signed.token)
    clock.advance(seconds=backend.settings.session_idle_seconds + 1)
    with pytest.raises(SessionExpired) as err:
        backend.products.position(signed.token)
    assert "inactividad" in err.value.message


def test_audit_log_records_security_events_without_secrets(backend):
    affiliate(backend, unaffiliated_cedula(), "jorge.luis", "Montaña2026")
    with pytest.raises(AuthError):
        backend.auth.login("jorge.luis", "Equivocada1")
    backend.auth.login("jorge.luis", "Montaña2026")
    rows = backend.db.conn.execute("SELECT actor, action, outcome, details FROM audit_log").fetchall()
    events = {(r["action"], r["outcome"]) for r in rows}
    assert {("afiliacion.completar", "ok"), ("otp.emitir", "ok"), ("otp.verificar", "ok"),
            ("login", "contrasena_incorrecta"), ("login", "ok")} <= events
    text = json.dumps([dict(r) for r in rows])
    assert "Montaña2026" not in text and "Equivocada1" not in text


def test_sign_in_work_follows_the_stored_cost_and_rehashes_at_the_current_one(make_backend, clock, monkeypatch):
    """The cost setting lowered (hashes stored at N = 2**8, new ones at 2**6): an unknown user's check still
    costs what a real user's does, and each sign-in moves that user's hash to the current cost."""
    import hashlib

    from backend.security.staff import StaffChallenge
    from tests.staff_helpers import PASSWORD, enrol

    enrol(make_backend(), "cajero1", "cajero")  # enrolled at the old cost
    backend = make_backend(scrypt_log_n=6)
    work: list[tuple[int, int, int]] = []
    real = hashlib.scrypt
    monkeypatch.setattr(hashlib, "scrypt", lambda pw, **kw: work.append((kw["n"], kw["r"], kw["p"])) or real(pw, **kw))

    def attempt(username: str, password: str) -> list[tuple[int, int, int]]:
        work.clear()
        try:
            backend.auth.login(username, password)
        except AuthError:
            pass
        return list(work)

    def stored(table: str, username: str) -> str:
        return backend.db.conn.execute(f"SELECT password_hash FROM {table} WHERE username = ?", (username,)).fetchone()[0]

    old, new = (2**8, 8, 1), (2**6, 8, 1)
    attempt("nadie", "Otra-clave-99")  # the decoy is made on first use
    assert attempt("nadie", "Otra-clave-99") == [old]
    assert attempt("demo", "Otra-clave-99") == [old]
    assert attempt("cajero1", "Otra-clave-99") == [old]
    assert stored("users", "demo").startswith("scrypt$8$8$1$")

    assert attempt("demo", "Demo-2026!") == [old, new]  # checked at its cost, then rehashed at the current one
    assert stored("users", "demo").startswith("scrypt$6$8$1$")
    assert attempt("demo", "Demo-2026!") == [new]
    assert isinstance(backend.auth.login("cajero1", PASSWORD), StaffChallenge)
    assert stored("staff_users", "cajero1").startswith("scrypt$6$8$1$")
    assert verify_password(PASSWORD, stored("staff_users", "cajero1"))
    assert attempt("nadie", "Otra-clave-99") == [old]  # most stored hashes (the demo staff) are still at 2**8

    with backend.db.write() as conn:  # everyone has signed in since
        conn.execute("UPDATE staff_users SET password_hash = ?", (hash_password("x", log_n=6, r=8, p=1),))
    clock.advance(minutes=10)
    assert attempt("nadie", "Otra-clave-99")[-1] == new
    assert attempt("nadie", "Otra-clave-99") == [new]
