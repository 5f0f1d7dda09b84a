"""A sealed card number opens only in its own member's row: one moved between rows is refused, books
nothing and sends nothing; `v1.` values (owner not bound) are re-sealed once at open, refused after."""

from __future__ import annotations

import base64
import json
import os
from datetime import timedelta

import pytest

from backend.security import card_numbers
from backend.cards.requests import CardPaymentRequest, CardRegistrationRequest
from backend.core.db import statements
from backend.core.errors import ValidationError
from backend.core.schema import MIGRATIONS
from tests.cards.test_card_numbers import MASTERCARD, everything_stored
from tests.cards.test_card_payments import VISA, _pay_other_bank, _register_visa, authorise
from tests.conftest import demo_cedula, last_code
from tests.local_http import LocalServer
from tests.transfer_helpers import balance_of, demo_member, other_member

REFUSED = "El número de tarjeta no es válido; escríbelo de nuevo."
AMEX = "378282246310005"


def seal_v1(backend, digits: str) -> str:
    """As schema 12–18 sealed a number: the same key, an associated data naming no owner."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key = card_numbers.number_key(backend.ctx.secret("otp_pepper"))
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, digits.encode(), b"cooprogreso card number")
    return "v1." + base64.urlsafe_b64encode(nonce + sealed).decode()


def reseal_marker() -> str:
    migration = next(m for m in MIGRATIONS if card_numbers.TO_RESEAL in m)
    return next(s for s in statements(migration) if card_numbers.TO_RESEAL in s)


def money_moved(backend) -> tuple:
    conn = backend.db.conn
    return (conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0],
            conn.execute("SELECT COUNT(*) FROM card_payments").fetchone()[0])


def pay(backend, who, registered: int, amount: int = 10_00):
    return backend.cards.prepare_payment(who.token, CardPaymentRequest(card=f"registrada:{registered}", origin_id=who.accounts[0],
                                                                       option="otro", amount=amount))


def refused(call) -> None:
    with pytest.raises(ValidationError) as err:
        call()
    assert (err.value.message, err.value.field) == (REFUSED, "numero")  # no hint of whose it was


def test_a_registered_number_moved_to_another_members_row_is_refused_and_books_nothing(backend, lucia):
    ana = other_member(backend)
    mine = _register_visa(backend, lucia).result_id
    theirs = _register_visa(backend, ana, number=MASTERCARD).result_id
    pending = pay(backend, lucia, mine)  # prepared while the row was still hers
    backend.ops.request_code(lucia.token, pending.id)
    with backend.db.write() as conn:  # someone with write access to the database copies Ana's into Lucía's row
        conn.execute("UPDATE registered_cards SET number = (SELECT number FROM registered_cards WHERE id = ?)"
                     " WHERE id = ?", (theirs, mine))
    before, moved = balance_of(backend, lucia.accounts[0]), money_moved(backend)
    refused(lambda: pay(backend, lucia, mine))
    refused(lambda: backend.ops.authorise(lucia.token, pending.id, last_code(backend)))
    assert balance_of(backend, lucia.accounts[0]) == before and money_moved(backend) == moved
    assert authorise(backend, ana, pay(backend, ana, theirs)).get("Estado") == "Enviada"  # Ana's own still pays
    assert backend.check() == []


def test_a_payments_number_moved_to_another_payment_is_never_sent(make_backend, clock):
    server = LocalServer(lambda headers, body: (200, {"status": "Acreditada"}), "/pagos")
    try:
        backend = make_backend(session_idle_seconds=10**7, clearing_gateway="http", clearing_url=server.url,
                               clearing_timeout_seconds=2)
        lucia, ana = demo_member(backend), other_member(backend)
        mine = _pay_other_bank(backend, lucia, VISA).result_id
        theirs = _pay_other_bank(backend, ana, MASTERCARD).result_id
        with backend.db.write() as conn:  # swapped: each payment now holds the other member's sealed number
            rows = dict(conn.execute("SELECT id, dest_account_number FROM card_payments").fetchall())
            conn.execute("UPDATE card_payments SET dest_account_number = ? WHERE id = ?", (rows[theirs], mine))
            conn.execute("UPDATE card_payments SET dest_account_number = ? WHERE id = ?", (rows[mine], theirs))
        entries = money_moved(backend)
        clock.current += timedelta(minutes=5)
        report = backend.clearing.settle()
        assert (report.credited, report.returned, report.failed) == (0, 0, 2)
        assert server.requests == []  # neither number reached the network, nor went to the wrong card
        assert money_moved(backend) == entries
        assert {r[0] for r in backend.db.conn.execute("SELECT state FROM card_payments")} == {"Enviada"}
        assert VISA not in everything_stored(backend) and MASTERCARD not in everything_stored(backend)
        assert backend.check() == []
    finally:
        server.close()


def test_a_number_moved_to_another_column_of_the_same_member_is_refused(backend, lucia, clock):
    registered = _register_visa(backend, lucia).result_id
    paid = _pay_other_bank(backend, lucia, MASTERCARD).result_id
    with backend.db.write() as conn:  # her registered VISA copied over the MASTERCARD payment's number
        conn.execute("UPDATE card_payments SET dest_account_number = (SELECT number FROM registered_cards"
                     " WHERE id = ?) WHERE id = ?", (registered, paid))
    clock.current += timedelta(minutes=5)
    assert backend.clearing.settle().failed == 1


def test_the_number_in_a_pending_registration_moved_to_another_member_is_refused(backend, lucia):
    ana = other_member(backend)
    request = dict(kind="otro_banco", institution_code="0010", holder_name="Lucía Guamán", id_type="cedula",
                   id_number=demo_cedula())
    mine = backend.cards.prepare_registration(lucia.token, CardRegistrationRequest(**request, number=VISA))
    theirs = backend.cards.prepare_registration(ana.token, CardRegistrationRequest(**request, number=MASTERCARD))
    with backend.db.write() as conn:
        stored = json.loads(conn.execute("SELECT request FROM operations WHERE id = ?", (theirs.id,)).fetchone()[0])
        own = json.loads(conn.execute("SELECT request FROM operations WHERE id = ?", (mine.id,)).fetchone()[0])
        conn.execute("UPDATE operations SET request = ? WHERE id = ?",
                     (json.dumps({**own, "number": stored["number"]}, sort_keys=True), mine.id))
    refused(lambda: backend.ops.request_code(lucia.token, mine.id))
    # nor can the member hand in a sealed value of someone else's as "her" number
    refused(lambda: backend.cards.prepare_registration(lucia.token, CardRegistrationRequest(**request, number=stored["number"])))
    assert backend.db.conn.execute("SELECT COUNT(*) FROM registered_cards").fetchone()[0] == 0


def test_a_v1_database_is_resealed_at_open_and_still_pays(make_backend, clock):
    backend = make_backend(session_idle_seconds=10**7)
    lucia, ana = demo_member(backend), other_member(backend)
    registered = _register_visa(backend, lucia, number=MASTERCARD).result_id
    paid = _pay_other_bank(backend, ana, VISA).result_id
    pending = backend.cards.prepare_registration(lucia.token, CardRegistrationRequest(
        kind="otro_banco", number=AMEX, institution_code="0010", holder_name="Lucía Guamán", id_type="cedula",
        id_number=demo_cedula()))
    # as schema 12–18 stored them: every number sealed as v1, the owner not bound
    with backend.db.write() as conn:
        conn.execute("UPDATE registered_cards SET number = ? WHERE id = ?", (seal_v1(backend, MASTERCARD), registered))
        conn.execute("UPDATE registered_cards SET number = ? WHERE id != ?", (seal_v1(backend, VISA), registered))
        conn.execute("UPDATE card_payments SET dest_account_number = ? WHERE id = ?", (seal_v1(backend, VISA), paid))
        request = json.loads(conn.execute("SELECT request FROM operations WHERE id = ?", (pending.id,)).fetchone()[0])
        conn.execute("UPDATE operations SET request = ? WHERE id = ?",
                     (json.dumps({**request, "number": seal_v1(backend, AMEX)}, sort_keys=True), pending.id))
        conn.execute(reseal_marker())  # the migration's own statement marks what is to re-seal
    assert backend.db.get_meta(card_numbers.TO_RESEAL) == "1"
    backend.close()

    again = make_backend(session_idle_seconds=10**7)  # the first start with the key file at hand
    assert again.db.get_meta(card_numbers.TO_RESEAL) is None
    stored = everything_stored(again)
    assert "'v1." not in stored and '"v1.' not in stored
    for number in (MASTERCARD, VISA, AMEX):
        assert number not in stored
    action, outcome, details = again.db.conn.execute(
        "SELECT action, outcome, details FROM audit_log WHERE action = 'tarjeta.numeros_resellados'").fetchone()
    assert outcome == "ok" and json.loads(details) == {"resellados": 4, "rechazados": 0}
    lucia, ana = demo_member(again), again_member(again)
    assert authorise(again, lucia, pending).get("Tarjeta") == "3782 XXXX XXXX 0005"  # the pending registration too
    receipt = authorise(again, lucia, pay(again, lucia, registered))
    assert receipt.get("Tarjeta") == "5500 XXXX XXXX 5559" and receipt.get("Estado") == "Enviada"
    clock.current += timedelta(minutes=5)
    assert again.clearing.settle().credited == 2  # Ana's payment made before the re-seal settles, and Lucía's
    ana_card = again.db.conn.execute("SELECT id FROM registered_cards WHERE user_id != ?",
                                     (again.auth.principal(lucia.token).user_id,)).fetchone()[0]
    assert authorise(again, ana, pay(again, ana, ana_card)).get("Estado") == "Enviada"
    assert again.check() == []
    again.close()
    third = make_backend(session_idle_seconds=10**7)  # once done, a later start re-seals nothing
    assert third.db.conn.execute("SELECT COUNT(*) FROM audit_log WHERE action = 'tarjeta.numeros_resellados'"
                                 ).fetchone()[0] == 1


def test_v1_values_moved_between_members_before_the_reseal_are_not_bound_to_the_new_row(make_backend, clock):
    backend = make_backend(session_idle_seconds=10**7)
    lucia, ana = demo_member(backend), other_member(backend)
    mine = _register_visa(backend, lucia).result_id
    paid = _pay_other_bank(backend, ana, MASTERCARD).result_id
    theirs = backend.db.conn.execute("SELECT registered_card_id FROM card_payments WHERE id = ?",
                                     (paid,)).fetchone()[0]
    with backend.db.write() as conn:  # v1 (no owner in it) and swapped: Ana's number in Lucía's row and back
        conn.execute("UPDATE registered_cards SET number = ? WHERE id = ?", (seal_v1(backend, MASTERCARD), mine))
        conn.execute("UPDATE registered_cards SET number = ? WHERE id = ?", (seal_v1(backend, VISA), theirs))
        conn.execute("UPDATE card_payments SET dest_account_number = ? WHERE id = ?", (seal_v1(backend, VISA), paid))
        conn.execute(reseal_marker())
    backend.close()

    again = make_backend(session_idle_seconds=10**7)
    outcome, details = again.db.conn.execute(
        "SELECT outcome, details FROM audit_log WHERE action = 'tarjeta.numeros_resellados'").fetchone()
    assert outcome == "parcial" and json.loads(details) == {"resellados": 0, "rechazados": 3}
    lucia, ana = demo_member(again), again_member(again)
    moved = money_moved(again)
    refused(lambda: pay(again, lucia, mine))
    refused(lambda: pay(again, ana, theirs))
    clock.current += timedelta(minutes=5)
    assert again.clearing.settle().failed == 1  # the payment's number is not its card's: never sent
    assert money_moved(again) == moved


def again_member(backend):
    from tests.transfer_helpers import Member

    token = backend.auth.login("ana.prueba", "Clave2026x").token
    who = backend.auth.principal(token)
    return Member(token, who.member_id, [o.account_id for o in backend.transfers.origins(token)])


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_a_database_sealed_with_owners_is_not_marked(backend, lucia):
    _pay_other_bank(backend, lucia, VISA)
    with backend.db.write() as conn:
        conn.execute(reseal_marker())
    assert backend.db.get_meta(card_numbers.TO_RESEAL) is None


def test_a_v1_value_planted_after_the_migration_is_refused(make_backend, clock):
    backend = make_backend(session_idle_seconds=10**7)
    lucia = demo_member(backend)
    registered = _register_visa(backend, lucia).result_id
    paid = _pay_other_bank(backend, lucia, MASTERCARD).result_id
    with backend.db.write() as conn:  # an old value (its own number even) put back in after the re-seal
        conn.execute("UPDATE registered_cards SET number = ? WHERE id = ?", (seal_v1(backend, VISA), registered))
        conn.execute("UPDATE card_payments SET dest_account_number = ? WHERE id = ?",
                     (seal_v1(backend, MASTERCARD), paid))
    moved = money_moved(backend)
    refused(lambda: pay(backend, lucia, registered))
    clock.current += timedelta(minutes=5)
    assert backend.clearing.settle().failed == 1
    assert money_moved(backend) == moved
    refused(lambda: backend.cards.prepare_registration(lucia.token, CardRegistrationRequest(
        kind="otro_banco", number=seal_v1(backend, AMEX), institution_code="0010", holder_name="Lucía Guamán",
        id_type="cedula", id_number=demo_cedula())))
    backend.close()
    again = make_backend(session_idle_seconds=10**7)  # no marker: opening does not re-seal it either
    assert again.db.conn.execute("SELECT number FROM registered_cards WHERE id = ?",
                                 (registered,)).fetchone()[0].startswith("v1.")
    refused(lambda: pay(again, demo_member(again), registered))
