"""The database layer itself: opening and migrating from many processes, read-only commands, portable SQL."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess

import pytest

from backend.core.database import open_database
from backend.core.db import IntegrityError, for_engine, statements
from backend.core.schema import MIGRATIONS, SCHEMA_VERSION
from tests import fork_server
from tests.core.test_database import cli

OPENER = """
import sys
from backend.core.database import open_database
sys.stdin.readline()
db = open_database(sys.argv[1])
print(db.schema_version())
"""


def _open_at_once(path, processes: int = 8) -> list[subprocess.CompletedProcess]:
    """`processes` processes forked from one that has imported the backend, opening `path` at the same instant
    (fresh interpreters' staggered imports kept them from meeting)."""
    out = path.parent / f"{path.name}.openers"
    out.mkdir()
    script = out / "opener.py"
    script.write_text(OPENER)
    procs = fork_server.start_scripts(script, out, [[str(path)]] * processes)
    return [subprocess.CompletedProcess(p.args, p.wait(60), *p.communicate()) for p in procs]


def test_many_processes_open_a_new_database_at_once(tmp_path):
    path = tmp_path / "nueva.sqlite3"
    results = _open_at_once(path)
    assert [r.returncode for r in results] == [0] * len(results), [r.stderr[-400:] for r in results]
    assert {r.stdout.strip() for r in results} == {str(SCHEMA_VERSION)}
    db = open_database(path)
    assert db.conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'transfers'").fetchone()[0] == 1
    db.close()


def test_many_processes_migrate_an_old_database_at_once(tmp_path):
    path = tmp_path / "vieja.sqlite3"
    conn = sqlite3.connect(path)
    from backend.core.db import statements
    from backend.core.schema import MIGRATIONS

    for statement in statements(MIGRATIONS[0]):
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    results = _open_at_once(path)
    assert [r.returncode for r in results] == [0] * len(results), [r.stderr[-400:] for r in results]
    assert open_database(path, migrate=False).schema_version() == SCHEMA_VERSION


def test_many_processes_open_a_restored_backup_at_once(tmp_path):
    """A backup is a self-contained file in DELETE mode: the first to open it switches it to the write-ahead log,
    which SQLite refused at once («database is locked», no busy wait) to the others opening it at that moment."""
    path = tmp_path / "restaurada.sqlite3"
    open_database(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0] == "delete"
    conn.close()
    for _ in range(3):  # the race is lost now and then, not every time
        results = _open_at_once(path)
        assert [r.returncode for r in results] == [0] * len(results), [r.stderr[-400:] for r in results]
        assert {r.stdout.strip() for r in results} == {str(SCHEMA_VERSION)}
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.close()
        shutil.rmtree(path.parent / f"{path.name}.openers")


def _old_file(tmp_path):
    """A file one migration behind: every migration but the last applied (the last need not be re-runnable)."""
    path = tmp_path / "antigua.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")  # as Database leaves a file
    for script in MIGRATIONS[:-1]:
        for statement in for_engine(statements(script), "sqlite"):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    conn.commit()
    conn.close()
    return path


def test_read_only_commands_never_create_or_migrate(tmp_path):
    missing = tmp_path / "no-existe.sqlite3"
    for command in ("check", "outbox", "audit"):
        out = cli(command, "--db", str(missing))
        assert out.returncode == 2 and "No existe" in out.stderr and not missing.exists()
    old = _old_file(tmp_path)
    before = old.read_bytes()
    for command in ("check", "outbox", "audit"):
        out = cli(command, "--db", str(old))
        assert out.returncode == 2 and "cooprogreso migrate" in out.stderr and "Traceback" not in out.stderr
    assert old.read_bytes() == before
    empty = tmp_path / "vacia.sqlite3"
    empty.write_bytes(b"")
    out = cli("check", "--db", str(empty))
    assert out.returncode == 2 and "no es una base de datos de Cooprogreso" in out.stderr
    assert empty.read_bytes() == b""


def test_migrate_command_brings_an_old_file_up_to_date(tmp_path):
    old = _old_file(tmp_path)
    out = cli("migrate", "--db", str(old))
    assert out.returncode == 0 and "1 migraciones" in out.stdout
    assert cli("check", "--db", str(old)).returncode == 0
    assert "nada que aplicar" in cli("migrate", "--db", str(old)).stdout


def test_sqlite_strips_row_locks_and_reports_integrity_errors_neutrally(tmp_path):
    db = open_database(tmp_path / "x.sqlite3")
    with db.write() as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('a', '1')")
        assert conn.execute("SELECT value FROM meta WHERE key = ? FOR UPDATE SKIP LOCKED", ("a",)).fetchone()[0] == "1"
        assert conn.execute("SELECT value FROM meta ORDER BY key LIMIT 1 FOR UPDATE").fetchone()["value"] == "1"
        conn.lock("anything")
    with pytest.raises(IntegrityError), db.write() as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('a', '2')")
    assert db.get_meta("a") == "1"
    db.close()


def test_a_pipeline_runs_its_statements_in_order_and_reports_errors_neutrally(backend):
    """ledger.post and transfers send several statements in one round trip on PostgreSQL: each runs after the
    one before it (it sees its row), rows come back in order, and a failed one aborts the whole write."""
    db = backend.db
    with db.write() as conn:
        rows = conn.fetch_each([("INSERT INTO meta (key, value) VALUES (?, ?) RETURNING value", ("p1", "uno")),
                                ("SELECT value FROM meta WHERE key = ?", ("p1",)),
                                ("SELECT value FROM meta WHERE key = ?", ("ninguna",))])
    assert [row[0] if row else None for row in rows] == ["uno", "uno", None]
    with pytest.raises(IntegrityError), db.write() as conn:
        with conn.pipeline():
            conn.execute("INSERT INTO meta (key, value) VALUES ('p2', 'x')")
            conn.execute("INSERT INTO meta (key, value) VALUES ('p1', 'dos')")  # the key is taken
    assert db.get_meta("p1") == "uno" and db.get_meta("p2") is None
    with db.write() as conn:  # the connection is usable after the failed pipeline
        assert conn.execute("SELECT COUNT(*) FROM meta WHERE key IN ('p1', 'p2')").fetchone()[0] == 1


def test_a_sent_write_runs_in_its_place_and_its_failure_rolls_the_whole_write_back(backend):
    """`conn.send` (ledger.post's postings) and a write's BEGIN and member lock go with the next round trip on
    PostgreSQL: they still run first and inside the transaction, and a sent write that fails aborts all of it."""
    db = backend.db
    backend.auth.principal(backend.auth.login("demo", "Demo-2026!").token)  # writes take the member's lock
    with db.write() as conn:
        assert conn.in_transaction
        conn.send("INSERT INTO meta (key, value) VALUES (?, ?)", ("s1", "uno"))
        assert conn.execute("SELECT value FROM meta WHERE key = ?", ("s1",)).fetchone()[0] == "uno"
        conn.send("INSERT INTO meta (key, value) VALUES (?, ?)", ("s2", "dos"))  # goes with the COMMIT
    assert db.get_meta("s1") == "uno" and db.get_meta("s2") == "dos"
    with pytest.raises(IntegrityError), db.write() as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('s3', 'tres')")
        conn.send("INSERT INTO meta (key, value) VALUES ('s1', 'otra')")  # the key is taken
        conn.execute("SELECT 1").fetchone()
    assert db.get_meta("s3") is None
    with pytest.raises(IntegrityError), db.write() as conn:  # failing at the COMMIT's round trip
        conn.execute("INSERT INTO meta (key, value) VALUES ('s4', 'cuatro')")
        conn.send("INSERT INTO meta (key, value) VALUES ('s2', 'otra')")
    assert db.get_meta("s4") is None
    with pytest.raises(RuntimeError), db.write() as conn:  # queued and never sent: nothing happens
        conn.send("INSERT INTO meta (key, value) VALUES ('s5', 'cinco')")
        raise RuntimeError("a refusal in Python")
    assert db.get_meta("s5") is None
    with db.write() as conn:  # the psycopg connection under it is inside the transaction too
        raw = getattr(conn, "raw", None)
        if raw is not None:
            raw.execute("INSERT INTO meta (key, value) VALUES ('s6', 'seis')")
            assert raw.info.transaction_status.name == "INTRANS"
    with db.write():  # an empty write commits nothing, and the connection stays usable
        pass
    assert db.get_meta("s1") == "uno" and not db.conn.in_transaction


def test_usernames_are_canonical_lower_case(backend):
    from backend.core.errors import AuthError

    signed = backend.auth.login("  DeMo ", "Demo-2026!")
    assert signed.username == "demo"
    with pytest.raises(AuthError):
        backend.auth.login("DEMO", "demo-2026!")
