"""Atención al socio: KYC enrolment, unlocking, resetting online access, mobile change under 4 eyes."""

from __future__ import annotations

import json

import pytest

from backend.core.errors import AuthError, Forbidden, ValidationError
from backend.security.staff import StaffChallenge  # noqa: F401
from tests.conftest import affiliate, demo_cedula, last_code
from tests.staff_helpers import team

FORM = dict(id_type="cedula", id_number="1104680135", first_names="Carmen Rosa", last_names="Tipán Cando",
            birth_date="14/03/1988", mobile="0987001122", email="carmen.tipan@correo.ec",
            address="Av. Amazonas N34-12, Quito", occupation="Comerciante", monthly_income="850", pep="no")


@pytest.fixture
def staff(backend, clock):
    return team(backend, clock)


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_enrol_then_the_member_affiliates_online(backend, staff):
    enrolled = backend.backoffice.enrol_member(staff["atencion"].token, FORM)
    assert enrolled.name == "Carmen Rosa Tipán Cando" and len(enrolled.account_number) == 10
    backend.tills.open_till(staff["cajero"].token, "100")  # the account opens with the cash opening deposit
    account = backend.counter.find_member(staff["cajero"].token, "1104680135")[0].accounts[0].id
    backend.counter.cash(staff["cajero"].token, "deposito", account, "20", "opening-key-1")
    affiliate(backend, "1104680135", "carmen.tipan")
    assert backend.auth.login("carmen.tipan", "Clave2026x").member_name == "Carmen Rosa Tipán Cando"
    entry = backend.audit_log(last=50, actor="atencion1")[-1]  # the registration, by atención
    assert entry.action == "socio.registrar"
    assert backend.check() == []


@pytest.mark.parametrize("field,value", [("id_number", "1104680136"), ("birth_date", "14/03/2015"),
                                         ("birth_date", "31/02/1990"), ("mobile", "0887001122"),
                                         ("email", "carmen@"), ("first_names", "Carmen\x1b[31m"),
                                         ("address", "Quito\u202e"), ("id_type", "dni")])
@pytest.mark.sqlite_only  # input checks before any engine-specific SQL: one engine is enough
def test_enrol_refuses_bad_kyc(backend, staff, field, value):
    with pytest.raises(ValidationError):
        backend.backoffice.enrol_member(staff["atencion"].token, {**FORM, field: value})
    assert backend.db.conn.execute("SELECT COUNT(*) FROM members WHERE id_number = '1104680135'").fetchone()[0] == 0


@pytest.mark.sqlite_only(covered=True)
def test_enrol_refuses_an_existing_member(backend, staff):
    with pytest.raises(ValidationError, match="Ya existe"):
        backend.backoffice.enrol_member(staff["atencion"].token, {**FORM, "id_number": demo_cedula()})


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_unlock_a_locked_member(backend, staff):
    for _ in range(5):
        with pytest.raises(AuthError):
            backend.auth.login("demo", "Mala-clave1")
    with pytest.raises(AuthError):
        backend.auth.login("demo", "Demo-2026!")
    member_id = backend.counter.find_member(staff["atencion"].token, demo_cedula())[0].member_id
    assert backend.backoffice.online_access(staff["atencion"].token, member_id).locked
    backend.backoffice.unlock_user(staff["atencion"].token, member_id, "Llamó desde su celular registrado")
    assert backend.auth.login("demo", "Demo-2026!").username == "demo"


def test_unlock_asks_a_reason_and_the_audit_keeps_it(backend, staff):
    """Issue 21 (staff): «Desbloquear usuario» asked no reason; without one it changes nothing."""
    for _ in range(5):
        with pytest.raises(AuthError):
            backend.auth.login("demo", "Mala-clave1")
    aten = staff["atencion"]
    member_id = backend.counter.find_member(aten.token, demo_cedula())[0].member_id
    for reason in ("", "   ", "ok"):
        with pytest.raises(ValidationError) as err:
            backend.backoffice.unlock_user(aten.token, member_id, reason)
        assert err.value.field == "reason"
    assert backend.backoffice.online_access(aten.token, member_id).locked
    backend.backoffice.unlock_user(aten.token, member_id, "Llamó desde su celular; verificado")
    row = backend.db.conn.execute("SELECT details FROM audit_log WHERE action = 'socio.desbloquear' ORDER BY id DESC"
                                  " LIMIT 1").fetchone()
    assert json.loads(row[0])["motivo"] == "Llamó desde su celular; verificado"
    assert not backend.backoffice.online_access(aten.token, member_id).locked


def test_reset_access_ends_sessions_and_the_member_affiliates_again(backend, staff, lucia):
    member_id = backend.counter.find_member(staff["atencion"].token, demo_cedula())[0].member_id
    backend.backoffice.reset_access(staff["atencion"].token, member_id)
    with pytest.raises(AuthError):
        backend.products.position(lucia.token)
    with pytest.raises(AuthError):
        backend.auth.login("demo", "Demo-2026!")
    start = backend.auth.start_affiliation("cedula", demo_cedula())
    backend.auth.verify_affiliation_code(start.challenge.id, last_code(backend))
    backend.auth.complete_affiliation(start.challenge.id, "lucia.nueva", "Nueva-clave-2026")
    signed = backend.auth.login("lucia.nueva", "Nueva-clave-2026")
    assert backend.products.position(signed.token)  # same member, same products


def test_mobile_change_needs_a_supervisor(backend, staff, lucia):
    aten, sup = staff["atencion"], staff["supervisor"]
    member_id = backend.counter.find_member(aten.token, demo_cedula())[0].member_id
    old = backend.db.conn.execute("SELECT mobile FROM members WHERE id = ?", (member_id,)).fetchone()[0]
    op = backend.backoffice.request_mobile_change(aten.token, member_id, "0991112233", "Perdió su teléfono", "key-123456")
    assert backend.db.conn.execute("SELECT mobile FROM members WHERE id = ?", (member_id,)).fetchone()[0] == old
    with pytest.raises(Forbidden):
        backend.approvals.approve(aten.token, op, "")
    backend.approvals.approve(sup.token, op, "Verificado con cédula original")
    assert backend.db.conn.execute("SELECT mobile FROM members WHERE id = ?", (member_id,)).fetchone()[0] == "0991112233"
    recipients = [m.recipient for m in backend.outbox(last=2)]
    assert recipients == [old, "0991112233"]  # the old number hears of it too
    with pytest.raises(AuthError):
        backend.products.position(lucia.token)  # whoever held the session is out


def test_member_service_actions_are_audited_with_the_member(backend, staff):
    aten = staff["atencion"]
    member_id = backend.counter.find_member(aten.token, demo_cedula())[0].member_id
    backend.backoffice.unlock_user(aten.token, member_id, "Verificado con cédula original")
    row = backend.db.conn.execute("SELECT actor, action, outcome FROM audit_log WHERE member_id = ? ORDER BY id DESC"
                                  " LIMIT 1", (member_id,)).fetchone()
    assert tuple(row) == ("atencion1", "socio.desbloquear", "ok")


@pytest.mark.parametrize("typed", ["١٤/٠٣/١٩٨٨", "۱۴/۰۳/۱۹۸۸", "１４/０３/１９８８", "١٤/03/1988"])
@pytest.mark.sqlite_only  # input checks before any engine-specific SQL: one engine is enough
def test_a_birth_date_in_look_alike_digits_is_the_same_date(backend, staff, typed):
    """Arabic-Indic, Persian or fullwidth digits (another keyboard layout) are folded, as amounts, codes and the
    movement filter's dates are: the same review and the same stored date as 14/03/1988."""
    review = backend.backoffice.review_enrolment(staff["atencion"].token, {**FORM, "birth_date": typed})
    assert review == backend.backoffice.review_enrolment(staff["atencion"].token, FORM)
    backend.backoffice.enrol_member(staff["atencion"].token, {**FORM, "birth_date": typed})
    assert backend.db.conn.execute("SELECT birth_date FROM members WHERE id_number = '1104680135'"
                                   ).fetchone()[0] == "1988-03-14"


@pytest.mark.parametrize("typed", ["١٤/٠٣/٢٠١٥", "٣١/٠٢/١٩٩٠", "١٤/٠٣/١٩٨٨x"])
@pytest.mark.sqlite_only
def test_a_birth_date_in_look_alike_digits_is_still_checked(backend, staff, typed):
    """Folded digits still meet the age rule and the calendar, and anything else is still refused."""
    with pytest.raises(ValidationError):
        backend.backoffice.enrol_member(staff["atencion"].token, {**FORM, "birth_date": typed})
