import os
import sqlite3
import subprocess
import sys

import pytest

from backend.core.database import open_database
from backend.core.errors import SchemaError
from backend.core.schema import SCHEMA_VERSION


def test_new_database_is_private_and_durable(tmp_path):
    db = open_database(tmp_path / "n.sqlite3")
    assert oct(os.stat(tmp_path / "n.sqlite3").st_mode)[-3:] == "600"
    conn = db.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()


def test_database_newer_than_the_code_is_refused(tmp_path):
    path = tmp_path / "future.sqlite3"
    open_database(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(SchemaError) as err:
        open_database(path)
    assert "más nueva" in err.value.message


def cli_process(*args):
    """The command as an operator runs it: a process of its own (`python -m cooprogreso_tui.cli`)."""
    return subprocess.run([sys.executable, "-m", "cooprogreso_tui.cli", *args], capture_output=True, text=True)


def cli(*args):
    """The command run in this process through the same `main` the entry point calls, with what it prints
    captured: a process of its own costs about 0.3 s of CPU to start (imports), and the suite runs hundreds of
    commands. `cli_process` keeps one test per entry point honest. An exception `main` does not turn into
    one Spanish line escapes here and fails the test, as a traceback on stderr would have."""
    import contextlib
    import io

    from cooprogreso_tui.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exit_:  # argparse: a bad option, --help, --version
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 2)
    return subprocess.CompletedProcess(["cooprogreso", *args], code, out.getvalue(), err.getvalue())


@pytest.mark.sqlite_only
def test_demo_data_refuses_to_overwrite(db_path):
    before = db_path.read_bytes()
    out = cli("demo-data", "--db", str(db_path))
    assert out.returncode == 1 and "no se sobrescribe" in out.stderr
    assert db_path.read_bytes() == before


def test_demo_data_outbox_and_version(tmp_path):
    path = tmp_path / "nuevo.sqlite3"
    assert cli("demo-data", "--db", str(path), "--members", "5").returncode == 2 and not path.exists()
    out = cli("--set", "scrypt_log_n=8", "demo-data", "--db", str(path), "--members", "50", "--seed", "3")
    assert out.returncode == 0, out.stderr
    assert "50 socios" in out.stdout
    assert "1710034065" in out.stdout and "demo" in out.stdout
    assert cli("check", "--db", str(path)).returncode == 0
    assert "No hay mensajes" in cli("outbox", "--db", str(path)).stdout
    assert cli_process("--version").stdout.startswith("cooprogreso ")  # the entry point itself, once
    assert cli_process("check", "--db", str(tmp_path / "no-existe.sqlite3")).returncode == 2


def test_outbox_lists_the_last_messages(backend, db_path):
    backend.auth.start_affiliation("cedula", "1710034065")
    out = cli("outbox", "--db", str(db_path), "--last", "1")
    assert out.returncode == 0 and "código de seguridad" in out.stdout


def test_config_layers(tmp_path):
    from cooprogreso_tui import config

    toml = tmp_path / "config.toml"
    toml.write_text('session_idle_seconds = 120\nmax_failed_logins = 4\ndb = "/tmp/x.sqlite3"\n')
    cfg = config.load(path=toml, environ={"COOPROGRESO_MAX_FAILED_LOGINS": "3"},
                      overrides={"lockout_minutes": "20"})
    assert (cfg.settings.session_idle_seconds, cfg.settings.max_failed_logins, cfg.settings.lockout_minutes) == (120, 3, 20)
    assert str(cfg.db_path) == "/tmp/x.sqlite3"
    with pytest.raises(ValueError):
        config.load(path=toml, environ={}, overrides={"no_existe": "1"})


def test_connections_of_finished_threads_are_closed(tmp_path):
    import threading

    db = open_database(tmp_path / "t.sqlite3")
    for _ in range(20):
        t = threading.Thread(target=lambda: db.conn.execute("SELECT 1").fetchone())
        t.start()
        t.join()
    # Each worker thread opened its own connection; the next one to open closes those of the dead.
    t = threading.Thread(target=lambda: db.conn.execute("SELECT 1").fetchone())
    t.start()
    t.join()
    assert len(db._open) == 2  # the main thread's and the last worker's
    db.close()


def test_audit_command_lists_security_events(backend, db_path):
    from backend.core.errors import AuthError

    with pytest.raises(AuthError):
        backend.auth.login("demo", "Equivocada1")
    backend.auth.login("demo", "Demo-2026!")
    out = cli("audit", "--db", str(db_path), "--actor", "demo", "--last", "2")
    lines = out.stdout.strip().splitlines()
    assert out.returncode == 0 and len(lines) == 2
    assert lines[0].split()[3:5] == ["login", "contrasena_incorrecta"]
    assert lines[1].split()[3:5] == ["login", "ok"]
    assert "Equivocada1" not in out.stdout
