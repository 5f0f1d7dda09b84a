"""Backups a co-op can restore (`cooprogreso backup` / `restore`), with the key file kept apart.

A backup is the database alone: the keys stay in the key file, which the administrator keeps in another place
(a stolen backup then opens nothing sealed). Beside the backup FILE a small manifest (FILE.manifest.json, 0600)
records, per backup, its SHA-256, the database's id and the fingerprint of its keys (backend/core/keys.py), so
`restore` refuses a backup whose keys the key file at hand does not hold, before anything is written.

SQLite: SQLite's online backup API copies a consistent snapshot while the app and the worker keep writing.
PostgreSQL: `pg_dump -Fc` (a consistent snapshot too), restored with `pg_restore` into an empty database; the
connection details go to both through the PG* environment variables, never on a command line other users see.

Crash safety: the copy is written to a temporary file beside FILE and renamed over it only when complete. The
manifest, renamed first, lists the new backup and the previous one: a kill at any instant leaves FILE either
the previous backup or the new one, each listed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from backend.core import keys
from backend.core.database import open_database
from backend.core.db import Database, DatabaseUrl, is_url, outdated
from backend.core.errors import ServiceError, os_reason, sqlite_reason
from backend.core.schema import SCHEMA_VERSION

MANIFEST_SUFFIX = ".manifest.json"
KEEP = 2  # manifest entries: the backup FILE holds now and the one it held before


class BackupError(ServiceError):
    code = "backup"


@dataclass(frozen=True)
class Backup:
    path: Path
    engine: str
    database_id: str
    fingerprint: str
    schema_version: int
    sha256: str


def manifest_path(path: Path) -> Path:
    return path.with_name(path.name + MANIFEST_SUFFIX)


def take(target: str | Path | DatabaseUrl, to: Path, *, taken_at: str) -> Backup:
    """A consistent copy of the database `target` at `to`, and its manifest entry."""
    to = Path(to)
    if to.is_dir():
        raise BackupError(f"{to} es una carpeta: indica el archivo de la copia, p. ej. {to / 'cooprogreso.backup'}.")
    if not to.parent.is_dir():
        raise BackupError(f"No existe la carpeta {to.parent} para la copia.")
    source = None if is_url(target) else Path(str(target))
    # A file in a folder this process cannot write (a read-only disk or mount, a backup account with read rights
    # only) is copied through a read-only connection: opening it as the app does would need to write beside it.
    read_only = source is not None and not os.access(source.parent, os.W_OK)
    db = None if read_only else open_database(target, create=False, migrate=False)
    try:
        if db is None:
            assert source is not None
            database_id, fingerprint, version = _sqlite_read_only_identity(source)
        else:
            database_id, fingerprint = _identity(db)
            version = db.schema_version()
        tmp = _temp_beside(to)
        try:
            if db is not None and is_url(target):
                _pg_dump(_url(target), tmp)
                after = _identity(db)
                if after != (database_id, fingerprint):
                    raise BackupError("Las claves de la base cambiaron durante la copia (¿una rotación?); "
                                      "vuelve a hacer la copia.")
            else:
                assert source is not None
                _sqlite_backup(source, tmp)
                database_id, fingerprint = _sqlite_identity(tmp)  # the snapshot's own record is the truth
                if not database_id or not fingerprint:
                    raise BackupError("La copia no registra la huella de sus claves; no se guardó.")
            _fsync(tmp)
            digest = _sha256(tmp)
            entry = {"sha256": digest, "engine": "postgresql" if is_url(target) else "sqlite",
                     "database_id": database_id, "key_fingerprint": fingerprint, "schema_version": version,
                     "taken_at": taken_at}
            _write_manifest(to, entry)
            os.replace(tmp, to)  # the commit point: FILE is the previous backup or this one, whole
            _fsync_dir(to.parent)
        finally:
            tmp.unlink(missing_ok=True)
    finally:
        if db is not None:
            db.close()
    return Backup(to, str(entry["engine"]), database_id, fingerprint, version, digest)


def inspect(path: Path) -> Backup:
    """The manifest entry of the backup at `path`, checked against its content."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"No existe la copia {path}.")
    entries = _read_manifest(path)
    if entries is None:
        raise BackupError(f"Falta el manifiesto {manifest_path(path)} de la copia: sin él no se sabe con qué "
                          "claves se abre; no se restaura.")
    digest = _sha256(path)
    for entry in entries:
        if entry.get("sha256") == digest:
            try:
                return Backup(path, str(entry["engine"]), str(entry["database_id"]), str(entry["key_fingerprint"]),
                              int(entry["schema_version"]), digest)
            except (KeyError, TypeError, ValueError):
                break
    raise BackupError(f"La copia {path} no coincide con su manifiesto (alterada o incompleta); no se restaura.")


def restore(source: Path, target: str | Path | DatabaseUrl, key_file: Path) -> Backup:
    """Put the backup `source` at `target` (a new file, or an empty PostgreSQL database), if the key file
    holds the keys it was taken with. Nothing is written when it does not."""
    backup = inspect(source)
    entry = keys.peek(key_file, backup.database_id)
    if keys.matching(entry, backup.fingerprint) is None:
        found = f"el archivo tiene la huella {keys.fingerprint(entry)}" if entry else "el archivo no tiene sus claves"
        raise BackupError(f"La copia {source} se tomó con las claves de huella {backup.fingerprint} y {found} "
                          f"({key_file}). Indica el archivo de claves guardado con esa copia (ajuste secret_key_file "
                          f"o {keys.ENV_VAR}; tras una rotación, el de antes); no se restauró nada.")
    if is_url(target):
        if backup.engine != "postgresql":
            raise BackupError("Esta copia es de un archivo SQLite: restáurala en un archivo y pásala a PostgreSQL "
                              "con «cooprogreso copy-db».")
        _pg_restore(_url(target), Path(source))
    else:
        if backup.engine != "sqlite":
            raise BackupError("Esta copia es de PostgreSQL (pg_dump): restáurala en una base PostgreSQL vacía "
                              "(--db postgresql://…).")
        _restore_file(Path(source), Path(str(target)), backup)
    return backup


# -- SQLite ---------------------------------------------------------------------------------------------------
def _sqlite_backup(path: Path, tmp: Path) -> None:
    before, uri = _stamp(path), _read_only_uri(path)
    try:
        src = sqlite3.connect(uri, uri=True)
        try:
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst, pages=1024)  # steps: writers are not held up for the whole copy
                dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise BackupError(f"No se pudo copiar la base {path}: {sqlite_reason(exc)}; no se guardó la copia.") from None
    if "immutable=1" in uri and _stamp(path) != before:  # SQLite took the file as unchanging
        raise BackupError(f"La base {path} cambió mientras se copiaba; vuelve a hacer la copia.")


def _read_only_uri(path: Path) -> str:
    """A read-only connection's URI. In a folder this process cannot write, with no write-ahead log beside the
    file, SQLite could not make its shared-memory file: `immutable` reads the file as it stands (no writer can be
    at work without a log; `_sqlite_backup` checks that none started during the copy)."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    if not os.access(path.parent, os.W_OK) and _wal_file_at_rest(path):
        uri += "&immutable=1"
    return uri


def _wal_file_at_rest(path: Path) -> bool:
    """A file in write-ahead-log mode (header bytes 18-19 are 2) with no log nor rollback journal beside it: nothing
    half-written to roll back, and no writer at work. Only such a file is read as `immutable` (which ignores locks
    and journals); any other opens as plain read-only, which refuses loudly rather than copy a torn file."""
    try:
        with open(path, "rb") as file:
            header = file.read(20)
    except OSError:
        return False
    return (len(header) == 20 and header[18] == 2 and header[19] == 2
            and not os.path.exists(f"{path}-wal") and not os.path.exists(f"{path}-journal"))


def _stamp(path: Path) -> tuple[int, int, int, bool, bool]:
    info = os.stat(path)
    return (info.st_size, info.st_mtime_ns, info.st_ino, os.path.exists(f"{path}-wal"),
            os.path.exists(f"{path}-journal"))


def _sqlite_read_only_identity(path: Path) -> tuple[str, str, int]:
    """(database id, key fingerprint, schema version) of a database file read without writing a byte beside it;
    refused as `open_database` would refuse it (another program's file, another schema, no recorded keys)."""
    try:
        conn = sqlite3.connect(_read_only_uri(path), uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"No se pudo abrir la base {path}: {sqlite_reason(exc)}.") from None
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            raise outdated(version, str(path))
        meta = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('database_id', ?)",
                                 (keys.FINGERPRINT_META,)).fetchall())
    except sqlite3.Error as exc:
        raise BackupError(f"No se pudo leer la base {path}: {sqlite_reason(exc)}.") from None
    finally:
        conn.close()
    if not meta.get("database_id") or not meta.get(keys.FINGERPRINT_META):
        raise BackupError("Esta base aún no registra la huella de sus claves: ábrela una vez con su archivo de "
                          "claves (p. ej. cooprogreso check) y vuelve a hacer la copia.")
    return meta["database_id"], meta[keys.FINGERPRINT_META], version


def _sqlite_identity(path: Path) -> tuple[str, str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('database_id', ?)",
                                 (keys.FINGERPRINT_META,)).fetchall())
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} no es una base de datos de Cooprogreso: {sqlite_reason(exc)}.") from None
    finally:
        conn.close()
    return meta.get("database_id", ""), meta.get(keys.FINGERPRINT_META, "")


def _restore_file(source: Path, target: Path, backup: Backup) -> None:
    if os.path.lexists(target):
        raise BackupError(f"Ya existe {target}: la copia se restaura en un archivo nuevo; no se sobrescribe.")
    if not target.parent.is_dir():
        raise BackupError(f"No existe la carpeta {target.parent}.")
    tmp = _temp_beside(target)
    try:
        with open(source, "rb") as src, open(tmp, "wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
        if _sha256(tmp) != backup.sha256 or _sqlite_identity(tmp) != (backup.database_id, backup.fingerprint):
            raise BackupError(f"La copia {source} no coincide con su manifiesto; no se restaura.")
        _fsync(tmp)
        try:
            os.link(tmp, target)  # never over a file that appeared meanwhile
        except FileExistsError:
            raise BackupError(f"Ya existe {target}: no se sobrescribe.") from None
        _fsync_dir(target.parent)
    finally:
        tmp.unlink(missing_ok=True)


# -- PostgreSQL -----------------------------------------------------------------------------------------------
_PG_ENV = {"host": "PGHOST", "hostaddr": "PGHOSTADDR", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD",
           "dbname": "PGDATABASE", "sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT",
           "sslkey": "PGSSLKEY", "passfile": "PGPASSFILE", "connect_timeout": "PGCONNECT_TIMEOUT",
           "application_name": "PGAPPNAME", "service": "PGSERVICE"}


def _pg_env(url: str) -> dict[str, str]:
    from psycopg.conninfo import conninfo_to_dict

    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    for key, value in conninfo_to_dict(url).items():
        if key not in _PG_ENV:
            raise BackupError(f"El parámetro «{key}» de la dirección PostgreSQL no se puede pasar a pg_dump.")
        env[_PG_ENV[key]] = str(value)
    return env


def _run(command: list[str], url: str, what: str) -> None:
    try:
        done = subprocess.run(command, env=_pg_env(url), capture_output=True, text=True, timeout=6 * 3600)
    except FileNotFoundError:
        raise BackupError(f"No se encontró {command[0]} (paquete postgresql-client).") from None
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ["sin detalle"])[-1]
        raise BackupError(f"{what} falló: {last}")


def _url(target: str | Path | DatabaseUrl) -> str:
    """The URL the tools connect with: str() of a DatabaseUrl prints its password as *** (for messages)."""
    return target.url if isinstance(target, DatabaseUrl) else str(target)


def _pg_dump(url: str, tmp: Path) -> None:
    _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(tmp)], url, "pg_dump")


def _pg_restore(url: str, source: Path) -> None:
    db = open_database(url, check=False)
    try:
        if db.conn.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema()"
                           " LIMIT 1").fetchone():
            raise BackupError("La base PostgreSQL de destino no está vacía: la copia se restaura en una base "
                              "nueva (createdb); no se sobrescribe.")
    finally:
        db.close()
    from psycopg.conninfo import conninfo_to_dict

    dbname = str(conninfo_to_dict(url).get("dbname") or "")  # a name, not a secret; the rest goes by PG*
    _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
          "--dbname", dbname, str(source)], url, "pg_restore")


# -- files ----------------------------------------------------------------------------------------------------
def _identity(db: Database) -> tuple[str, str]:
    database_id, fingerprint = db.get_meta("database_id"), db.get_meta(keys.FINGERPRINT_META)
    if not database_id or not fingerprint:
        raise BackupError("Esta base aún no registra la huella de sus claves: ábrela una vez con su archivo de "
                          "claves (p. ej. cooprogreso check) y vuelve a hacer la copia.")
    return database_id, fingerprint


def _temp_beside(path: Path) -> Path:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        os.close(os.open(tmp, flags, 0o600))
    except OSError as exc:
        raise BackupError(f"No se pudo escribir en {path.parent}: {os_reason(exc)}; elige otra carpeta para la "
                          "copia.") from None
    return tmp


def _read_manifest(path: Path) -> list[dict] | None:
    from backend.core.files import read_limited

    where = manifest_path(path)
    if not os.path.lexists(where):
        return None
    try:
        data = json.loads(read_limited(where, max_bytes=1 << 20, what="El manifiesto", nofollow=True,
                                       error=BackupError).decode("utf-8"))
        entries = data["backups"]
        return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        return []


def _write_manifest(to: Path, entry: dict) -> None:
    """The new entry first, then the one describing what FILE holds now (kept until the next backup)."""
    previous = _read_manifest(to) or []
    current = _sha256(to) if to.is_file() else None
    kept = [entry, *[e for e in previous if e.get("sha256") == current and current != entry["sha256"]]][:KEEP]
    body = json.dumps({"version": 1, "backups": kept}, indent=1, sort_keys=True).encode()
    where = manifest_path(to)
    tmp = _temp_beside(where)
    try:
        with open(tmp, "wb") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, where)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(to.parent)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        _fsync(folder)
