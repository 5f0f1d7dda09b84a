"""Keys that cannot be swapped (issue #20): a database opens only with its own key file, and `keys rotate`
re-seals every secret so that a kill -9 at any step leaves the old keys or the new ones working, never a mix."""

import json
import os
import shutil
import signal
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from backend.security import card_numbers
from backend.core import keys
from backend.security import staff_secrets
from backend.security.receipts import render, verify
from backend.service import Backend, rotate_keys
from cooprogreso_tui import cli
from tests.cards.test_card_payments import VISA, _register_visa
from tests import fork_server
from tests.conftest import fast_settings
from tests.staff_helpers import enrol, sign_in

ROTATE_UNTIL = Path(__file__).resolve().parent / "rotate_until.py"


def key_file() -> Path:
    return Path(os.environ["COOPROGRESO_SECRET_KEY_FILE"])


def meta(backend) -> dict:
    return {r[0]: r[1] for r in backend.db.conn.execute("SELECT key, value FROM meta").fetchall()}


@pytest.mark.parametrize("key_length", [0, 1, 32, 63, 64, 65, 200])
def test_the_fingerprint_s_hmac_is_the_standard_one(key_length):
    """keys.hmac_sha256 (built-in SHA-256, no OpenSSL at start-up) gives hmac's digest for every key length: a
    different one would refuse every existing database's key file as not its own."""
    import hashlib
    import hmac

    for message in (b"", b"cooprogreso key fingerprint v1", os.urandom(300)):
        key = os.urandom(key_length)
        assert keys.hmac_sha256(key, message) == hmac.new(key, message, hashlib.sha256).hexdigest()
    entry = {"otp_pepper": "11" * 32, "receipt_secret": "22" * 32}
    expected = hmac.new(bytes.fromhex(entry["otp_pepper"] + entry["receipt_secret"]),
                        b"cooprogreso key fingerprint v1", hashlib.sha256).hexdigest()[:16].upper()
    assert keys.fingerprint(entry) == "-".join(expected[i:i + 4] for i in range(0, 16, 4))


def test_a_database_opens_only_with_its_own_key_file(backend, db_path, tmp_path, clock):
    recorded = backend.db.get_meta(keys.FINGERPRINT_META)
    assert recorded and recorded == keys.fingerprint(json.loads(key_file().read_text())["databases"][
        backend.db.get_meta("database_id")])
    before = meta(backend)
    # A typo in the setting: the file does not exist. Refused, naming the expected fingerprint; no file is made.
    typo = tmp_path / "conf" / "kyes.json"
    with pytest.raises(keys.KeyFileError) as err:
        Backend(db_path, fast_settings(secret_key_file=str(typo)), clock)
    assert recorded in err.value.message and "no se modificó nada" in err.value.message
    assert not typo.exists() and not typo.parent.exists()
    # Another server's key file holding other keys under this database's id: refused, and both named.
    other = tmp_path / "otro.json"
    store = json.loads(key_file().read_text())
    store["databases"][backend.db.get_meta("database_id")] = {name: "ee" * 32 for name in keys.KEY_NAMES}
    other.write_text(json.dumps(store))
    other.chmod(0o600)
    written = other.read_bytes()
    with pytest.raises(keys.KeyFileError) as err:
        Backend(db_path, fast_settings(secret_key_file=str(other)), clock)
    assert recorded in err.value.message
    assert keys.fingerprint(store["databases"][backend.db.get_meta("database_id")]) in err.value.message
    assert other.read_bytes() == written and meta(backend) == before


def test_the_cli_refuses_a_wrong_key_file_in_one_line(backend, db_path, tmp_path, monkeypatch, capsys):
    backend.close()
    monkeypatch.setenv("COOPROGRESO_SECRET_KEY_FILE", str(tmp_path / "typo.json"))
    assert cli.main(["check", "--db", str(db_path)]) == 2
    err = capsys.readouterr().err
    assert "no es el de esta base de datos" in err and "Traceback" not in err
    assert not (tmp_path / "typo.json").exists()


def test_a_database_from_before_fingerprints_records_its_own_once(backend, db_path, tmp_path, clock):
    expected = backend.db.get_meta(keys.FINGERPRINT_META)
    with backend.db.write() as conn:  # as the previous version left it
        conn.execute("DELETE FROM meta WHERE key = ?", (keys.FINGERPRINT_META,))
    backend.close()
    # With its keys missing it is refused all the same: it holds staff secrets and operations sealed by them.
    missing = tmp_path / "nuevo" / "keys.json"
    with pytest.raises(keys.KeyFileError):
        Backend(db_path, fast_settings(secret_key_file=str(missing)), clock)
    assert not missing.exists()
    again = Backend(db_path, fast_settings(), clock)
    assert again.db.get_meta(keys.FINGERPRINT_META) == expected
    again.close()
    with pytest.raises(keys.KeyFileError):
        Backend(db_path, fast_settings(secret_key_file=str(missing)), clock)


def sealed_things(backend, lucia):
    """A staff secret, a card number of another bank and a receipt, all under the keys in use now."""
    staff = enrol(backend, "rotacion1", "cajero", "Rosa Quispe", "0901234567")
    _register_visa(backend, lucia)
    receipt = render(backend.ctx.secret("receipt_secret"), ["COOPROGRESO", "Monto: $5.00"])
    backend.auth.logout(lucia.token)  # a rotation is refused while a session is open
    return staff, receipt


def assert_readable(backend, lucia, staff, receipt) -> None:
    """Every secret opens under the keys the database now names; the old receipt still verifies."""
    pepper = backend.ctx.secret("otp_pepper")
    stored = backend.db.conn.execute("SELECT totp_secret FROM staff_users WHERE username = ?",
                                     (staff.username,)).fetchone()[0]
    assert staff_secrets.unseal(pepper, staff.username, stored) == staff.secret
    cards = backend.db.conn.execute("SELECT r.number, r.user_id FROM registered_cards r JOIN users u"
                                    " ON u.id = r.user_id WHERE u.member_id = ? AND r.number IS NOT NULL",
                                    (lucia.member_id,)).fetchall()
    assert cards
    for number, owner in cards:
        assert card_numbers.unseal(card_numbers.number_key(pepper), number, owner=owner,
                                   place=card_numbers.REGISTERED) == VISA
    assert any(verify(secret, receipt) for secret in backend.ctx.receipt_secrets())
    assert backend.check() == []


def own_key_file(tmp_path, monkeypatch) -> Path:
    """A copy of the run's key file for this test alone: the template databases' copies share one entry."""
    private = tmp_path / "propias" / "keys.json"
    private.parent.mkdir(mode=0o700)
    shutil.copy(key_file(), private)
    monkeypatch.setenv("COOPROGRESO_SECRET_KEY_FILE", str(private))
    return private


def test_rotate_reseals_every_secret_and_old_receipts_still_verify(backend, db_path, lucia, clock, tmp_path,
                                                                     capsys, monkeypatch):
    staff, receipt = sealed_things(backend, lucia)
    old_pepper, old_fingerprint = backend.ctx.secret("otp_pepper"), backend.db.get_meta(keys.FINGERPRINT_META)
    backend.close()
    own_key_file(tmp_path, monkeypatch)
    assert cli.main(["keys", "rotate", "--db", str(db_path)]) == 0
    assert "Claves rotadas" in capsys.readouterr().out
    after = Backend(db_path, fast_settings(), clock)
    try:
        assert after.db.get_meta(keys.FINGERPRINT_META) not in (None, old_fingerprint)
        assert after.ctx.secret("otp_pepper") != old_pepper
        assert_readable(after, lucia, staff, receipt)
        assert not verify(after.ctx.secret("receipt_secret"), receipt)  # signed with the old key, kept to verify
        stored = after.db.conn.execute("SELECT totp_secret FROM staff_users WHERE username = ?",
                                       (staff.username,)).fetchone()[0]
        with pytest.raises(staff_secrets.SealedSecretError):  # the old key no longer opens anything
            staff_secrets.unseal(old_pepper, staff.username, stored)
        entry = json.loads(key_file().read_text())["databases"][after.db.get_meta("database_id")]
        assert "pending" not in entry and old_pepper.hex() not in json.dumps(
            {k: v for k, v in entry.items() if k != "pan_pepper"})
    finally:
        after.close()
    path = tmp_path / "recibo.txt"
    path.write_text(receipt)
    assert cli.main(["verify-receipt", str(path), "--db", str(db_path)]) == 0


def _copies(db_path, pg_server, count: int, tmp_path) -> list[tuple[str, Path]]:
    """`count` copies of the database, each with its own copy of the key file."""
    out = []
    for i in range(count):
        keyfile = tmp_path / f"keys{i}" / "keys.json"
        keyfile.parent.mkdir(mode=0o700)
        shutil.copy(key_file(), keyfile)
        if pg_server is None:
            target = tmp_path / f"copia{i}.sqlite3"
            shutil.copy(db_path, target)
            out.append((str(target), keyfile))
        else:
            name = pg_server.fresh_database("rot", template=urlsplit(str(db_path)).path.lstrip("/"))
            out.append((pg_server.url(name), keyfile))
    return out


def test_a_rotation_killed_at_any_step_leaves_one_whole_set_of_keys(backend, db_path, engine, lucia, clock,
                                                                    tmp_path, request):
    staff, receipt = sealed_things(backend, lucia)
    old_fingerprint = backend.db.get_meta(keys.FINGERPRINT_META)
    if engine == "sqlite":
        backend.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    backend.close()
    pg_server = request.getfixturevalue("pg_server") if engine == "postgresql" else None
    steps = 6
    copies = _copies(db_path, pg_server, steps, tmp_path)
    out_dir = tmp_path / "rotations"
    out_dir.mkdir()
    procs = fork_server.start_scripts(ROTATE_UNTIL, out_dir,
                                      [[target, str(keyfile), str(step)] for step, (target, keyfile) in enumerate(copies)])
    deadline = time.monotonic() + 60
    for step in range(steps):  # each child stops itself at its step: kill -9 it there
        while "PAUSA" not in (out := (out_dir / f"{step}.out").read_text() if (out_dir / f"{step}.out").exists()
                              else ""):
            assert time.monotonic() < deadline, (out_dir / f"{step}.err").read_text()[-2000:]
            time.sleep(0.05)
        os.kill(int(out.split()[1]), signal.SIGKILL)
    for proc in procs:
        proc.wait(60)
    fingerprints = []
    for target, keyfile in copies:
        opened = Backend(target if pg_server is None else pg_server.target(urlsplit(target).path.lstrip("/")),
                         fast_settings(secret_key_file=str(keyfile)), clock)
        try:
            fingerprints.append(opened.db.get_meta(keys.FINGERPRINT_META) != old_fingerprint)
            assert_readable(opened, lucia, staff, receipt)
            rotate_keys(opened)  # a rotation run again after the kill completes
        finally:
            opened.close()
        again = Backend(target if pg_server is None else pg_server.target(urlsplit(target).path.lstrip("/")),
                        fast_settings(secret_key_file=str(keyfile)), clock)
        try:
            assert_readable(again, lucia, staff, receipt)
            assert "pending" not in json.loads(keyfile.read_text())["databases"][again.db.get_meta("database_id")]
        finally:
            again.close()
        if pg_server is not None:
            pg_server.drop_later(urlsplit(target).path.lstrip("/"))
    # killed before the commit: still the old keys; after it: the new ones
    assert fingerprints == [False, False, False, True, True, True]


def test_two_rotations_at_once_leave_one_set_of_keys(backend, db_path, lucia, clock, tmp_path, monkeypatch):
    import threading

    staff, receipt = sealed_things(backend, lucia)
    backend.close()
    own_key_file(tmp_path, monkeypatch)
    rotators = [Backend(db_path, fast_settings(secret_key_file=os.environ["COOPROGRESO_SECRET_KEY_FILE"]), clock)
                for _ in range(2)]
    errors = []

    def rotate(b):
        try:
            rotate_keys(b)
        except Exception as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    threads = [threading.Thread(target=rotate, args=(b,)) for b in rotators]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for b in rotators:
        b.close()
    assert not errors
    after = Backend(db_path, fast_settings(secret_key_file=os.environ["COOPROGRESO_SECRET_KEY_FILE"]), clock)
    try:
        assert_readable(after, lucia, staff, receipt)
        rows = after.db.conn.execute("SELECT COUNT(*) FROM audit_log WHERE action = 'claves.rotadas'").fetchone()[0]
        assert rows == 2
    finally:
        after.close()


def _older_database(path: Path, version: int, key_path: Path) -> str:
    """A database as an older version of the program left it (schema `version`), its keys filed in key_path
    and their fingerprint recorded; returns its key entry's fingerprint."""
    import sqlite3

    from backend.core.db import for_engine, statements
    from backend.core.schema import MIGRATIONS

    entry = {name: os.urandom(32).hex() for name in keys.KEY_NAMES}
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")  # as the program leaves every file
    for migration in MIGRATIONS[:version]:
        for statement in for_engine(statements(migration), "sqlite"):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                     [("database_id", "ab12" * 8), (keys.FINGERPRINT_META, keys.fingerprint(entry))])
    conn.close()
    key_path.write_text(json.dumps({"version": 1, "databases": {"ab12" * 8: entry}}))
    key_path.chmod(0o600)
    return keys.fingerprint(entry)


def test_an_older_database_is_not_migrated_with_a_wrong_key_file(tmp_path, clock, monkeypatch, capsys):
    """The key file is checked before the migrations run: with another file the old database keeps its schema
    and every byte, and the refusal names the expected fingerprint; with its own file it migrates and opens."""
    import hashlib

    from backend.core.schema import SCHEMA_VERSION

    old, own = tmp_path / "antigua.db", tmp_path / "propias.json"
    expected = _older_database(old, SCHEMA_VERSION - 5, own)
    digest = hashlib.sha256(old.read_bytes()).hexdigest()
    other = tmp_path / "otras.json"
    other.write_text(json.dumps({"version": 1, "databases": {"ab12" * 8: {n: "ee" * 32 for n in keys.KEY_NAMES}}}))
    other.chmod(0o600)
    for wrong in (other, tmp_path / "typo" / "keys.json"):
        with pytest.raises(keys.KeyFileError) as err:
            Backend(old, fast_settings(secret_key_file=str(wrong)), clock)
        assert expected in err.value.message and "no se modificó nada" in err.value.message
        assert hashlib.sha256(old.read_bytes()).hexdigest() == digest
        assert not (tmp_path / "antigua.db-wal").exists() or not (tmp_path / "antigua.db-wal").stat().st_size
    assert not (tmp_path / "typo").exists()
    monkeypatch.setenv("COOPROGRESO_SECRET_KEY_FILE", str(other))  # `cooprogreso migrate` checks it too
    assert cli.main(["migrate", "--db", str(old)]) == 2
    assert expected in capsys.readouterr().err
    assert hashlib.sha256(old.read_bytes()).hexdigest() == digest
    opened = Backend(old, fast_settings(secret_key_file=str(own)), clock)
    try:
        assert opened.db.schema_version() == SCHEMA_VERSION
        assert opened.db.get_meta(keys.FINGERPRINT_META) == expected
    finally:
        opened.close()


def test_rotate_is_refused_while_the_worker_or_a_session_is_running(backend, db_path, lucia, clock, tmp_path,
                                                                   monkeypatch, capsys):
    """A process holding the old keys would go on sealing with them: `keys rotate` refuses, saying why, while
    the worker's lease is live or a member or staff session is open, and changes nothing; a session left idle
    past the sign-out (an app that died) does not hold it back."""
    from backend.core.worker_lease import Lease

    staff = enrol(backend, "rotacion2", "supervisor", "Hugo Torres", "0904567898")
    sign_in(backend, staff, clock)
    lease = Lease(backend.db, 30, "sucursal:4242:abc")
    assert lease.hold()
    before = backend.db.get_meta(keys.FINGERPRINT_META)
    private = own_key_file(tmp_path, monkeypatch)
    written = private.read_bytes()

    def refused() -> str:
        assert cli.main(["keys", "rotate", "--db", str(db_path)]) == 2
        err = capsys.readouterr().err
        assert "No se rotaron las claves" in err and "no se modificó nada" in err and "Traceback" not in err
        assert backend.db.get_meta(keys.FINGERPRINT_META) == before and private.read_bytes() == written
        return err

    err = refused()
    assert "proceso de fondo está activo (sucursal:4242:abc)" in err
    assert "1 sesión abierta de socios" in err and "1 sesión abierta del personal" in err
    with pytest.raises(keys.KeyFileError, match="proceso de fondo"):  # the service itself, not only the CLI
        rotate_keys(backend)
    assert lease.release()
    backend.auth.logout(lucia.token)
    err = refused()
    assert "del personal" in err and "socios" not in err
    clock.advance(seconds=fast_settings().staff_idle_seconds + 1)  # the staff app died: its session idled out
    assert cli.main(["keys", "rotate", "--db", str(db_path)]) == 0
    assert backend.db.get_meta(keys.FINGERPRINT_META) != before
