import io
import re

from backend.security import totp
from backend.service import Backend
from cooprogreso_tui import cli
from tests.conftest import fast_settings
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


def test_hostile_names_are_refused_or_printed_visibly(db_path, monkeypatch, capsys):
    code, _, err = run(monkeypatch, capsys, "staff", "add", "--db", str(db_path), "--user", "cajero9",
                       "--role", "cajero", "--name", "Rosa\x1b[2J", stdin=PASSWORD + "\n")
    assert code == 1 and "\x1b" not in err


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


def test_reset_totp_of_an_unknown_or_hostile_user_says_so_in_spanish(db_path, monkeypatch, capsys):
    for user in ("nadie", "cajero\x1b[2J\x07"):
        code, out, err = run(monkeypatch, capsys, "staff", "reset-totp", "--db", str(db_path), "--user", user)
        assert code == 1 and "No existe el usuario de personal" in err and "Secreto" not in out
        assert "\x1b" not in err and "\x07" not in err
