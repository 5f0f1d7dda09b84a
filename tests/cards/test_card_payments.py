"""4. Pago de Tarjetas: own cards, another member's card, another institution's card through the clearing."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

import pytest

from backend.cards import card_ledger
from backend.core import pan
from backend.cards.requests import CardPaymentRequest, CardRegistrationRequest
from backend.core.money import format_money
from backend.core.errors import InsufficientFunds, NotFound, ServiceError, ValidationError
from tests.card_helpers import buy, demo_card, new_card
from tests.conftest import last_code
from tests.transfer_helpers import balance_of

VISA = "4111111111111111"
ANA_PAN = "3261000000006989"  # not the demo card: a different number with the same last four


def authorise(backend, who, pending):
    backend.ops.request_code(who.token, pending.id)
    return backend.ops.authorise(who.token, pending.id, last_code(backend))


def luhn_complete(body: str) -> str:
    return next(body + d for d in "0123456789" if pan.luhn_ok(body + d))


def other_bank(number: str, **over) -> CardRegistrationRequest:
    """Another institution's card as the registration form sends it."""
    return CardRegistrationRequest(**{"kind": "otro_banco", "number": number, "institution_code": "0010",
                                      "holder_name": "Lucía Guamán", "id_type": "cedula", "id_number": "1709543210", **over})


def register(backend, who, **request):
    return authorise(backend, who, backend.cards.prepare_registration(who.token, CardRegistrationRequest(**request)))


@pytest.mark.sqlite_only(covered=True)
def test_own_card_offers_minimum_total_and_other_with_the_due_date(backend, lucia):
    card = demo_card(backend)
    cards = backend.cards.payable(lucia.token, "cooprogreso")
    assert cards[0].key == f"propia:{card}" and cards[0].masked_pan == "3261 XXXX XXXX 6989"
    options = backend.cards.payment_options(lucia.token, cards[0].key)
    st = backend.cards.card(lucia.token, card).statement
    assert options.options == ("minimo", "total", "otro")
    assert options.due_date == st.due_date
    assert 0 <= options.minimum <= options.total <= options.owed


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
@pytest.mark.parametrize("option", ["minimo", "total", "otro"])
def test_paying_the_own_card_credits_it_in_the_same_entry(backend, lucia, option):
    card = demo_card(backend)
    options = backend.cards.payment_options(lucia.token, f"propia:{card}")
    amount = {"minimo": options.minimum, "total": options.total, "otro": 12_34}[option]
    if not amount:
        pytest.skip("nothing due on this statement")
    origin = lucia.accounts[0]
    before_card, before_savings = balance_of(backend, card), balance_of(backend, origin)
    receipt = authorise(backend, lucia, backend.cards.prepare_payment(
        lucia.token, CardPaymentRequest(card=f"propia:{card}", origin_id=origin, option=option, amount=12_34)))
    assert balance_of(backend, card) == before_card + amount
    assert balance_of(backend, origin) == before_savings - amount
    assert receipt.get("Estado") == "Acreditada" and receipt.get("Tarjeta") == "3261 XXXX XXXX 6989"
    assert backend.check() == []


def test_the_statement_list_says_what_is_left_to_pay_of_each_cut(backend, lucia, clock):
    """«Por pagar» in the statement list was always the pago total (the list never counted the payments): a statement
    paid in full said it was all still to pay. Each cut counts what was paid of it before the next cut."""
    card, origin = demo_card(backend), lucia.accounts[0]
    key = f"propia:{card}"
    listed = backend.cards.statements(lucia.token, card)
    newest, older = listed[:2]
    assert newest.total_left == newest.total_due - newest.paid_since  # the demo's own payments counted
    assert newest == backend.cards.card(lucia.token, card).statement  # the list and the card's figures: one reading
    # what was paid of a cut before the next one is what the next statement booked as its payments and deferrals,
    # figures the cycle's close wrote down on its own
    for newer, earlier in zip(listed, listed[1:]):
        assert earlier.paid_since == newer.payments + newer.deferred, (earlier.cut_date, earlier.paid_since)
        assert earlier.total_left == max(0, earlier.total_due - newer.payments - newer.deferred)
    assert any(earlier.total_left == 0 for earlier in listed[1:])  # a cut paid in full said «Por pagar» all of it
    authorise(backend, lucia, backend.cards.prepare_payment(lucia.token, CardPaymentRequest(card=key, origin_id=origin,
                                                                                            option="total")))
    paid = backend.cards.statements(lucia.token, card)
    assert paid[0].total_left == 0 and paid[0].minimum_left == 0
    assert paid[1] == older  # a payment after the next cut is not counted against an older one


@pytest.mark.sqlite_only(covered=True)
def test_a_covered_minimum_is_said_covered_not_offered_as_zero(backend, lucia):
    """After the mínimo, the figures and the messages agree: the mínimo is covered, the total is what is
    still owed on the statement, and only after the total is «no pending» said with the current debt."""
    card, origin = demo_card(backend), lucia.accounts[0]
    key = f"propia:{card}"
    first = backend.cards.payment_options(lucia.token, key)
    assert first.minimum and first.total > first.minimum and not first.minimum_covered
    authorise(backend, lucia, backend.cards.prepare_payment(lucia.token, CardPaymentRequest(card=key, origin_id=origin,
                                                                                            option="minimo")))
    after = backend.cards.payment_options(lucia.token, key)
    assert after.minimum == 0 and after.minimum_covered and after.options == ("total", "otro")
    assert after.total == first.total - first.minimum and after.owed == first.owed - first.minimum
    with pytest.raises(ValidationError, match="pago mínimo ya está cubierto") as refused:
        backend.cards.prepare_payment(lucia.token, CardPaymentRequest(card=key, origin_id=origin, option="minimo"))
    assert refused.value.field == "option" and "pendientes" not in refused.value.message
    authorise(backend, lucia, backend.cards.prepare_payment(lucia.token, CardPaymentRequest(card=key, origin_id=origin,
                                                                                            option="total")))
    paid = backend.cards.payment_options(lucia.token, key)
    assert paid.total_covered and paid.options == ("otro",)
    for option in ("minimo", "total"):
        with pytest.raises(ValidationError, match="Ya pagaste el total de tu estado de cuenta"):
            backend.cards.prepare_payment(lucia.token, CardPaymentRequest(card=key, origin_id=origin, option=option))
    if paid.owed:  # purchases since the cut: «otro valor» pays them, then nothing at all is owed
        authorise(backend, lucia, backend.cards.prepare_payment(lucia.token, CardPaymentRequest(card=key, origin_id=origin,
                                                                                                option="otro", amount=paid.owed)))
    with pytest.raises(ValidationError, match="No tienes valores pendientes"):
        backend.cards.prepare_payment(lucia.token, CardPaymentRequest(card=key, origin_id=origin, option="otro", amount=1_00))
    assert backend.check() == []


@pytest.mark.sqlite_only(covered=True)
def test_other_value_above_the_debt_or_funds_is_refused(backend, lucia):
    card = demo_card(backend)
    owed = backend.cards.payment_options(lucia.token, f"propia:{card}").owed
    with pytest.raises(ValidationError, match="deuda de consumos") as refused:
        backend.cards.prepare_payment(lucia.token, CardPaymentRequest(card=f"propia:{card}", origin_id=lucia.accounts[0],
                                                                      option="otro", amount=owed + 1))
    # the screen's «Deuda total» adds the diferidos: the refusal says why the cap is below it
    assert format_money(owed) in refused.value.message and "diferidos" in refused.value.message
    with pytest.raises(ValidationError):
        backend.cards.prepare_payment(lucia.token, CardPaymentRequest(card=f"propia:{card}", origin_id=lucia.accounts[0],
                                                                      option="otro", amount=0))


def test_another_members_card_is_registered_with_a_masked_holder_and_paid_by_other_value(backend, lucia, ana):
    ana_card = new_card(backend, ana.member_id, pan=ANA_PAN)
    buy(backend, ana_card, 200_00, "2026-11-20 10:00:00")
    pending = backend.cards.prepare_registration(lucia.token, CardRegistrationRequest(kind="cooprogreso", number=ANA_PAN))
    lines = dict(pending.lines)
    assert lines["Titular"] == "Ana P****" and lines["Tarjeta"] == "3261 XXXX XXXX 6989"
    receipt = authorise(backend, lucia, pending)
    key = f"registrada:{receipt.result_id}"
    cards = backend.cards.payable(lucia.token, "cooprogreso")
    assert [c.key for c in cards] == [f"propia:{demo_card(backend)}", key]
    options = backend.cards.payment_options(lucia.token, key)
    assert options.options == ("otro",) and options.owed == 200_00  # her statement stays hers
    authorise(backend, lucia, backend.cards.prepare_payment(
        lucia.token, CardPaymentRequest(card=key, origin_id=lucia.accounts[0], option="otro", amount=50_00)))
    assert card_ledger.balances(backend.db.conn, ana_card).revolving == 150_00
    assert "recibimos un pago de $50.00" in backend.outbox(last=3)[-1].body
    with pytest.raises(NotFound):  # Ana cannot use Lucía's registration
        backend.cards.payment_options(ana.token, key)
    assert backend.check() == []


@pytest.mark.sqlite_only(covered=True)
def test_own_card_cannot_be_registered_and_unknown_numbers_are_refused(backend, lucia):
    with pytest.raises(ValidationError, match="No existe"):
        backend.cards.prepare_registration(lucia.token, CardRegistrationRequest(kind="cooprogreso",
                                                                                number=luhn_complete("326100000000123")))


@pytest.mark.parametrize("number, message", [
    ("4111111111111112", "dígito verificador"),
    ("411111111111", "13 a 19"),
    ("41111111111111111111", "13 a 19"),
    ("4111-1111-abcd-1111", "solo admite dígitos"),
])
@pytest.mark.sqlite_only  # input checks before any engine-specific SQL: one engine is enough
def test_other_bank_card_numbers_are_checked(backend, lucia, number, message):
    with pytest.raises(ValidationError, match=message) as err:
        backend.cards.prepare_registration(lucia.token, other_bank(number))
    assert err.value.field == "numero"


def _register_visa(backend, who, number=VISA, **extra):
    from tests.conftest import demo_cedula

    return register(backend, who, kind="otro_banco", number=number, institution_code="0010",
                    holder_name="Lucía Guamán", id_type="cedula", id_number=demo_cedula(), **extra)


@pytest.mark.sqlite_only(covered=True)
def test_look_alike_digits_are_accepted_and_always_masked(backend, lucia):
    fullwidth = "".join(chr(0xFF10 + int(d)) for d in luhn_complete("272099990000111"))  # Mastercard's 2-series
    receipt = _register_visa(backend, lucia, number=fullwidth)
    assert receipt.get("Tarjeta").startswith("2720 XXXX XXXX ")
    assert luhn_complete("272099990000111") not in receipt.text
    with pytest.raises(ValidationError, match="Ya registraste"):
        _register_visa(backend, lucia, number=fullwidth)


@pytest.mark.parametrize("body", ["000000000000", "111111111111111", "326100000000123", "70000000000000",
                                  "999999999999999", "2220999999999", "320000000000", "352700000000000"])
@pytest.mark.sqlite_only  # input checks before any engine-specific SQL: one engine is enough
def test_numbers_no_card_network_issues_are_refused_though_luhn_passes(backend, lucia, body):
    """All zeros, our own prefix, prefixes no network has: Luhn is right, the card cannot exist."""
    number = luhn_complete(body)
    assert pan.luhn_ok(number)
    with pytest.raises(ValidationError) as err:
        backend.cards.prepare_registration(lucia.token, other_bank(number))
    assert err.value.field == "numero"
    assert err.value.message.startswith("El número de tarjeta no es de ninguna red de tarjetas (Visa, Mastercard,")


@pytest.mark.parametrize("body,message", [("4111111111111111", "Visa tiene 13, 16 o 19 dígitos"),
                                          ("55000055555555", "Mastercard tiene 16 dígitos"),
                                          ("3782822463100", "American Express tiene 15 dígitos"),
                                          ("3530111333300", "JCB tiene de 16 a 19 dígitos")])
@pytest.mark.sqlite_only  # input checks before any engine-specific SQL: one engine is enough
def test_a_length_the_network_never_issues_is_refused(backend, lucia, body, message):
    with pytest.raises(ValidationError, match=message):
        backend.cards.prepare_registration(lucia.token, other_bank(luhn_complete(body)))


@pytest.mark.parametrize("number", ["4111111111111111", "5500005555555559", "2221000000000009", "378282246310005",
                                    "30569309025904", "36227206271667", "6011111111111117", "6221260000000000",
                                    "3530111333300000", "6200000000000005"])
@pytest.mark.sqlite_only  # input checks before any engine-specific SQL: one engine is enough
def test_every_networks_numbers_are_accepted(backend, lucia, number):
    from tests.conftest import demo_cedula

    pending = backend.cards.prepare_registration(lucia.token, other_bank(luhn_complete(number[:-1]),
                                                                                 id_number=demo_cedula()))
    assert pending.id


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_a_card_registered_before_networks_were_checked_cannot_be_paid(backend, lucia):
    """A number an older version let in (Luhn only) is refused when it is paid, before any code is sent."""
    from backend.security import card_numbers

    receipt = _register_visa(backend, lucia)
    zeros = luhn_complete("000000000000")
    key = card_numbers.number_key(backend.ctx.secret("otp_pepper"))
    with backend.db.write() as conn:
        conn.execute("UPDATE registered_cards SET number = ? WHERE id = ?",
                     (card_numbers.seal(key, zeros, owner=backend.auth.principal(lucia.token).user_id, place=card_numbers.REGISTERED),
                      receipt.result_id))
    with pytest.raises(ValidationError, match="ninguna red de tarjetas"):
        backend.cards.prepare_payment(lucia.token, CardPaymentRequest(card=f"registrada:{receipt.result_id}",
                                                                      origin_id=lucia.accounts[0], option="otro", amount=80_00))


@pytest.mark.sqlite_only(covered=True)
def test_hostile_holder_names_are_refused(backend, lucia):
    with pytest.raises(ValidationError, match="no permitidos"):
        backend.cards.prepare_registration(lucia.token, other_bank(VISA, holder_name="Lucía\x1b[2J"))


def _pay_other_bank(backend, lucia, number):
    receipt = _register_visa(backend, lucia, number=number)
    key = f"registrada:{receipt.result_id}"
    assert backend.cards.payment_options(lucia.token, key).options == ("otro",)
    return authorise(backend, lucia, backend.cards.prepare_payment(
        lucia.token, CardPaymentRequest(card=key, origin_id=lucia.accounts[0], option="otro", amount=80_00)))


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_other_bank_card_goes_through_the_clearing_and_is_credited(backend, lucia, clock):
    origin = lucia.accounts[0]
    before = balance_of(backend, origin)
    receipt = _pay_other_bank(backend, lucia, VISA)
    assert receipt.get("Estado") == "Enviada" and receipt.get("Comisión") == "$0.30"
    assert balance_of(backend, origin) == before - 80_30
    clock.current += timedelta(minutes=5)
    report = backend.clearing.settle()
    assert report.credited == 1
    assert backend.ops.receipt(lucia.token, "pago_tarjeta", receipt.result_id).get("Estado") == "Acreditada"
    assert backend.check() == []


def test_a_returned_other_bank_payment_is_refunded(backend, lucia, clock):
    origin = lucia.accounts[0]
    before = balance_of(backend, origin)
    receipt = _pay_other_bank(backend, lucia, _ending_99())  # the simulated network returns numbers ending in 99
    clock.current += timedelta(minutes=5)
    assert backend.clearing.settle().returned == 1
    assert balance_of(backend, origin) == before
    again = backend.ops.receipt(lucia.token, "pago_tarjeta", receipt.result_id)
    assert again.get("Estado") == "Devuelta" and again.get("Motivo devolución")
    assert "la tarjeta 4111 XXXX XXXX" in backend.outbox(last=1)[0].body
    assert backend.check() == []


def _ending_99() -> str:
    for middle in range(1000):
        number = f"4111111111{middle:03d}199"
        if pan.luhn_ok(number):
            return number
    raise AssertionError


@pytest.mark.sqlite_only(covered=True)
def test_payment_needs_funds_including_the_fee(backend, lucia):
    receipt = _register_visa(backend, lucia)
    key = f"registrada:{receipt.result_id}"
    available = balance_of(backend, lucia.accounts[0])
    with pytest.raises((InsufficientFunds, ValidationError)):
        backend.cards.prepare_payment(lucia.token, CardPaymentRequest(card=key, origin_id=lucia.accounts[0], option="otro",
                                                                      amount=available))


@pytest.mark.parametrize("key", ["propia:999999", "registrada:1", "propia:abc", "x", 5, None])
@pytest.mark.sqlite_only(covered=True)
def test_cards_that_are_not_yours_are_not_found(backend, lucia, key):
    with pytest.raises(NotFound):
        backend.cards.payment_options(lucia.token, key)


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_other_bank_card_payment_over_a_real_http_gateway_answering_nonsense_then_accepting(make_backend, clock):
    from tests.local_http import LocalServer
    from tests.transfer_helpers import demo_member

    answers = iter([(200, {"status": "Perdida"}), (200, {"status": "Acreditada"})])
    server = LocalServer(lambda headers, body: next(answers), "/pagos")
    try:
        backend = make_backend(session_idle_seconds=10**7, clearing_gateway="http", clearing_url=server.url,
                               clearing_timeout_seconds=2)
        lucia = demo_member(backend)
        receipt = _pay_other_bank(backend, lucia, VISA)
        assert backend.clearing.settle().failed == 1  # an unknown state is not an answer: stays Enviada
        assert backend.ops.receipt(lucia.token, "pago_tarjeta", receipt.result_id).get("Estado") == "Enviada"
        clock.advance(seconds=backend.settings.clearing_retry_seconds)
        assert backend.clearing.settle().credited == 1
        (h1, b1), (h2, b2) = server.requests
        assert h1["Idempotency-Key"] == h2["Idempotency-Key"]  # the same payment, never twice
        assert b1["dest_account_type"] == "tarjeta" and b1["dest_account_number"] == VISA and b1["amount"] == 80_00
        assert backend.check() == []
    finally:
        server.close()


@pytest.mark.sqlite_only(covered=True)
def test_a_card_request_is_its_kinds_dataclass_and_nothing_else(backend, lucia):
    """What reaches a card handler is read back into the kind's request: a field it lacks or an extra one (a fee,
    a plan's figures) is refused before anything is derived or stored."""
    payment = asdict(CardPaymentRequest(card=f"propia:{demo_card(backend)}", option="minimo", origin_id=lucia.accounts[0]))
    registration = asdict(CardRegistrationRequest(kind="cooprogreso", number=ANA_PAN))
    before = backend.db.conn.execute("SELECT COUNT(*) FROM operations").fetchone()[0]
    for kind, good in (("pago_tarjeta", payment), ("registro_tarjeta", registration)):
        first = next(iter(good))
        for bad in ({**good, "fee": 0}, {k: v for k, v in good.items() if k != first}, {"x": 1}):
            with pytest.raises(ValidationError, match="La solicitud no es válida"):
                backend.ops.prepare(lucia.token, kind, bad)
    assert backend.db.conn.execute("SELECT COUNT(*) FROM operations").fetchone()[0] == before
    assert dict(backend.ops.prepare(lucia.token, "pago_tarjeta", payment).lines)["Opción"] == "Pago mínimo"


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_a_card_key_pays_only_a_card_in_the_members_own_lists(backend, lucia, ana):
    """The key is looked up directly (one read, issue #23), not among the member's lists: someone else's card, a
    registered card of another member, and keys the lists never show (leading zeros, non-ASCII digits) are refused
    before anything is shown or booked."""
    ana_card = new_card(backend, ana.member_id, pan=ANA_PAN)
    mine = _register_visa(backend, lucia).result_id
    arabic_indic = str(mine).translate(str.maketrans("0123456789", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666"
                                                                    "\u0667\u0668\u0669"))
    refused = [(lucia, f"propia:{ana_card}"), (ana, f"registrada:{mine}"), (lucia, f"registrada:0{mine}"),
               (lucia, f"registrada:{arabic_indic}")]
    before = balance_of(backend, lucia.accounts[0]), balance_of(backend, ana.accounts[0])
    for who, key in refused:
        with pytest.raises(NotFound):
            backend.cards.prepare_payment(who.token, CardPaymentRequest(card=key, origin_id=who.accounts[0],
                                                                        option="otro", amount=1_00))
        with pytest.raises(NotFound):
            backend.cards.payment_options(who.token, key)
    assert (balance_of(backend, lucia.accounts[0]), balance_of(backend, ana.accounts[0])) == before
    assert backend.cards.payment_options(lucia.token, f"registrada:{mine}").options == ("otro",)


@pytest.mark.parametrize("which,meanwhile,refusal", [
    ("otro_banco", "UPDATE accounts SET held = balance - 1 WHERE id = :origin", "Saldo insuficiente"),
    ("otro_banco", "UPDATE accounts SET status = 'bloqueada' WHERE id = :origin", "Selecciona una de tus cuentas"),
    ("otro_banco", "DELETE FROM registered_cards WHERE id = :registered", "no existe o no te pertenece"),
    ("propia", "UPDATE accounts SET held = balance - 1 WHERE id = :origin", "Saldo insuficiente"),
    ("propia", "UPDATE accounts SET status = 'cerrada' WHERE id = :card", "no existe o no te pertenece"),
])
def test_what_changes_after_the_last_check_before_the_lock_is_refused_under_it(backend, lucia, which, meanwhile,
                                                                               refusal):
    """authorise prepares the payment before the write lock and, under it, re-checks what can change: the debit
    account's state and funds and the registration (another institution's card), or all of it again (a Cooprogreso
    card, whose debt moves with its own bookings): a change committed in between (another process) is refused there,
    nothing moves, and the code is not spent."""
    origin = lucia.accounts[0]
    if which == "otro_banco":
        registered = _register_visa(backend, lucia).result_id
        card, key, amount = None, f"registrada:{registered}", 80_00
    else:
        card = demo_card(backend)
        registered, key, amount = None, f"propia:{card}", 12_34
    pending = backend.cards.prepare_payment(lucia.token, CardPaymentRequest(card=key, origin_id=origin, option="otro",
                                                                            amount=amount))
    backend.ops.request_code(lucia.token, pending.id)
    code = last_code(backend)
    conn = backend.db.conn
    real = backend.ops.otp.verify_then

    def after_the_last_check(*args, **kwargs):  # as if another process committed while this one reached the lock
        backend.ops.otp.verify_then = real
        with backend.db.write() as tx:
            tx.execute(meanwhile.replace(":origin", str(origin)).replace(":registered", str(registered))
                       .replace(":card", str(card)), ())
        return real(*args, **kwargs)

    backend.ops.otp.verify_then = after_the_last_check
    before = balance_of(backend, origin), conn.execute("SELECT COUNT(*) FROM card_payments").fetchone()[0]
    with pytest.raises(ServiceError) as err:
        backend.ops.authorise(lucia.token, pending.id, code)
    assert refusal in err.value.message
    assert (balance_of(backend, origin), conn.execute("SELECT COUNT(*) FROM card_payments").fetchone()[0]) == before
    assert conn.execute("SELECT state FROM operations WHERE id = ?", (pending.id,)).fetchone()[0] == "pendiente"
    assert conn.execute("SELECT verified_at FROM otp_challenges WHERE id = (SELECT challenge_id FROM operations"
                        " WHERE id = ?)", (pending.id,)).fetchone()[0] is None


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
@pytest.mark.parametrize("which", ["otro_banco", "propia"])
def test_the_debit_account_is_read_with_the_card_and_must_be_the_members_active_savings(backend, lucia, ana, which):
    """The debit account (and, for another bank's card, the co-op's accounts it is paid through) is read in the
    card's own statement (issue #23): another member's account, a blocked one, a card account or `True` as an id is
    refused at «origin», nothing is prepared; the member's own active savings account pays."""
    key = (f"registrada:{_register_visa(backend, lucia).result_id}" if which == "otro_banco"
           else f"propia:{demo_card(backend)}")
    blocked = lucia.accounts[1]
    backend.db.conn.execute("UPDATE accounts SET status = 'bloqueada' WHERE id = ?", (blocked,))
    for origin in (ana.accounts[0], blocked, demo_card(backend), True):
        with pytest.raises(ValidationError) as err:
            backend.cards.prepare_payment(lucia.token, CardPaymentRequest(card=key, origin_id=origin, option="otro",
                                                                          amount=1_00))
        assert err.value.field == "origin"
    pending = backend.cards.prepare_payment(lucia.token, CardPaymentRequest(card=key, origin_id=lucia.accounts[0],
                                                                            option="otro", amount=1_00))
    before = balance_of(backend, lucia.accounts[0])
    authorise(backend, lucia, pending)
    fee = backend.settings.card_other_bank_fee if which == "otro_banco" else 0
    assert balance_of(backend, lucia.accounts[0]) == before - 1_00 - fee
    assert backend.check() == []
