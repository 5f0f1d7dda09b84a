"""Other institutions' card numbers are never stored in the clear, and such a card is still paid."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.security import card_numbers
from backend.cards.requests import CardPaymentRequest, CardRegistrationRequest
from backend.core.db import statements
from backend.core.errors import ValidationError
from backend.core.schema import MIGRATIONS
from tests.cards.test_card_payments import VISA, _pay_other_bank, _register_visa, authorise
from tests.conftest import demo_cedula
from tests.transfer_helpers import balance_of

MASTERCARD = "5500005555555559"


def everything_stored(backend) -> str:
    """Every row of every table, as text: where a leaked number would be."""
    conn = backend.db.conn
    if backend.db.engine == "postgresql":
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")]
    else:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return "\n".join(repr(tuple(row)) for table in tables for row in conn.execute(f"SELECT * FROM {table}"))


def test_registering_and_paying_another_banks_card_stores_no_full_number(backend, lucia, clock):
    origin = lucia.accounts[0]
    before = balance_of(backend, origin)
    receipt = _pay_other_bank(backend, lucia, VISA)
    stored = everything_stored(backend)
    assert VISA not in stored  # not in registered_cards, card_payments, operations, audit or the outbox
    row = backend.db.conn.execute("SELECT number, first4, last4 FROM registered_cards").fetchone()
    assert card_numbers.is_sealed(row[0]) and (row[1], row[2]) == ("4111", "1111")
    assert receipt.get("Tarjeta") == "4111 XXXX XXXX 1111"
    clock.current += timedelta(minutes=5)
    assert backend.clearing.settle().credited == 1  # the simulated network still gets what it needs
    assert balance_of(backend, origin) == before - 80_30
    assert backend.check() == []


def test_the_sealed_number_needs_the_key_file(backend, lucia):
    _register_visa(backend, lucia)
    owner, sealed = backend.db.conn.execute("SELECT user_id, number FROM registered_cards").fetchone()
    key = card_numbers.number_key(backend.ctx.secret("otp_pepper"))
    where = dict(owner=owner, place=card_numbers.REGISTERED)
    assert card_numbers.unseal(key, sealed, **where) == VISA
    with pytest.raises(ValidationError):
        card_numbers.unseal(bytes(32), sealed, **where)  # another co-op's (or a guessed) key opens nothing
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    with pytest.raises(ValidationError):
        card_numbers.unseal(key, tampered, **where)


@pytest.mark.sqlite_only(covered=True)
def test_a_forged_sealed_number_in_a_request_is_refused_at_the_number(backend, lucia):
    with pytest.raises(ValidationError) as err:
        backend.cards.prepare_registration(lucia.token, CardRegistrationRequest(
            kind="otro_banco", number="v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", institution_code="0010",
            holder_name="Lucía Guamán", id_type="cedula", id_number=demo_cedula()))
    assert err.value.field == "numero"


def _migration_marker() -> str:
    migration = next(m for m in MIGRATIONS if card_numbers.TO_SEAL in m)
    return next(s for s in statements(migration) if card_numbers.TO_SEAL in s)


def test_an_older_databases_clear_numbers_are_sealed_on_first_start_and_still_paid(make_backend, clock):
    from tests.transfer_helpers import demo_member

    backend = make_backend(session_idle_seconds=10**7)
    lucia = demo_member(backend)
    registered = _register_visa(backend, lucia, number=MASTERCARD).result_id
    paid = _pay_other_bank(backend, lucia, VISA).result_id
    # as a version before schema 15 stored them: the numbers in the clear, nothing sealed
    with backend.db.write() as conn:
        conn.execute("UPDATE registered_cards SET number = ? WHERE id = ?", (MASTERCARD, registered))
        conn.execute("UPDATE registered_cards SET number = ? WHERE id != ?", (VISA, registered))
        conn.execute("UPDATE card_payments SET dest_account_number = ? WHERE id = ?", (VISA, paid))
        conn.execute(_migration_marker())  # the migration's own statement marks what is to seal
    assert backend.db.get_meta(card_numbers.TO_SEAL) == "1"
    assert MASTERCARD in everything_stored(backend)
    backend.close()

    again = make_backend(session_idle_seconds=10**7)  # the first start with the key file at hand
    stored = everything_stored(again)
    assert MASTERCARD not in stored and VISA not in stored
    assert again.db.get_meta(card_numbers.TO_SEAL) is None
    if again.db.engine == "sqlite":  # overwritten on disk too, not left in free pages or the WAL
        files = [again.db.path, again.db.path.with_name(again.db.path.name + "-wal")]
        on_disk = b"".join(f.read_bytes() for f in files if f.exists())
        assert MASTERCARD.encode() not in on_disk and VISA.encode() not in on_disk
    assert card_numbers.is_sealed(again.db.conn.execute("SELECT dest_account_number FROM card_payments"
                                                        " WHERE id = ?", (paid,)).fetchone()[0])
    lucia = demo_member(again)
    clock.current += timedelta(minutes=5)
    assert again.clearing.settle().credited == 1  # the payment made before the migration still settles
    receipt = authorise(again, lucia, again.cards.prepare_payment(
        lucia.token, CardPaymentRequest(card=f"registrada:{registered}", origin_id=lucia.accounts[0], option="otro", amount=10_00)))
    assert receipt.get("Tarjeta") == "5500 XXXX XXXX 5559" and receipt.get("Estado") == "Enviada"
    assert MASTERCARD not in everything_stored(again)
    assert again.check() == []


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_the_http_gateway_receives_the_full_number_of_a_sealed_card(make_backend):
    from tests.local_http import LocalServer
    from tests.transfer_helpers import demo_member

    server = LocalServer(lambda headers, body: (200, {"status": "Acreditada"}), "/pagos")
    try:
        backend = make_backend(session_idle_seconds=10**7, clearing_gateway="http", clearing_url=server.url,
                               clearing_timeout_seconds=2)
        lucia = demo_member(backend)
        _pay_other_bank(backend, lucia, MASTERCARD)
        assert backend.clearing.settle().credited == 1
        (_, body), = server.requests
        assert body["dest_account_number"] == MASTERCARD
        assert MASTERCARD not in everything_stored(backend)
    finally:
        server.close()
