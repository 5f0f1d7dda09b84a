"""Files the co-op writes for a member (CSV exports, saved receipts): private from the first byte.

Each file is created with O_CREAT|O_EXCL|O_NOFOLLOW and mode 0600, so it never follows a symlink
planted in the export folder, never overwrites anything, and is never readable by others, not even
for an instant. Names are unique: two exports in the same second both succeed.
Files the co-op reads from a person (CSV imports, receipts to verify) go through `read_limited`.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from pathlib import Path

from .errors import ServiceError

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def write_private(directory: str | Path, stem: str, suffix: str, data: bytes) -> Path:
    """Write `data` to a new file `<stem>-<random><suffix>` in `directory` (created 0700 if missing)."""
    folder = Path(directory)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ServiceError(f"No se pudo crear la carpeta {folder}: {exc.strerror}.", code="file") from exc
    safe_stem = _UNSAFE.sub("_", stem).strip("._") or "archivo"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(20):
        path = folder / f"{safe_stem}-{secrets.token_hex(3)}{suffix}"
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError:
            continue
        except OSError as exc:
            raise ServiceError(f"No se pudo guardar el archivo en {folder}: {exc.strerror}.", code="file") from exc
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        except OSError as exc:
            path.unlink(missing_ok=True)
            raise ServiceError(f"No se pudo guardar el archivo en {folder}: {exc.strerror}.", code="file") from exc
        return path
    raise ServiceError(f"No se pudo crear un nombre de archivo único en {folder}.", code="file")


def read_limited(path: str | Path, *, max_bytes: int, what: str) -> bytes:
    """The bytes of a regular file no larger than `max_bytes`, or a one-line Spanish ServiceError.

    Devices (/dev/zero), FIFOs and directories are refused before anything is read, so a wrong path
    can neither hang nor exhaust memory. `what` names the file for the person («El comprobante»).
    """
    target = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(target, flags)
    except FileNotFoundError:
        raise ServiceError(f"{what} no existe: {target}.", code="file") from None
    except IsADirectoryError:
        raise ServiceError(f"{what} es una carpeta, no un archivo: {target}.", code="file") from None
    except OSError as exc:
        raise ServiceError(f"No se pudo abrir {what[0].lower()}{what[1:]} {target}: {exc.strerror}.",
                           code="file") from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if stat.S_ISDIR(info.st_mode):
            raise ServiceError(f"{what} es una carpeta, no un archivo: {target}.", code="file")
        if not stat.S_ISREG(info.st_mode):
            raise ServiceError(f"{what} no es un archivo normal: {target}.", code="file")
        if info.st_size > max_bytes:
            raise ServiceError(f"{what} es demasiado grande (más de {_size(max_bytes)}): {target}.", code="file")
        try:
            data = fh.read(max_bytes + 1)
        except OSError as exc:
            raise ServiceError(f"No se pudo leer {what[0].lower()}{what[1:]} {target}: {exc.strerror}.",
                               code="file") from None
    if len(data) > max_bytes:
        raise ServiceError(f"{what} es demasiado grande (más de {_size(max_bytes)}): {target}.", code="file")
    return data


def _size(n: int) -> str:
    return f"{n // 2**20} MB" if n >= 2**20 else f"{n // 2**10} KB"
