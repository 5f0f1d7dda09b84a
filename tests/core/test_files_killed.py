"""A file the co-op writes for a person (an exported PDF or CSV, a saved receipt, a command's --out FILE) appears
under its name only whole: a process killed with SIGKILL halfway through writing it leaves no truncated
statement that reads as complete, and never takes the name of an existing file."""

import os
import time
from pathlib import Path

import pytest

from backend.core import files
from backend.core.errors import ServiceError
from tests.halfway import child_code, kill_halfway

pytestmark = pytest.mark.sqlite_only  # about files, not engines

# The child's write stops halfway (tests/halfway.py): the moment between the first bytes and the last,
# whatever the writer does in between.
CHILD = child_code("""
    import sys
    from backend.core import files
    data = b"%PDF-1.4 " + b"x" * 200_000 + b" %%EOF"
    if sys.argv[1] == "folder":
        files.write_private(sys.argv[2], "estado-de-cuenta", ".pdf", data)
    else:
        files.write_private_file(sys.argv[2], data)
""")


def _kill_halfway(mode: str, where: Path) -> None:
    kill_halfway(CHILD, mode, str(where))


def test_an_export_killed_halfway_leaves_no_file_under_its_name(tmp_path):
    folder = tmp_path / "descargas"
    _kill_halfway("folder", folder)
    shown = [p.name for p in folder.iterdir() if not p.name.startswith(".")]
    assert shown == []  # nothing a person would open as «estado-de-cuenta-….pdf»
    path = files.write_private(folder, "estado-de-cuenta", ".pdf", b"%PDF-1.4 entero %%EOF")
    assert path.read_bytes() == b"%PDF-1.4 entero %%EOF" and path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in folder.iterdir() if not p.name.startswith(".")] == [path.name]


def test_an_out_file_killed_halfway_is_not_there_and_the_name_stays_free(tmp_path):
    target = tmp_path / "estado.pdf"
    _kill_halfway("file", target)
    assert not target.exists()
    files.write_private_file(target, b"%PDF-1.4 entero %%EOF")
    assert target.read_bytes() == b"%PDF-1.4 entero %%EOF" and target.stat().st_mode & 0o777 == 0o600
    with pytest.raises(ServiceError, match="ya existe"):
        files.write_private_file(target, b"otro")
    assert target.read_bytes() == b"%PDF-1.4 entero %%EOF"


def test_an_out_file_never_goes_through_a_planted_link(tmp_path):
    elsewhere = tmp_path / "ajeno.txt"
    elsewhere.write_bytes(b"de otra persona")
    link = tmp_path / "estado.pdf"
    link.symlink_to(elsewhere)
    with pytest.raises(ServiceError, match="ya existe"):
        files.write_private_file(link, b"%PDF")
    assert elsewhere.read_bytes() == b"de otra persona"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ajeno.txt", "estado.pdf"]  # no temporary left


def test_a_killed_exports_leftover_goes_at_a_later_export_but_a_write_in_flight_stays(tmp_path):
    """The hidden temporary file a SIGKILL left is removed by a later write in the folder once it is old; a fresh
    one (another session exporting at this moment), a name not of our making, a link and another owner's file
    stay."""
    folder = tmp_path / "descargas"
    _kill_halfway("folder", folder)
    [left] = [p for p in folder.iterdir() if p.name.endswith(".part")]
    old = time.time() - files.STALE_PART_SECONDS - 60
    os.utime(left, (old, old))
    in_flight = folder / ".0123456789ab.part"
    in_flight.write_bytes(b"%PDF-1.4 a medias")
    not_ours = folder / ".notas.part"
    not_ours.write_bytes(b"de la persona")
    link = folder / ".ba9876543210.part"
    link.symlink_to(tmp_path / "destino")
    foreign = folder / ".aaaaaaaaaaaa.part"
    foreign.write_bytes(b"de otro usuario")
    for path in (not_ours, foreign):
        os.utime(path, (old, old))
    os.utime(link, (old, old), follow_symlinks=False)
    if os.geteuid() == 0:
        os.chown(foreign, 4242, 4242)
    else:
        foreign.unlink()  # only root can give a file to someone else
    made = files.write_private(folder, "estado-de-cuenta", ".pdf", b"%PDF-1.4 entero %%EOF")
    assert not left.exists()
    kept = {in_flight.name, not_ours.name, link.name, made.name} | ({foreign.name} if os.geteuid() == 0 else set())
    assert {p.name for p in folder.iterdir()} == kept
