"""Pago de Servicios through the authorised flow: register, consult, pay, limits, ownership, history, export."""

import csv
import os

import pytest

from backend.bill_payments.requests import ServicePaymentRequest, ServiceRegistrationRequest
from backend.core import accounts
from backend.core.errors import NotFound, OtpError, ServiceError, ValidationError
from tests.conftest import last_code
from tests.services_helpers import loaded, savings_of
from tests.transfer_helpers import balance_of, demo_member, other_member


@pytest.fixture
def backend(make_backend):
    return loaded(make_backend(session_idle_seconds=10**7))


def authorise(backend, who, pending, code=None):
    backend.ops.request_code(who.token, pending.id)
    return backend.ops.authorise(who.token, pending.id, code or last_code(backend))


def register(backend, who, biller="CNT-FIJO", identifier="02 234 5673", alias="Casa"):
    account = savings_of(backend, who.member_id)[0]
    pending = backend.services.prepare_registration(who.token, ServiceRegistrationRequest(biller, identifier, alias, account))
    return pending, authorise(backend, who, pending)


def pay(backend, who, biller="CNT-FIJO", identifier="022345671", bills=None, amount=0, account=None):
    presentment = backend.services.consulta(who.token, biller, identifier)
    chosen = [b.number for b in presentment.bills] if bills is None else bills
    account = account or savings_of(backend, who.member_id)[0]
    pending = backend.services.prepare_payment(who.token, ServicePaymentRequest(presentment.id, chosen, account, amount))
    return presentment, authorise(backend, who, pending)


def test_registering_a_service_takes_a_code_and_the_same_service_twice_is_refused(backend):
    who = demo_member(backend)
    pending, receipt = register(backend, who)
    assert dict(pending.lines)["Número de teléfono"] == "022345673"
    assert any("registrar tu servicio" in m.body for m in backend.outbox(last=3))
    assert receipt.title == "Registro de Servicio" and receipt.get("Alias") == "Casa"
    service = next(s for s in backend.services.services(who.token) if s.id == receipt.result_id)
    assert (service.biller_code, service.identifier, service.alias) == ("CNT-FIJO", "022345673", "Casa")
    with pytest.raises(ValidationError) as err:
        backend.services.prepare_registration(who.token, ServiceRegistrationRequest("CNT-FIJO", "(02) 234-5673", "",
                                                                                who.accounts[0]))
    assert err.value.code == "duplicate"


@pytest.mark.sqlite_only(covered=True)
def test_alias_edit_and_delete_only_for_the_owner(backend):
    who, ana = demo_member(backend), other_member(backend)
    _, receipt = register(backend, who)
    service = next(s for s in backend.services.services(who.token) if s.id == receipt.result_id)
    with pytest.raises(NotFound):
        backend.services.rename(ana.token, service.id, "mío")
    with pytest.raises(NotFound):
        backend.services.delete(ana.token, service.id)
    with pytest.raises(ValidationError):
        backend.services.rename(who.token, service.id, "Casa\x1b[31m")
    assert backend.services.rename(who.token, service.id, "  Teléfono   casa ").alias == "Teléfono casa"
    backend.services.delete(who.token, service.id)
    assert service.id not in {s.id for s in backend.services.services(who.token)}


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_paying_a_bill_books_member_to_collection_account_and_the_receipt_says_paid(backend):
    who = demo_member(backend)
    account = savings_of(backend, who.member_id)[0]
    before = balance_of(backend, account)
    presentment, receipt = pay(backend, who)
    (bill,) = presentment.bills
    assert receipt.get("Estado") == "Pagado" and receipt.get("Monto") == f"${bill.amount / 100:,.2f}"
    assert balance_of(backend, account) == before - bill.amount
    collection = backend.db.conn.execute("SELECT account_id FROM billers WHERE code = 'CNT-FIJO'").fetchone()[0]
    assert accounts.balance(backend.db.conn, collection) == bill.amount  # its parts summed (accounts.SHARDS)
    assert backend.services.consulta(who.token, "CNT-FIJO", "022345671").bills == ()  # no longer owed
    assert backend.services.quota(who.token).used_today == bill.amount
    assert backend.check() == []


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_commission_is_charged_and_shown_before_the_code(backend):
    who = demo_member(backend)
    presentment = backend.services.consulta(who.token, "SRI-MAT", "PBA-1231")
    pending = backend.services.prepare_payment(who.token, ServicePaymentRequest(presentment.id, [presentment.bills[0].number],
                                                                                who.accounts[0]))
    lines = dict(pending.lines)
    assert lines["Comisión"] == "$0.50" and lines["Placa o RAMV"] == "PBA1231"
    total = presentment.bills[0].amount + 50
    assert lines["Total a debitar"] == f"${total / 100:,.2f}"


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_a_topup_takes_the_members_amount_up_to_the_entitys_maximum(backend):
    who = demo_member(backend)
    with pytest.raises(ValidationError, match="máximo por pago"):
        pay(backend, who, "CLARO-REC", "0991234561", bills=[], amount=150_00)
    _, receipt = pay(backend, who, "CLARO-REC", "0991234561", bills=[], amount=10_00)
    assert receipt.get("Monto") == "$10.00" and receipt.get("Factura") == "Recarga"


@pytest.mark.sqlite_only(covered=True)
def test_daily_limit_and_funds_are_checked_before_the_code(make_backend):
    backend = loaded(make_backend(session_idle_seconds=10**7, limit_servicios_daily=50_00))
    who = demo_member(backend)
    pay(backend, who, "CLARO-REC", "0991234561", bills=[], amount=40_00)
    assert backend.services.quota(who.token).left_today == 10_00
    with pytest.raises(ValidationError, match="cupo disponible hoy"):
        pay(backend, who, "CLARO-REC", "0991234561", bills=[], amount=20_00)


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_the_code_is_bound_to_the_exact_payment(backend):
    who = demo_member(backend)
    presentment = backend.services.consulta(who.token, "CNT-FIJO", "022345672")  # two bills
    first, second = presentment.bills
    pending = backend.services.prepare_payment(who.token, ServicePaymentRequest(presentment.id, [first.number], who.accounts[0]))
    backend.ops.request_code(who.token, pending.id)
    code = last_code(backend)
    other = backend.services.prepare_payment(who.token, ServicePaymentRequest(presentment.id, [second.number], who.accounts[0]))
    with pytest.raises(OtpError):
        backend.ops.authorise(who.token, other.id, code)  # a code for one payment is worthless for another
    receipt = backend.ops.authorise(who.token, pending.id, code)
    assert backend.ops.authorise(who.token, pending.id, code).result_id == receipt.result_id  # replay: same


@pytest.mark.sqlite_only(covered=True)
def test_someone_elses_consulta_or_payment_is_not_yours(backend):
    who, ana = demo_member(backend), other_member(backend)
    presentment = backend.services.consulta(who.token, "CNT-FIJO", "022345671")
    with pytest.raises(NotFound):
        backend.services.prepare_payment(ana.token, ServicePaymentRequest(presentment.id, [presentment.bills[0].number],
                                                                          ana.accounts[0]))
    with pytest.raises(ValidationError):
        backend.services.prepare_payment(who.token, ServicePaymentRequest(presentment.id, [presentment.bills[0].number],
                                                                          ana.accounts[0]))
    _, receipt = pay(backend, who)
    with pytest.raises(NotFound):
        backend.services.receipt(ana.token, receipt.result_id)


@pytest.mark.sqlite_only(covered=True)
def test_consulta_refuses_unknown_identifiers_and_says_when_the_entity_is_down(backend):
    who = demo_member(backend)
    with pytest.raises(ValidationError, match="no tiene registrado"):
        backend.services.consulta(who.token, "CNT-FIJO", "022345679")
    with pytest.raises(ServiceError, match="no responde"):
        backend.services.consulta(who.token, "CNT-FIJO", "022345678")
    with pytest.raises(ValidationError, match="0, el código de provincia"):
        backend.services.consulta(who.token, "CNT-FIJO", "12345")


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_an_unanswered_payment_is_pending_then_paid_by_the_background_pass(backend, clock):
    who = demo_member(backend)
    _, receipt = pay(backend, who, identifier="022345677")
    assert receipt.get("Estado") == "Pendiente de confirmación de la entidad"
    clock.advance(seconds=backend.settings.services_retry_seconds)
    backend.scheduled_runner().run_pass()
    assert backend.services.receipt(who.token, receipt.result_id).get("Estado") == "Pagado"
    assert backend.check() == []


def test_history_filters_and_a_private_csv_export(backend, tmp_path):
    who = demo_member(backend)
    pay(backend, who)
    pay(backend, who, "CLARO-REC", "0991234561", bills=[], amount=5_00)
    assert len(backend.services.history(who.token)) == 2
    assert [p.biller_name for p in backend.services.history(who.token, biller="CLARO-REC")] == ["Claro (recarga)"]
    assert backend.services.history(who.token, origin="automatico") == []
    path = backend.services.export_history(who.token, tmp_path)
    assert os.stat(path).st_mode & 0o777 == 0o600
    rows = list(csv.reader(open(path, encoding="utf-8")))
    assert rows[0][:5] == ["Fecha", "Hora", "Entidad", "Identificador", "Monto"] and len(rows) == 3
    assert {r[7] for r in rows[1:]} == {"Pagado"}


@pytest.mark.sqlite_only(covered=True)
def test_services_and_transfers_share_one_daily_cupo_rule(make_backend):
    """The daily cupo is one piece of code (backend/core/daily_quota.py): the same Quota, the same refusal
    words and code, the usage added by a booking and given back by a refund, for both sections."""
    from backend.core import daily_quota
    from backend.transfers.transfers import TransferRequest
    from tests.transfer_helpers import number_of

    backend = loaded(make_backend(session_idle_seconds=10**7, limit_servicios_daily=50_00, limit_terceros_daily=30_00))
    who = demo_member(backend)
    ana = other_member(backend)
    pay(backend, who, "CLARO-REC", "0991234561", bills=[], amount=40_00)
    services, transfers = backend.services.quota(who.token), backend.transfers.quota(who.token, "terceros")
    assert type(services) is type(transfers) is daily_quota.Quota
    assert (services.left_today, services.per_transaction) == (10_00, None)
    with pytest.raises(ValidationError) as bill_refused:
        pay(backend, who, "CLARO-REC", "0991234561", bills=[], amount=20_00)
    with pytest.raises(ValidationError) as transfer_refused:
        backend.transfers.prepare(who.token, TransferRequest("terceros", who.accounts[0], 31_00, "x",
                                                             account_number=number_of(backend, ana.accounts[0])))
    for err, noun, left in ((bill_refused, "El pago", "$10.00"), (transfer_refused, "El monto", "$30.00")):
        assert (err.value.code, err.value.field) == ("limit_daily", "amount")
        assert err.value.message == f"{noun} supera tu cupo disponible hoy ({left})."
    assert backend.check() == []


@pytest.mark.sqlite_only(covered=True)
def test_a_request_is_its_kinds_dataclass_and_nothing_else(backend):
    """What reaches a handler is read back into the kind's request: a field it lacks or an extra one is refused."""
    who = demo_member(backend)
    good = {"biller": "CNT-FIJO", "identifier": "022345673", "alias": "", "account_id": who.accounts[0]}
    before = backend.db.conn.execute("SELECT COUNT(*) FROM operations").fetchone()[0]
    for request in ({**good, "user_id": 1}, {k: v for k, v in good.items() if k != "account_id"}, {"x": 1}):
        with pytest.raises(ValidationError, match="La solicitud no es válida"):
            backend.ops.prepare(who.token, "registro_servicio", request)
    assert backend.db.conn.execute("SELECT COUNT(*) FROM operations").fetchone()[0] == before
    assert backend.ops.prepare(who.token, "registro_servicio", good).lines  # the same fields, as the dataclass has them


@pytest.mark.parametrize("meanwhile,refusal", [
    ("UPDATE accounts SET held = balance - 1049 WHERE id = :account", "Saldo insuficiente"),  # a hold placed
    ("INSERT INTO bill_usage (user_id, day, amount) VALUES (:user, '2026-11-25', 1495001) ON CONFLICT (user_id, day)"
     " DO UPDATE SET amount = 1495001", "cupo disponible hoy"),  # another session's payments of today
    ("UPDATE accounts SET status = 'bloqueada' WHERE id = :account", "no es una de tus cuentas de ahorros activas"),
    ("UPDATE members SET status = 'inactivo' WHERE id = :member", "no está activo"),
    ("UPDATE billers SET active = 0 WHERE code = 'SRI-MAT'", "ya no recibe pagos"),
    ("UPDATE billers SET commission = 75 WHERE code = 'SRI-MAT'", "cambiaron"),  # what the code is bound to
    ("INSERT INTO bill_payment_items (payment_id, biller_code, identifier, bill_number) SELECT id, 'SRI-MAT',"
     " :identifier, :bill FROM bill_payments LIMIT 1", "ya fue pagada"),  # paid from another session
])
def test_what_changes_after_the_last_check_before_the_lock_is_refused_under_it(backend, meanwhile, refusal):
    """authorise prepares the payment before the write lock and, under it, re-checks only what can change (the
    entity and its commission, the member, the cupo, the account's state and funds, the bills): a change committed in
    between (another process) is refused there, nothing moves, and the code is not spent."""
    who = demo_member(backend)
    pay(backend, who, "CLARO-REC", "0991234561", bills=[], amount=1_00)  # a payment row for the bill's item
    presentment = backend.services.consulta(who.token, "SRI-MAT", "PBA-1231")
    bill = presentment.bills[0]
    account = who.accounts[0]
    conn = backend.db.conn
    conn.execute("UPDATE accounts SET held = balance - ? WHERE id = ?", (bill.amount + 50 + 1_00, account))
    pending = backend.services.prepare_payment(who.token, ServicePaymentRequest(presentment.id, [bill.number], account))
    backend.ops.request_code(who.token, pending.id)
    code = last_code(backend)
    user = conn.execute("SELECT user_id FROM operations WHERE id = ?", (pending.id,)).fetchone()[0]
    real = backend.ops.otp.verify_then

    def after_the_last_check(*args, **kwargs):  # as if another process committed while this one reached the lock
        backend.ops.otp.verify_then = real
        with backend.db.write() as tx:
            tx.execute(meanwhile.replace(":account", str(account)).replace(":member", str(who.member_id))
                       .replace(":user", str(user)).replace("1049", str(bill.amount + 49))
                       .replace(":identifier", f"'{presentment.identifier}'").replace(":bill", f"'{bill.number}'"), ())
        return real(*args, **kwargs)

    backend.ops.otp.verify_then = after_the_last_check
    before = balance_of(backend, account), len(backend.services.history(who.token))
    with pytest.raises(ServiceError) as err:
        backend.ops.authorise(who.token, pending.id, code)
    assert refusal in err.value.message
    assert (balance_of(backend, account), len(backend.services.history(who.token))) == before
    assert conn.execute("SELECT state FROM operations WHERE id = ?", (pending.id,)).fetchone()[0] == "pendiente"
    assert conn.execute("SELECT verified_at FROM otp_challenges WHERE id = (SELECT challenge_id FROM operations"
                        " WHERE id = ?)", (pending.id,)).fetchone()[0] is None


@pytest.mark.parametrize("before,refusal", [
    ("UPDATE accounts SET status = 'bloqueada' WHERE id = :account", "no es una de tus cuentas de ahorros activas"),
    ("UPDATE members SET status = 'inactivo' WHERE id = :member", "no está activo"),
    ("UPDATE billers SET active = 0 WHERE code = 'SRI-MAT'", "Selecciona una entidad"),
    ("UPDATE accounts SET held = balance - 1049 WHERE id = :account", "Saldo insuficiente"),
    ("UPDATE bill_presentments SET fetched_at = '2026-11-25 09:00:00'", "expiró"),
])
def test_a_payments_reads_are_one_statement_and_refuse_what_they_find(backend, before, refusal):
    """The consulta, its entity, the member, the day's usage, the debit account and the co-op's accounts the payment
    credits are read in one statement (issue #23): each refusal is still made at prepare, before any code."""
    who = demo_member(backend)
    presentment = backend.services.consulta(who.token, "SRI-MAT", "PBA-1231")
    bill, account = presentment.bills[0], who.accounts[0]
    with backend.db.write() as conn:
        conn.execute(before.replace(":account", str(account)).replace(":member", str(who.member_id))
                     .replace("1049", str(bill.amount + 49)), ())
    with pytest.raises(ServiceError) as err:
        backend.services.prepare_payment(who.token, ServicePaymentRequest(presentment.id, [bill.number], account))
    assert refusal in err.value.message


def test_a_payments_reference_is_made_by_its_insert_from_its_own_id(backend, engine):
    """«PS», the day and the payment's id in 8 digits (more past 99,999,999), written by the INSERT itself: no
    UPDATE follows it (issue #23). Ids keep coming from where the engine draws them."""
    who = demo_member(backend)
    _, first = pay(backend, who, "CLARO-REC", "0991234561", bills=[], amount=1_00)
    _, second = pay(backend, who, "CLARO-REC", "0991234561", bills=[], amount=1_00)
    assert second.result_id == first.result_id + 1
    assert (first.reference, second.reference) == (f"PS261125{first.result_id:08d}", f"PS261125{second.result_id:08d}")
    conn = backend.db.conn
    if engine == "postgresql":
        conn.execute("SELECT setval(pg_get_serial_sequence('bill_payments', 'id'), 123456788)")
    else:
        with backend.db.write() as tx:
            tx.execute("UPDATE bill_payments SET id = 123456788 WHERE id = ?", (second.result_id,))
    _, big = pay(backend, who, "CLARO-REC", "0991234561", bills=[], amount=1_00)
    assert (big.result_id, big.reference) == (123456789, "PS261125123456789")
    assert conn.execute("SELECT reference FROM bill_payments WHERE id = ?", (big.result_id,)).fetchone()[0] == big.reference
    assert backend.check() == []
