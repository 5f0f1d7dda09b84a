"""Where the co-op's data lives: an embedded SQLite file (default) or PostgreSQL (many branch servers).

Services write one portable SQL (CONVENTIONS.md, `?` placeholders) against the connection a Database hands
each thread: `execute`, `executemany`, `in_transaction`, rows by index and by name, `lock(name)`.
SQLite keeps raw sqlite3 connections (a thin subclass) so the single-machine app stays as fast as before;
`backend.core.database.open_database(url)` with a `postgresql://` URL gives the PostgreSQL engine
(backend/core/db_pg.py, psycopg imported only then), a path this module's SQLite. Every write is one
`with db.write() as conn:` transaction: all of it commits or none of it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import contextlib
import io
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from backend.core.errors import SchemaError, sqlite_reason
from backend.core.schema import MIGRATIONS, SCHEMA_VERSION

try:
    import fcntl
except ImportError:  # not POSIX: writers rely on SQLite's lock alone
    fcntl = None  # type: ignore[assignment]

BUSY_TIMEOUT_MS = 10_000
STARVED_AFTER_S = 1.0  # a writer whose BEGIN IMMEDIATE waited this long takes the priority lane (`_begin_write`)
LANE_POLL_S = 0.001  # how often the writer in the priority lane tries BEGIN IMMEDIATE again
YIELD_POLL_S = 0.005  # how often a writer that found the lane taken looks again
DEFERRED_SCRUBS = 8  # scrubs whose checkpoint may wait for the writer after them, in a row (`_leave`)
URL_SCHEMES = ("postgresql://", "postgres://")
_log = logging.getLogger("cooprogreso")


if TYPE_CHECKING:
    from _typeshed import SupportsLenAndGetItem

    # What sqlite3.Connection itself takes (positional or named): SqliteConnection may not narrow it.
    SqliteParams: TypeAlias = "SupportsLenAndGetItem[object] | Mapping[str, object]"

# Query parameters: positional, for `?` placeholders (PostgreSQL's connection takes `tuple(params)`).
Params = Sequence[object]


class Cursor(Protocol):
    """What services read from `conn.execute(...)` on either engine (sqlite3.Cursor, psycopg.Cursor).

    Rows are `Any` as sqlite3's own are: a row's columns are whatever the query selected, read by index
    or by name (`Row`)."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Row(Protocol):
    """One row of either engine: sqlite3.Row, or db_pg's tuple read by index and by name."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> list[str]: ...

    def __iter__(self) -> Iterator[Any]: ...

    def __len__(self) -> int: ...


class Connection(Protocol):
    """The portable connection a Database hands services (SqliteConnection, db_pg.PgConnection): what both
    engines share, so a service typed against it runs on either."""

    @property
    def engine(self) -> str: ...

    @property
    def in_transaction(self) -> bool: ...

    def execute(self, sql: str, params: Params = (), /) -> Cursor: ...

    def executemany(self, sql: str, seq: Iterable[Params], /) -> Cursor: ...

    def send(self, sql: str, params: Params = ()) -> None: ...

    def fetch_each(self, statements: Sequence[tuple[str, Params]]) -> list[Any]: ...

    def pipeline(self) -> AbstractContextManager[Connection]: ...

    def scrub_after_commit(self) -> None: ...

    def lock(self, name: str) -> None: ...

    def lock_shared(self, name: str) -> None: ...


class IntegrityError(sqlite3.IntegrityError):
    """A constraint refused a row (duplicate key, failed CHECK), whichever engine said so."""


class ReadOnlyDatabase(SchemaError):
    """A write asked of a database opened read-only, or one this user may only read (PostgreSQL: a role with only
    SELECT, or `default_transaction_read_only`): one Spanish line naming what the admin typed, nothing else."""

    code = "read_only"


def read_only_refusal(target: object) -> ReadOnlyDatabase:
    return ReadOnlyDatabase(f"La base de datos {target} es de solo lectura para este usuario: esta orden necesita "
                            "escribir en ella y no cambió nada. Las órdenes que solo leen (check, audit, outbox, "
                            "status, verify) sí funcionan.")


def is_url(target: object) -> bool:
    return isinstance(target, DatabaseUrl) or str(target).startswith(URL_SCHEMES)


# `Path("postgresql:///coop?host=/run/pg")` is "postgresql:/coop?host=/run/pg": a URL squeezed through Path
# no longer looks like a URL and would become a SQLite file (and folders) named after it. Anything that starts
# like a URL (a scheme of 2+ letters, then ":/") is never taken as a file path.
_URL_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:/")


def url_like_path(target: object) -> str | None:
    """Why `target` (not a real URL) cannot be a database file because it reads like a URL, or None."""
    if is_url(target) or not _URL_LIKE.match(str(target)):
        return None
    shown = re.sub(r"(:/+[^:/@]*):[^@]*@", r"\1:***@", str(target))
    return (f"«{shown}» parece una dirección de servidor, no un archivo: escribe la URL completa "
            f"(postgresql://…) o la ruta de un archivo .sqlite3.")


class DatabaseUrl:
    """A PostgreSQL URL given where a file path usually goes (settings, --db); printed without its password."""

    def __init__(self, url: str):
        self.url = str(url)

    def exists(self) -> bool:  # a server, not a file: connecting says whether it is there
        return True

    def expanduser(self) -> DatabaseUrl:
        return self

    def __str__(self) -> str:  # the password given as user:password@, ?password=… or ?sslpassword=… (libpq takes all)
        return re.sub(r"([?&](?:ssl)?password=)[^&#]*", r"\1***", re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", self.url))

    def __repr__(self) -> str:
        return f"DatabaseUrl({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DatabaseUrl) and other.url == self.url

    def __hash__(self) -> int:
        return hash(self.url)


def member_lock(member_id: int) -> str:
    """The named lock one member's writes queue on (PostgreSQL; SQLite writers are serial anyway).

    A member's own service calls take it as their transaction begins (`act_for`); staff calls that touch a
    member's money or data take it with `conn.lock(member_lock(id))` before any row lock, so a teller's
    withdrawal and the member's transfer from the same account run one after the other."""
    return f"member:{int(member_id)}"


@lru_cache(maxsize=64)
def insert_numbered(engine: str, table: str, columns: tuple[str, ...]) -> str:
    """`INSERT INTO table (id, reference, *columns) … RETURNING id` whose `reference` is its first parameter (a
    prefix) followed by the row's own id in 8 digits (more once it has more), made by the statement itself: the
    id is drawn inside it (PostgreSQL: from the table's sequence, in a CTE run once; SQLite, whose writers are
    serial: the next after the largest, as SQLite picks it), so no UPDATE of the reference has to follow the
    INSERT (issue #23: each statement costs the client and the server more than its work). The parameters after
    the prefix are the columns' values."""
    def digits(n: str) -> str:  # portable: no lpad/printf on both engines
        return f"CASE WHEN {n} < 100000000 THEN substr('0000000' || {n}, length('' || {n})) ELSE '' || {n} END"

    marks = ", ".join("?" * len(columns))
    head = f"INSERT INTO {table} (id, reference, {', '.join(columns)}) VALUES "
    if engine == "postgresql":
        return (f"WITH s AS (SELECT nextval(pg_get_serial_sequence('{table}', 'id')) AS n) {head}"
                f"((SELECT n FROM s), ? || (SELECT {digits('n')} FROM s), {marks}) RETURNING id")
    n = f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table})"
    return f"{head}({n}, ? || {digits(n)}, {marks}) RETURNING id"


def username_lock(username: str) -> str:
    """The named lock of a user name: members' and staff's names are one namespace across two tables."""
    return f"username:{username.lower()}"


def target_of(value: str | Path | DatabaseUrl) -> Path | DatabaseUrl:
    """A setting or --db value as a file path or a URL."""
    if isinstance(value, DatabaseUrl):
        return value
    if is_url(value):
        return DatabaseUrl(str(value))
    return value if isinstance(value, Path) else Path(value)


def outdated(version: int, where: str) -> SchemaError:
    """The refusal of a database this program's schema does not match (shared with the PostgreSQL engine)."""
    if version > SCHEMA_VERSION:
        return SchemaError(
            f"La base de datos es de una versión más nueva (esquema {version}) que este programa "
            f"(esquema {SCHEMA_VERSION}). Actualiza Cooprogreso antes de abrirla.")
    if version == 0:
        return SchemaError(f"{where} no es una base de datos de Cooprogreso (está vacía o es de otro programa).")
    return SchemaError(f"{where} está en el esquema {version} y este programa usa el {SCHEMA_VERSION}: "
                       f"actualízala con «cooprogreso migrate --db …».")


def statements(script: str) -> list[str]:
    """Split a migration into statements so it runs inside our own transaction (on either engine)."""
    parts, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                parts.append(buf.strip().rstrip(";"))
            buf = ""
    if buf.strip():
        parts.append(buf.strip().rstrip(";"))
    return parts


_LEADING_COMMENTS = re.compile(r"(?:\s*--[^\n]*\n)*\s*")
_ENGINE_MARK = re.compile(r"/\* (sqlite|postgresql) \*/\s*")


def for_engine(parts: list[str], engine: str) -> list[str]:
    """A migration's statements for one engine: those marked `/* sqlite */` or `/* postgresql */` run on that
    engine only (a table SQLite must rebuild where PostgreSQL alters it); unmarked ones run on both."""
    out = []
    for part in parts:
        body = part[_LEADING_COMMENTS.match(part).end():]  # type: ignore[union-attr]
        mark = _ENGINE_MARK.match(body)
        if mark is None:
            out.append(part)
        elif mark.group(1) == engine:
            out.append(body[mark.end():])
    return out


SQLITE_FOREIGN_KEYS_OFF = "-- sqlite: foreign keys off"


class Database(ABC):
    """One co-op's database, either engine; `backend.core.database.open_database(target)` opens the one the
    target names (file path or URL).

    `create`: make a missing SQLite file. `migrate`: bring an older schema up to date on open; the default
    (None) does so for the embedded file and never for PostgreSQL, where `cooprogreso migrate` does it.
    `check=False` skips the schema check (for `migrate` itself). `before_migrate` is called, on the database
    as it is, before an older schema is migrated on open (the key check: a wrong key file changes nothing).
    `readonly`: open it only to read (an auditor's copy, a backup on a read-only medium): never created nor
    migrated, no PRAGMA that writes, and every `write()` refuses (`ReadOnlyDatabase`) before it begins.
    """

    engine = "?"
    readonly = False
    before_migrate: Callable[[Database], None] | None = None
    target: Path | DatabaseUrl  # where it lives: a file, or a PostgreSQL URL (printed without its password)
    _local: threading.local  # this thread's connection, and what its writes check before they commit

    # -- what every engine provides ------------------------------------------------------------
    @property
    @abstractmethod
    def conn(self) -> Connection: ...

    @abstractmethod
    def write(self) -> AbstractContextManager[Connection]: ...

    @abstractmethod
    def read(self) -> AbstractContextManager[Connection]: ...

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def schema_version(self) -> int: ...

    @abstractmethod
    def migrate(self) -> int:
        """Apply every pending migration, each in its own transaction; returns how many ran."""

    def act_for(self, member_id: int | None) -> None:
        """The member this thread's service calls act for (PostgreSQL serialises their writes); None: nobody."""
        return None  # SQLite has one writer at a time: nothing to serialise (PgDatabase overrides it)

    @contextlib.contextmanager
    def checked_writes(self, check: Callable[[Connection], None]) -> Iterator[None]:
        """Every `write()` of this thread within the block runs `check(conn)` just before it commits, every lock
        the transaction waited for held: a staff call's session, ended while the call waited at a member's lock,
        is seen there (backend/security/roles.py `staff_only`). What `check` raises rolls the write back."""
        previous = getattr(self._local, "check", None)
        self._local.check = check
        try:
            yield
        finally:
            self._local.check = previous

    def _before_commit(self, conn: Connection) -> None:
        check = getattr(self._local, "check", None)
        if check is not None:
            check(conn)

    def can_write(self) -> bool:
        """Whether writes may be asked of it (PgDatabase asks the server whether this role may write); a SQLite file's
        permissions are judged before it is opened (cooprogreso_tui/dbcheck.py)."""
        return not self.readonly

    def empty_log(self) -> bool:
        """SQLite: finish a scrub that a reader held back (see `SqliteDatabase.empty_log`); True when nothing is left
        to finish. PostgreSQL keeps no such file of ours: nothing to do."""
        return True

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def get_metas(self, keys: Iterable[str]) -> dict[str, str | None]:
        """Several `meta` rows in one query (one round trip on PostgreSQL): opening a Backend reads seven; a row
        that is missing is None, as `get_meta` gives it."""
        wanted = tuple(dict.fromkeys(keys))
        found = dict(self.conn.execute(f"SELECT key, value FROM meta WHERE key IN ({', '.join('?' * len(wanted))})",
                                       wanted).fetchall()) if wanted else {}
        return {key: found.get(key) for key in wanted}

    def _opened(self, migrate: bool) -> None:
        version = self.schema_version()
        if version == SCHEMA_VERSION:
            return
        if migrate and version < SCHEMA_VERSION:
            if version and self.before_migrate is not None:
                self.before_migrate(self)
            self.migrate()
            return
        raise outdated(version, str(self.target))


# -- SQLite ---------------------------------------------------------------------------------------
_LOCKING = re.compile(r"\s+FOR\s+(?:NO\s+KEY\s+)?UPDATE(?:\s+OF\s+\w+(?:\s*,\s*\w+)*)?(?:\s+SKIP\s+LOCKED|\s+NOWAIT)?",
                      re.IGNORECASE)


@lru_cache(maxsize=512)
def _strip_locking(sql: str) -> str:
    return _LOCKING.sub("", sql)


class SqliteConnection(sqlite3.Connection):
    """sqlite3 as is, plus the little the portable SQL needs: row locks are no-ops (writers are serial)."""

    engine = "sqlite"

    def execute(self, sql: str, params: SqliteParams = ()) -> sqlite3.Cursor:
        if "FOR " in sql:
            sql = _strip_locking(sql)
        try:
            return super().execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(*exc.args) from exc

    def executemany(self, sql: str, seq: Iterable[SqliteParams]) -> sqlite3.Cursor:
        if "FOR " in sql:
            sql = _strip_locking(sql)
        try:
            return super().executemany(sql, seq)
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(*exc.args) from exc

    def pipeline(self) -> AbstractContextManager[SqliteConnection]:
        """One round trip for the statements inside on PostgreSQL (PgConnection.pipeline: fetch after the
        block); in-process here (a plain context, not a generator: it is entered under every booking's lock)."""
        return contextlib.nullcontext(self)

    def send(self, sql: str, params: Params = ()) -> None:
        """A write whose result nobody reads; PgConnection.send sends it with the next round trip, here it runs
        now."""
        self.execute(sql, params)

    def fetch_each(self, statements: Sequence[tuple[str, Params]]) -> list[Any]:
        """Each statement's first row (None when it has none), the statements run in order."""
        return [self.execute(sql, params).fetchone() for sql, params in statements]

    scrubbing = False  # set by `scrub_after_commit` for the current write transaction
    writers: io.FileIO | None = None  # this connection's handle on the writers' priority lane (`_begin_write`)
    writers_path: Path | None = None  # where it is opened at the first write (None: SQLite's lock alone)
    writing: io.FileIO | None = None  # this connection's handle on `<db>-writing`, the writers present (`_arrive`)

    def scrub_after_commit(self) -> None:
        """What this transaction deletes or rewrites must not stay readable on disk (a masked code): freed
        bytes are overwritten from now on, and once it commits the write-ahead log, which still holds the old
        pages, is checkpointed and emptied (`SqliteDatabase.write`)."""
        if not self.scrubbing:
            self.execute("PRAGMA secure_delete = ON")
            self.scrubbing = True

    def lock(self, name: str) -> None:
        """Serialise with other writers taking the same named lock: BEGIN IMMEDIATE already does."""

    def lock_shared(self, name: str) -> None:
        """The shared form of `lock` (PostgreSQL); writers are serial here already."""


def _create_private(path: Path) -> None:
    """Create the file with mode 0600 before SQLite opens it, so member data is never world-readable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return  # another process created it a moment ago: that is what we wanted
    os.close(fd)


def _configure(conn: sqlite3.Connection) -> None:
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    _into_wal(conn)
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")


def _configure_read_only(conn: sqlite3.Connection) -> None:
    """A read-only connection (`read_only_uri`): no journal mode switched, nothing synced; `query_only` refuses any
    write statement even where the file itself would take it."""
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA query_only = ON")
    conn.execute("PRAGMA foreign_keys = ON")


WAL_FORMAT = 2  # bytes 18 and 19 of a SQLite header: 1 for a rollback journal, 2 for write-ahead logging


def _nobody_writes(path: Path) -> bool:
    """The file has no write bit for anyone: a process of another account cannot write it, and our own commands
    run as root refuse such a file too (cooprogreso_tui/dbcheck.py `_writable` goes by the mode bits). A disk
    mounted read-only is not enough: a read-only bind mount (a container's `:ro`, an NFS export) may show a file
    that the service writes through another mount."""
    try:
        return not os.stat(path).st_mode & 0o222
    except OSError:
        return False


def read_only_uri(path: Path) -> str:
    """The URI that opens `path` without writing a byte, in or beside it; `SchemaError` where there is none.

    `mode=ro` reads a file in rollback-journal mode (a restored backup) under SQLite's shared lock, and a file in
    write-ahead-log mode through its `-wal` and `-shm` index, which a live writer keeps (SQLite ≥ 3.22 reads a
    `-shm` it may not write): a snapshot as consistent as any reader's. A WAL file that nobody has open has neither
    `-wal` nor `-shm` (the last connection removes them), and `mode=ro` would then create them beside it:
    impossible in a read-only folder, and in a writable one it would leave files of this account that the
    service's own account may not be able to write (a `-shm` left alone by a crash likewise gets a `-wal`). That
    file is opened `immutable=1` (no lock, no index: SQLite trusts that the file cannot change), which is safe only
    because of the two conditions checked: no `-wal` holds committed pages that immutable would skip, and nothing
    can write the file (`_nobody_writes`), so no writer can come in while it is read (one that had it open before
    its write bits were taken would have left its `-wal` and `-shm` there). Any other such file (another account
    may write it) is refused: copy it first. The files beside it are looked for beside the file itself, not
    beside a link to it (SQLite opens the file the link names)."""
    real = path.resolve()
    uri = real.as_uri()
    wal, shm = (Path(f"{real}-{end}") for end in ("wal", "shm"))
    from backend.core.files import read_head

    header = read_head(path, 20, what="La base de datos")
    if len(header) < 20 or header[18] != WAL_FORMAT or (wal.exists() and shm.exists()):
        return f"{uri}?mode=ro"
    if wal.exists() and wal.stat().st_size > 0:
        raise SchemaError(f"La base de datos {path} tiene cambios en su archivo {wal.name} que solo se leen junto "
                          f"con {shm.name}, y este falta: ábrela donde se pueda escribir o revisa una copia hecha "
                          f"con «cooprogreso backup».")
    if _nobody_writes(real):
        return f"{uri}?mode=ro&immutable=1"
    raise SchemaError(f"La base de datos {path} es de solo lectura para este usuario, pero otro usuario puede "
                      f"escribirla: para revisarla sin riesgo, hazlo sobre una copia («cooprogreso backup») o sin "
                      f"permiso de escritura para nadie (chmod a-w).")


def _into_wal(conn: sqlite3.Connection) -> None:
    """Write-ahead log mode. A file in another mode (a restored backup is a self-contained DELETE-mode file, as are
    files of the first versions) switches once, which needs the file alone for a moment; SQLite answers «database
    is locked» at once, without its busy handler, to every other process opening it then, so several opening it
    together (the worker, a session, a command after a restore) look again until the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if not _busy(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(YIELD_POLL_S)


# Trust boundary of the writers' lane: whoever runs as the service account can hold `<db>-writers` (flock) as long
# as they like, and then every write of ours fails after the busy timeout with «database is locked» (shown as «otro
# proceso la tiene ocupada»), never waits for ever. That account can do as much with SQLite's own lock (BEGIN
# EXCLUSIVE in the sqlite3 shell) or by deleting the file: the lane gives it no power it lacks, and is no defence
# against it. The file is 0600 and opened without following links, so no other account can take part.
def _writers_file(path: Path) -> io.FileIO:
    """The file of the writers' priority lane (`<db>-writers`, empty, mode 0600 like the database), opened once per
    connection: flock locks belong to the open file, so two threads of one process meet there like two processes;
    closed with the connection (or when it is collected)."""
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    return io.FileIO(os.open(path, flags, 0o600), "r+")


def _close_connection(conn: sqlite3.Connection) -> None:
    with contextlib.suppress(sqlite3.Error):
        conn.close()
    for name in ("writers", "writing"):
        handle = getattr(conn, name, None)
        if handle is not None:
            handle.close()


def _lane(conn: SqliteConnection) -> io.FileIO | None:
    """This connection's handle on `<db>-writers`, opened at its first write (a connection that only reads leaves
    no file behind); None: SQLite's lock alone (not POSIX, a folder this user may not write, a planted link)."""
    if fcntl is None or conn.in_transaction:  # a nested write fails at BEGIN, as before
        return None
    if conn.writers is None:
        if conn.writers_path is None:
            return None
        try:
            conn.writers = _writers_file(conn.writers_path)
        except OSError:
            conn.writers_path = None
            return None
    return conn.writers


def _arrive(conn: SqliteConnection) -> io.FileIO | None:
    """This writer is present, from before its BEGIN to after its COMMIT or ROLLBACK: a shared flock on `<db>-writing`
    (its own file: the lane's exclusive flock must not wait for the writers present). None: not counted (no file, or
    the flock taken for a moment by one that is leaving); those writers are unseen, so those leaving scrub as before.
    Trust boundary as the lane's: only the service account can open it (0600, no links followed); holding it shared
    for ever delays each scrub's checkpoint by at most DEFERRED_SCRUBS scrubs, holding it exclusive makes every
    writer unseen (each checkpoints its own scrub); a write is never held up by it."""
    if _lane(conn) is None or conn.writers_path is None:
        return None
    if conn.writing is None:
        try:
            conn.writing = _writers_file(conn.writers_path.with_name(conn.writers_path.name[:-len("-writers")]
                                                                     + "-writing"))
        except OSError:
            return None
    try:
        fcntl.flock(conn.writing, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return None
    return conn.writing


def _alone(present: io.FileIO) -> bool:
    """No other writer of ours is present (this one's shared flock becomes exclusive for a moment, then is dropped:
    on Linux a refused conversion drops it too)."""
    try:
        fcntl.flock(present, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        fcntl.flock(present, fcntl.LOCK_UN)


def _deferred(present: io.FileIO, count: int | None = None) -> int:
    """How many scrubs' checkpoints wait for a later writer (the first byte of `<db>-writing`); with `count`, set it."""
    if count is not None:
        os.pwrite(present.fileno(), bytes((min(count, 255),)), 0)
        return count
    head = os.pread(present.fileno(), 1, 0)
    return head[0] if head else 0


def _leave(conn: SqliteConnection, present: io.FileIO | None, *, scrubbed: bool) -> None:
    """After a write, committed or not: who checkpoints a scrub (`scrub_after_commit`).

    The checkpoint copies the masked pages into the file and truncates the write-ahead log; it takes SQLite's write
    lock and costs about what the transaction did (its fsyncs): with four processes booking, each transfer's
    checkpoint was half the time the lock was held (bench/run.py COOPROGRESO_BENCH_LOCKS=1). So a scrub that finds
    another writer of ours present (arrived, not yet left) leaves its checkpoint to it, counted in `<db>-writing`,
    and the last writer to leave a burst checkpoints once for all of them, its own write a scrub or not; after
    DEFERRED_SCRUBS in a row the next scrub checkpoints anyway, so a busy stretch never leaves a code readable for
    long. A writer killed before leaving leaves it to the next writer alone or the worker's pass (`empty_log`), as a
    checkpoint held back by a reader always did. Unseen writers (`_arrive` None) checkpoint their own scrubs."""
    if present is None:
        if scrubbed:
            _checkpoint(conn)
        return
    alone = _alone(present)
    waiting = _deferred(present)
    if alone:
        due = scrubbed or waiting > 0
    elif not scrubbed:
        due = False  # a writer still present checkpoints what waits when it leaves
    elif waiting < DEFERRED_SCRUBS:
        _deferred(present, waiting + 1)
        due = _alone(present)  # the others left meanwhile, before the count was up: nobody else would
    else:
        due = True
    if due:
        _deferred(present, 0)  # before the checkpoint: a scrub counted meanwhile is not wiped out
        if not _checkpoint(conn):  # held back (a reader): these scrubs, this one's too, still wait for a later writer
            pending = waiting + int(scrubbed)
            if pending:
                _deferred(present, pending + _deferred(present))  # plus any counted since the reset


def _after_write(conn: SqliteConnection, present: io.FileIO | None, *, began: bool, committed: bool) -> None:
    """secure_delete off again and the scrub's checkpoint seen to (`_leave`), after COMMIT or ROLLBACK. Neither may
    turn a committed write into a failure for its caller, nor hide the exception a failed one raised: a full disk
    (the counter's byte) or a refused PRAGMA is logged, the masked pages then wait for a later checkpoint or the
    worker's `empty_log`; the presence flock is dropped whatever happened."""
    scrubbed = False
    try:
        scrubbed = began and _end_scrub(conn) and committed  # a nested write's failed BEGIN leaves the outer's
        _leave(conn, present, scrubbed=scrubbed)
    except (OSError, sqlite3.Error):
        _log.warning("SQLite: the checkpoint after a write could not be seen to; a later one or the worker's "
                     "pass empties the log", exc_info=True)
        conn.scrubbing = False
        if present is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(present, fcntl.LOCK_UN)


def _checkpoint(conn: SqliteConnection) -> bool:
    """The write-ahead log copied into the file and truncated, without waiting: False when a reader or a writer kept
    it from finishing (a later writer, or the worker's pass, tries again)."""
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        return conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    except sqlite3.Error:
        return False
    finally:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def _flock_by(lane: io.FileIO, operation: int, deadline: float, every: float) -> None:
    """Take the flock, looking again every `every` seconds; «database is locked» once the deadline is past."""
    while True:
        try:
            fcntl.flock(lane, operation | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise sqlite3.OperationalError("database is locked") from None
        time.sleep(every)


def _busy(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", sqlite3.SQLITE_BUSY) & 0xFF == sqlite3.SQLITE_BUSY


def _begin_write(conn: SqliteConnection) -> None:
    """BEGIN IMMEDIATE without starving, at most the busy timeout in all («database is locked» after it).

    SQLite's own busy handler looks again ever more slowly (up to 100 ms apart) while a newcomer looks within a few
    ms, so with several processes writing back to back the one that waited longest could keep missing the lock
    until its 10 s ran out (4 booking processes under load: 1–2 confirmations in 1,200). So a writer whose BEGIN
    has waited `STARVED_AFTER_S` takes the priority lane, an exclusive flock on `<db>-writers`, and tries BEGIN
    again every `LANE_POLL_S`, while every other writer of ours, which looks at the lane before its BEGIN (one
    shared flock taken and dropped at once), waits for it to clear: the lock's next handoff goes to the starved
    writer or to one already waiting in BEGIN, and those are few. The common case costs two flock calls: no
    sleeping, no forced turns (the process that has the lock may take it again). A writer that is not ours (the
    sqlite3 shell) only meets BEGIN IMMEDIATE's busy timeout."""
    lane = _lane(conn)
    if lane is None:
        conn.execute("BEGIN IMMEDIATE")
        return
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    _flock_by(lane, fcntl.LOCK_SH, deadline, YIELD_POLL_S)
    fcntl.flock(lane, fcntl.LOCK_UN)
    patience = min(STARVED_AFTER_S, deadline - time.monotonic())
    conn.execute(f"PRAGMA busy_timeout = {max(0, int(patience * 1000))}")
    try:
        if _began(conn, deadline):
            return
    finally:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    _flock_by(lane, fcntl.LOCK_EX, deadline, LANE_POLL_S)  # another starved writer in the lane: after it
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        while not _began(conn, deadline):
            time.sleep(LANE_POLL_S)
    finally:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        fcntl.flock(lane, fcntl.LOCK_UN)


def _began(conn: SqliteConnection, deadline: float) -> bool:
    """BEGIN IMMEDIATE: True when it began, False when the database was busy and time is left; any other error,
    or busy past the deadline, is raised."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        return True
    except sqlite3.OperationalError as exc:
        if not _busy(exc) or time.monotonic() >= deadline:
            raise
        return False


def _end_scrub(conn: SqliteConnection) -> bool:
    """After a scrubbing transaction: secure_delete off again; True when it was one. The committed pages still have
    to be copied into the file and the write-ahead log truncated, so the old text is in neither (`_leave`)."""
    if not conn.scrubbing:
        return False
    conn.scrubbing = False
    conn.execute("PRAGMA secure_delete = OFF")
    return True


class SqliteDatabase(Database):
    """A database file; hands each thread its own connection (sqlite3 objects are not thread-safe)."""

    engine = "sqlite"

    def __init__(self, path: str | Path, *, create: bool = True, migrate: bool | None = None, check: bool = True,
                 before_migrate: Callable[[Database], None] | None = None, readonly: bool = False):
        self.before_migrate = before_migrate
        refusal = url_like_path(path)
        if refusal:  # never create a file (and folders) named after a URL that lost its "//"
            raise SchemaError(refusal)
        self.path = Path(path)
        self.target = self.path
        self.readonly = readonly
        if readonly:
            create, migrate = False, False
        self._uri: str | None = None
        if not self.path.exists():
            if not create:
                raise SchemaError(f"No existe la base de datos {self.path}.")
            _create_private(self.path)
        elif self.path.is_dir():
            raise SchemaError(f"{self.path} es una carpeta, no una base de datos.")
        elif not create and self.path.stat().st_size == 0:
            raise outdated(0, str(self.path))  # before SQLite writes a header into it
        self._local = threading.local()
        self._open: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._lock = threading.Lock()
        try:
            if readonly:
                self._uri = read_only_uri(self.path)
            if check:
                self._opened(migrate is not False)
            else:
                self.schema_version()  # still refuse what is not a database at all
        except sqlite3.DatabaseError as exc:
            self.close()
            raise SchemaError(f"No se pudo abrir {self.path} como base de datos de Cooprogreso: {sqlite_reason(exc)}.") from exc
        except BaseException:
            self.close()
            raise

    @property
    def conn(self) -> SqliteConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self._uri is not None:
                conn = sqlite3.connect(self._uri, uri=True, isolation_level=None, check_same_thread=False,
                                       factory=SqliteConnection)
                _configure_read_only(conn)
            else:
                conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                       factory=SqliteConnection)
                _configure(conn)
            real = self.path.resolve()  # one queue, whatever link named the file
            conn.writers_path = real.with_name(real.name + "-writers")
            self._local.conn = conn
            with self._lock:
                # Worker threads come and go: close what the finished ones left open.
                for _thread, old in [pair for pair in self._open if not pair[0].is_alive()]:
                    _close_connection(old)
                self._open = [pair for pair in self._open if pair[0].is_alive()]
                self._open.append((threading.current_thread(), conn))
        return conn

    @contextlib.contextmanager
    def write(self) -> Iterator[SqliteConnection]:
        """One atomic unit of work: all of it commits or none of it does. Its BEGIN does not starve
        (`_begin_write`)."""
        if self.readonly:
            raise read_only_refusal(self.path)
        conn = self.conn
        present = _arrive(conn)
        began = committed = False
        try:
            _begin_write(conn)
            began = True
            try:
                yield conn
                self._before_commit(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            committed = True
        finally:
            _after_write(conn, present, began=began, committed=committed)

    def empty_log(self) -> bool:
        """The checkpoint after a scrubbing transaction (`_leave`) does not wait: while another connection reads
        an older snapshot it cannot copy the masked pages nor truncate the write-ahead log, and the old text stays
        on disk until a later checkpoint succeeds. The worker's pass calls this: the log checkpointed and truncated
        now if nobody reads (not waiting either). True when the log is empty; a log holding only ordinary writes is
        emptied too (the worker cannot know which process's scrub was held back)."""
        if self.readonly:
            return True  # a reader cannot checkpoint: the log is the writers' to empty
        try:
            if self.path.with_name(self.path.name + "-wal").stat().st_size == 0:
                return True
        except FileNotFoundError:  # no log (the last connection to close removes it)
            return True
        conn = self.conn
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        except sqlite3.Error:
            return False
        finally:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        return busy == 0

    @contextlib.contextmanager
    def read(self) -> Iterator[SqliteConnection]:
        """A consistent snapshot for multi-query reads."""
        conn = self.conn
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for _, conn in self._open:
                _close_connection(conn)
            self._open.clear()
        self._local = threading.local()

    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> int:
        # The version is read again inside the write lock: several processes opening a new file at
        # once each wait their turn, and whoever comes second finds the work done.
        # A migration that rebuilds a table (SQLITE_FOREIGN_KEYS_OFF) runs with foreign keys off, which SQLite
        # only allows outside a transaction, and is refused unless `foreign_key_check` finds nothing broken.
        if self.readonly:
            raise read_only_refusal(self.path)
        conn, ran = self.conn, 0
        while True:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            rebuild = version < SCHEMA_VERSION and SQLITE_FOREIGN_KEYS_OFF in MIGRATIONS[version]
            if rebuild:
                conn.execute("PRAGMA foreign_keys = OFF")
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    version = conn.execute("PRAGMA user_version").fetchone()[0]
                    if version >= SCHEMA_VERSION:
                        conn.execute("COMMIT")
                        if version > SCHEMA_VERSION:
                            raise outdated(version, str(self.path))
                        return ran
                    if rebuild != (SQLITE_FOREIGN_KEYS_OFF in MIGRATIONS[version]):
                        conn.execute("ROLLBACK")  # another process moved on meanwhile: look again
                        continue
                    for statement in for_engine(statements(MIGRATIONS[version]), "sqlite"):
                        conn.execute(statement)
                    if rebuild and conn.execute("PRAGMA foreign_key_check").fetchone() is not None:
                        raise SchemaError(f"La migración {version + 1} rompería referencias entre tablas; "
                                          "no se aplicó.")
                    conn.execute(f"PRAGMA user_version = {version + 1}")
                    conn.execute("COMMIT")
                    ran += 1
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            finally:
                if rebuild:
                    conn.execute("PRAGMA foreign_keys = ON")
