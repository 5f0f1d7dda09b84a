import pytest

from backend.core.errors import InsufficientFunds, NotFound, OtpError, ValidationError
from backend.transfers.transfers import TransferRequest
from tests.conftest import last_code
from tests.transfer_helpers import balance_of, number_of, save_beneficiary, transfer


@pytest.fixture
def backend(make_backend):
    # Sessions here outlive the clock jumps some tests make across days.
    return make_backend(session_idle_seconds=10**7)


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_between_own_accounts(backend, lucia):
    a, b = lucia.accounts[:2]
    before = balance_of(backend, a), balance_of(backend, b)
    receipt = transfer(backend, lucia, TransferRequest("propia", a, 25_00, "Ahorro mensual", dest_account_id=b))
    assert (balance_of(backend, a), balance_of(backend, b)) == (before[0] - 25_00, before[1] + 25_00)
    assert receipt.get("Estado") == "Acreditada" and receipt.get("Monto") == "$25.00" and receipt.get("Comisión") == "$0.00"
    assert backend.check() == []


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_to_another_member_shows_payee_and_payer(backend, lucia, ana):
    request = TransferRequest("terceros", lucia.accounts[0], 40_00, "Pago arriendo",
                              account_number=number_of(backend, ana.accounts[0]))
    draft = backend.transfers.prepare(lucia.token, request)
    assert draft.view.dest_payee_check == "Ana P**** · C.I. ******0135"
    backend.ops.request_code(lucia.token, draft.id)
    receipt = backend.ops.authorise(lucia.token, draft.id, last_code(backend))
    assert balance_of(backend, ana.accounts[0]) == 340_00
    movement = backend.products.movements(ana.token, ana.accounts[0]).movements[0]
    assert movement.description == "Transferencia de Lucía Estefanía Guamán Torres · Pago arriendo"
    assert movement.amount == 40_00
    assert "Ana P****" in receipt.text and "******" + number_of(backend, ana.accounts[0])[-4:] in receipt.text


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_interbank_charges_fee_and_waits_for_clearing(backend, lucia):
    origin = lucia.accounts[0]
    before = balance_of(backend, origin)
    request = TransferRequest("interbancaria", origin, 100_00, "Pago proveedor", account_number="2200123456",
                              institution_code="0010", account_type="corriente", holder_name="Comercial Andes",
                              holder_id_type="ruc", holder_id_number="1710034065001")
    receipt = transfer(backend, lucia, request)
    assert receipt.get("Estado") == "Enviada" and backend.settings.interbank_fee == 30
    assert balance_of(backend, origin) == before - 100_00 - 30
    assert "Banco Pichincha C.A." in receipt.text and "Comisión:          $0.30" in receipt.text
    assert backend.check() == []


@pytest.mark.parametrize("amount,code", [(10_000_00, "limit_tx"), (1_999_00, None)])
@pytest.mark.sqlite_only(covered=True)
def test_limits(backend, lucia, ana, amount, code):
    request = TransferRequest("terceros", lucia.accounts[0], amount, "x", account_number=number_of(backend, ana.accounts[0]))
    if code:
        with pytest.raises(ValidationError) as err:
            backend.transfers.prepare(lucia.token, request)
        assert err.value.code == code and err.value.field == "amount"
    else:
        assert backend.transfers.prepare(lucia.token, request).view.quota_left == 5_000_00


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_daily_limit_counts_what_was_sent_today(backend, lucia, ana, clock):
    dest = number_of(backend, ana.accounts[0])
    for _ in range(2):
        transfer(backend, lucia, TransferRequest("terceros", lucia.accounts[0], 2_000_00, "x", account_number=dest))
    quota = backend.transfers.quota(lucia.token, "terceros")
    assert quota.left_today == 1_000_00
    with pytest.raises(ValidationError) as err:
        backend.transfers.prepare(lucia.token, TransferRequest("terceros", lucia.accounts[0], 1_000_01, "x",
                                                               account_number=dest))
    assert err.value.code == "limit_daily" and "$1,000.00" in err.value.message
    clock.advance(days=1)
    assert backend.transfers.quota(lucia.token, "terceros").left_today == 5_000_00


@pytest.mark.sqlite_only(covered=True)
def test_insufficient_funds_changes_nothing(backend, lucia, ana):
    before = balance_of(backend, ana.accounts[0])
    with pytest.raises(InsufficientFunds) as err:
        backend.transfers.prepare(ana.token, TransferRequest("terceros", ana.accounts[0], 300_01, "x",
                                                             account_number=number_of(backend, lucia.accounts[0])))
    assert "Saldo insuficiente" in err.value.message and "$300.00" in err.value.message
    assert balance_of(backend, ana.accounts[0]) == before


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_funds_are_checked_again_when_executing(backend, lucia, ana):
    dest = number_of(backend, lucia.accounts[0])
    first = backend.transfers.prepare(ana.token, TransferRequest("terceros", ana.accounts[0], 200_00, "a", account_number=dest))
    second = backend.transfers.prepare(ana.token, TransferRequest("terceros", ana.accounts[0], 200_00, "b", account_number=dest))
    backend.ops.request_code(ana.token, first.id)
    code1 = last_code(backend)
    backend.ops.request_code(ana.token, second.id)
    code2 = last_code(backend)
    backend.ops.authorise(ana.token, first.id, code1)
    with pytest.raises(InsufficientFunds):
        backend.ops.authorise(ana.token, second.id, code2)
    assert balance_of(backend, ana.accounts[0]) == 100_00 and backend.check() == []


@pytest.mark.parametrize("bad,field", [
    (dict(amount=0), "amount"), (dict(motive="  "), "motive"), (dict(motive="x" * 61), "motive"),
    (dict(motive="Cena \u202eodot"), "motive"), (dict(motive="Cena\u200b familiar"), "motive"),
    (dict(account_number="4100000018"), "account"), (dict(account_number="123"), "account"),
])
@pytest.mark.sqlite_only  # input checks before any engine-specific SQL: one engine is enough
def test_bad_input_is_explained_at_its_field(backend, lucia, ana, bad, field):
    fields = dict(kind="terceros", origin_id=lucia.accounts[0], amount=10_00, motive="ok",
                  account_number=number_of(backend, ana.accounts[0]))
    with pytest.raises(ValidationError) as err:
        backend.transfers.prepare(lucia.token, TransferRequest(**{**fields, **bad}))
    assert err.value.field == field


@pytest.mark.sqlite_only(covered=True)
def test_same_origin_and_destination_is_refused(backend, lucia):
    a = lucia.accounts[0]
    with pytest.raises(ValidationError) as err:
        backend.transfers.prepare(lucia.token, TransferRequest("propia", a, 1_00, "x", dest_account_id=a))
    assert "misma" in err.value.message
    with pytest.raises(ValidationError):
        backend.transfers.prepare(lucia.token, TransferRequest("terceros", a, 1_00, "x", account_number=number_of(backend, a)))


@pytest.mark.sqlite_only(covered=True)
def test_a_code_authorises_only_the_operation_it_was_sent_for(backend, lucia, ana):
    request = TransferRequest("terceros", lucia.accounts[0], 10_00, "x", account_number=number_of(backend, ana.accounts[0]))
    draft = backend.transfers.prepare(lucia.token, request)
    backend.ops.request_code(lucia.token, draft.id)
    code = last_code(backend)
    changed = backend.transfers.prepare(lucia.token, request.__class__(**{**request.__dict__, "amount": 11_00}))
    backend.ops.request_code(lucia.token, changed.id)
    if last_code(backend) != code:
        with pytest.raises(OtpError):  # the $10.00 code does not authorise $11.00
            backend.ops.authorise(lucia.token, changed.id, code)
    assert balance_of(backend, ana.accounts[0]) == 300_00
    receipt = backend.ops.authorise(lucia.token, draft.id, code)
    assert receipt.get("Monto") == "$10.00" and balance_of(backend, ana.accounts[0]) == 310_00


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_wrong_code_moves_nothing(backend, lucia, ana):
    request = TransferRequest("terceros", lucia.accounts[0], 10_00, "x", account_number=number_of(backend, ana.accounts[0]))
    draft = backend.transfers.prepare(lucia.token, request)
    backend.ops.request_code(lucia.token, draft.id)
    wrong = "000000" if last_code(backend) != "000000" else "111111"
    with pytest.raises(OtpError) as err:
        backend.ops.authorise(lucia.token, draft.id, wrong)
    assert err.value.tries_left == 2
    assert balance_of(backend, ana.accounts[0]) == 300_00


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_confirming_twice_creates_one_transfer(backend, lucia, ana):
    request = TransferRequest("terceros", lucia.accounts[0], 10_00, "x", account_number=number_of(backend, ana.accounts[0]))
    draft = backend.transfers.prepare(lucia.token, request)
    backend.ops.request_code(lucia.token, draft.id)
    code = last_code(backend)
    first = backend.ops.authorise(lucia.token, draft.id, code)
    again = backend.ops.authorise(lucia.token, draft.id, code)
    assert first.reference == again.reference
    assert balance_of(backend, ana.accounts[0]) == 310_00
    assert len(backend.transfers.history(lucia.token)) == 1


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_the_commit_path_books_a_key_once_and_only_from_the_members_own_origin(backend, lucia, ana, clock):
    """`_book` (what bench/transfer_worker.py times) reads the origin, the day's usage and the key's earlier booking
    in one statement: a replayed key returns the first transfer, whatever the origin says; a key never booked from
    another member's account is refused; the cupo counted is that of the day the booking is stamped with."""
    who = backend.auth.principal(lucia.token)
    to_ana = number_of(backend, ana.accounts[0])
    request = TransferRequest("terceros", lucia.accounts[0], 10_00, "x", account_number=to_ana)
    with backend.db.write() as conn:
        first = backend.transfers._book(conn, who, request, "key-1")
    with backend.db.write() as conn:
        assert backend.transfers._book(conn, who, request, "key-1") == first
    foreign = TransferRequest("terceros", ana.accounts[0], 10_00, "x", account_number=to_ana)
    with backend.db.write() as conn:  # replaying the key with an origin not hers still answers the first booking
        assert backend.transfers._book(conn, who, foreign, "key-1") == first
    with pytest.raises(NotFound), backend.db.write() as conn:
        backend.transfers._book(conn, who, foreign, "key-2")
    assert balance_of(backend, ana.accounts[0]) == 310_00
    assert len(backend.transfers.history(lucia.token)) == 1
    assert backend.transfers.quota(lucia.token, "terceros").used_today == 10_00
    clock.advance(days=1)
    assert backend.transfers.quota(lucia.token, "terceros").used_today == 0
    assert backend.check() == []


def test_history_filters_by_kind_and_date(backend, lucia, ana, clock):
    a, b = lucia.accounts[:2]
    transfer(backend, lucia, TransferRequest("propia", a, 1_00, "uno", dest_account_id=b))
    clock.advance(days=2)
    transfer(backend, lucia, TransferRequest("terceros", a, 2_00, "dos", account_number=number_of(backend, ana.accounts[0])))
    assert [t.kind for t in backend.transfers.history(lucia.token)] == ["terceros", "propia"]
    assert [t.kind for t in backend.transfers.history(lucia.token, kind="propia")] == ["propia"]
    today = clock.now().date()
    assert [t.kind for t in backend.transfers.history(lucia.token, date_from=today)] == ["terceros"]
    assert backend.transfers.history(ana.token) == []


def test_every_transfer_is_audited(backend, lucia):
    a, b = lucia.accounts[:2]
    receipt = transfer(backend, lucia, TransferRequest("propia", a, 1_00, "uno", dest_account_id=b))
    rows = backend.db.conn.execute("SELECT actor, outcome, details FROM audit_log WHERE action = 'transferencia.propia'").fetchall()
    assert len(rows) == 1 and rows[0]["actor"] == "demo" and receipt.reference in rows[0]["details"]


class TestAccessMatrix:
    """Another user's accounts, beneficiaries and transfers are out of reach, even by id."""

    @pytest.mark.sqlite_only(covered=True)
    def test_cannot_transfer_from_another_members_account(self, backend, lucia, ana):
        with pytest.raises(NotFound):
            backend.transfers.prepare(lucia.token, TransferRequest("terceros", ana.accounts[0], 1_00, "x",
                                                                   account_number=number_of(backend, lucia.accounts[0])))
        with pytest.raises(ValidationError):
            backend.transfers.prepare(lucia.token, TransferRequest("propia", lucia.accounts[0], 1_00, "x",
                                                                   dest_account_id=ana.accounts[0]))

    @pytest.mark.sqlite_only(covered=True)
    def test_cannot_see_another_members_transfers_or_receipts(self, backend, lucia, ana, tmp_path):
        a, b = lucia.accounts[:2]
        receipt = transfer(backend, lucia, TransferRequest("propia", a, 1_00, "uno", dest_account_id=b))
        with pytest.raises(NotFound):
            backend.transfers.receipt(ana.token, receipt.result_id)
        with pytest.raises(NotFound):
            backend.ops.save_receipt(ana.token, "transferencia", receipt.result_id, str(tmp_path))
        with pytest.raises(NotFound):
            backend.products.movements(ana.token, a)

    @pytest.mark.sqlite_only(covered=True)
    def test_cannot_replay_another_users_confirmation(self, backend, lucia, ana):
        a, b = lucia.accounts[:2]
        draft = backend.transfers.prepare(lucia.token, TransferRequest("propia", a, 1_00, "uno", dest_account_id=b))
        backend.ops.request_code(lucia.token, draft.id)
        code = last_code(backend)
        backend.ops.authorise(lucia.token, draft.id, code)
        with pytest.raises(NotFound):
            backend.ops.authorise(ana.token, draft.id, code)


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_destination_changed_while_confirming_moves_nothing(backend, lucia):
    from backend.transfers.beneficiaries import BeneficiaryForm

    form = BeneficiaryForm("interbancaria", "Pedro Andrade", "cedula", "0926687856", "2200123456", "0010", "ahorros")
    saved = save_beneficiary(backend, lucia.token, form)
    draft = backend.transfers.prepare(lucia.token, TransferRequest("interbancaria", lucia.accounts[0], 5_00, "x",
                                                                   beneficiary_id=saved.id))
    backend.ops.request_code(lucia.token, draft.id)
    code = last_code(backend)
    moved = BeneficiaryForm("interbancaria", "Pedro Andrade", "cedula", "0926687856", "2200999999", "0010", "ahorros")
    save_beneficiary(backend, lucia.token, moved, saved.id)
    before = balance_of(backend, lucia.accounts[0])
    with pytest.raises(OtpError) as err:
        backend.ops.authorise(lucia.token, draft.id, code)
    assert err.value.code == "otp_details_changed"
    assert balance_of(backend, lucia.accounts[0]) == before and backend.transfers.history(lucia.token) == []


def test_check_catches_a_tampered_daily_usage(backend, lucia):
    a, b = lucia.accounts[:2]
    transfer(backend, lucia, TransferRequest("propia", a, 1_00, "uno", dest_account_id=b))
    assert backend.check() == []
    backend.db.conn.execute("UPDATE transfer_usage SET amount = 0")
    assert any("cupo diario" in p for p in backend.check())


@pytest.mark.parametrize("meanwhile,refusal", [
    ("UPDATE accounts SET held = balance - 3999 WHERE id = :origin", "Saldo insuficiente"),  # a hold placed
    ("INSERT INTO transfer_usage (user_id, kind, day, amount) VALUES (:user, 'terceros', '2026-11-25', 496001)"
     " ON CONFLICT (user_id, kind, day) DO UPDATE SET amount = 496001",  # another session's transfers of today
     "supera tu cupo disponible hoy ($39.99)"),
    ("UPDATE accounts SET status = 'cerrada' WHERE id = :dest", "La cuenta de destino no está activa"),
    ("UPDATE members SET status = 'inactivo' WHERE id = :dest_member", "La cuenta de destino no está activa"),
    ("UPDATE accounts SET status = 'bloqueada' WHERE id = :origin", "debe ser una cuenta de ahorros activa"),
    ("UPDATE accounts SET status = 'cerrada' WHERE id = :origin", "debe ser una cuenta de ahorros activa"),
])
def test_what_changes_after_the_last_check_before_the_lock_is_refused_under_it(backend, lucia, ana, meanwhile,
                                                                               refusal):
    """authorise drafts the transfer before the write lock and, under it, re-checks only what can change (funds,
    cupo, both accounts' state): a change committed in between (another process) is refused there, nothing moves,
    and the code is not spent (the member can fix the cause and confirm again)."""
    origin, dest = lucia.accounts[0], ana.accounts[0]
    pending = backend.transfers.prepare(lucia.token, TransferRequest("terceros", origin, 40_00, "justo antes",
                                                                     account_number=number_of(backend, dest)))
    backend.ops.request_code(lucia.token, pending.id)
    code = last_code(backend)
    conn = backend.db.conn
    user = conn.execute("SELECT user_id FROM operations WHERE id = ?", (pending.id,)).fetchone()[0]
    real = backend.ops.otp.verify_then

    def after_the_last_check(*args, **kwargs):  # as if another process committed while this one reached the lock
        backend.ops.otp.verify_then = real
        with backend.db.write() as tx:
            tx.execute(meanwhile.replace(":origin", str(origin)).replace(":dest_member", str(ana.member_id))
                       .replace(":dest", str(dest)).replace(":user", str(user)), ())
        return real(*args, **kwargs)

    backend.ops.otp.verify_then = after_the_last_check
    before = balance_of(backend, origin), balance_of(backend, dest)
    with pytest.raises((InsufficientFunds, ValidationError)) as err:
        backend.ops.authorise(lucia.token, pending.id, code)
    assert refusal in err.value.message
    assert (balance_of(backend, origin), balance_of(backend, dest)) == before
    assert conn.execute("SELECT state FROM operations WHERE id = ?", (pending.id,)).fetchone()[0] == "pendiente"
    assert conn.execute("SELECT verified_at FROM otp_challenges WHERE id = (SELECT challenge_id FROM operations"
                        " WHERE id = ?)", (pending.id,)).fetchone()[0] is None
    assert backend.transfers.history(lucia.token) == []


@pytest.mark.parametrize("status", ["bloqueada", "cerrada"])
def test_an_own_account_closed_or_blocked_is_refused_as_origin_and_as_own_destination(backend, lucia, ana, status):
    """A form that still shows an account a teller closed or blocked meanwhile gets a refusal at the field, whatever
    the kind of transfer: the backend does not rely on the form's list (nor on its confirmation being read)."""
    gone, kept = lucia.accounts[:2]
    with backend.db.write() as tx:
        tx.execute("UPDATE accounts SET status = ? WHERE id = ?", (status, gone))
    to_ana = number_of(backend, ana.accounts[0])
    for request, field in [(TransferRequest("propia", gone, 1_00, "x", dest_account_id=kept), "origin"),
                           (TransferRequest("terceros", gone, 1_00, "x", account_number=to_ana), "origin"),
                           (TransferRequest("propia", kept, 1_00, "x", dest_account_id=gone), "destination")]:
        with pytest.raises(ValidationError) as err:
            backend.transfers.prepare(lucia.token, request)
        assert err.value.field == field
    assert gone not in {o.account_id for o in backend.transfers.origins(lucia.token)}
    assert backend.transfers.history(lucia.token) == [] and balance_of(backend, ana.accounts[0]) == 300_00


@pytest.mark.parametrize("code", ["0001", "9999", "00 1", None])
@pytest.mark.sqlite_only(covered=True)
def test_an_interbank_destination_is_read_with_the_origin_and_refused_unless_it_takes_transfers(backend, lucia, ana,
                                                                                                code):
    """The institution is read in the origin's statement (issue #23): the central bank, an unknown or malformed code
    is refused at its field; an origin that is not the member's is refused first, whatever the institution."""
    request = dict(kind="interbancaria", amount=10_00, motive="x", account_number="2200123456", institution_code=code,
                   account_type="corriente", holder_name="Comercial Andes", holder_id_type="ruc",
                   holder_id_number="1710034065001")
    with pytest.raises(ValidationError) as err:
        backend.transfers.prepare(lucia.token, TransferRequest(origin_id=lucia.accounts[0], **request))
    assert err.value.field == "institution"
    with pytest.raises(NotFound):
        backend.transfers.prepare(lucia.token, TransferRequest(origin_id=ana.accounts[0], **request))
    good = TransferRequest(origin_id=lucia.accounts[0], **{**request, "institution_code": "0010"})
    assert backend.transfers.prepare(lucia.token, good).view.dest_institution == "Banco Pichincha C.A."
