"""A database opened only to read (backend/core/db.py `readonly`): what reads answers as on a writable open, every
write refuses in one Spanish line before it begins, and nothing is written: on SQLite not a byte of the file nor a
file beside it, on PostgreSQL not a row (the session itself is READ ONLY). On PostgreSQL the same read commands work
for a role that may only read, and the commands that write refuse before they start."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from backend.core.database import open_database
from backend.core.db import DatabaseUrl, ReadOnlyDatabase, SqliteDatabase, read_only_refusal
from backend.core.errors import SchemaError
from backend.core.schema import SCHEMA_VERSION
from backend.service import Backend
from tests.conftest import fast_settings


def _files(path: Path) -> tuple:
    return sorted(p.name for p in path.parent.iterdir()), path.read_bytes(), path.stat().st_mtime_ns


def _audit_rows(db) -> int:
    return db.conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]


def test_a_database_opened_read_only_reads_as_the_original_and_refuses_every_write(db_path, clock, engine):
    writable = Backend(db_path, fast_settings(), clock, create=False)
    try:
        books, log, rows = writable.check(), writable.audit_log(last=500), _audit_rows(writable.db)
    finally:
        writable.close()
    if engine == "sqlite":
        db_path.chmod(0o444)  # an auditor's copy: no write bit for anyone, so it is read `immutable`
        before = _files(db_path)
    backend = Backend(db_path, fast_settings(), clock, create=False, readonly=True)
    try:
        assert backend.db.readonly and not backend.db.can_write()
        assert (backend.check(), backend.audit_log(last=500)) == (books, log) and books == []
        with pytest.raises(ReadOnlyDatabase) as refused:
            backend.ctx.audit_now("cli", "prueba", "ok")
        assert refused.value.message == read_only_refusal(db_path).message and "solo lectura" in refused.value.message
        with pytest.raises(ReadOnlyDatabase):
            backend.db.migrate()
        # Past our own refusal too: the connection itself will not write (query_only; a READ ONLY session).
        with pytest.raises(Exception) as raw:
            backend.db.conn.execute("INSERT INTO meta (key, value) VALUES ('x', 'y')")
        assert any(words in str(raw.value) for words in ("readonly database", "read-only transaction")), raw.value
        assert _audit_rows(backend.db) == rows
    finally:
        backend.close()
    if engine == "sqlite":
        assert _files(db_path) == before


@pytest.mark.sqlite_only  # about files
def test_an_empty_a_foreign_and_a_newer_file_opened_read_only_are_refused_untouched(db_path, tmp_path):
    (tmp_path / "vacia.sqlite3").write_bytes(b"")
    with contextlib.closing(sqlite3.connect(tmp_path / "ajena.sqlite3")) as foreign:
        foreign.execute("PRAGMA journal_mode = WAL")
        foreign.execute("CREATE TABLE notas (texto TEXT)")
        foreign.commit()
    (tmp_path / "texto.sqlite3").write_text("no soy una base de datos\n" * 10, encoding="utf-8")
    shutil.copy(db_path, tmp_path / "nueva.sqlite3")
    with contextlib.closing(sqlite3.connect(tmp_path / "nueva.sqlite3")) as newer:
        newer.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db_path.unlink()
    files = sorted(tmp_path.iterdir())
    for path in files:
        path.chmod(0o444)
    before = [_files(path) for path in files]
    said = {}
    for path in files:
        with pytest.raises(SchemaError) as refused:
            SqliteDatabase(path, readonly=True)
        said[path.name] = refused.value.message
    assert [_files(path) for path in files] == before
    assert "vacía" in said["vacia.sqlite3"] and "otro programa" in said["ajena.sqlite3"]
    assert "no es una base SQLite" in said["texto.sqlite3"] and "más nueva" in said["nueva.sqlite3"]


@pytest.mark.sqlite_only  # about files
def test_a_file_another_account_may_write_is_not_read_immutable(db_path):
    """With no `-shm` beside it, `mode=ro` would create one (or fail in a read-only folder), and `immutable` would be
    wrong if its owner started writing meanwhile: refused, with what to do; so is a `-wal` without its `-shm`."""
    db_path.chmod(0o644)
    with pytest.raises(SchemaError) as refused:
        SqliteDatabase(db_path, readonly=True)
    assert "otro usuario puede escribirla" in refused.value.message and "copia" in refused.value.message
    wal = Path(f"{db_path}-wal")
    wal.write_bytes(b"\0" * 32)
    db_path.chmod(0o444)
    with pytest.raises(SchemaError) as refused:
        SqliteDatabase(db_path, readonly=True)
    assert f"{db_path.name}-wal" in refused.value.message
    assert sorted(p.name for p in db_path.parent.iterdir()) == sorted([db_path.name, wal.name])


def _as_role(url: str, role: str, password: str = "") -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("user", "password")] + [("user", role)]
    query += [("password", password)] if password else []
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return f"{parts.scheme}://{netloc}{parts.path}?{urlencode(query, safe='/')}"  # urlunsplit drops an empty host's //


@pytest.fixture
def pg_copy(pg_server, pg_template):
    """A copy of the demo co-op on PostgreSQL alone (roles are PostgreSQL's: no SQLite variant)."""
    name = pg_server.copy_of(pg_template)
    yield pg_server.target(name)
    pg_server.drop_later(name)


def test_a_postgresql_role_that_may_only_read_runs_the_read_commands_and_the_others_refuse(pg_copy, capsys):
    """Two roles an auditor is given: one with SELECT only, one whose sessions are read-only. check, audit and
    outbox print what the owner's run prints; settle, staff list, end-of-day and the app refuse in one Spanish
    line naming only the URL typed (no password), before anything is written."""
    import psycopg

    from cooprogreso_tui.cli import main

    owner = pg_copy.url
    owner_shown = str(pg_copy)
    reads = [["check"], ["audit", "--last", "400"], ["outbox", "--last", "50"]]
    expected = []
    for command, *rest in reads:
        capsys.readouterr()
        assert main([command, "--db", owner, *rest]) == 0
        expected.append(capsys.readouterr().out)
    tag = uuid.uuid4().hex[:8]
    roles = {f"lector_{tag}": "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {r}",
             f"lento_{tag}": "GRANT ALL ON ALL TABLES IN SCHEMA public TO {r}; "
                             "GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {r}; "
                             "ALTER ROLE {r} SET default_transaction_read_only = on"}
    with psycopg.connect(owner, autocommit=True) as admin:
        for role, grants in roles.items():
            admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'secreto-{tag}'")
            admin.execute(grants.format(r=role))
        rows = admin.execute("SELECT (SELECT count(*) FROM audit_log), (SELECT count(*) FROM entries)").fetchone()
        try:
            for role in roles:
                url = _as_role(owner, role, f"secreto-{tag}")  # what a stranger reading the message must not learn
                shown = str(DatabaseUrl(url))
                for (command, *rest), want in zip(reads, expected):
                    capsys.readouterr()
                    code = main([command, "--db", url, *rest])
                    out, err = capsys.readouterr()
                    assert (code, err, out.replace(shown, owner_shown)) == (0, "", want), (role, command)
                for argv in (["settle"], ["staff", "list"], ["end-of-day"], []):
                    capsys.readouterr()
                    code = main([*argv, "--db", url])
                    out, err = capsys.readouterr()
                    assert code == 2 and out == "" and err.count("\n") == 1, (role, argv, out, err)
                    assert "solo lectura para este usuario" in err and f"secreto-{tag}" not in err, err
                    assert shown in err and "password=***" in shown
                    assert not any(word in err for word in ("permission", "denied", "read-only", "Error")), err
                capsys.readouterr()  # the monitor says the app cannot run for this role (it said «accesible»)
                code = main(["status", "--db", url])
                out, err = capsys.readouterr()
                assert code != 0 and "Base de datos de solo lectura" in out and f"secreto-{tag}" not in out, out
            assert admin.execute("SELECT (SELECT count(*) FROM audit_log), (SELECT count(*) FROM entries)"
                                 ).fetchone() == rows
        finally:
            for role in roles:
                admin.execute(f"DROP OWNED BY {role}")
                admin.execute(f"DROP ROLE {role}")


@contextlib.contextmanager
def _opened_as_role(pg_copy, prefix: str, *grants: str):
    """The co-op's database opened by a new login role given `grants` (each with {r} for the role); dropped after."""
    import psycopg

    role = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_copy.url, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN")
        for grant in grants:
            admin.execute(grant.format(r=role))
        try:
            db = open_database(_as_role(pg_copy.url, role), create=False)
            try:
                yield db, role
            finally:
                db.close()
        finally:
            admin.execute(f"DROP OWNED BY {role}")
            admin.execute(f"DROP ROLE {role}")


def test_a_write_the_server_refuses_to_a_read_only_role_is_said_in_spanish(pg_copy):
    """Below the CLI's up-front refusal: a write that reaches the server anyway (a worker, a command opened before
    the role changed) is one Spanish line, not psycopg's English."""
    with _opened_as_role(pg_copy, "solo", "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {r}") as (db, role):
        assert not db.can_write()
        with pytest.raises(ReadOnlyDatabase) as refused:
            with db.write() as conn:
                conn.execute("INSERT INTO meta (key, value) VALUES ('x', 'y')")
        assert "solo lectura" in refused.value.message and role in refused.value.message
        assert db.get_meta("x") is None



def test_a_read_only_outbox_shows_an_expired_code_masked_and_leaves_it_as_stored(backend, lucia, ana, clock,
                                                                                   db_path, engine):
    """The writable outbox masks an expired code in the database before listing (backend/core/redaction.py); a copy
    opened only to read cannot, so it masks it in what it shows: no code is shown once it has expired, either way."""
    from backend.core import redaction
    from tests.security.test_codes_at_rest import ask_code, shown, to_ana

    _, code = ask_code(backend, lucia, to_ana(backend, ana))
    backend.close()
    clock.advance(seconds=backend.settings.otp_ttl_seconds - 1)
    if engine == "sqlite":
        db_path.chmod(0o444)
    reader = Backend(db_path, fast_settings(), clock, create=False, readonly=True)
    try:
        assert code in reader.outbox(last=1)[-1].body  # still usable: shown as the writable outbox shows it
        clock.advance(seconds=1)
        body = reader.outbox(last=1)[-1].body
        assert code not in body and redaction.MASK in body
        assert shown(reader, code) == 1  # as stored: the copy was not changed
    finally:
        reader.close()


def _live_snapshot(db_path: Path, folder: Path) -> Path:
    """A copy taken while a writer had it open: the file, its `-wal` holding a committed row the file lacks, its
    `-shm` (what a backup tool copying a live folder gets)."""
    folder.mkdir()
    writer = sqlite3.connect(db_path, isolation_level=None)
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("INSERT INTO meta (key, value) VALUES ('solo-en-el-wal', 'sí')")
    for end in ("", "-wal", "-shm"):
        shutil.copy(f"{db_path}{end}", folder / f"coop.sqlite3{end}")
    writer.close()
    return folder / "coop.sqlite3"


@pytest.mark.sqlite_only  # about files
def test_a_file_read_through_a_link_is_read_with_the_log_beside_the_file_itself(db_path, tmp_path):
    """SQLite opens the file a link names, and its `-wal`/`-shm` beside it: looked for beside the link instead,
    they were missing and the file was read `immutable`, without the rows its log holds."""
    copy = _live_snapshot(db_path, tmp_path / "copia")
    for path in copy.parent.iterdir():
        path.chmod(0o444)
    link = tmp_path / "enlace.sqlite3"
    link.symlink_to(copy)
    db = SqliteDatabase(link, readonly=True, check=False)
    try:
        assert db.conn.execute("SELECT value FROM meta WHERE key = 'solo-en-el-wal'").fetchone()[0] == "sí"
    finally:
        db.close()


@pytest.mark.sqlite_only  # about files
def test_an_index_left_alone_gets_no_log_beside_it(db_path):
    """A `-shm` without its `-wal` (left by a crash): `mode=ro` would have created an empty `-wal` of this account
    beside it; the file, which nobody may write, is read `immutable` and nothing appears."""
    shm = Path(f"{db_path}-shm")
    shm.write_bytes(b"\0" * 32768)
    db_path.chmod(0o444)
    before = sorted(p.name for p in db_path.parent.iterdir())
    db = SqliteDatabase(db_path, readonly=True)
    try:
        assert db.conn.execute("SELECT count(*) FROM meta").fetchone()[0] > 0
    finally:
        db.close()
    assert sorted(p.name for p in db_path.parent.iterdir()) == before


@pytest.mark.sqlite_only  # about files
def test_check_on_a_copy_whose_log_lost_its_index_refuses_and_leaves_no_index(db_path, tmp_path, capsys):
    """The command's own first look (the schema version, cooprogreso_tui/dbcheck.py) opened such a file through
    SQLite, which created the `-shm` of whoever ran it; then the read-only open found it and read the log without
    the index it was written with. Now: refused, with what to do, and not a file more."""
    from cooprogreso_tui.cli import main

    copy = _live_snapshot(db_path, tmp_path / "copia")
    Path(f"{copy}-shm").unlink()
    copy.chmod(0o444)
    before = sorted(p.name for p in copy.parent.iterdir())
    capsys.readouterr()
    assert main(["check", "--db", str(copy)]) == 2
    err = capsys.readouterr().err
    assert "coop.sqlite3-wal" in err and "Traceback" not in err
    assert sorted(p.name for p in copy.parent.iterdir()) == before


def test_a_role_missing_one_grant_is_told_so_not_that_the_base_is_read_only(pg_copy):
    """A role that may write but lacks the grant on one table (one added after the GRANT, say): its write is refused
    with which grant is missing, not as «solo lectura», which would send the admin looking for a read-only switch."""
    with _opened_as_role(pg_copy, "parcial", "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {r}",
                         "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {r}",
                         "REVOKE INSERT ON meta FROM {r}") as (db, role):
        assert db.can_write()
        with pytest.raises(ReadOnlyDatabase) as refused:
            with db.write() as conn:
                conn.execute("INSERT INTO meta (key, value) VALUES ('x', 'y')")
        said = refused.value.message
        assert "le falta un permiso" in said and "la tabla meta" in said and "GRANT" in said, said
        assert "solo lectura" not in said and "permission" not in said and role in said, said
        assert db.get_meta("x") is None
