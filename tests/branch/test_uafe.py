"""UAFE: cash brought by one person adds up across members, tills and days (the declaration is asked when the
sum reaches the threshold), and the monthly RESU names them with full IDs, for the compliance officer
(«cumplimiento») only, 0600, audited."""

from __future__ import annotations

import csv
import io
import os
import stat
import uuid

import pytest

from backend.core.errors import Forbidden, ValidationError
from backend.security.roles import ROLE_REFUSED
from tests.conftest import add_member
from tests.staff_helpers import PASSWORD, code_now, team

PEDRO = {"name": "Pedro Pablo Quishpe Toapanta", "id_type": "cedula", "id_number": "1701234567"}
DECLARED = {**PEDRO, "origin": "Venta de ganado en la feria"}


@pytest.fixture
def people(backend, clock):
    staff = team(backend, clock)
    backend.tills.open_till(staff["cajero"].token, "100")
    backend.tills.open_till(staff["cajero2"].token, "100")
    return staff


@pytest.fixture
def three(backend):
    return [add_member(backend, cedula=c, first=f, balance=0)[1]
            for c, f in (("0901112227", "Ana"), ("1102223334", "Luis"), ("1710001114", "Eva"))]


def deposit(backend, teller, account, amount, **kw):
    return backend.counter.cash(teller.token, "deposito", account, amount, uuid.uuid4().hex, **kw)


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_one_person_structuring_into_three_members_accounts_is_asked_to_declare(backend, people, three):
    cajero, cajero2 = people["cajero"], people["cajero2"]
    deposit(backend, cajero, three[0], "4000", depositor=PEDRO)
    deposit(backend, cajero2, three[1], "4000", depositor=PEDRO)  # another till, another member
    with pytest.raises(ValidationError) as err:
        deposit(backend, cajero, three[2], "2000", depositor=PEDRO)
    assert err.value.code == "declaracion" and "$8,000.00" in err.value.message
    # the owners' own deposits are theirs, not Pedro's
    assert deposit(backend, cajero, three[2], "2000").state == "ejecutada"
    done = deposit(backend, cajero, three[2], "2000", declaration=DECLARED)
    assert done.receipt.get("Origen de los fondos") == "Venta de ganado en la feria"


@pytest.mark.sqlite_only(covered=True)
def test_the_resu_names_the_structured_deposits_with_full_ids_for_the_compliance_officer(backend, people, three, tmp_path):
    cajero, cajero2 = people["cajero"], people["cajero2"]
    deposit(backend, cajero, three[0], "4000", depositor=PEDRO)
    deposit(backend, cajero2, three[1], "4000", depositor=PEDRO)
    deposit(backend, cajero, three[2], "3000", declaration=DECLARED)
    deposit(backend, cajero, three[0], "500")  # the owner's own small deposit: not reported
    out = tmp_path / "resu-2026-11.csv"
    path, resu = backend.uafe.export_resu(people["cumplimiento"].token, "2026-11", str(out))
    assert path == str(out) and stat.S_IMODE(os.stat(out).st_mode) == 0o600
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [r["depositante_identificacion"] for r in rows] == ["1701234567"] * 3
    assert sorted(r["titular_identificacion"] for r in rows) == ["0901112227", "1102223334", "1710001114"]
    assert {r["acumulado_depositante_periodo"] for r in rows} == {"11000.00"}
    assert {r["motivo"] for r in rows} == {"acumulado en 30 días"} and resu.depositors == 1
    assert rows[2]["origen_fondos"] == "Venta de ganado en la feria"
    audit = backend.audit_log(last=1)[0]
    assert audit.actor == "cumplimiento1" and audit.action == "uafe.resu_exportar" and '"filas": 3' in audit.details
    with pytest.raises(Exception) as again:  # never over an existing file
        backend.uafe.export_resu(people["cumplimiento"].token, "2026-11", str(out))
    assert "ya existe" in again.value.message


@pytest.mark.parametrize("role", ["cajero", "atencion", "supervisor", "auditor"])
@pytest.mark.sqlite_only(covered=True)
def test_other_roles_are_refused_the_export_and_the_refusal_is_audited(backend, people, role, tmp_path):
    """The auditor too: it keeps its read-only views, where IDs are masked; the full IDs are compliance's."""
    with pytest.raises(Forbidden) as err:
        backend.uafe.export_resu(people[role].token, "2026-11", str(tmp_path / "x.csv"))
    assert err.value.code == ROLE_REFUSED and not (tmp_path / "x.csv").exists()
    with pytest.raises(Forbidden):
        backend.uafe.resu(people[role].token, "2026-11")
    last = backend.audit_log(last=1)[0]
    assert last.action == "personal.acceso" and last.outcome == "rol_no_autorizado"


@pytest.mark.sqlite_only  # input refused before any SQL
@pytest.mark.parametrize("month", ["2026-13", "26-11", "2026-11-01", "", "２０２６-11"])
def test_a_bad_month_is_refused(backend, people, month, tmp_path):
    with pytest.raises(ValidationError) as err:
        backend.uafe.export_resu(people["cumplimiento"].token, month, str(tmp_path / "x.csv"))
    assert err.value.field == "mes" and not (tmp_path / "x.csv").exists()


@pytest.mark.sqlite_only  # the command line over the same service
def test_the_cli_signs_the_compliance_officer_in_and_writes_the_file(backend, people, three, clock, monkeypatch, capsys,
                                                          db_path, tmp_path):
    from cooprogreso_tui import cli

    deposit(backend, people["cajero"], three[0], "12000", declaration=DECLARED)
    clock.advance(seconds=30)
    code = code_now(backend, people["cumplimiento"])
    out = tmp_path / "resu.csv"
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\n{code}\n"))
    assert cli.main(["--set", "scrypt_log_n=8", "uafe", "--db", str(db_path), "--month", "2026-11",
                     "--out", str(out), "--user", "cumplimiento1"]) == 0
    said = capsys.readouterr().out
    assert "1 operación de 1 depositante" in said
    assert "Aviso: El orden de columnas del archivo no está verificado con el formato oficial RESU" in said
    assert "1701234567" in out.read_text(encoding="utf-8") and stat.S_IMODE(os.stat(out).st_mode) == 0o600
    clock.advance(seconds=30)
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\n{code_now(backend, people['cajero'])}\n"))
    assert cli.main(["--set", "scrypt_log_n=8", "uafe", "--db", str(db_path), "--month", "2026-11",
                     "--out", str(tmp_path / "no.csv"), "--user", "cajero1"]) == 1
    assert "rol no permite" in capsys.readouterr().err and not (tmp_path / "no.csv").exists()


def test_two_tills_at_once_cannot_both_slip_under_the_threshold(make_backend, backend, people, three):
    """Each till's sum reads the other's committed deposit: under the depositor's lock, one is asked to declare."""
    import threading

    results: list[object] = []
    start = threading.Barrier(2)

    def at_till(name: str, account: int) -> None:
        own = make_backend()
        start.wait()
        try:
            results.append(deposit(own, people[name], account, "6000", depositor=PEDRO).state)
        except ValidationError as exc:
            results.append(exc.code)
        finally:
            own.close()

    threads = [threading.Thread(target=at_till, args=(name, acc)) for name, acc in
               (("cajero", three[0]), ("cajero2", three[1]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(map(str, results)) == ["declaracion", "ejecutada"]


@pytest.mark.sqlite_only  # the command line over the same service
def test_the_cli_without_a_password_or_with_a_bad_month_tries_no_sign_in(backend, people, monkeypatch, capsys, db_path,
                                                                     tmp_path):
    """Run from cron or a script with nothing on stdin, the command used to try an empty password: five such runs
    locked the officer out. A bad month was refused only after the password and code were spent."""
    from cooprogreso_tui import cli

    args = ["--set", "scrypt_log_n=8", "uafe", "--db", str(db_path), "--out", str(tmp_path / "r.csv"),
            "--user", "cumplimiento1"]
    signed = "SELECT COUNT(*) FROM audit_log WHERE actor = 'cumplimiento1'"
    before = backend.db.conn.execute(signed).fetchone()[0]
    for stdin, month, said in (("", "2026-11", "No se recibió la contraseña"),
                               ("\n", "2026-11", "No se recibió la contraseña"),
                               (f"{PASSWORD}\n", "2026-11", "No se recibió el código del autenticador"),
                               (f"{PASSWORD}\n000000\n", "2026-13", "AAAA-MM")):
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        assert cli.main([*args, "--month", month]) == 1
        err = capsys.readouterr().err
        assert said in err and err.count("\n") == 1, err
    failed = backend.db.conn.execute(signed + " AND outcome NOT IN ('ok')").fetchall()
    assert backend.db.conn.execute(signed).fetchone()[0] - before <= 1, failed  # at most the one good password
    assert not any("contrasena_incorrecta" in str(tuple(r)) for r in backend.db.conn.execute(
        "SELECT * FROM audit_log WHERE actor = 'cumplimiento1'").fetchall())
    assert not (tmp_path / "r.csv").exists()
