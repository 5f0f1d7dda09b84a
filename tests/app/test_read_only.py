"""The co-op's database on a read-only disk (a disk remounted read-only after an error, a recovery copy, an
auditor's snapshot), made here by a read-only bind mount in a mount namespace of its own (`unshare -m`: nothing
outside the test sees it): every command says why in Spanish, in one line, never a traceback nor the OS's
English, and changes nothing; a backup, which only reads, still works."""

import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ENGLISH = ("No such file", "Permission denied", "Read-only file system", "unable to open", "readonly database",
           "Errno", "Traceback", "inesperado")

PROBE = r"""
import contextlib, io, json, os, signal, subprocess, sys
from cooprogreso_tui.cli import main

folder, runs = sys.argv[1], json.loads(sys.argv[2])
mounted = subprocess.run(["mount", "--bind", "-o", "ro", folder, folder], capture_output=True)
if mounted.returncode or os.access(folder, os.W_OK):
    print(json.dumps("no-mount"))
    sys.exit(0)
out = []
for argv in runs:
    err, std = io.StringIO(), io.StringIO()
    signal.alarm(20)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(std):
            code = main(argv)
    except BaseException as exc:
        code = repr(exc)
    signal.alarm(0)
    out.append((argv, code, err.getvalue(), std.getvalue()))
print(json.dumps(out))
"""


def _on_read_only_disk(folder: Path, runs: list[list[str]], cwd: Path) -> list:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("a read-only mount needs root and unshare(1)")
    done = subprocess.run(["unshare", "-m", sys.executable, "-c", PROBE, str(folder), json.dumps(runs)],
                          capture_output=True, text=True, timeout=300, cwd=cwd)
    if done.returncode and "unshare" in done.stderr:
        pytest.skip(f"no mount namespace here: {done.stderr.strip()[-200:]}")
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout)
    if results == "no-mount":
        pytest.skip("this machine refuses a read-only bind mount")
    return results


@pytest.mark.sqlite_only  # about files
def test_on_a_read_only_disk_the_commands_that_read_work_and_the_others_say_why_in_spanish(tmp_path, db_path, capsys):
    """A backup mounted read-only, as an auditor gets it: check, audit, outbox, verify and status answer as on the
    original (check's words the same as a writable run's), every command that writes refuses in one Spanish line,
    a backup (which only reads) still works, and not a byte nor a file changes."""
    from cooprogreso_tui.cli import main

    folder = tmp_path / "solo-lectura"
    folder.mkdir()
    db = folder / "coop.sqlite3"
    shutil.copy(db_path, db)
    db.chmod(0o444)  # a copy for auditing: the mount alone does not say nobody writes it elsewhere (bind mounts)
    writable = tmp_path / "escritura" / "coop.sqlite3"
    writable.parent.mkdir()
    shutil.copy(db_path, writable)
    receipt = tmp_path / "comprobante.txt"
    receipt.write_text("Comprobante\n\nCódigo de verificación: X\n", encoding="utf-8")
    saved = tmp_path / "copias"
    saved.mkdir()
    reads = [["check", "--db", str(db)], ["outbox", "--db", str(db)], ["audit", "--db", str(db), "--last", "400"]]
    expected = []
    for argv in reads:
        capsys.readouterr()
        assert main([argv[0], "--db", str(writable), *argv[3:]]) == 0
        expected.append(capsys.readouterr().out.replace(str(writable), str(db)))
    refused = [["staff", "list", "--db", str(db)], ["settle", "--db", str(db)], ["end-of-day", "--db", str(db)],
               ["migrate", "--db", str(db)], ["--db", str(db)], ["institutions", "--db", str(db), "--load", str(receipt)],
               ["backup", "--db", str(db), "--to", str(folder / "copia.backup")]]
    works = [["backup", "--db", str(db), "--to", str(saved / "copia.backup")]]
    before = sorted(p.name for p in folder.iterdir()), db.read_bytes(), db.stat().st_mtime_ns
    results = _on_read_only_disk(folder, [*reads, ["verify-receipt", "--db", str(db), str(receipt)], *refused, *works,
                                          ["status", "--db", str(db)]], tmp_path)
    for (argv, code, err, out), want in zip(results, expected):
        assert (code, err, out) == (0, "", want), argv
    assert "Contabilidad cuadrada" in expected[0] and expected[2].count("\n") > 50  # the same, and not nothing
    argv, code, err, out = results[len(reads)]
    assert code == 1 and err == "" and "ALTERADO" in out, (argv, code, err, out)  # read, compared, said
    for argv, code, err, out in results[len(reads) + 1:-2]:
        lines = [line for line in err.splitlines() if line.strip()]
        assert code == 2 and len(lines) == 1 and out == "", (argv, code, err, out)
        assert not any(word in err for word in ENGLISH), (argv, err)
        assert "solo lectura" in err, (argv, err)
    argv, code, err, out = results[-2]
    assert code == 0 and "Copia lista" in out, (argv, code, err, out)
    from backend.core import backup

    copy = backup.inspect(saved / "copia.backup")  # whole, and listed in its manifest
    assert copy.engine == "sqlite" and copy.fingerprint
    argv, code, err, out = results[-1]  # read through, and critical: the app cannot work on it
    assert code == 2 and "base: Base de datos de solo lectura" in out and "esquema: Esquema" in out, (out, err)
    assert "claves: El archivo de claves corresponde" in out and not any(word in out + err for word in ENGLISH)
    assert (sorted(p.name for p in folder.iterdir()), db.read_bytes(), db.stat().st_mtime_ns) == before


@pytest.mark.sqlite_only  # about files
def test_an_account_without_write_rights_is_told_so_and_can_still_back_up(db_path, tmp_path):
    """The database as another account sees it (a backup account with read rights only): `check` says why in
    one Spanish line; a backup into that account's own folder works; nothing is written beside the database."""
    import tempfile

    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("running as another account needs root and setpriv(1)")
    folder = Path(tempfile.mkdtemp(prefix="coop-ajena-"))  # not under tmp_path, whose parents are private
    try:
        folder.chmod(0o755)
        db = folder / "coop.sqlite3"
        shutil.copy(db_path, db)
        db.chmod(0o644)
        key_file = folder / "keys.json"
        shutil.copy(os.environ["COOPROGRESO_SECRET_KEY_FILE"], key_file)
        own = folder / "copias"
        own.mkdir()
        for path in (key_file, own):
            os.chown(path, 65534, 65534)
        env = {**os.environ, "COOPROGRESO_SECRET_KEY_FILE": str(key_file), "HOME": str(own)}
        before = sorted(p.name for p in folder.iterdir()), db.read_bytes()

        def as_nobody(*argv: str) -> subprocess.CompletedProcess:
            return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable,
                                   "-m", "cooprogreso_tui.cli", *argv], capture_output=True, text=True, env=env,
                                  timeout=60, cwd=own)

        checked = as_nobody("check", "--db", str(db))
        assert checked.returncode == 2 and checked.stdout == "", checked
        assert checked.stderr.strip().count("\n") == 0 and "solo lectura" in checked.stderr, checked.stderr
        saved = as_nobody("backup", "--db", str(db), "--to", str(own / "copia.backup"))
        assert saved.returncode == 0 and "Copia lista" in saved.stdout, saved
        assert not any(word in checked.stderr + saved.stderr for word in ENGLISH)
        assert (sorted(p.name for p in folder.iterdir()), db.read_bytes()) == before
    finally:
        shutil.rmtree(folder)


def _nobody_folder() -> Path:
    """A folder another account can reach (tmp_path's parents are private to root)."""
    import tempfile

    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("running as another account needs root and setpriv(1)")
    folder = Path(tempfile.mkdtemp(prefix="coop-auditor-"))
    folder.chmod(0o755)
    return folder


def _as_nobody(home: Path, key_file: Path, *argv: str) -> subprocess.CompletedProcess:
    """The real entry point run as `nobody`, whose file modes count (root's would not)."""
    env = {**os.environ, "COOPROGRESO_SECRET_KEY_FILE": str(key_file), "HOME": str(home)}
    return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m",
                           "cooprogreso_tui.cli", *argv], capture_output=True, text=True, env=env, timeout=120,
                          cwd=home)


def _own_key_file(folder: Path) -> Path:
    key_file = folder / "keys.json"
    shutil.copy(os.environ["COOPROGRESO_SECRET_KEY_FILE"], key_file)
    os.chown(key_file, 65534, 65534)
    return key_file


def _state(path: Path) -> tuple:
    return sorted(p.name for p in path.parent.iterdir()), path.read_bytes(), path.stat().st_mtime_ns


@pytest.mark.sqlite_only  # about files
def test_an_auditors_chmod_copy_answers_the_read_commands_as_the_original_and_refuses_the_rest(db_path, tmp_path,
                                                                                               capsys):
    """A copy made read-only for everyone (file 0444 in a 0555 folder), read by an account that is not its owner:
    check, audit and outbox print what a writable run prints; what writes (the app, a settlement, a staff
    listing, which signs its own audit) refuses in one Spanish line; not a byte, not an mtime, not a file beside it
    changes (no `-wal` or `-shm` either: the copy is read `immutable`, nothing can write it)."""
    from cooprogreso_tui.cli import main

    home = _nobody_folder()
    try:
        copy = home / "copia" / "coop.sqlite3"
        copy.parent.mkdir()
        shutil.copy(db_path, copy)
        key_file = _own_key_file(home)
        reads = [("check",), ("audit", "--last", "400"), ("outbox", "--last", "50")]
        expected = []
        for command, *rest in reads:
            capsys.readouterr()
            assert main([command, "--db", str(db_path), *rest]) == 0
            expected.append(capsys.readouterr().out.replace(str(db_path), str(copy)))
        copy.chmod(0o444)
        copy.parent.chmod(0o555)
        before = _state(copy)
        for (command, *rest), want in zip(reads, expected):
            done = _as_nobody(home, key_file, command, "--db", str(copy), *rest)
            assert (done.returncode, done.stderr, done.stdout) == (0, "", want), command
        for argv in (["settle"], ["staff", "list"], [], ["end-of-day"]):
            done = _as_nobody(home, key_file, *argv, "--db", str(copy))
            lines = done.stderr.strip().splitlines()
            assert done.returncode == 2 and done.stdout == "" and len(lines) == 1, (argv, done)
            assert "solo lectura" in done.stderr and not any(word in done.stderr for word in ENGLISH), done.stderr
        assert _state(copy) == before
    finally:
        for path in (home / "copia",):
            path.chmod(0o755)
        shutil.rmtree(home)


@pytest.mark.sqlite_only  # about files
def test_an_empty_a_foreign_and_a_newer_read_only_file_are_refused_without_a_write(db_path, tmp_path):
    """On the read-only path too, what is not this program's database is told in one Spanish line and left as it
    was: an empty file, another application's SQLite file, a database of a newer version."""
    import sqlite3

    from backend.core.schema import SCHEMA_VERSION

    home = _nobody_folder()
    try:
        key_file = _own_key_file(home)
        folder = home / "copias"
        folder.mkdir()
        (folder / "vacia.sqlite3").write_bytes(b"")
        foreign = sqlite3.connect(folder / "ajena.sqlite3")
        foreign.execute("PRAGMA journal_mode = WAL")
        foreign.execute("CREATE TABLE notas (texto TEXT)")
        foreign.commit()
        foreign.close()
        shutil.copy(db_path, folder / "nueva.sqlite3")
        newer = sqlite3.connect(folder / "nueva.sqlite3")
        newer.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        newer.close()
        files = sorted(folder.iterdir())
        for path in files:
            path.chmod(0o444)
        folder.chmod(0o555)
        before = [_state(path) for path in files]
        said = {}
        for path in files:
            for command in ("check", "audit", "outbox"):
                done = _as_nobody(home, key_file, command, "--db", str(path))
                lines = done.stderr.strip().splitlines()
                assert done.returncode == 2 and done.stdout == "" and len(lines) == 1, (path, command, done)
                assert not any(word in done.stderr for word in ENGLISH), done.stderr
                said[path.name] = done.stderr
        assert "vacío" in said["vacia.sqlite3"]
        assert "no de Cooprogreso" in said["ajena.sqlite3"]
        assert "más nueva" in said["nueva.sqlite3"]
        assert [_state(path) for path in files] == before
    finally:
        (home / "copias").chmod(0o755)
        shutil.rmtree(home)


WRITER = r"""
import sys
from pathlib import Path
from backend.core.accounts import internal_account
from backend.core.db import SqliteDatabase
from backend.core.ledger import Leg, post

db, stop, n = SqliteDatabase(sys.argv[1], create=False, migrate=False), Path(sys.argv[2]), 0
with db.write() as conn:
    a, b = internal_account(conn, "caja"), internal_account(conn, "compensacion")
print("listo", flush=True)
while not stop.exists():
    with db.write() as conn:  # two postings and two balances: a reader between them would see the books off
        post(conn, kind="x", description="prueba", legs=[Leg(a, 100 + n, "p"), Leg(b, -100 - n, "p")],
             posted_at="2026-11-25 10:00:00", actor="test")
    n += 1
print(n, flush=True)
"""


@pytest.mark.sqlite_only  # about files
def test_a_read_only_check_while_the_app_writes_sees_one_consistent_snapshot(db_path):
    """An auditor's account, which may only read the live file, checks it while the service account books entries:
    the reader goes through the writer's `-shm` (read-only to it) and each check sees whole entries only; the
    books balance every time, and the writer never waits for it."""
    import sqlite3

    home = _nobody_folder()
    try:
        key_file = _own_key_file(home)
        db = home / "vivo" / "coop.sqlite3"
        db.parent.mkdir()
        db.parent.chmod(0o755)
        shutil.copy(db_path, db)
        db.chmod(0o644)
        stop = home / "parar"
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(stop)], stdout=subprocess.PIPE,
                                  text=True, cwd=Path(__file__).resolve().parents[2])
        try:
            assert writer.stdout is not None and writer.stdout.readline().strip() == "listo"
            counts = []
            for _ in range(3):
                done = _as_nobody(home, key_file, "check", "--db", str(db))
                assert done.returncode == 0 and "Contabilidad cuadrada" in done.stdout, done
                with contextlib.closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)) as conn:
                    counts.append(conn.execute("SELECT count(*) FROM entries WHERE actor = 'test'").fetchone()[0])
        finally:
            stop.touch()
            out, _ = writer.communicate(timeout=60)
        assert writer.returncode == 0 and counts[0] < counts[-1], (counts, out)  # it wrote throughout
    finally:
        shutil.rmtree(home)
