"""The co-op's database on a read-only disk (a disk remounted read-only after an error, a recovery copy, an
auditor's snapshot), made here by a read-only bind mount in a mount namespace of its own (`unshare -m`: nothing
outside the test sees it): every command says why in Spanish, in one line, never a traceback nor the OS's
English, and changes nothing; a backup, which only reads, still works."""

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
def test_every_command_on_a_read_only_disk_says_why_in_spanish_and_a_backup_still_works(tmp_path, db_path):
    folder = tmp_path / "solo-lectura"
    folder.mkdir()
    db = folder / "coop.sqlite3"
    shutil.copy(db_path, db)
    receipt = tmp_path / "comprobante.txt"
    receipt.write_text("Comprobante\n\nCódigo de verificación: X\n", encoding="utf-8")
    saved = tmp_path / "copias"
    saved.mkdir()
    refused = [["check", "--db", str(db)], ["outbox", "--db", str(db)], ["audit", "--db", str(db)],
               ["staff", "list", "--db", str(db)], ["settle", "--db", str(db)], ["end-of-day", "--db", str(db)],
               ["migrate", "--db", str(db)], ["verify-receipt", "--db", str(db), str(receipt)], ["--db", str(db)],
               ["backup", "--db", str(db), "--to", str(folder / "copia.backup")]]
    works = [["backup", "--db", str(db), "--to", str(saved / "copia.backup")]]
    before = sorted(p.name for p in folder.iterdir()), db.read_bytes()
    results = _on_read_only_disk(folder, [*refused, *works, ["status", "--db", str(db)]], tmp_path)
    for argv, code, err, out in results[:len(refused)]:
        lines = [line for line in err.splitlines() if line.strip()]
        assert code == 2 and len(lines) == 1 and out == "", (argv, code, err, out)
        assert not any(word in err for word in ENGLISH), (argv, err)
        assert "solo lectura" in err, (argv, err)
    (argv, code, err, out), = results[len(refused):-1]
    assert code == 0 and "Copia lista" in out, (argv, code, err, out)
    from backend.core import backup

    copy = backup.inspect(saved / "copia.backup")  # whole, and listed in its manifest
    assert copy.engine == "sqlite" and copy.fingerprint
    argv, code, err, out = results[-1]
    assert code != 0 and "CRÍTICO" in out and not any(word in out + err for word in ENGLISH), (out, err)
    assert (sorted(p.name for p in folder.iterdir()), db.read_bytes()) == before


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
