"""Declaración de licitud de fondos: cash deposits from `cash_declaration_threshold` declare the origin
of funds and who deposits (name + checked ID); stored with the operation, on the receipt, audited."""

from __future__ import annotations

import json
import uuid

import pytest

from backend.core.errors import ValidationError
from backend.core.settings import Settings, SettingsError
from tests.conftest import add_member
from tests.staff_helpers import team

DECLARED = {"origin": "Venta de un vehículo", "name": "Pedro Pablo Quishpe Toapanta", "id_type": "cedula",
            "id_number": "1104680135"}


@pytest.fixture
def teller(backend, clock):
    t = team(backend, clock)["cajero"]
    backend.tills.open_till(t.token, "100")
    return t


@pytest.fixture
def account(backend):
    return add_member(backend, cedula="1104680135", balance=0)[1]


def entries(backend) -> int:
    return backend.db.conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_below_the_threshold_no_declaration_is_asked(backend, teller, account):
    assert backend.counter.cash(teller.token, "deposito", account, "9999.99", uuid.uuid4().hex).state == "ejecutada"


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_from_the_threshold_a_deposit_without_declaration_is_refused_and_books_nothing(backend, teller, account):
    before = entries(backend)
    with pytest.raises(ValidationError) as err:
        backend.counter.cash(teller.token, "deposito", account, "10000", uuid.uuid4().hex)
    assert err.value.code == "declaracion" and "licitud de fondos" in err.value.message
    assert "$10,000.00" in err.value.message and entries(backend) == before


@pytest.mark.sqlite_only  # input refused before any SQL (see the marker in pyproject.toml)
@pytest.mark.parametrize("change,field", [
    ({"origin": "ok"}, "origen"), ({"origin": "Venta\u202e de auto"}, "origen"),
    ({"name": "Juan \u202ePerez"}, "depositante"), ({"name": "Pedro"}, "depositante"),
    ({"id_number": "1104680136"}, "id_number"), ({"id_type": "dni"}, "id_type")])
def test_a_bad_declaration_is_refused_at_its_field(backend, teller, account, change, field):
    with pytest.raises(ValidationError) as err:
        backend.counter.quote(teller.token, "deposito", account, "12000", {**DECLARED, **change})
    assert err.value.field == field


def test_the_declaration_is_stored_on_the_receipt_and_audited(backend, teller, account):
    declared = {**DECLARED, "id_number": "١١٠٤٦٨٠١٣٥"}  # look-alike digits folded by the ID check
    quote = backend.counter.quote(teller.token, "deposito", account, "15000", declared)
    assert dict(quote.lines)["Origen de los fondos"] == "Venta de un vehículo"
    result = backend.counter.cash(teller.token, "deposito", account, "15000", uuid.uuid4().hex, declared)
    assert result.receipt.get("Origen de los fondos") == "Venta de un vehículo"
    assert result.receipt.get("Depositado por") == "Pedro Pablo Quishpe Toapanta · Cédula ******0135"
    request = json.loads(backend.db.conn.execute("SELECT request FROM counter_ops WHERE id = ?",
                                                 (result.op_id,)).fetchone()[0])
    assert request["depositante_id"] == "1104680135" and request["origen_fondos"] == "Venta de un vehículo"
    audit = backend.audit_log(last=1)[0]
    assert audit.action == "ventanilla.deposito" and "Venta de un vehículo" in audit.details
    assert "1104680135" not in audit.details
    assert backend.counter.receipt(teller.token, result.op_id).get("Origen de los fondos") == "Venta de un vehículo"


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_withdrawals_need_no_declaration(backend, teller, account):
    backend.counter.cash(teller.token, "deposito", account, "20000", uuid.uuid4().hex, DECLARED)
    quote = backend.counter.quote(teller.token, "retiro", account, "10000")
    assert quote.declaration is None


@pytest.mark.sqlite_only  # settings only
def test_the_threshold_setting_is_validated():
    assert Settings().cash_declaration_threshold == 10_000_00
    with pytest.raises(SettingsError):
        Settings(cash_declaration_threshold=0)


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_deposits_of_the_same_day_add_up_to_the_threshold(backend, teller, account):
    """Structuring: $6,000 and then $4,000 in cash the same business day need the declaration, as $10,000 at once."""
    backend.counter.cash(teller.token, "deposito", account, "6000", uuid.uuid4().hex)
    before = entries(backend)
    with pytest.raises(ValidationError) as err:
        backend.counter.cash(teller.token, "deposito", account, "4000", uuid.uuid4().hex)
    assert err.value.code == "declaracion" and "$6,000.00 que la misma persona depositó" in err.value.message
    assert entries(backend) == before
    result = backend.counter.cash(teller.token, "deposito", account, "4000", uuid.uuid4().hex, DECLARED)
    assert result.receipt.get("Origen de los fondos") == "Venta de un vehículo"


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_another_persons_deposits_withdrawals_and_days_outside_the_window_do_not_count(backend, teller, account):
    """The sum is the depositor's over the rule's 30 days (backend/data/uafe_resu.toml): the next day still counts."""
    from backend.branch import counter_ops
    from tests.conftest import add_member

    other = add_member(backend, cedula="1712345600", balance=0)[1]
    backend.counter.cash(teller.token, "deposito", other, "9000", uuid.uuid4().hex)  # its owner brings it
    backend.counter.cash(teller.token, "deposito", account, "9000", uuid.uuid4().hex)
    backend.counter.cash(teller.token, "retiro", account, "100", uuid.uuid4().hex)
    assert backend.counter.quote(teller.token, "deposito", account, "999.99").declaration is None
    with pytest.raises(ValidationError):
        backend.counter.quote(teller.token, "deposito", account, "1000")
    with backend.db.write() as conn:  # the next business day (as after the end of day): still in the window
        counter_ops.set_business_date(conn, "2026-11-26")
    with pytest.raises(ValidationError):
        backend.counter.quote(teller.token, "deposito", account, "1000")
    with backend.db.write() as conn:  # 30 days after the first: out of it
        counter_ops.set_business_date(conn, "2026-12-25")
    assert backend.counter.quote(teller.token, "deposito", account, "9000").declaration is None
