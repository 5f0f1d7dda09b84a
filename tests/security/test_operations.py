"""The one authorised-operation flow: ids only, codes bound to details, once-only booking, replays."""

import threading

import pytest

from backend.core.errors import NotFound, OtpError, ValidationError
from backend.security.receipts import verify
from backend.service import Backend
from backend.transfers.beneficiaries import BeneficiaryForm
from backend.transfers.transfers import TransferRequest
from tests.conftest import fast_settings, last_code
from tests.transfer_helpers import balance_of, number_of, save_beneficiary


@pytest.fixture
def backend(make_backend):
    return make_backend(session_idle_seconds=10**7)


def own(lucia, amount=5_00):
    a, b = lucia.accounts[:2]
    return TransferRequest("propia", a, amount, "ahorro", dest_account_id=b)


@pytest.mark.sqlite_only(covered=True)
def test_pending_operation_holds_only_an_id_and_the_lines_to_confirm(backend, lucia):
    pending = backend.transfers.prepare(lucia.token, own(lucia))
    assert pending.kind == "transferencia" and pending.title == "Confirma la transferencia"
    assert ("Monto", "$5.00") in pending.lines
    assert backend.db.conn.execute("SELECT state FROM operations WHERE id = ?", (pending.id,)).fetchone()[0] == "pendiente"


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_replay_after_booking_returns_the_first_receipt_even_with_the_code_spent(backend, lucia):
    a = lucia.accounts[0]
    before = balance_of(backend, a)
    pending = backend.transfers.prepare(lucia.token, own(lucia))
    backend.ops.request_code(lucia.token, pending.id)
    code = last_code(backend)
    first = backend.ops.authorise(lucia.token, pending.id, code)
    again = backend.ops.authorise(lucia.token, pending.id, code)
    wrong = backend.ops.authorise(lucia.token, pending.id, "000000")  # already booked: the answer is the receipt
    assert first.reference == again.reference == wrong.reference
    assert balance_of(backend, a) == before - 5_00
    assert len(backend.transfers.history(lucia.token)) == 1 and backend.check() == []


def test_two_processes_confirming_at_once_book_once(backend, lucia, db_path, clock):
    pending = backend.transfers.prepare(lucia.token, own(lucia, 7_00))
    backend.ops.request_code(lucia.token, pending.id)
    code = last_code(backend)
    others = [Backend(db_path, fast_settings(session_idle_seconds=10**7), clock) for _ in range(4)]
    results, errors = [], []
    start = threading.Barrier(len(others))

    def confirm(b: Backend) -> None:
        start.wait()
        try:
            results.append(b.ops.authorise(lucia.token, pending.id, code).reference)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            b.close()

    threads = [threading.Thread(target=confirm, args=(b,)) for b in others]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(results)) == 1 and len(results) == 4
    assert len(backend.transfers.history(lucia.token)) == 1 and backend.check() == []


@pytest.mark.sqlite_only(covered=True)
def test_an_operation_belongs_to_whoever_prepared_it(backend, lucia, ana):
    pending = backend.transfers.prepare(lucia.token, own(lucia))
    with pytest.raises(NotFound):
        backend.ops.request_code(ana.token, pending.id)
    backend.ops.request_code(lucia.token, pending.id)
    with pytest.raises(NotFound):
        backend.ops.authorise(ana.token, pending.id, last_code(backend))
    for bad in ("", "x" * 500, None, 12):
        with pytest.raises(NotFound):
            backend.ops.authorise(lucia.token, bad, "123456")


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_a_change_between_confirming_and_the_code_voids_the_operation(backend, lucia):
    form = BeneficiaryForm("interbancaria", "Pedro Andrade", "cedula", "0926687856", "2200123456", "0010", "ahorros")
    saved = save_beneficiary(backend, lucia.token, form)
    pending = backend.transfers.prepare(lucia.token, TransferRequest("interbancaria", lucia.accounts[0], 5_00, "x",
                                                                     beneficiary_id=saved.id))
    moved = BeneficiaryForm("interbancaria", "Pedro Andrade", "cedula", "0926687856", "2200999999", "0010", "ahorros")
    save_beneficiary(backend, lucia.token, moved, saved.id)
    with pytest.raises(ValidationError) as err:
        backend.ops.request_code(lucia.token, pending.id)
    assert err.value.code == "operation_changed"
    with pytest.raises(ValidationError):  # void for good, even if the account is moved back
        save_beneficiary(backend, lucia.token, form, saved.id)
        backend.ops.request_code(lucia.token, pending.id)


@pytest.mark.sqlite_only(covered=True)
def test_an_operation_expires(backend, lucia, clock):
    pending = backend.transfers.prepare(lucia.token, own(lucia))
    clock.advance(seconds=backend.settings.operation_ttl_seconds)
    with pytest.raises(ValidationError) as err:
        backend.ops.request_code(lucia.token, pending.id)
    assert err.value.code == "operation_expired"


@pytest.mark.sqlite_only(covered=True)
def test_authorising_without_asking_for_a_code_is_refused(backend, lucia):
    pending = backend.transfers.prepare(lucia.token, own(lucia))
    with pytest.raises(OtpError):
        backend.ops.authorise(lucia.token, pending.id, "123456")


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_every_kind_of_receipt_is_signed_and_verified_the_same_way(backend, lucia, ana):
    form = BeneficiaryForm("terceros", "Ana Prueba", "cedula", "1104680135", number_of(backend, ana.accounts[0]))
    pending = backend.beneficiaries.prepare_save(lucia.token, form)
    backend.ops.request_code(lucia.token, pending.id)
    receipt = backend.ops.authorise(lucia.token, pending.id, last_code(backend))
    assert receipt.kind == "beneficiario" and "Registro de Beneficiario" in receipt.text
    secret = backend.ctx.secret("receipt_secret")
    assert verify(secret, receipt.text)
    assert not verify(secret, receipt.text.replace("Ana Prueba", "Ana Pruebo"))


@pytest.mark.sqlite_only(covered=True)
def test_receipt_files_are_private_and_never_overwrite(backend, lucia, tmp_path):
    pending = backend.transfers.prepare(lucia.token, own(lucia))
    backend.ops.request_code(lucia.token, pending.id)
    receipt = backend.ops.authorise(lucia.token, pending.id, last_code(backend))
    first = backend.ops.save_receipt(lucia.token, "transferencia", receipt.result_id, str(tmp_path))
    second = backend.ops.save_receipt(lucia.token, "transferencia", receipt.result_id, str(tmp_path))
    assert first != second
    for path in (first, second):
        assert (tmp_path / path.rsplit("/", 1)[1]).stat().st_mode & 0o777 == 0o600


class EndsTheSessionWhileChecked:
    """An operation kind whose check, the second time (the code's request), sees the member's session ended by
    another session meanwhile (its «No fui yo»), as a slow check racing the other session would."""

    kind, otp_label = "prueba_sesion", "operación de prueba"

    def __init__(self, db_path):
        self.db_path, self.calls = db_path, 0

    def prepare(self, conn, who, request):
        from backend.core.database import open_database
        from backend.security.operations import Prepared

        self.calls += 1
        if self.calls == 2:
            other = open_database(self.db_path)
            try:
                with other.write() as tx:
                    tx.execute("UPDATE sessions SET ended_at = '2026-11-25 10:00:00', end_reason = 'no_fui_yo'"
                               " WHERE id = ?", (who.session_id,))
            finally:
                other.close()
        return Prepared({"x": 1}, "Confirma la prueba", [("Prueba", "1")], None)


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_no_code_is_sent_for_a_session_ended_before_it_goes(backend, lucia, db_path):
    """An ended session can make the member's phone receive no code: the session is read again right before."""
    from backend.core.errors import SessionExpired

    backend.ops.register(EndsTheSessionWhileChecked(db_path))
    pending = backend.ops.prepare(lucia.token, "prueba_sesion", {})
    sent = backend.last_outbox_id()
    with pytest.raises(SessionExpired) as err:
        backend.ops.request_code(lucia.token, pending.id)
    assert "No fui yo" in err.value.message
    assert backend.last_outbox_id() == sent
    assert backend.db.conn.execute("SELECT challenge_id FROM operations WHERE id = ?", (pending.id,)).fetchone()[0] \
        is None
