"""Before a command opens a database: is this path a Cooprogreso database we may use, and if not, why?

Every refusal is one Spanish line, decided without writing a byte: a missing path, a folder, an empty
or foreign file, a newer schema, a file or folder without write permission. Only then does the
command open it (which may migrate an older schema, never anything that is not ours).
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

from backend.core.errors import ServiceError, os_reason, sqlite_reason
from backend.core.files import read_head

SQLITE_HEADER = b"SQLite format 3\x00"


def problem(path, *, write: bool = True) -> str | None:
    """Why `path` cannot be opened as this program's database, or None if it can.

    `write=False` for a file only read (the source of a copy). Only files are probed; a postgresql:// URL
    is the server's to judge when it is opened."""
    from backend.core.db import is_url, url_like_path
    from backend.core.schema import SCHEMA_VERSION

    if not isinstance(path, (str, os.PathLike)) or is_url(path):
        return None
    refusal = url_like_path(path)
    if refusal:
        return refusal
    path = Path(path)

    try:
        info = os.stat(path)
    except FileNotFoundError:
        return f"No existe la base de datos {path}."
    except OSError as exc:
        return f"No se puede acceder a la base de datos {path}: {os_reason(exc)}."
    if stat.S_ISDIR(info.st_mode):
        return f"{path} es una carpeta, no una base de datos."
    if not stat.S_ISREG(info.st_mode):
        return f"{path} no es un archivo de base de datos (es un dispositivo u otro tipo de archivo)."
    if info.st_size == 0:
        return f"El archivo {path} está vacío: no es una base de datos de Cooprogreso."
    try:
        header = read_head(path, len(SQLITE_HEADER), what="La base de datos")
    except ServiceError as exc:
        return exc.message
    if header != SQLITE_HEADER:
        return f"El archivo {path} no es una base de datos de Cooprogreso (no es SQLite)."
    if write and not _writable(path, info):
        return (f"La base de datos {path} es de solo lectura; Cooprogreso necesita poder escribir en el archivo "
                f"y en su carpeta (las órdenes que solo leen, como check, audit, outbox, status y verify, sí la "
                f"revisan).")
    try:
        version = _user_version(path)
    except sqlite3.DatabaseError as exc:
        return f"No se pudo leer la base de datos {path}: {sqlite_reason(exc)}."
    if version == 0:
        return f"El archivo {path} es una base SQLite pero no de Cooprogreso."
    if version > SCHEMA_VERSION:
        return (f"La base de datos {path} es de una versión más nueva (esquema {version}) que este programa "
                f"(esquema {SCHEMA_VERSION}). Actualiza Cooprogreso antes de abrirla.")
    return None


def _writable(path: Path, info: os.stat_result) -> bool:
    """Write permission on the file and its folder (WAL files live beside it), by mode bits too:
    `os.access` says yes to root whatever the bits, but a 0444 file is meant to stay untouched."""
    if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK | os.X_OK):
        return False
    if os.geteuid() == 0:
        return bool(info.st_mode & 0o222) and bool(os.stat(path.parent).st_mode & 0o222)
    return True


def _user_version(path: Path) -> int:
    """The schema version, read-only. With no write-ahead log beside the file its header is the truth
    (bytes 60–63); with one and its index, SQLite reads through them (the header alone can be stale). A log
    without its index is not opened here: SQLite would create the index beside it, a file of whoever asks (a
    read-only open refuses that file anyway: backend/core/db.py `read_only_uri`; a writable one reads it)."""
    real = path.resolve()
    wal, shm = Path(f"{real}-wal"), Path(f"{real}-shm")
    if not wal.exists() or wal.stat().st_size == 0 or not shm.exists():
        try:
            header = read_head(path, 100, what="La base de datos")
        except ServiceError as exc:
            raise sqlite3.DatabaseError(exc.message) from None
        if len(header) < 100:
            raise sqlite3.DatabaseError("cabecera incompleta")
        return int.from_bytes(header[60:64], "big")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()
