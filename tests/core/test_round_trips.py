"""Round trips of the booking paths on PostgreSQL (issue #23): on a busy machine each one is a wake-up of the
client and of the server, and they, not row locks, are what a card payment or a bill payment cost against a
transfer. Counted (tests/pg_helpers.RoundTrips) so they cannot silently grow back; on SQLite the same paths
must book the same money (shared code)."""

from __future__ import annotations

import secrets
from dataclasses import asdict

import pytest

from backend.demo.coop import cedula
from backend.transfers.transfers import TransferRequest

from ..transfer_helpers import demo_member, number_of, other_member

VISA = "4111111111111111"
# The most each path may take, BEGIN to COMMIT, prepare and execute in one write (as the bench's mix books it):
# the reads in one round trip, the internal accounts, the entry (ledger.post), the rows it leaves, the COMMIT.
CEILING = {"terceros": 5, "interbancaria": 5, "pago_tarjeta": 4, "pago_servicio": 4}
# ... and the statements they send (BEGIN, the member's lock and COMMIT included): each one costs the client and
# the server more than its work (issue #23). A transfer drafted and booked in one write sends 14 (13 through
# `_book`, the bench's own transfer); an interbank transfer reads its institution with the origin and posts one
# leg more (the commission's account); another bank's card is read with the debit account and the co-op's
# accounts in one statement; a bill payment's reads are one statement and its reference is made by its INSERT.
STATEMENTS = {"terceros": 14, "interbancaria": 14, "pago_tarjeta": 13, "pago_servicio": 12}


@pytest.fixture
def round_trips(engine, monkeypatch):
    if engine != "postgresql":
        return None
    from ..pg_helpers import RoundTrips

    return RoundTrips(monkeypatch)


def _jobs(backend) -> tuple[object, dict[str, tuple[object, dict]]]:
    me = demo_member(backend)
    payee = other_member(backend)
    who = backend.auth.principal(me.token)
    ops, origin = backend.ops, me.accounts[0]
    register = ops._handler("registro_tarjeta")
    with backend.db.write() as conn:
        card = register.execute(conn, who, register.prepare(conn, who, dict(
            kind="otro_banco", number=VISA, institution_code="0010", holder_name="Socio Prueba", id_type="cedula",
            id_number=cedula("170000001"))).plan, secrets.token_urlsafe(16))
    presentment = backend.services.consulta(me.token, "CLARO-REC", "0991234561")
    return who, {
        "terceros": (ops._handler("transferencia"), asdict(TransferRequest(
            "terceros", origin, 1_00, "prueba", account_number=number_of(backend, payee.accounts[0])))),
        "interbancaria": (ops._handler("transferencia"), asdict(TransferRequest(
            "interbancaria", origin, 1_00, "prueba", account_number="2200123456", institution_code="0010",
            account_type="corriente", holder_name="Comercial Andes", holder_id_type="ruc",
            holder_id_number="1710034065001"))),
        "pago_tarjeta": (ops._handler("pago_tarjeta"), {"card": f"registrada:{card}", "origin_id": origin,
                                                        "option": "otro", "amount": 1_00}),
        "pago_servicio": (ops._handler("pago_servicio"), {"presentment_id": presentment.id, "bills": [],
                                                          "account_id": origin, "amount": 1_00}),
    }


def test_each_booking_path_stays_within_its_round_trips_and_statements(backend, round_trips):
    who, jobs = _jobs(backend)
    debited = {}
    for name, (handler, request) in jobs.items():
        balance = backend.db.conn.execute("SELECT balance FROM accounts WHERE id = ?",
                                          (jobs["terceros"][1]["origin_id"],)).fetchone()[0]
        for attempt in range(2):  # the first makes the internal accounts' parts
            key = secrets.token_urlsafe(16)
            if round_trips is None:
                with backend.db.write() as conn:
                    handler.execute(conn, who, handler.prepare(conn, who, request).plan, key)
                continue
            with round_trips.counting(), backend.db.write() as conn:
                handler.execute(conn, who, handler.prepare(conn, who, request).plan, key)
            if attempt:
                assert round_trips.count <= CEILING[name], f"{name}: {round_trips}"
                assert round_trips.sent <= STATEMENTS[name], f"{name}: {round_trips}"
        debited[name] = balance - backend.db.conn.execute("SELECT balance FROM accounts WHERE id = ?",
                                                          (jobs["terceros"][1]["origin_id"],)).fetchone()[0]
    fees = backend.ctx.settings
    assert debited == {"terceros": 2_00, "interbancaria": 2 * (1_00 + fees.interbank_fee),
                       "pago_tarjeta": 2 * (1_00 + fees.card_other_bank_fee),
                       "pago_servicio": debited["pago_servicio"]}
    assert debited["pago_servicio"] >= 2_00
    assert backend.check() == []


def test_opening_a_backend_reads_its_meta_rows_in_one_query(db_path, engine, clock, monkeypatch):
    """Every open (each app, each CLI command, each worker) reads the key rows and the upgrade marks: one query
    (one round trip on PostgreSQL) after the schema version, not one per row; the keys it finds are the same."""
    from backend.service import Backend

    from ..conftest import fast_settings

    first = Backend(db_path, fast_settings(), clock)  # records the fingerprint later opens check
    keys = dict(first.ctx._keys)
    first.close()
    if engine == "postgresql":
        from ..pg_helpers import RoundTrips

        with RoundTrips(monkeypatch).counting() as round_trips:
            again = Backend(db_path, fast_settings(), clock)
        meta_reads = [s for s in round_trips.statements if b"FROM meta" in s]
        assert len(meta_reads) == 1 and round_trips.count <= 3, str(round_trips)
    else:
        again = Backend(db_path, fast_settings(), clock)
    try:
        assert dict(again.ctx._keys) == keys
        assert again.ctx.receipt_secrets() == first.ctx.receipt_secrets()
    finally:
        again.close()
