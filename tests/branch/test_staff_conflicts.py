"""Nobody on the staff decides about their own membership (issue #17, point 5): staff are linked to their
cédula, and the name check that remains for unlinked staff folds accents and case like member search."""

import uuid

import pytest

from backend.core.errors import Forbidden, NotFound, ValidationError
from backend.demo.coop import DEMO_CEDULA_BODY, cedula
from backend.security.staff_conflicts import same_person
from tests.request_helpers import new_request
from tests.staff_helpers import enrol, sign_in, team
from tests.transfer_helpers import balance_of, demo_member

LUCIA = cedula(DEMO_CEDULA_BODY)  # Lucía Estefanía Guamán Torres, the demo member


@pytest.fixture
def staff(backend, clock):
    return team(backend, clock)


def refusals(backend) -> list[str]:
    return [e.action for e in backend.audit_log(last=50) if e.outcome == "propia_rechazada"]


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_her_name_enrolled_without_accents_does_not_approve_her_own_loan(backend, staff, clock):
    """The reported case: an unlinked user «Lucia Estefania Guaman Torres» approved Lucía's $1,000 loan."""
    lucia = demo_member(backend)
    twin = sign_in(backend, enrol(backend, "lucia.g", "supervisor", "LUCIA  Estefania Guaman TORRES"), clock)
    request = new_request(backend, lucia, amount=1000_00)
    backend.product_approvals.take(staff["atencion"].token, request)
    for call in (lambda: backend.product_approvals.approve(twin.token, request),
                 lambda: backend.product_approvals.approval_check(twin.token, request),
                 lambda: backend.product_approvals.reject(twin.token, request, "No cumple requisitos")):
        with pytest.raises(Forbidden, match="a tu nombre"):
            call()
    assert backend.product_approvals.request(staff["atencion"].token, request).state == "En revisión"
    assert refusals(backend) == ["solicitud.decidir"] * 3
    assert backend.product_approvals.approve(staff["supervisor"].token, request).state == "Aprobada"


def test_a_user_linked_to_her_cedula_decides_nothing_of_hers_whatever_the_name(backend, staff, clock):
    lucia = demo_member(backend)
    lucy = sign_in(backend, enrol(backend, "lucy", "atencion", "Lucy Torres", cedula=LUCIA), clock)
    request = new_request(backend, lucia)
    with pytest.raises(Forbidden, match="a tu nombre"):
        backend.product_approvals.take(lucy.token, request)
    case = backend.contact.write(lucia.token, "consulta", "¿Cuál es el horario de la agencia?")
    for call in (lambda: backend.contact_staff.answer(lucy.token, case.id, "Atendemos de 08:00 a 17:00."),
                 lambda: backend.contact_staff.close(lucy.token, case.id)):
        with pytest.raises(Forbidden, match="caso que escribiste tú"):
            call()
    for call in (lambda: backend.backoffice.unlock_user(lucy.token, lucia.member_id, "Olvidó su clave"),
                 lambda: backend.backoffice.reset_access(lucy.token, lucia.member_id),
                 lambda: backend.backoffice.request_mobile_change(lucy.token, lucia.member_id, "0987654321",
                                                                  "Cambió de número", uuid.uuid4().hex)):
        with pytest.raises(Forbidden, match="tu propio registro de socio"):
            call()
    assert backend.auth.principal(lucia.token).member_id == lucia.member_id  # her access was not reset
    assert backend.contact_staff.case(lucy.token, case.id).state == "Recibido"
    assert refusals(backend) == ["solicitud.decidir", "contacto.decidir", "contacto.decidir", "socio.desbloquear",
                                 "socio.restablecer_acceso", "socio.cambio_celular"]
    members = backend.db.conn.execute("SELECT DISTINCT member_id FROM audit_log WHERE outcome = 'propia_rechazada'")
    assert [r[0] for r in members] == [lucia.member_id]  # in the auditors' filter by member
    form = dict(id_type="cedula", id_number="1104680135", first_names="Carmen Rosa", last_names="Tipán Cando",
                birth_date="14/03/1988", mobile="0987001122", email="carmen.tipan@correo.ec", address="Av. Amazonas 1",
                occupation="Comerciante", monthly_income="850", pep="no")
    assert backend.backoffice.enrol_member(lucy.token, form).name == "Carmen Rosa Tipán Cando"  # others: fine


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_she_neither_serves_nor_approves_a_withdrawal_from_her_own_account(backend, staff, clock):
    lucia = demo_member(backend)
    account = lucia.accounts[0]
    teller = sign_in(backend, enrol(backend, "lucy.caja", "cajero", "Lucy Torres", cedula=LUCIA), clock)
    backend.tills.open_till(teller.token, "20000")
    before = balance_of(backend, account)
    with pytest.raises(Forbidden, match="tu propia cuenta"):
        backend.counter.cash(teller.token, "deposito", account, "50", uuid.uuid4().hex)
    assert balance_of(backend, account) == before
    backend.tills.open_till(staff["cajero"].token, "20000")
    queued = backend.counter.cash(staff["cajero"].token, "retiro", account, "2500", uuid.uuid4().hex)
    assert queued.state == "por_aprobar"
    boss = sign_in(backend, enrol(backend, "lucia.sup", "supervisor", "Lucia Estefania Guaman Torres"), clock)
    for call in (lambda: backend.approvals.approve(boss.token, queued.op_id, ""),
                 lambda: backend.approvals.reject(boss.token, queued.op_id, "No procede")):
        with pytest.raises(Forbidden, match="tu propio registro de socio"):
            call()
    assert [a.id for a in backend.approvals.pending(staff["supervisor"].token)] == [queued.op_id]
    assert refusals(backend) == ["ventanilla.operar", "aprobacion.decidir", "aprobacion.decidir"]
    backend.approvals.approve(staff["supervisor"].token, queued.op_id, "")
    assert balance_of(backend, account) == before - 2500_00


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_she_does_not_enrol_herself_as_a_member(backend, staff, clock):
    carmen = "1104680135"
    clerk = sign_in(backend, enrol(backend, "carmen", "atencion", "Carmen Tipán", cedula=carmen), clock)
    form = dict(id_type="cedula", id_number=carmen, first_names="Carmen Rosa", last_names="Tipán Cando",
                birth_date="14/03/1988", mobile="0987001122", email="carmen.tipan@correo.ec", address="Av. Amazonas 1",
                occupation="Comerciante", monthly_income="850", pep="no")
    with pytest.raises(Forbidden, match="registrarte tú mismo"):
        backend.backoffice.enrol_member(clerk.token, form)
    assert refusals(backend) == ["socio.registrar"]
    assert backend.backoffice.enrol_member(staff["atencion"].token, form).name == "Carmen Rosa Tipán Cando"


def test_same_person_by_cedula_by_ruc_or_by_folded_name():
    assert same_person(LUCIA, "Otra Persona", "cedula", LUCIA, "Lucía", "Guamán")
    assert same_person(LUCIA, "Otra Persona", "ruc", LUCIA + "001", "Comercial", "Guamán")  # her own RUC
    assert same_person(None, "lucia estefania  GUAMAN torres", "cedula", "1104680135", "Lucía Estefanía",
                       "Guamán Torres")
    assert same_person(None, "Ñusta Muñoz", "pasaporte", "AB123456", "ñusta", "MUÑOZ")
    assert not same_person(LUCIA, "Lucía Guamán", "cedula", "1104680135", "Lucía Estefanía", "Guamán Torres")
    assert not same_person(None, "Lucía Guamán", "cedula", LUCIA, "Lucía Estefanía", "Guamán Torres")


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_staff_cedulas_are_checked_unique_and_linked_once(backend):
    directory = backend.auth.staff_directory
    with pytest.raises(ValidationError, match="dígito verificador") as err:
        directory.add("nuevo1", "cajero", "Ventanilla-2026", "Nuevo Uno", cedula="0907891230")
    assert err.value.field == "cedula"
    with pytest.raises(ValidationError, match="10 dígitos"):
        directory.add("nuevo1", "cajero", "Ventanilla-2026", "Nuevo Uno", cedula="17051234")
    directory.add("nuevo1", "cajero", "Ventanilla-2026", "Nuevo Uno", cedula="０９０７８９１２３８")  # full-width digits
    with pytest.raises(ValidationError, match="ya está vinculada a otro usuario"):
        directory.add("nuevo2", "cajero", "Ventanilla-2026", "Nuevo Dos", cedula="0907891238")
    directory.add("antiguo", "cajero", "Ventanilla-2026", "Antiguo Usuario")  # as enrolled before cédulas
    linked = {p.username: p.linked for p in directory.list()}
    assert (linked["nuevo1"], linked["antiguo"]) == (True, False)
    with pytest.raises(ValidationError, match="ya está vinculada a otro usuario"):
        directory.link("antiguo", "0907891238")
    directory.link("antiguo", "1711789014")
    with pytest.raises(ValidationError, match="ya está vinculado"):
        directory.link("antiguo", "1710678903")  # a link is never changed
    with pytest.raises(NotFound):
        directory.link("nadie", "1710678903")
    assert all(p.linked for p in directory.list())
    actions = [e.action for e in backend.audit_log(last=5)]
    assert "personal.vincular_cedula" in actions


def test_cli_adds_with_a_cedula_and_links_an_old_user(db_path, monkeypatch, capsys):
    from tests.branch.test_cli_staff import run
    from tests.staff_helpers import PASSWORD

    add = ("staff", "add", "--db", str(db_path), "--user", "cajero9", "--role", "cajero", "--name", "Rosa Quispe",
           "--no-qr")
    code, _, err = run(monkeypatch, capsys, *add, "--cedula", "0907891230", stdin=PASSWORD + "\n")
    assert code == 1 and "dígito verificador" in err
    code, out, _ = run(monkeypatch, capsys, *add, stdin=PASSWORD + "\n")
    assert code == 0 and "sin --cedula" in out
    code, out, _ = run(monkeypatch, capsys, "staff", "list", "--db", str(db_path))
    assert "(sin cédula)" in out
    code, out, _ = run(monkeypatch, capsys, "staff", "link", "--db", str(db_path), "--user", "cajero9",
                       "--cedula", "0907891238")
    assert code == 0 and "vinculado" in out
    code, out, _ = run(monkeypatch, capsys, "staff", "list", "--db", str(db_path))
    assert "cajero9" in out and "(sin cédula)" not in out
