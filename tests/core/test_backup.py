"""Backups (issue #20): a consistent copy while the co-op keeps writing, the key file kept apart with its
fingerprint in a manifest, a restore that refuses other keys, and a kill -9 that never costs the previous backup."""

import json
import os
import shutil
import signal
import sqlite3
import stat
import threading
import time
from pathlib import Path

import pytest

from backend.core import backup, keys
from backend.core.ledger import Leg, post
from backend.service import Backend
from cooprogreso_tui import cli
from tests import fork_server
from tests.conftest import fast_settings

BACKUP_UNTIL = Path(__file__).resolve().parent / "backup_until.py"


def key_file() -> Path:
    return Path(os.environ["COOPROGRESO_SECRET_KEY_FILE"])


def empty_target(engine, request, tmp_path, name="restaurada"):
    if engine == "postgresql":
        server = request.getfixturevalue("pg_server")
        db = server.fresh_database(name)
        request.addfinalizer(lambda: server.drop_later(db))
        return server.url(db)
    return str(tmp_path / f"{name}.sqlite3")


def keep_writing(db_path, clock, account: int, stop: threading.Event, done: list[int]) -> None:
    """A member session's writes, one small entry after another, while the backup runs."""
    from backend.core import accounts

    writer = Backend(db_path, fast_settings(), clock)
    try:
        while not stop.is_set():
            with writer.db.write() as conn:
                caja = accounts.internal_account(conn, "caja")
                post(conn, kind="retiro", description="Retiro", posted_at="2026-11-25 10:00:00", actor="t",
                     legs=[Leg(account, -1, "Retiro"), Leg(caja, 1, "Retiro")])
            done.append(1)
    finally:
        writer.close()


def test_a_backup_taken_while_the_coop_writes_restores_and_checks(backend, db_path, engine, lucia, clock, tmp_path,
                                                                  request, capsys):
    stop, done = threading.Event(), []
    writer = threading.Thread(target=keep_writing, args=(db_path, clock, lucia.accounts[0], stop, done))
    writer.start()
    try:
        while len(done) < 5:
            time.sleep(0.01)
        to = tmp_path / "copias" / "cooprogreso.backup"
        to.parent.mkdir()
        assert cli.main(["backup", "--db", str(db_path), "--to", str(to)]) == 0
    finally:
        stop.set()
        writer.join()
    assert len(done) > 5  # the writer kept going during the backup
    out = capsys.readouterr().out
    fingerprint = backend.db.get_meta(keys.FINGERPRINT_META)
    assert fingerprint in out
    manifest = json.loads(backup.manifest_path(to).read_text())["backups"][0]
    assert manifest["key_fingerprint"] == fingerprint and manifest["engine"] == engine
    for made in (to, backup.manifest_path(to)):
        assert stat.S_IMODE(made.stat().st_mode) == 0o600
    raw = to.read_bytes()
    for secret in (backend.ctx.secret("otp_pepper"), backend.ctx.secret("receipt_secret")):
        assert secret not in raw and secret.hex().encode() not in raw  # the keys stay apart
    target = empty_target(engine, request, tmp_path)
    assert cli.main(["restore", "--from", str(to), "--db", target]) == 0
    assert cli.main(["check", "--db", target]) == 0
    restored = Backend(target if engine == "sqlite" else keys_target(target), fast_settings(), clock)
    try:
        assert restored.db.get_meta(keys.FINGERPRINT_META) == fingerprint
        assert restored.ctx.secret("otp_pepper") == backend.ctx.secret("otp_pepper")
    finally:
        restored.close()
    assert cli.main(["restore", "--from", str(to), "--db", target]) == 2  # never over an existing co-op


def keys_target(url: str):
    from backend.core.db import DatabaseUrl

    return DatabaseUrl(url)


def test_restore_refuses_other_keys_and_a_tampered_copy(backend, db_path, engine, tmp_path, request, monkeypatch,
                                                        capsys):
    to = tmp_path / "cooprogreso.backup"
    assert cli.main(["backup", "--db", str(db_path), "--to", str(to)]) == 0
    target = empty_target(engine, request, tmp_path)
    # The new server's key file is not the co-op's: refused, naming the backup's fingerprint; nothing written.
    other = tmp_path / "servidor-nuevo" / "keys.json"
    monkeypatch.setenv("COOPROGRESO_SECRET_KEY_FILE", str(other))
    capsys.readouterr()
    assert cli.main(["restore", "--from", str(to), "--db", target]) == 2
    err = capsys.readouterr().err
    assert backend.db.get_meta(keys.FINGERPRINT_META) in err and "no se restauró nada" in err
    assert not other.exists()
    if engine == "sqlite":
        assert not Path(target).exists()
    monkeypatch.undo()  # the co-op's own key file again
    # A byte changed in the copy: it no longer matches its manifest.
    with open(to, "r+b") as fh:
        fh.seek(200)
        byte = fh.read(1)
        fh.seek(200)
        fh.write(bytes([byte[0] ^ 1]))
    assert cli.main(["restore", "--from", str(to), "--db", target]) == 2
    assert "no coincide con su manifiesto" in capsys.readouterr().err
    backup.manifest_path(to).unlink()
    assert cli.main(["restore", "--from", str(to), "--db", target]) == 2
    assert "Falta el manifiesto" in capsys.readouterr().err


def test_a_backup_killed_at_any_step_leaves_a_whole_backup(backend, db_path, engine, lucia, tmp_path):
    first = tmp_path / "primera.backup"
    backup.take(db_path, first, taken_at="2026-11-25 09:00:00")
    previous = first.read_bytes()
    with backend.db.write() as conn:  # the co-op changes after the previous backup
        conn.execute("INSERT INTO meta (key, value) VALUES ('despues_de_la_copia', '1')")
    if engine == "sqlite":
        backend.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    steps = 4
    files = []
    for step in range(steps):
        folder = tmp_path / f"copia{step}"
        folder.mkdir()
        shutil.copy(first, folder / "cooprogreso.backup")
        shutil.copy(backup.manifest_path(first), backup.manifest_path(folder / "cooprogreso.backup"))
        files.append(folder / "cooprogreso.backup")
    out_dir = tmp_path / "copias"
    out_dir.mkdir()
    procs = fork_server.start_scripts(BACKUP_UNTIL, out_dir,
                                      [[str(db_path), str(to), str(step)] for step, to in enumerate(files)])
    deadline = time.monotonic() + 60
    for step in range(steps):
        out_file = out_dir / f"{step}.out"
        while "PAUSA" not in (out := out_file.read_text() if out_file.exists() else ""):
            assert time.monotonic() < deadline, (out_dir / f"{step}.err").read_text()[-2000:]
            time.sleep(0.05)
        os.kill(int(out.split()[1]), signal.SIGKILL)
    for proc in procs:
        proc.wait(60)
    newer = []
    for to in files:
        found = backup.inspect(to)  # whole and listed in its manifest, whichever it is
        newer.append(to.read_bytes() != previous)
        assert found.fingerprint == backend.db.get_meta(keys.FINGERPRINT_META)
    assert newer == [False, False, False, True]  # the rename over FILE is the one moment it changes


def test_a_pg_url_is_never_put_on_a_command_line():
    env = backup._pg_env("postgresql://cajero:s3creta@db.example:5433/coop?sslmode=require")
    assert env["PGPASSWORD"] == "s3creta" and env["PGHOST"] == "db.example" and env["PGDATABASE"] == "coop"
    with pytest.raises(backup.BackupError):
        backup._pg_env("postgresql:///coop?options=-c%20search_path%3Dotro")


@pytest.mark.parametrize("step", ["backup", "restore"])
def test_pg_dump_and_pg_restore_get_the_url_password_not_the_masked_one(step, engine, db_path, request, tmp_path,
                                                                        monkeypatch):
    """The CLI hands backup/restore a DatabaseUrl, whose str() prints its password as ***: the tools must get
    the real one (the test server trusts local sockets, so the password is only checked by the fake tool)."""
    if engine != "postgresql":
        pytest.skip("PostgreSQL only")
    from backend.core.db import DatabaseUrl

    to = tmp_path / "copia.backup"
    if step == "restore":
        backup.take(db_path, to, taken_at="2026-11-25 10:00:00")  # with the real pg_dump
    tools = tmp_path / "bin"
    tools.mkdir()
    seen = tmp_path / "password-seen"
    for tool in ("pg_dump", "pg_restore"):
        (tools / tool).write_text(f'#!/bin/sh\nprintf %s "$PGPASSWORD" > "{seen}"\nexit 1\n')
        (tools / tool).chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")

    def with_password(url: str) -> DatabaseUrl:
        return DatabaseUrl(url.replace("postgresql://", "postgresql://postgres:s3creta@", 1))

    if step == "backup":
        with pytest.raises(backup.BackupError, match="pg_dump falló"):
            backup.take(with_password(db_path.url), to, taken_at="2026-11-25 10:00:00")
    else:
        with pytest.raises(backup.BackupError, match="pg_restore falló"):
            backup.restore(to, with_password(empty_target(engine, request, tmp_path)), key_file())
    assert seen.read_text() == "s3creta"


def test_restore_needs_the_engine_it_was_taken_on(backend, db_path, engine, tmp_path, request):
    to = tmp_path / "cooprogreso.backup"
    backup.take(db_path, to, taken_at="2026-11-25 10:00:00")
    other = "postgresql" if engine == "sqlite" else "sqlite"
    if other == "postgresql":
        if not os.environ.get("COOPROGRESO_TEST_PG_URL"):
            pytest.skip("needs PostgreSQL")
        server = request.getfixturevalue("pg_server")
        name = server.fresh_database("otro")
        request.addfinalizer(lambda: server.drop_later(name))
        target = keys_target(server.url(name))
    else:
        target = tmp_path / "archivo.sqlite3"
    with pytest.raises(backup.BackupError):
        backup.restore(to, target, key_file())
    if other == "sqlite":
        assert not Path(target).exists()


def test_only_a_wal_file_at_rest_is_read_as_immutable(tmp_path):
    """A backup from a folder it cannot write reads the file as `immutable` (no shared-memory file can be made), which
    ignores locks and journals: only a write-ahead-log file with no log nor rollback journal beside it qualifies.
    A rollback-journal file (a restored backup, an old file), or one whose journal was left by a crashed writer,
    opens plain read-only, which refuses rather than copy half-written pages as committed."""
    from backend.core.backup import _wal_file_at_rest

    path = tmp_path / "b.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    assert _wal_file_at_rest(path)
    journal = tmp_path / "b.sqlite3-journal"
    journal.write_bytes(b"\0" * 512)
    assert not _wal_file_at_rest(path)
    journal.unlink()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    assert not _wal_file_at_rest(path)
    assert not _wal_file_at_rest(tmp_path / "absent.sqlite3")
