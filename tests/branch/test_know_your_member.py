"""Know your member (issue #19): what «Registrar socio» asks, the PEP declaration under a supervisor, and the
cash opening deposit at a till as the account's first movement. Refusals are in Spanish and change nothing."""

from __future__ import annotations

import uuid

import pytest

from backend.core.errors import ValidationError
from backend.core.ledger import Leg, post
from backend.transfers.payees import coop_account
from tests.conftest import affiliate
from tests.staff_helpers import team

CEDULA = "1104680135"
FORM = dict(id_type="cedula", id_number=CEDULA, first_names="Carmen Rosa", last_names="Tipán Cando",
            birth_date="14/03/1988", mobile="0987001122", email="carmen.tipan@correo.ec",
            address="Av. Amazonas N34-12, Quito", occupation="Comerciante minorista", monthly_income="1,250.50",
            pep="no", pep_position="")


@pytest.fixture
def staff(backend, clock):
    people = team(backend, clock)
    backend.tills.open_till(people["cajero"].token, "500")
    return people


def member(backend):
    return backend.db.conn.execute("SELECT * FROM members WHERE id_number = ?", (CEDULA,)).fetchone()


def postings_of(backend, account_id):
    return backend.db.conn.execute("SELECT entry_id, amount FROM postings WHERE account_id = ? ORDER BY id",
                                   (account_id,)).fetchall()


def snapshot(backend):
    """Everything a refused registration or opening must leave as it was."""
    q = backend.db.conn.execute
    return (q("SELECT COUNT(*) FROM members").fetchone()[0], q("SELECT COUNT(*) FROM accounts").fetchone()[0],
            q("SELECT COUNT(*) FROM postings").fetchone()[0], q("SELECT COUNT(*) FROM counter_ops").fetchone()[0],
            q("SELECT COUNT(*) FROM outbox").fetchone()[0],
            tuple(q("SELECT id, status, opening FROM members ORDER BY id").fetchall()))


def account_id(backend, staff):
    card = backend.counter.find_member(staff["cajero"].token, CEDULA)[0]
    assert len(card.accounts) == 1
    return card.accounts[0].id


@pytest.mark.sqlite_only(covered=True)
def test_review_shows_what_will_be_saved_and_stores_nothing(backend, staff):
    before = snapshot(backend)
    review = backend.backoffice.review_enrolment(staff["atencion"].token, FORM)
    lines = dict(review.lines)
    assert lines["Ocupación"] == "Comerciante minorista" and lines["Ingreso mensual"] == "$1,250.50"
    assert lines["Persona expuesta políticamente"] == "No" and "mínimo $20.00" in lines["Depósito de apertura"]
    assert snapshot(backend) == before


def test_member_waits_for_the_opening_deposit_which_is_the_first_movement(backend, staff, clock):
    aten, cajero = staff["atencion"], staff["cajero"]
    enrolled = backend.backoffice.enrol_member(aten.token, FORM)
    assert enrolled.opening == "deposito_pendiente" and enrolled.minimum_deposit == 20_00
    m = member(backend)
    assert (m["status"], m["opening"], m["occupation"], m["monthly_income"], m["pep"], m["due_diligence"]) == (
        "inactivo", "deposito_pendiente", "Comerciante minorista", 1250_50, 0, "estandar")
    acc = account_id(backend, staff)
    assert postings_of(backend, acc) == []
    card = backend.counter.find_member(cajero.token, CEDULA)[0]
    assert card.opening == "Pendiente del depósito de apertura"
    with pytest.raises(ValidationError, match="acércate a una agencia"):  # no online banking before it opens
        affiliate(backend, CEDULA, "carmen.tipan")
    before = snapshot(backend)
    for kind, amount, message in [("deposito", "19.99", "mínimo es \\$20.00"),
                                  ("retiro", "20", "el primer movimiento es el depósito de apertura")]:
        with pytest.raises(ValidationError, match=message):
            backend.counter.cash(cajero.token, kind, acc, amount, uuid.uuid4().hex)
    assert snapshot(backend) == before
    till_before = backend.tills.my_till(cajero.token)
    done = backend.counter.cash(cajero.token, "deposito", acc, "25", uuid.uuid4().hex)
    assert done.state == "ejecutada" and done.receipt is not None
    m = member(backend)
    assert (m["status"], m["opening"]) == ("activo", None)
    (first, amount), = postings_of(backend, acc)
    assert amount == 25_00 and first == m["opening_entry_id"]
    till_after = backend.tills.my_till(cajero.token)
    assert till_after.cash == till_before.cash + 25_00 and till_after.deposits == till_before.deposits + 25_00
    audit = backend.db.conn.execute("SELECT action, outcome, details FROM audit_log WHERE member_id = ? ORDER BY id",
                                    (m["id"],)).fetchall()
    assert [(a[0], a[1]) for a in audit] == [("socio.registrar", "deposito_pendiente"), ("ventanilla.deposito",
                                                                                        "ejecutada")]
    assert '"apertura": true' in audit[1][2]
    assert "ya está abierta" in backend.outbox(last=1)[0].body
    backend.counter.cash(cajero.token, "deposito", acc, "5", uuid.uuid4().hex)  # now an ordinary account
    affiliate(backend, CEDULA, "carmen.tipan")
    assert backend.check() == []


@pytest.mark.parametrize("field,value,message", [
    ("occupation", "", "ocupación"), ("occupation", "Chofer\x1b[31m", "ocupación"),
    ("monthly_income", "", "ingreso mensual"), ("monthly_income", "-5", "negativo"),
    ("monthly_income", "1e9", "Ingreso mensual"), ("monthly_income", "12.345", "Ingreso mensual"),
    ("address", "Quito\u202e", "dirección"), ("pep", "", "persona expuesta"), ("pep", "quizas", "persona expuesta"),
    ("id_number", "1104680136", ""), ("birth_date", "14/03/2015", "mayor de edad")])
@pytest.mark.sqlite_only  # input checks before any engine-specific SQL: one engine is enough
def test_required_fields_refused_in_spanish_and_nothing_changes(backend, staff, field, value, message):
    before = snapshot(backend)
    for call in (backend.backoffice.review_enrolment, backend.backoffice.enrol_member):
        with pytest.raises(ValidationError, match=f"(?i){message}") as refused:
            call(staff["atencion"].token, {**FORM, field: value})
        assert refused.value.field == field
    assert snapshot(backend) == before


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_income_is_cents_and_zero_is_a_valid_answer(backend, staff):
    backend.backoffice.enrol_member(staff["atencion"].token, {**FORM, "monthly_income": "0"})
    assert member(backend)["monthly_income"] == 0


def test_pep_needs_the_position_and_a_supervisor_before_the_opening(backend, staff):
    aten, cajero, sup = staff["atencion"], staff["cajero"], staff["supervisor"]
    before = snapshot(backend)
    with pytest.raises(ValidationError, match="cargo o función pública"):
        backend.backoffice.enrol_member(aten.token, {**FORM, "pep": "si", "pep_position": ""})
    assert snapshot(backend) == before
    enrolled = backend.backoffice.enrol_member(aten.token, {**FORM, "pep": "si",
                                                            "pep_position": "Concejal del cantón Quito"})
    assert enrolled.opening == "por_aprobar"
    m = member(backend)
    assert (m["pep"], m["pep_position"], m["due_diligence"], m["status"]) == (
        1, "Concejal del cantón Quito", "reforzada", "inactivo")
    acc = account_id(backend, staff)
    before = snapshot(backend)
    with pytest.raises(ValidationError, match="espera la aprobación del supervisor"):
        backend.counter.cash(cajero.token, "deposito", acc, "50", uuid.uuid4().hex)
    assert snapshot(backend) == before
    (pending,) = backend.approvals.pending(sup.token)
    lines = dict(pending.lines)
    assert pending.kind == "socio_pep" and lines["Cargo o función pública"] == "Concejal del cantón Quito"
    assert lines["Debida diligencia"] == "Reforzada" and lines["Ingreso mensual"] == "$1,250.50"
    backend.approvals.approve(sup.token, pending.id, "Revisada la declaración patrimonial")
    assert member(backend)["opening"] == "deposito_pendiente"
    backend.counter.cash(cajero.token, "deposito", acc, "50", uuid.uuid4().hex)
    assert (member(backend)["status"], member(backend)["due_diligence"]) == ("activo", "reforzada")
    outcomes = [r[0] for r in backend.db.conn.execute(
        "SELECT outcome FROM audit_log WHERE member_id = ? ORDER BY id", (m["id"],))]
    assert outcomes == ["por_aprobar", "aprobada", "ejecutada"]
    assert backend.check() == []


def test_a_rejected_pep_never_opens(backend, staff):
    backend.backoffice.enrol_member(staff["atencion"].token, {**FORM, "pep": "si", "pep_position": "Asambleísta"})
    acc = account_id(backend, staff)
    (pending,) = backend.approvals.pending(staff["supervisor"].token)
    backend.approvals.reject(staff["supervisor"].token, pending.id, "Origen de fondos sin sustento")
    assert member(backend)["opening"] == "rechazada"
    with pytest.raises(ValidationError, match="rechazado"):
        backend.counter.cash(staff["cajero"].token, "deposito", acc, "50", uuid.uuid4().hex)
    assert postings_of(backend, acc) == [] and backend.check() == []


def test_a_pending_account_takes_no_transfer_and_check_catches_a_movement(backend, staff, lucia):
    backend.backoffice.enrol_member(staff["atencion"].token, FORM)
    number = backend.db.conn.execute("SELECT number FROM accounts WHERE member_id = ?",
                                     (member(backend)["id"],)).fetchone()[0]
    with pytest.raises(ValidationError, match="no está activa"):  # what every transfer to a co-op account asks
        coop_account(backend.db.conn, number)
    acc = account_id(backend, staff)
    with backend.db.write() as conn:  # a booking that skipped the opening flow
        other = lucia.accounts[0]
        post(conn, kind="ajuste", description="prueba", legs=[Leg(acc, 1_00, "x"), Leg(other, -1_00, "x")],
             posted_at=backend.ctx.now_iso(), actor="test")
    assert any("aún no abre la cuenta" in p for p in backend.check())


def test_check_catches_an_opening_that_is_not_the_first_movement(backend, staff):
    backend.backoffice.enrol_member(staff["atencion"].token, FORM)
    acc = account_id(backend, staff)
    for _ in range(2):  # the opening deposit, then an ordinary one
        backend.counter.cash(staff["cajero"].token, "deposito", acc, "30", uuid.uuid4().hex)
    assert backend.check() == []
    with backend.db.write() as conn:  # the opening re-pointed at the second deposit
        conn.execute("UPDATE members SET opening_entry_id = (SELECT MAX(entry_id) FROM postings WHERE account_id = ?)"
                     " WHERE id = ?", (acc, member(backend)["id"]))
    number = backend.db.conn.execute("SELECT number FROM accounts WHERE id = ?", (acc,)).fetchone()[0]
    assert backend.check() == [f"cuenta {number}: su primer movimiento no es el depósito de apertura"]


def test_two_tellers_opening_at_once_open_once(backend, staff):
    """The member lock serialises the two: the second sees an open account and books an ordinary deposit."""
    backend.tills.open_till(staff["cajero2"].token, "500")
    backend.backoffice.enrol_member(staff["atencion"].token, FORM)
    acc = account_id(backend, staff)
    backend.counter.cash(staff["cajero"].token, "deposito", acc, "30", uuid.uuid4().hex)
    backend.counter.cash(staff["cajero2"].token, "deposito", acc, "30", uuid.uuid4().hex)
    first = postings_of(backend, acc)[0][0]
    assert member(backend)["opening_entry_id"] == first and backend.check() == []
