"""Files the co-op writes for a member (CSV exports, saved receipts): private from the first byte.

Each file is written first under a hidden temporary name (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600), then
hard-linked to its name, which fails if anything (a file, a planted symlink) already has it: so it never
follows a symlink, never overwrites anything, is never readable by others, and appears under its name only
whole (a process killed halfway leaves at most a hidden «.….part», never a truncated statement that reads as
complete). Names are unique: two exports in the same second both succeed. Such a leftover is removed by the
next write in the same folder once it is old (`STALE_PART_SECONDS`): only a regular file of our naming and
owner, never a fresh one (another session's write in flight) nor a link.
Every file a command reads (CSV imports, receipts to verify, settings, scripts, the key file) goes through
`read_limited` (or `read_head`, for a database's first bytes).
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from backend.core.errors import ServiceError, ValidationError, os_reason

if TYPE_CHECKING:  # csv loads with the first table read, not with the key file at start-up
    import csv

MAX_CSV_BYTES = 1 * 2**20  # a CSV a deployment loads (entities, channels, agencies, rates)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_PART = re.compile(r"\.[0-9a-f]{12}\.part")  # the temporary names `_whole` makes, and only those
# A write lasts well under a second (the data is in memory, then one fsync): a temporary file an hour old is a
# leftover of a killed process, not another session's write in flight.
STALE_PART_SECONDS = 3600


def write_private(directory: str | Path, stem: str, suffix: str, data: bytes) -> Path:
    """Write `data` to a new file `<stem>-<random><suffix>` in `directory` (created 0700 if missing)."""
    folder = Path(directory)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ServiceError(f"No se pudo crear la carpeta {folder}: {os_reason(exc)}.", code="file") from exc
    import secrets  # here, not at the top: it loads OpenSSL, and the key file is read before the first frame (#23)

    safe_stem = _UNSAFE.sub("_", stem).strip("._") or "archivo"
    try:
        with _whole(folder, data) as publish:
            for _ in range(20):
                path = folder / f"{safe_stem}-{secrets.token_hex(3)}{suffix}"
                if publish(path):
                    return path
    except OSError as exc:
        raise ServiceError(f"No se pudo guardar el archivo en {folder}: {os_reason(exc)}.", code="file") from exc
    raise ServiceError(f"No se pudo crear un nombre de archivo único en {folder}.", code="file")


def write_private_file(path: str | Path, data: bytes) -> Path:
    """Write `data` to exactly `path`, a new file (mode 0600 from the first byte, never over an existing file or
    through a symlink): for a command's `--out FILE`."""
    target = Path(path)
    if os.path.lexists(target):
        raise ServiceError(f"El archivo {target} ya existe: elige otro nombre.", code="file")
    try:
        with _whole(target.parent, data) as publish:
            if publish(target):
                return target
    except OSError as exc:
        raise ServiceError(f"No se pudo crear el archivo {target}: {os_reason(exc)}.", code="file") from exc
    raise ServiceError(f"El archivo {target} ya existe: elige otro nombre.", code="file")


@contextmanager
def _whole(folder: Path, data: bytes) -> Iterator[Callable[[Path], bool]]:
    """`data` written and synced to a hidden temporary file in `folder`; yields `publish(path)`, which gives it
    the name `path` (False if the name is taken). The temporary name is gone when the block ends."""
    import secrets

    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = folder / f".{secrets.token_hex(6)}.part"
        try:
            fd = os.open(tmp, flags, 0o600)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
            stamped = os.fstat(fh.fileno()).st_mtime  # "now" as the file system stamps files, like the leftovers
        _sweep_parts(folder, stamped)

        def publish(path: Path) -> bool:
            try:
                os.link(tmp, path, follow_symlinks=False)  # atomic, and refuses any existing name
            except FileExistsError:
                return False
            except OSError as exc:  # a file system without hard links: the name is reserved, then replaced
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EMLINK):
                    raise
                try:
                    os.close(os.open(path, flags, 0o600))
                except FileExistsError:
                    return False
                os.replace(tmp, path)
            return True

        yield publish
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _sweep_parts(folder: Path, now: float) -> None:
    """Remove the temporary files a killed write left in `folder`: our naming, a regular file with one link,
    ours (same owner), untouched for `STALE_PART_SECONDS` before `now` (the stamp the file system just gave our
    own temporary file: the clock that stamped the leftovers, whatever the process's clock says). Best effort: a
    file that vanishes or cannot be removed is left alone."""
    cutoff = now - STALE_PART_SECONDS
    uid = os.geteuid() if hasattr(os, "geteuid") else None
    try:
        entries = os.scandir(folder)
    except OSError:
        return
    with entries:
        for entry in entries:
            if not _PART.fullmatch(entry.name):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if (not stat.S_ISREG(info.st_mode) or info.st_nlink != 1 or info.st_mtime > cutoff
                    or (uid is not None and info.st_uid != uid)):
                continue
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


def read_limited(path: str | Path, *, max_bytes: int, what: str, nofollow: bool = False,
                 error: type[ServiceError] = ServiceError,
                 check: Callable[[os.stat_result], None] | None = None) -> bytes:
    """The bytes of a regular file no larger than `max_bytes`, or a one-line Spanish `error`.

    Every file a command reads from a person or a deployment (CSV imports, receipts to verify, settings,
    scripts, the key file) comes through here. Devices (/dev/zero), FIFOs and directories are refused
    before anything is read, so a wrong path can neither hang nor exhaust memory. `what` names the file
    for the person («El comprobante»); `nofollow` refuses a symlink and `check` may refuse the open file's
    status (the key file: its mode).
    """
    with _open_regular(path, what, nofollow, error) as (fh, info, target):
        if check is not None:
            check(info)
        if info.st_size > max_bytes:
            raise error(f"{what} es demasiado grande (más de {_size(max_bytes)}): {target}.", code="file")
        data = _read(fh, max_bytes + 1, what, target, error)
    if len(data) > max_bytes:
        raise error(f"{what} es demasiado grande (más de {_size(max_bytes)}): {target}.", code="file")
    return data


def read_head(path: str | Path, n: int, *, what: str) -> bytes:
    """The first `n` bytes (fewer if it is shorter) of a regular file of any size (a database's header),
    refused like `read_limited` when it is not a regular file."""
    with _open_regular(path, what, False, ServiceError) as (fh, _, target):
        return _read(fh, n, what, target, ServiceError)


def read_text_limited(path: str | Path, *, max_bytes: int, what: str) -> str:
    """`read_limited` as UTF-8 text (a byte-order mark is dropped); text in another encoding is a
    ValidationError (the file's content, not the file, is wrong)."""
    data = read_limited(path, max_bytes=max_bytes, what=what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(f"{what} no está en UTF-8: {Path(path)}.", field="csv") from None


@contextmanager
def _open_regular(path: str | Path, what: str, nofollow: bool,
                  error: type[ServiceError]) -> Iterator[tuple[BinaryIO, os.stat_result, Path]]:
    """(file, status, path) of a regular file. Opened without blocking (a FIFO with no writer would block
    the open itself) and checked with fstat before Python wraps the descriptor (it refuses a directory's
    with its own IsADirectoryError)."""
    target = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if nofollow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    lowered = what[0].lower() + what[1:]
    try:
        fd = os.open(target, flags)
    except FileNotFoundError:
        raise error(f"{what} no existe: {target}.", code="file") from None
    except IsADirectoryError:
        raise error(f"{what} es una carpeta, no un archivo: {target}.", code="file") from None
    except OSError as exc:
        raise error(f"No se pudo abrir {lowered} {target}: {os_reason(exc)}.", code="file") from None
    try:
        info = os.fstat(fd)
    except OSError as exc:
        os.close(fd)
        raise error(f"No se pudo abrir {lowered} {target}: {os_reason(exc)}.", code="file") from None
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        if stat.S_ISDIR(info.st_mode):
            raise error(f"{what} es una carpeta, no un archivo: {target}.", code="file")
        raise error(f"{what} no es un archivo normal: {target}.", code="file")
    os.set_blocking(fd, True)
    with os.fdopen(fd, "rb") as fh:
        yield fh, info, target


def _read(fh: BinaryIO, n: int, what: str, target: Path, error: type[ServiceError]) -> bytes:
    try:
        return fh.read(n)
    except OSError as exc:
        raise error(f"No se pudo leer {what[0].lower()}{what[1:]} {target}: {os_reason(exc)}.", code="file") from None


def csv_rows(text: str) -> Iterator[tuple[int, dict[str | None, str | None]]]:
    """(line, row) of each record of a CSV with a header row, numbered from 2 as the loaders always did.

    A record the csv module cannot read (a field over its 131,072-character limit, a NUL) is a
    ValidationError naming the line of the file and why, like every other bad row."""
    import csv

    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = iter(reader)
    line = 1
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ValidationError(f"Línea {reader.reader.line_num}: {csv_problem(exc)}.", field="csv") from None
        line += 1
        yield line, row


def noted_csv_records(data: bytes, header: tuple[str, ...], what: str) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of each data line of a reference table the co-op loads (holidays, rate caps): UTF-8, lines
    starting with # are notes, blank lines are skipped, the first other line must be `header`. Every problem is
    a Spanish ValidationError naming the line of the file."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(f"{what} no está en UTF-8.", field="csv") from None
    import csv

    header_seen = False
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            record = next(csv.reader([line]))
        except csv.Error as exc:
            raise ValidationError(f"Línea {number}: {csv_problem(exc)}.", field="csv") from None
        if not header_seen:
            if tuple(cell.strip().lower() for cell in record) != header:
                raise ValidationError(f"Línea {number}: se esperaba la fila de títulos {','.join(header)}.",
                                      field="csv")
            header_seen = True
            continue
        yield number, record


def csv_problem(exc: csv.Error) -> str:
    """Why the csv module refused a record, in Spanish (its messages are English and terse)."""
    import csv

    text = str(exc)
    if "field larger than field limit" in text:
        return f"un campo tiene más de {csv.field_size_limit():,} caracteres"
    if "NUL" in text:
        return "contiene un carácter nulo"
    if "new-line character seen in unquoted field" in text:
        return "un salto de línea suelto dentro de un campo sin comillas"
    if "unexpected end of data" in text:
        return "el archivo termina dentro de un campo entre comillas"
    return f"no es una fila de CSV válida ({text})"


def _size(n: int) -> str:
    return f"{n // 2**20} MB" if n >= 2**20 else f"{n // 2**10} KB"
