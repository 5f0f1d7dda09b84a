"""The OS's own words («No such file or directory», «Not a directory», SQLite's «unable to open database file»)
never reach a person: what failed is said in the house's Spanish, with what to do where someone can act."""

import errno
import sqlite3

import pytest

from backend.core import files
from backend.core.errors import ServiceError, os_reason, sqlite_reason

ENGLISH = ("No such file", "Not a directory", "Permission denied", "Is a directory", "File exists", "Errno",
           "unable to open", "readonly database")


def _refusal(call) -> str:
    with pytest.raises(ServiceError) as caught:
        call()
    message = caught.value.message
    assert not any(word in message for word in ENGLISH), message
    return message


def test_exports_and_reads_on_real_files_say_why_in_spanish(tmp_path):
    blocker = tmp_path / "un-archivo"
    blocker.write_text("no soy una carpeta")
    # a member's export (receipt, CSV) into an export folder that cannot be made
    assert "una parte de la ruta no es una carpeta" in _refusal(
        lambda: files.write_private(blocker / "exportaciones", "recibo", ".txt", b"x"))
    # a command's --out FILE in a folder that does not exist
    assert "no existe" in _refusal(lambda: files.write_private_file(tmp_path / "falta" / "uafe.csv", b"x"))
    # a file a command reads, under a path that is not a folder
    assert "una parte de la ruta no es una carpeta" in _refusal(
        lambda: files.read_limited(blocker / "entidades.csv", max_bytes=100, what="El archivo de entidades"))
    assert not list(tmp_path.glob("**/*.part"))  # nothing half-written left behind


def test_every_os_error_has_a_spanish_reason_and_sqlite_errors_too(tmp_path):
    for code in (errno.ENOENT, errno.EACCES, errno.EROFS, errno.ENOSPC, errno.ENOTDIR, errno.EISDIR, errno.EIO):
        reason = os_reason(OSError(code, "English words"))
        assert "English" not in reason and reason[0].islower(), reason
    assert "errno" not in os_reason(OSError(errno.ENOTEMPTY, "x")).lower()
    with pytest.raises(sqlite3.Error) as caught:
        sqlite3.connect(tmp_path / "no" / "existe.sqlite3")
    assert sqlite_reason(caught.value).startswith("no se pudo abrir el archivo")
