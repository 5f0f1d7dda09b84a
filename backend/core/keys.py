"""The co-op's secret keys live in a key file beside the configuration, never in the member database.

With the OTP pepper and the receipt key out of the database, a copy of the database alone can neither
forge a receipt nor test the codes of the challenges it holds. The file (JSON, mode 0600, created with
O_EXCL) keeps one entry per database, found by the database's random, non-secret `database_id`, so the
demo and a real co-op can share one configuration directory. Databases that still hold the keys in
`meta` (older versions) have them moved into the file, then erased from the database file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from backend.core.errors import ServiceError
from backend.core.files import read_limited

KEY_NAMES = ("otp_pepper", "receipt_secret")
ENV_VAR = "COOPROGRESO_SECRET_KEY_FILE"
FILE_NAME = "keys.json"


class KeyFileError(ServiceError):
    code = "key_file"


def key_file_path(setting: str = "") -> Path:
    """The key file: the `secret_key_file` setting, else $COOPROGRESO_SECRET_KEY_FILE, else the config dir."""
    if setting:
        return Path(setting).expanduser()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    import platformdirs

    return platformdirs.user_config_path("cooprogreso") / FILE_NAME


def load(db, path: Path) -> dict[str, bytes]:
    """This database's keys from the key file: created on first use, moved there from `meta` if old."""
    db_id = database_id(db)
    legacy = {name: db.get_meta(name) for name in KEY_NAMES}
    entry = _peek(path, db_id)
    if entry is None or any(legacy.values()):
        with _locked(path):
            store = _read(path)
            entry = store.get(db_id)
            if entry is None:
                if all(legacy.values()):
                    entry = {name: str(legacy[name]) for name in KEY_NAMES}  # moved, so old receipts still verify
                else:
                    import secrets  # only to make keys: opening a database with its keys filed needs none

                    entry = {name: secrets.token_hex(32) for name in KEY_NAMES}
                store[db_id] = entry
                _write(path, store)
        if any(legacy.values()):
            _erase_legacy(db)
    try:
        return {name: bytes.fromhex(entry[name]) for name in KEY_NAMES}
    except (KeyError, TypeError, ValueError):
        raise KeyFileError(f"El archivo de claves {path} está dañado (entrada {db_id}).") from None


def database_id(db) -> str:
    """A random id naming this database in the key file (not a secret); made once."""
    found = db.get_meta("database_id")
    if found:
        return found
    import secrets

    with db.write() as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('database_id', ?) ON CONFLICT (key) DO NOTHING",
                     (secrets.token_hex(16),))
    return db.get_meta("database_id")


def _erase_legacy(db) -> None:
    """Delete the keys from `meta`, overwriting them on disk too."""
    with scrubbing_write(db) as tx:
        tx.execute("DELETE FROM meta WHERE key IN ('otp_pepper', 'receipt_secret')")


@contextlib.contextmanager
def scrubbing_write(db) -> Iterator:
    """A write transaction whose deleted or replaced values are overwritten on disk as well: SQLite
    keeps deleted rows in free pages and in the write-ahead log until they are reused."""
    conn = db.conn
    is_sqlite = isinstance(conn, sqlite3.Connection)
    if is_sqlite:
        conn.execute("PRAGMA secure_delete = ON")
    try:
        with db.write() as tx:
            yield tx
    finally:
        if is_sqlite:
            conn.execute("PRAGMA secure_delete = OFF")
    if is_sqlite:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _peek(path: Path, db_id: str) -> dict | None:
    """The entry without taking the lock (the common case: the file and the entry exist)."""
    if not path.exists():
        return None
    return _read(path).get(db_id)


def _read(path: Path) -> dict:
    def private(info: os.stat_result) -> None:
        if info.st_mode & 0o077:
            raise KeyFileError(f"El archivo de claves {path} es legible por otros usuarios; "
                               f"déjalo privado con: chmod 600 {path}")

    if not os.path.lexists(path):
        return {}
    raw = read_limited(path, max_bytes=4 * 2**20, what="El archivo de claves", nofollow=True, error=KeyFileError,
                       check=private)
    try:
        data = json.loads(raw.decode("utf-8"))
        databases = data["databases"]
        if not isinstance(databases, dict):
            raise TypeError
        return databases
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise KeyFileError(f"El archivo de claves {path} está dañado; no se modificó.") from None


def _write(path: Path, databases: dict) -> None:
    """Replace the file atomically with a new one that was 0600 from its first byte."""
    import secrets

    body = json.dumps({"version": 1, "databases": databases}, indent=1, sort_keys=True).encode()
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(tmp, flags, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(body)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise KeyFileError(f"No se pudo escribir el archivo de claves {path}: {exc.strerror}.") from None


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One process at a time creates or changes the key file (a lock file beside it)."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0),
                     0o600)
    except OSError as exc:
        raise KeyFileError(f"No se pudo preparar el archivo de claves {path}: {exc.strerror}.") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
