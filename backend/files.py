"""Files the co-op writes for a member (CSV exports, saved receipts): private from the first byte.

Each file is created with O_CREAT|O_EXCL|O_NOFOLLOW and mode 0600, so it never follows a symlink
planted in the export folder, never overwrites anything, and is never readable by others, not even
for an instant. Names are unique: two exports in the same second both succeed.
"""

from __future__ import annotations

import os
import re
import secrets
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
