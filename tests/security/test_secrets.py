"""Secrets and files: keys outside the database, codes that do not outlive their use, a guessing
budget, sign-in and affiliation that do not tell who exists, private exports."""

import json
import os
import shutil
import sqlite3
import stat
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from backend.core import keys, redaction
from backend.core.errors import AuthError, OtpError, ValidationError
from backend.core.movement_filter import MovementFilter
from backend.security.receipts import render, verify
from backend.service import Backend
from tests.conftest import add_member, demo_cedula, fast_settings, last_code, unaffiliated_cedula


def key_file() -> Path:
    return Path(os.environ["COOPROGRESO_SECRET_KEY_FILE"])


def as_keys(value: str) -> list[bytes]:
    """Every way a thief could read a stored value as a key."""
    out = [value.encode()]
    try:
        out.append(bytes.fromhex(value))
    except ValueError:
        pass
    return out


# -- the key file ------------------------------------------------------------------------------------
@pytest.mark.sqlite_only  # a copy of the file
def test_keys_live_in_a_private_file_not_in_the_database(backend, db_path):
    pepper, receipt_key = backend.ctx.secret("otp_pepper"), backend.ctx.secret("receipt_secret")
    assert len(pepper) == len(receipt_key) == 32 and pepper != receipt_key
    assert stat.S_IMODE(key_file().stat().st_mode) == 0o600
    meta = dict(backend.db.conn.execute("SELECT key, value FROM meta").fetchall())
    assert "otp_pepper" not in meta and "receipt_secret" not in meta
    backend.close()
    raw = b"".join(p.read_bytes() for p in db_path.parent.glob(db_path.name + "*"))
    for secret in (pepper, receipt_key):
        assert secret not in raw and secret.hex().encode() not in raw


@pytest.mark.sqlite_only  # a copy of the file
def test_a_copy_of_the_database_alone_cannot_forge_or_guess(backend, db_path, tmp_path, lucia, clock):
    receipt = render(backend.ctx.secret("receipt_secret"), ["COOPROGRESO", "Monto: $5.00"])
    challenge = backend.otp.issue(lucia.member_id, "transferencia", {"monto": 500}, "demo")
    code = last_code(backend)
    stolen = tmp_path / "robada.sqlite3"
    backend.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(db_path, stolen)
    # The copy does not open with any other key file (issue #20: no new keys for an existing database) ...
    other = tmp_path / "otra" / "keys.json"
    with pytest.raises(keys.KeyFileError):
        Backend(stolen, fast_settings(secret_key_file=str(other)), clock)
    assert not other.exists()
    # ... and what it holds is no key: the genuine receipt does not check out and the code's hash cannot be
    # recomputed under any value the copy keeps.
    conn = sqlite3.connect(stolen)
    try:
        held = [value for (value,) in conn.execute("SELECT value FROM meta")]
        row = conn.execute("SELECT code_hash FROM otp_challenges WHERE id = ?", (challenge.id,)).fetchone()
    finally:
        conn.close()
    assert verify(backend.ctx.secret("receipt_secret"), receipt)
    assert row[0] == backend.otp._hash(challenge.id, code)
    import hmac

    for value in held:
        for candidate in as_keys(value):
            assert not verify(candidate, receipt)
            assert hmac.new(candidate, f"{challenge.id}:{code}".encode(), "sha256").hexdigest() != row[0]


def test_old_databases_move_their_keys_to_the_file(tmp_path, clock):
    path = tmp_path / "vieja.sqlite3"
    legacy_pepper, legacy_receipt = "ab" * 32, "cd" * 32
    conn = sqlite3.connect(path)  # an older version kept both keys in meta
    Backend(path, fast_settings(secret_key_file=str(tmp_path / "tmp-keys.json")), clock).close()
    conn.execute("DELETE FROM meta WHERE key IN ('database_id', 'key_fingerprint')")  # before fingerprints
    conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                     [("otp_pepper", legacy_pepper), ("receipt_secret", legacy_receipt)])
    conn.commit()
    conn.close()
    signed_before = render(bytes.fromhex(legacy_receipt), ["Comprobante de antes"])
    keyfile = tmp_path / "conf" / "keys.json"
    backend = Backend(path, fast_settings(secret_key_file=str(keyfile)), clock)
    assert backend.ctx.secret("otp_pepper") == bytes.fromhex(legacy_pepper)
    assert verify(backend.ctx.secret("receipt_secret"), signed_before)
    assert backend.db.get_meta("otp_pepper") is None and backend.db.get_meta("receipt_secret") is None
    stored = json.loads(keyfile.read_text())["databases"]
    assert stored[backend.db.get_meta("database_id")]["receipt_secret"] == legacy_receipt
    assert stat.S_IMODE(keyfile.stat().st_mode) == 0o600
    backend.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("vieja.sqlite3*"))
    assert legacy_pepper.encode() not in raw and legacy_receipt.encode() not in raw
    again = Backend(path, fast_settings(secret_key_file=str(keyfile)), clock)  # and it stays that way
    assert again.ctx.secret("receipt_secret") == bytes.fromhex(legacy_receipt)
    again.close()


def test_a_key_file_readable_by_others_is_refused(tmp_path, clock):
    keyfile = tmp_path / "keys.json"
    Backend(tmp_path / "a.sqlite3", fast_settings(secret_key_file=str(keyfile)), clock).close()
    keyfile.chmod(0o644)
    with pytest.raises(keys.KeyFileError) as err:
        Backend(tmp_path / "a.sqlite3", fast_settings(secret_key_file=str(keyfile)), clock)
    assert "chmod 600" in err.value.message


def test_many_databases_created_at_once_keep_every_key(tmp_path, clock):
    keyfile = tmp_path / "keys.json"
    made, errors = [], []

    def open_one(i):
        try:
            b = Backend(tmp_path / f"db{i}.sqlite3", fast_settings(secret_key_file=str(keyfile)), clock)
            made.append((b.db.get_meta("database_id"), b.ctx.secret("receipt_secret")))
            b.close()
        except Exception as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    threads = [threading.Thread(target=open_one, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    stored = json.loads(keyfile.read_text())["databases"]
    assert {db_id: bytes.fromhex(stored[db_id]["receipt_secret"]) for db_id in stored} == dict(made)


# -- codes at rest -----------------------------------------------------------------------------------
@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_outbox_masks_a_code_once_used(backend):
    start = backend.auth.start_affiliation("cedula", unaffiliated_cedula())
    code = last_code(backend)
    backend.auth.verify_affiliation_code(start.challenge.id, code)
    body = backend.outbox(last=1)[-1].body
    assert code not in body and redaction.MASK in body
    assert backend.db.conn.execute("SELECT COUNT(*) FROM outbox WHERE body LIKE ?", (f"%{code}%",)).fetchone()[0] == 0


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_outbox_masks_a_code_once_expired(backend, clock):
    backend.auth.start_affiliation("cedula", unaffiliated_cedula())
    code = last_code(backend)
    clock.advance(seconds=backend.settings.otp_ttl_seconds - 1)
    assert code in backend.outbox(last=1)[-1].body  # still usable: still readable
    clock.advance(seconds=1)
    assert code not in backend.outbox(last=1)[-1].body
    assert backend.db.conn.execute("SELECT COUNT(*) FROM outbox WHERE body LIKE ?", (f"%{code}%",)).fetchone()[0] == 0


# -- the guessing budget -----------------------------------------------------------------------------
def _wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def _verify(backend, member_id, challenge, code, n):
    return backend.otp.verify_then(challenge.id, code, member_id=member_id, purpose="transferencia",
                                   details={"n": n}, actor="demo", then=lambda conn: "hecho")


def test_a_busy_morning_is_not_blocked(make_backend, clock, lucia):
    """Use costs nothing: 30 codes used in 8 minutes, 5 given up, one typed wrong three times then a new one."""
    backend = make_backend()
    for n in range(30):
        challenge = backend.otp.issue(lucia.member_id, "transferencia", {"n": n}, "demo")
        clock.advance(seconds=16)
        if n % 6 == 5:
            continue  # cancelled at the code dialog (Esc): the code is never used
        if n == 10:
            for _ in range(3):
                with pytest.raises(OtpError):
                    _verify(backend, lucia.member_id, challenge, _wrong(last_code(backend)), n)
            challenge = backend.otp.issue(lucia.member_id, "transferencia", {"n": n}, "demo")
        assert _verify(backend, lucia.member_id, challenge, last_code(backend), n) == "hecho"


@pytest.mark.sqlite_only(covered=True)
def test_codes_sent_and_not_used_are_limited_and_the_refusal_says_when(make_backend, clock, lucia):
    backend = make_backend(otp_window_seconds=900, otp_max_per_window=4)
    first = clock.now()
    for n in range(4):
        backend.otp.issue(lucia.member_id, "transferencia", {"n": n}, "demo")
        clock.advance(seconds=30)
    with pytest.raises(OtpError) as err:
        backend.otp.issue(lucia.member_id, "transferencia", {}, "demo")
    retry = first + timedelta(minutes=15)
    assert err.value.code == "otp_rate" and f"Podrás pedir otro a las {retry:%H:%M}." in err.value.message
    clock.advance(seconds=(retry - clock.now()).total_seconds() - 1)
    with pytest.raises(OtpError):
        backend.otp.issue(lucia.member_id, "transferencia", {}, "demo")
    clock.advance(seconds=2)  # the oldest left the window: one more, not four
    backend.otp.issue(lucia.member_id, "transferencia", {}, "demo")
    with pytest.raises(OtpError):
        backend.otp.issue(lucia.member_id, "transferencia", {}, "demo")


@pytest.mark.sqlite_only(covered=True)
def test_wrong_codes_are_limited_per_day_even_between_codes_used(make_backend, clock, lucia):
    """Guessing between right answers: each code gets two wrong tries, then the member's own right one."""
    backend = make_backend(otp_max_failures_per_day=6)
    first = clock.now()
    for n in range(3):
        challenge = backend.otp.issue(lucia.member_id, "transferencia", {"n": n}, "demo")
        code = last_code(backend)
        for _ in range(2):
            with pytest.raises(OtpError):
                _verify(backend, lucia.member_id, challenge, _wrong(code), n)
        assert _verify(backend, lucia.member_id, challenge, code, n) == "hecho"
        clock.advance(minutes=20)
    with pytest.raises(OtpError) as err:
        backend.otp.issue(lucia.member_id, "transferencia", {}, "demo")
    assert "incorrectos hoy" in err.value.message
    assert f"el {first + timedelta(days=1):%d/%m/%Y a las %H:%M}" in err.value.message
    clock.advance(seconds=(first + timedelta(days=1) - clock.now()).total_seconds() + 1)
    backend.otp.issue(lucia.member_id, "transferencia", {}, "demo")


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_affiliation_codes_per_cedula_are_capped_per_day(make_backend, clock):
    backend = make_backend(affiliation_max_per_day=2)
    backend.auth.start_affiliation("cedula", unaffiliated_cedula())
    backend.auth.start_affiliation("cedula", unaffiliated_cedula())
    with pytest.raises(OtpError) as err:
        backend.auth.start_affiliation("cedula", unaffiliated_cedula())
    assert err.value.code == "otp_rate"
    clock.advance(days=1, seconds=1)
    backend.auth.start_affiliation("cedula", unaffiliated_cedula())


# -- who exists ----------------------------------------------------------------------------------------
@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_sign_in_does_the_same_work_for_everyone(backend, monkeypatch):
    from backend.security import auth as auth_module

    costs = []
    real = auth_module.verify_password

    def counted(password, stored):
        costs.append(stored.split("$")[1])
        return real(password, stored)

    monkeypatch.setattr(auth_module, "verify_password", counted)
    answers = {}
    for label, username in (("unknown", "nadie.aqui"), ("hostile", "\x1b[2J"), ("known", "demo")):
        costs.clear()
        with pytest.raises(AuthError) as err:
            backend.auth.login(username, "Mala-clave1")
        answers[label] = (type(err.value), err.value.code, err.value.message)
        assert len(costs) == 1, label
    for _ in range(backend.settings.max_failed_logins):
        with pytest.raises(AuthError):
            backend.auth.login("demo", "Mala-clave1")
    costs.clear()
    with pytest.raises(AuthError) as err:
        backend.auth.login("demo", "Mala-clave2")  # locked now
    answers["locked"] = (type(err.value), err.value.code, err.value.message)
    assert len(costs) == 1
    stored_cost = backend.db.conn.execute("SELECT password_hash FROM users WHERE username = 'demo'").fetchone()[0]
    assert costs == [stored_cost.split("$")[1]]
    assert len(set(answers.values())) == 1, answers
    with pytest.raises(AuthError) as err:  # the right password too: the lock confirms no guess
        backend.auth.login("demo", "Demo-2026!")
    assert (type(err.value), err.value.code, err.value.message) in answers.values()


@pytest.mark.sqlite_only(covered=True)
def test_affiliation_answers_are_indistinguishable(backend):
    add_member(backend, cedula="0926687856", mobile=None)
    seen = set()
    for number in ("1714616123", demo_cedula(), "0926687856"):
        with pytest.raises(ValidationError) as err:
            backend.auth.start_affiliation("cedula", number)
        seen.add((err.value.code, err.value.field, err.value.message))
    assert len(seen) == 1


# -- private exports --------------------------------------------------------------------------------------
def test_two_exports_in_the_same_second_both_succeed_privately(backend, lucia, tmp_path):
    account = lucia.accounts[0]
    first = backend.products.export_csv(lucia.token, account, MovementFilter(), str(tmp_path))
    second = backend.products.export_csv(lucia.token, account, MovementFilter(), str(tmp_path))
    assert first.path != second.path
    for export in (first, second):
        assert stat.S_IMODE(os.stat(export.path).st_mode) == 0o600
        assert Path(export.path).read_text(encoding="utf-8").startswith("Fecha,Hora")


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_export_never_follows_a_planted_symlink(backend, lucia, tmp_path, monkeypatch):
    import secrets as secrets_module

    target = tmp_path / "victima.txt"
    target.write_text("no tocar")
    number = backend.db.conn.execute("SELECT number FROM accounts WHERE id = ?", (lucia.accounts[0],)).fetchone()[0]
    stamp = backend.now().strftime("%Y%m%d-%H%M%S")
    names = iter(["aaaaaa", "bbbbbb"])
    monkeypatch.setattr(secrets_module, "token_hex", lambda n: next(names))
    (tmp_path / f"movimientos-{number}-{stamp}-aaaaaa.csv").symlink_to(target)
    export = backend.products.export_csv(lucia.token, lucia.accounts[0], MovementFilter(), str(tmp_path))
    assert export.path.endswith("-bbbbbb.csv") and target.read_text() == "no tocar"
