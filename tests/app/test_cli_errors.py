"""Every CLI command, given a file it cannot use, says so in one Spanish line, exits non-zero, shows
no traceback and leaves the file exactly as it was."""

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from backend.core.schema import SCHEMA_VERSION
from cooprogreso_tui.cli import main


def bad_databases(tmp_path: Path, db_path: Path) -> dict[str, Path]:
    folder = tmp_path / "carpeta.sqlite3"
    folder.mkdir()
    empty = tmp_path / "vacia.sqlite3"
    empty.write_bytes(b"")
    text = tmp_path / "notas.sqlite3"
    text.write_text("esto no es una base de datos\n" * 20)
    foreign = tmp_path / "ajena.sqlite3"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    newer = tmp_path / "futura.sqlite3"
    newer.write_bytes(db_path.read_bytes())
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    readonly = tmp_path / "solo-lectura.sqlite3"
    readonly.write_bytes(db_path.read_bytes())
    readonly.chmod(0o444)
    return {"missing": tmp_path / "no-existe.sqlite3", "directory": folder, "empty": empty, "text": text,
            "foreign": foreign, "newer": newer, "readonly": readonly, "device": Path("/dev/zero")}


def snapshot(paths):
    out = {}
    for name, p in paths.items():
        if p.is_file() and p.parent != Path("/dev"):
            out[name] = (p.read_bytes(), p.stat().st_mtime_ns, sorted(x.name for x in p.parent.iterdir()))
    return out


COMMANDS = [["check"], ["outbox"], ["audit"], ["settle"], ["institutions", "--load", "CSV"],
            ["verify-receipt", "RECEIPT"], ["close-cycle"], ["staff", "list"], ["end-of-day"], ["migrate"], []]


@pytest.mark.sqlite_only  # about files
def test_every_command_refuses_every_unusable_database(tmp_path, db_path, capsys):
    receipt = tmp_path / "comprobante.txt"
    receipt.write_text("Comprobante\n\nCódigo de verificación: X\n", encoding="utf-8")
    csv_file = tmp_path / "inst.csv"
    csv_file.write_text("code,name,kind\n0999,Coop,bank\n", encoding="utf-8")
    paths = bad_databases(tmp_path, db_path)
    before = snapshot(paths)
    for command in COMMANDS:
        args = [a.replace("CSV", str(csv_file)).replace("RECEIPT", str(receipt)) for a in command]
        for name, path in paths.items():
            if command == ["staff", "list"]:
                argv = ["staff", "list", "--db", str(path)]
            elif command:
                argv = [args[0], "--db", str(path), *args[1:]]
            else:
                argv = ["--db", str(path)]
            code = main(argv)
            out = capsys.readouterr()
            if name == "readonly" and command[:1] in (["check"], ["outbox"], ["audit"], ["verify-receipt"]):
                # a chmod a-w copy: the commands that only read it answer (tests/app/test_read_only.py)
                assert code == (1 if command[0] == "verify-receipt" else 0) and out.err == "" and out.out, (command, out)
                continue
            lines = [line for line in out.err.splitlines() if line.strip()]
            assert code != 0, (command, name)
            assert len(lines) == 1 and "Traceback" not in out.err, (command, name, out.err)
            assert out.out == "", (command, name, out.out)
    assert snapshot(paths) == before


@pytest.mark.sqlite_only  # about files
@pytest.mark.parametrize("kind", ["missing", "directory", "device", "big", "latin1", "empty"])
def test_unreadable_receipts_and_csvs_are_one_line(tmp_path, db_path, capsys, kind):
    path = {"missing": tmp_path / "nada.txt", "directory": tmp_path, "device": Path("/dev/zero"),
            "big": tmp_path / "grande.txt", "latin1": tmp_path / "latin1.txt", "empty": tmp_path / "vacio.txt"}[kind]
    if kind == "big":
        path.write_bytes(b"a" * (3 * 2**20))
    elif kind == "latin1":
        path.write_bytes("code,name,kind\n0999,Cooperativa Andalucía,bank\n".encode("latin-1"))
    elif kind == "empty":
        path.write_bytes(b"")
    db_before = db_path.read_bytes()
    for argv in (["verify-receipt", str(path), "--db", str(db_path)],
                 ["institutions", "--db", str(db_path), "--load", str(path)]):
        code = main(argv)
        out = capsys.readouterr()
        assert code != 0, (argv, out)
        assert len([x for x in out.err.splitlines() if x.strip()]) == 1, out.err
    assert db_path.read_bytes() == db_before
    assert "Traceback" not in out.err


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_huge_counts_are_not_overflow_errors(db_path, capsys, tmp_path):
    assert main(["audit", "--db", str(db_path), "--last", str(2**70)]) == 0
    assert main(["outbox", "--db", str(db_path), "--last", str(-(2**70))]) == 0
    assert main(["demo-data", "--db", str(tmp_path / "x.sqlite3"), "--members", str(2**70)]) == 2
    err = capsys.readouterr().err
    assert "socios" in err and "Traceback" not in err


def test_no_traceback_from_a_real_process(tmp_path):
    bad = tmp_path / "notas.sqlite3"
    bad.write_text("hola")
    out = subprocess.run([sys.executable, "-m", "cooprogreso_tui.cli", "check", "--db", str(bad)],
                         capture_output=True, text=True)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "no es una base de datos" in out.stderr
    assert bad.read_text() == "hola"


def test_copy_db_refuses_a_source_that_is_not_a_cooprogreso_file(tmp_path, capsys):
    empty = tmp_path / "vacia.sqlite3"
    empty.write_bytes(b"")
    assert main(["copy-db", "--from", str(empty), "--to", "postgresql://nadie@127.0.0.1:1/x"]) == 2
    err = capsys.readouterr().err
    assert "vacío" in err and err.count("\n") == 1 and empty.read_bytes() == b""


# Every command that reads a file a person names: FILE is where the path goes.
FILE_COMMANDS = [["verify-receipt", "FILE", "--db", "DB"], ["institutions", "--db", "DB", "--load", "FILE"],
                 ["billers", "--db", "DB", "--load", "FILE"], ["contacto", "--db", "DB", "--canales", "FILE"],
                 ["contacto", "--db", "DB", "--agencias", "FILE"], ["calendario", "--db", "DB", "--load", "FILE"],
                 ["play", "FILE"], ["check", "--db", "FILE"]]

# Run in a process of its own, with a memory ceiling: a reader without a limit (/dev/zero) must fail there,
# never in the test process, and a FIFO that blocks the open is caught by the timeout.
PROBE = """
import contextlib, io, json, resource, signal, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
def hang(*_):
    raise TimeoutError("colgado")
signal.signal(signal.SIGALRM, hang)
from cooprogreso_tui.cli import main
out = []
for argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    signal.alarm(10)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(argv)
    except BaseException as exc:
        code = repr(exc)
    signal.alarm(0)
    out.append((argv, code, err.getvalue()))
print(json.dumps(out))
"""


@pytest.mark.sqlite_only  # about files
def test_a_folder_a_device_or_a_fifo_where_a_file_is_expected_is_one_clear_line(tmp_path, db_path):
    """Refused before anything is read: never «Error inesperado», never a read without end, never a hang."""
    import json
    import os

    folder = tmp_path / "carpeta"
    folder.mkdir()
    fifo = tmp_path / "tuberia"
    os.mkfifo(fifo)
    runs = [[a.replace("FILE", str(path)).replace("DB", str(db_path)) for a in command]
            for command in FILE_COMMANDS for path in (folder, Path("/dev/zero"), fifo)]
    config = [(path, ["check", "--db", str(db_path)]) for path in (folder, Path("/dev/zero"), fifo)]
    db_before = db_path.read_bytes()
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(runs)], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout)
    for path, argv in config:  # the configuration file named by the environment, too
        env = {**os.environ, "COOPROGRESO_CONFIG": str(path)}
        one = subprocess.run([sys.executable, "-c", PROBE, json.dumps([argv])], capture_output=True, text=True,
                             timeout=30, env=env, cwd=tmp_path)
        assert one.returncode == 0, one.stderr[-2000:]
        results += json.loads(one.stdout)
    for argv, code, err in results:
        lines = [line for line in err.splitlines() if line.strip()]
        assert code == 2 and len(lines) == 1, (argv, code, err)
        assert "inesperado" not in err and ("carpeta" in err or "no es un archivo" in err), (argv, err)
    assert db_path.read_bytes() == db_before


@pytest.mark.sqlite_only  # about files
def test_a_field_over_the_csv_modules_limit_names_its_line_in_every_loader(tmp_path, db_path, capsys):
    """131,072 characters is the csv module's limit per field: past it a row is refused like any bad row,
    with its line and the reason, never «Error inesperado (Error)»; nothing of the file is loaded (the
    calendar's loader is last: it audits a refusal)."""
    loaders = {
        "billers": ("code,category,name,id_label,rule,hint,amount_mode,commission,max_amount\n"
                    "EMAPA-A,Agua,EMAPA Ambato,Número de cuenta,digits:5-8,cinco a ocho dígitos.,factura,0,500\n",
                    ["billers", "--db", str(db_path), "--load"]),
        "canales": ("kind,label,value,hours\nweb,Sitio,https://coop.ec,siempre\n",
                    ["contacto", "--db", str(db_path), "--canales"]),
        "agencias": ("code,name,city,address,hours,phone\nLOJA,Loja Centro,Loja,Bolívar 10-20,L–V,(07) 258-0000\n",
                     ["contacto", "--db", str(db_path), "--agencias"]),
        "instituciones": ("code,name,kind\n0999,Cooperativa Andalucía,cooperative\n",
                          ["institutions", "--db", str(db_path), "--load"]),
        "feriados": ("fecha,nombre,tipo,verificado,fuente\n2028-01-01,Año Nuevo,feriado,si,Ley\n",
                     ["calendario", "--db", str(db_path), "--load"]),
    }
    db_before = db_path.read_bytes()
    for name, (good, argv) in loaders.items():
        path = tmp_path / f"{name}.csv"
        path.write_text(good + "Z" * 131_073 + ",x\n", encoding="utf-8")
        code = main([*argv, str(path)])
        err = capsys.readouterr().err
        assert code == 1 and err.count("\n") == 1, (name, err)
        assert "Línea 3: un campo tiene más de 131,072 caracteres." in err and "inesperado" not in err, (name, err)
        if name != "feriados":  # a refused calendar is audited, nothing else
            assert db_path.read_bytes() == db_before, name


@pytest.mark.sqlite_only  # about files
def test_demo_data_refuses_a_missing_or_wrong_folder_before_anything_is_made(tmp_path, capsys):
    """A mistyped folder was created, with every missing folder above it; a path taken was refused only after
    a progress bar had started. Now each is one line, nothing made, exit non-zero (as `backup --to` does)."""
    a_file = tmp_path / "archivo"
    a_file.write_text("x")
    taken = tmp_path / "ya-existe.sqlite3"
    taken.write_bytes(b"")
    for target in (tmp_path / "no-existe" / "otra" / "demo.sqlite3", a_file / "demo.sqlite3", taken):
        before = sorted(p.name for p in tmp_path.rglob("*"))
        code = main(["demo-data", "--db", str(target)])
        out = capsys.readouterr()
        assert code != 0 and out.out == "", (target, out)
        lines = [line for line in out.err.splitlines() if line.strip()]
        assert len(lines) == 1 and "Traceback" not in out.err, out.err
        assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_a_configuration_file_named_and_missing_starts_nothing(tmp_path, monkeypatch, capsys):
    """COOPROGRESO_CONFIG naming a file that is not there (a typo in a unit file) refuses to start: on the
    defaults the app would open an empty co-op in a SQLite file of the service's home, and the members would
    find no accounts. The line names no server path (a member over SSH may read it)."""
    monkeypatch.setenv("COOPROGRESO_CONFIG", str(tmp_path / "etc" / "cooprogreso.toml"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "Error de configuración: El archivo de configuración indicado en COOPROGRESO_CONFIG no existe."
    assert not (tmp_path / "data").exists()  # no database made on the defaults
    monkeypatch.setenv("COOPROGRESO_CONFIG", "")  # unset in effect: the user's own file, or the defaults
    from cooprogreso_tui import config

    assert config.load(db=str(tmp_path / "x.sqlite3")).db_path == tmp_path / "x.sqlite3"
    with pytest.raises(ValueError) as named:  # named by the caller, not by COOPROGRESO_CONFIG: said so
        config.load(path=tmp_path / "otro.toml")
    assert str(named.value) == "El archivo de configuración indicado no existe."


@pytest.mark.parametrize("argv, said", [
    (["staff"], "faltan estos argumentos"),
    (["staff", "list", "--user", "nadie"], "argumentos no reconocidos: --user nadie"),
    (["staff", "add", "--user", "x", "--role", "jefe"], "opción no válida: 'jefe' (elige entre "),
    (["frobnicate"], "opción no válida: 'frobnicate'"),
    (["outbox", "--last"], "argumento --last: falta su valor"),
])
def test_a_command_typed_wrong_is_answered_in_spanish(argv, said, capsys):
    """argparse's own words (its usage line and errors) were English: «the following arguments are required»."""
    with pytest.raises(SystemExit) as done:
        main(argv)
    err = capsys.readouterr().err
    assert done.value.code == 2 and said in err and err.startswith("uso: cooprogreso"), err
    assert not any(word in err for word in ("usage", "required", "unrecognized", "invalid choice", "expected")), err
