import pytest

from backend.core.errors import NotFound, OtpError, ValidationError
from backend.transfers.beneficiaries import BeneficiaryForm
from backend.transfers.transfers import TransferRequest
from tests.conftest import demo_cedula, last_code
from tests.transfer_helpers import number_of, save_beneficiary


def terceros_form(backend, ana, **changes):
    fields = dict(service="terceros", name="Ana Prueba", id_type="cedula", id_number="1104680135",
                  account_number=number_of(backend, ana.accounts[0]))
    return BeneficiaryForm(**{**fields, **changes})


def interbank_form(**changes):
    fields = dict(service="interbancaria", name="Pedro Andrade", id_type="cedula", id_number="0926687856",
                  account_number="2200123456", institution_code="0010", account_type="corriente")
    return BeneficiaryForm(**{**fields, **changes})


def add(backend, who, form):
    return save_beneficiary(backend, who.token, form)


@pytest.mark.sqlite_only(covered=True)
def test_add_requires_a_code(backend, lucia, ana):
    form = terceros_form(backend, ana)
    with pytest.raises((ValidationError, TypeError)):
        backend.beneficiaries.save(lucia.token, form)  # adding has no path without a code
    saved = add(backend, lucia, form)
    assert (saved.service_label, saved.name, saved.institution_name) == ("Transferencia Terceros", "Ana Prueba", "Cooprogreso")
    assert saved.account_masked.startswith("******")
    assert [b.id for b in backend.beneficiaries.list(lucia.token)] == [saved.id]


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_interbank_beneficiary_and_transfer_to_it(backend, lucia):
    saved = add(backend, lucia, interbank_form())
    assert saved.institution_name == "Banco Pichincha C.A." and saved.account_type == "corriente"
    draft = backend.transfers.prepare(lucia.token, TransferRequest("interbancaria", lucia.accounts[0], 5_00, "x",
                                                                   beneficiary_id=saved.id))
    assert draft.view.dest_name == "Pedro Andrade" and draft.view.dest_account_number == "2200123456"


@pytest.mark.parametrize("changes,field", [
    (dict(id_number="1104680136"), "id_number"),  # bad check digit
    (dict(id_number="0926687856"), "account"),  # valid, but not the holder's: answered as «no such account»
    (dict(account_number="4100000099"), "account"),  # no such account
    (dict(name="A"), "name"),
    (dict(id_type="pasaporte", id_number="AB#1"), "id_number"),
])
@pytest.mark.sqlite_only  # input checks before any engine-specific SQL: one engine is enough
def test_terceros_validation(backend, lucia, ana, changes, field):
    with pytest.raises(ValidationError) as err:
        backend.beneficiaries.validate(lucia.token, terceros_form(backend, ana, **changes))
    assert err.value.field == field


@pytest.mark.parametrize("changes,field", [(dict(account_number="22001234"), "account"),  # Pichincha: 10 digits
                                           (dict(institution_code="9999"), "institution"),
                                           (dict(institution_code="0001"), "institution")])  # not the central bank
@pytest.mark.sqlite_only  # input checks before any engine-specific SQL: one engine is enough
def test_interbank_validation(backend, lucia, changes, field):
    with pytest.raises(ValidationError) as err:
        backend.beneficiaries.validate(lucia.token, interbank_form(**changes))
    assert err.value.field == field


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_duplicate_is_refused_naming_the_existing_entry(backend, lucia, ana):
    add(backend, lucia, terceros_form(backend, ana))
    with pytest.raises(ValidationError) as err:
        backend.beneficiaries.validate(lucia.token, terceros_form(backend, ana, name="Otra persona"))
    assert err.value.code == "duplicate" and "«Ana Prueba»" in err.value.message


@pytest.mark.sqlite_only(covered=True)
def test_rename_needs_no_code_but_changing_the_account_does(backend, lucia):
    saved = add(backend, lucia, interbank_form())
    renamed = interbank_form(name="Pedro Andrade (proveedor)")
    assert not backend.beneficiaries.needs_code(lucia.token, renamed, saved.id)
    assert backend.beneficiaries.save(lucia.token, renamed, saved.id).name == "Pedro Andrade (proveedor)"
    moved = interbank_form(name="Pedro Andrade (proveedor)", account_number="2200999999")
    assert backend.beneficiaries.needs_code(lucia.token, moved, saved.id)
    with pytest.raises(ValidationError):
        backend.beneficiaries.save(lucia.token, moved, saved.id)
    pending = backend.beneficiaries.prepare_save(lucia.token, moved, saved.id)
    backend.ops.request_code(lucia.token, pending.id)
    code = last_code(backend)
    assert "registrar o cambiar tu beneficiario" in backend.outbox(last=1)[-1].body  # it said «registrar» to a change
    other = backend.beneficiaries.prepare_save(lucia.token, interbank_form(account_number="2200888888"), saved.id)
    with pytest.raises(OtpError):  # a code for one account does not change it to another
        backend.ops.authorise(lucia.token, other.id, code)
    assert backend.beneficiaries.get(lucia.token, saved.id).account_number == "2200123456"
    receipt = backend.ops.authorise(lucia.token, pending.id, code)
    assert backend.beneficiaries.get(lucia.token, receipt.result_id).account_number == "2200999999"


def test_delete_several_at_once(backend, lucia, ana):
    one = add(backend, lucia, terceros_form(backend, ana))
    two = add(backend, lucia, interbank_form())
    three = add(backend, lucia, interbank_form(account_number="2200555555", name="Rosa Vega"))
    assert backend.beneficiaries.delete(lucia.token, [one.id, three.id]) == 2
    assert [b.id for b in backend.beneficiaries.list(lucia.token)] == [two.id]


class TestBeneficiaryAccess:
    @pytest.mark.sqlite_only(covered=True)
    def test_other_user_cannot_read_use_change_or_delete(self, backend, lucia, ana):
        mine = add(backend, lucia, interbank_form())
        assert backend.beneficiaries.list(ana.token) == []
        with pytest.raises(NotFound):
            backend.beneficiaries.get(ana.token, mine.id)
        with pytest.raises(NotFound):
            backend.transfers.prepare(ana.token, TransferRequest("interbancaria", ana.accounts[0], 1_00, "x",
                                                                 beneficiary_id=mine.id))
        with pytest.raises(NotFound):
            backend.beneficiaries.save(ana.token, interbank_form(name="Robado"), mine.id)
        with pytest.raises(NotFound):
            backend.beneficiaries.delete(ana.token, [mine.id])
        assert backend.beneficiaries.get(lucia.token, mine.id).name == "Pedro Andrade"

    @pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
    def test_mixed_delete_deletes_nothing(self, backend, lucia, ana):
        mine = add(backend, lucia, interbank_form())
        theirs = add(backend, ana, interbank_form(id_number="1710034065"))
        with pytest.raises(NotFound):
            backend.beneficiaries.delete(lucia.token, [mine.id, theirs.id])
        assert len(backend.beneficiaries.list(lucia.token)) == 1 and len(backend.beneficiaries.list(ana.token)) == 1


@pytest.mark.sqlite_only(covered=True)
def test_cannot_add_own_account_as_third_party(backend, lucia):
    own = number_of(backend, lucia.accounts[0])
    with pytest.raises(ValidationError) as err:
        backend.beneficiaries.validate(lucia.token, BeneficiaryForm("terceros", "Yo misma", "cedula", demo_cedula(), own))
    assert "tuya" in err.value.message


def test_adding_a_beneficiary_does_not_tell_which_accounts_and_cedulas_are_members(backend, lucia, ana):
    """No such account, an inactive account, and a real account with someone else's cédula get the same
    answer (same field, same words): trying numbers and cédulas teaches an attacker nothing."""
    from tests.conftest import add_member

    _, closed = add_member(backend, cedula="0926687856", first="Pedro", last="Andrade Ruiz", status="inactivo")
    ana_number = number_of(backend, ana.accounts[0])
    answers = set()
    from stdnum import luhn

    nobody = "419999999" + luhn.calc_check_digit("419999999")
    assert backend.db.conn.execute("SELECT 1 FROM accounts WHERE number = ?", (nobody,)).fetchone() is None
    for changes in (dict(account_number=nobody),  # no such account (its check digit is right)
                    dict(id_number="0926687856"),  # Ana's account, a real member's cédula that is not Ana's
                    dict(id_type="pasaporte", id_number="AB123456"),  # Ana's account, another kind of id
                    dict(account_number=number_of(backend, closed), id_number="0926687856")):  # its holder, inactive
        with pytest.raises(ValidationError) as err:
            backend.beneficiaries.validate(lucia.token, terceros_form(backend, ana, **changes))
        answers.add((err.value.field, err.value.message, err.value.code))
    assert len(answers) == 1, answers
    # through the authorised flow too: nothing is prepared, nothing is said apart
    with pytest.raises(ValidationError) as err:
        backend.beneficiaries.prepare_save(lucia.token, terceros_form(backend, ana, id_number="0926687856"))
    assert (err.value.field, err.value.message, err.value.code) in answers
    # the right account with its holder's cédula is still added
    saved = add(backend, lucia, terceros_form(backend, ana, account_number=ana_number))
    assert saved.account_number == ana_number
