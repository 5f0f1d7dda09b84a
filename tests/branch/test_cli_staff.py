import io
import shutil
import stat
import struct
import subprocess
import zlib

import pytest
import re

from backend.security import totp
from backend.service import Backend
from cooprogreso_tui import cli
from tests.conftest import fast_settings
from tests.halfway import child_code, kill_halfway
from tests.staff_helpers import PASSWORD

FAST = ["--set", "scrypt_log_n=8"]


def run(monkeypatch, capsys, *argv, stdin=""):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli.main([*FAST, *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_add_shows_the_secret_once_then_list_code_and_disable(db_path, clock, monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, "staff", "add", "--db", str(db_path), "--user", "cajero9",
                       "--role", "cajero", "--name", "Rosa Quispe", stdin=PASSWORD + "\n")
    assert code == 0
    secret = re.search(r"Secreto: ([A-Z2-7]+)", out).group(1)
    assert "otpauth://totp/Cooprogreso:cajero9?" in out and "▀" in out
    code, out, _ = run(monkeypatch, capsys, "staff", "list", "--db", str(db_path))
    assert code == 0 and "cajero9" in out and "Cajero" in out and secret not in out
    code, out, _ = run(monkeypatch, capsys, "staff", "code", "--db", str(db_path), "--user", "cajero9")
    step = totp.step_at(clock.now(), clock.zone)  # the command reads the co-op's clock, the test's here
    assert code == 0 and out.strip() in {totp.code_at(secret, step + d) for d in (-1, 0, 1)}
    # the printed code signs in
    backend = Backend(db_path, fast_settings())
    challenge = backend.auth.login("cajero9", PASSWORD)
    assert backend.auth.staff_code(challenge.ticket, out.strip()).role == "cajero"
    backend.close()
    code, out, _ = run(monkeypatch, capsys, "staff", "disable", "--db", str(db_path), "--user", "cajero9")
    assert code == 0
    code, out, _ = run(monkeypatch, capsys, "staff", "list", "--db", str(db_path))
    assert "inactivo" in out


@pytest.mark.sqlite_only(covered=True)
def test_add_refuses_weak_password_and_bad_role(db_path, monkeypatch, capsys):
    code, _, err = run(monkeypatch, capsys, "staff", "add", "--db", str(db_path), "--user", "cajero9",
                       "--role", "cajero", stdin="corta1\n")
    assert code == 1 and "contraseña" in err
    code, out, err = run(monkeypatch, capsys, "staff", "list", "--db", str(db_path))
    assert "cajero9" not in out


def test_code_only_in_demo_databases(tmp_path, monkeypatch, capsys):
    path = tmp_path / "real.sqlite3"
    Backend(path, fast_settings()).close()
    run(monkeypatch, capsys, "staff", "add", "--db", str(path), "--user", "cajero9", "--role", "cajero",
        "--no-qr", stdin=PASSWORD + "\n")
    code, out, err = run(monkeypatch, capsys, "staff", "code", "--db", str(path), "--user", "cajero9")
    assert code == 1 and not re.search(r"\d{6}", out) and "demostración" in err


@pytest.mark.sqlite_only(covered=True)
def test_hostile_names_are_refused_or_printed_visibly(db_path, monkeypatch, capsys):
    code, _, err = run(monkeypatch, capsys, "staff", "add", "--db", str(db_path), "--user", "cajero9",
                       "--role", "cajero", "--name", "Rosa\x1b[2J", stdin=PASSWORD + "\n")
    assert code == 1 and "\x1b" not in err


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_reset_totp_prints_a_new_secret_once_and_the_old_one_stops_working(db_path, clock, monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, "staff", "add", "--db", str(db_path), "--user", "cajero9",
                       "--role", "cajero", "--no-qr", stdin=PASSWORD + "\n")
    old = re.search(r"Secreto: ([A-Z2-7]+)", out).group(1)
    code, out, err = run(monkeypatch, capsys, "staff", "reset-totp", "--db", str(db_path), "--user", "cajero9")
    assert code == 0 and "ya no vale" in out and "▀" in out
    new = re.search(r"Secreto: ([A-Z2-7]+)", out).group(1)
    assert new != old and "otpauth://totp/Cooprogreso:cajero9?" in out
    backend = Backend(db_path, fast_settings())
    step = totp.step_at(clock.now(), clock.zone)
    challenge = backend.auth.login("cajero9", PASSWORD)
    assert backend.auth.staff_code(challenge.ticket, totp.code_at(new, step)).role == "cajero"
    backend.close()


@pytest.mark.sqlite_only(covered=True)
def test_reset_totp_of_an_unknown_or_hostile_user_says_so_in_spanish(db_path, monkeypatch, capsys):
    for user in ("nadie", "cajero\x1b[2J\x07"):
        code, out, err = run(monkeypatch, capsys, "staff", "reset-totp", "--db", str(db_path), "--user", user)
        assert code == 1 and "No existe el usuario de personal" in err and "Secreto" not in out
        assert "\x1b" not in err and "\x07" not in err


# -- enrolment that scans: the printed QR and the PNG decoded by a real decoder (Debian's zbar-tools) --------

QR_CELLS = set("█▀▄ ")


def _png(rows: list[list[int]], scale: int = 6) -> bytes:
    """A greyscale PNG of 0/255 pixels, written here (not with the app's writer) so the test is independent."""
    data = b"".join(b"\x00" + bytes(v for v in row for _ in range(scale)) for row in rows for _ in range(scale))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    head = struct.pack(">IIBBBBB", len(rows[0]) * scale, len(rows) * scale, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", zlib.compress(data)) + chunk(b"IEND", b"")


def _printed_qr(out: str) -> list[str]:
    lines = [line for line in out.split("\n") if line.strip() and set(line) <= QR_CELLS]
    assert lines, out
    return lines


def _screen_image(lines: list[str]) -> bytes:
    """What a phone sees on a light-on-dark terminal: a block's ink is light, a space is the dark background."""
    dark, light = 0, 255
    width = max(len(line) for line in lines) + 4
    pixels = [[dark] * width for _ in range(4)]
    for line in lines:
        top = [dark] * 2 + [light if ch in "█▀" else dark for ch in line.ljust(width - 4)] + [dark] * 2
        bottom = [dark] * 2 + [light if ch in "█▄" else dark for ch in line.ljust(width - 4)] + [dark] * 2
        pixels += [top, bottom]
    return _png(pixels + [[dark] * width for _ in range(4)])


def _decode(tmp_path, image: bytes) -> str:
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        pytest.skip("zbarimg (Debian's zbar-tools) is not installed; .ci/run installs it")
    path = tmp_path / f"qr-{len(list(tmp_path.iterdir()))}.png"
    path.write_bytes(image)
    done = subprocess.run([zbarimg, "--quiet", "--raw", str(path)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_printed_qr_scans_to_the_uri_and_fits_a_terminal(db_path, tmp_path, monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, "staff", "add", "--db", str(db_path), "--user", "supervisora.larga",
                       "--role", "supervisor", stdin=PASSWORD + "\n")
    assert code == 0 and "\\u00a0" not in out and "\\u" not in out
    uri = re.search(r"URI: (\S+)", out).group(1)
    lines = _printed_qr(out)
    assert max(len(line) for line in lines) <= 60 and len({len(line) for line in lines}) == 1
    assert _decode(tmp_path, _screen_image(lines)) == uri
    code, out, _ = run(monkeypatch, capsys, "staff", "reset-totp", "--db", str(db_path), "--user", "supervisora.larga")
    new_uri = re.search(r"URI: (\S+)", out).group(1)
    assert code == 0 and new_uri != uri and _decode(tmp_path, _screen_image(_printed_qr(out))) == new_uri


def test_the_qr_as_a_png_only_its_owner_can_read(db_path, tmp_path, monkeypatch, capsys):
    png = tmp_path / "cajero9.png"
    code, out, _ = run(monkeypatch, capsys, "staff", "add", "--db", str(db_path), "--user", "cajero9",
                       "--role", "cajero", "--no-qr", "--qr-png", str(png), stdin=PASSWORD + "\n")
    assert code == 0 and "▀" not in out
    assert stat.S_IMODE(png.stat().st_mode) == 0o600
    assert _decode(tmp_path, png.read_bytes()) == re.search(r"URI: (\S+)", out).group(1)
    # an existing file (or a planted symlink) is never written through, and nothing is enrolled
    code, out, err = run(monkeypatch, capsys, "staff", "reset-totp", "--db", str(db_path), "--user", "cajero9",
                         "--qr-png", str(png))
    assert code == 1 and "Ya existe" in err and "Secreto" not in out
    target = tmp_path / "elsewhere"
    link = tmp_path / "planted.png"
    link.symlink_to(target)
    code, out, err = run(monkeypatch, capsys, "staff", "add", "--db", str(db_path), "--user", "cajero10",
                         "--role", "cajero", "--qr-png", str(link), stdin=PASSWORD + "\n")
    assert code == 1 and not target.exists() and "Secreto" not in out
    code, out, _ = run(monkeypatch, capsys, "staff", "list", "--db", str(db_path))
    assert "cajero10" not in out
    # a refused enrolment leaves no empty image behind
    fresh = tmp_path / "nadie.png"
    code, _, err = run(monkeypatch, capsys, "staff", "reset-totp", "--db", str(db_path), "--user", "nadie",
                       "--qr-png", str(fresh))
    assert code == 1 and "No existe el usuario de personal" in err and not fresh.exists()


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_add_a_compliance_officer_who_alone_may_look_at_the_resu(db_path, clock, monkeypatch, capsys):
    """`staff add --role cumplimiento` (on either engine: the role CHECK widened by migration 32)."""
    from backend.core.errors import Forbidden

    code, out, _ = run(monkeypatch, capsys, "staff", "add", "--db", str(db_path), "--user", "cumplimiento9",
                       "--role", "cumplimiento", "--name", "Nora Salazar", "--no-qr", stdin=PASSWORD + "\n")
    assert code == 0
    secret = re.search(r"Secreto: ([A-Z2-7]+)", out).group(1)
    code, out, _ = run(monkeypatch, capsys, "staff", "list", "--db", str(db_path))
    assert "cumplimiento9" in out and "Oficial de cumplimiento" in out
    backend = Backend(db_path, fast_settings())
    try:
        challenge = backend.auth.login("cumplimiento9", PASSWORD)
        step = totp.step_at(clock.now(), clock.zone)
        who = backend.auth.staff_code(challenge.ticket, totp.code_at(secret, step))
        assert who.role == "cumplimiento" and backend.uafe.resu(who.token, "2026-11").rows == ()
        with pytest.raises(Forbidden):  # a compliance officer works no till
            backend.tills.open_till(who.token, "100")
    finally:
        backend.close()


# The child enrols a user with --qr-png and is stopped after writing half of the image: SIGKILL there.
QR_CHILD = child_code("""
    import io, sys
    from cooprogreso_tui import cli
    sys.stdin = io.StringIO(sys.argv[3] + "\\n")
    cli.main(["--set", "scrypt_log_n=8", "staff", "add", "--db", sys.argv[1], "--user", "cajero11", "--role", "cajero",
              "--no-qr", "--qr-png", sys.argv[2]])
""", first_bytes=b"\x89PNG")


@pytest.mark.sqlite_only
def test_a_qr_png_killed_halfway_leaves_no_truncated_image_under_its_name(db_path, tmp_path, monkeypatch, capsys):
    """The image holds the secret and the person scans it later: a kill -9 while writing it leaves no truncated
    (or empty) PNG under its name, and the name stays free for the next try."""
    png = tmp_path / "cajero11.png"
    kill_halfway(QR_CHILD, str(db_path), str(png), PASSWORD, timeout=60)
    assert not png.exists()
    code, out, err = run(monkeypatch, capsys, "staff", "reset-totp", "--db", str(db_path), "--user", "cajero11",
                         "--no-qr", "--qr-png", str(png))
    assert code == 0, err
    assert stat.S_IMODE(png.stat().st_mode) == 0o600
    assert _decode(tmp_path, png.read_bytes()) == re.search(r"URI: (\S+)", out).group(1)
