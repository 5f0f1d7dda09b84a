"""Interbank transfers after they leave: settlement, returns with refund, the http gateway, the CLI."""

import time

import pytest

from backend.transfers.transfers import TransferRequest
from tests.local_http import LocalServer
from tests.transfer_helpers import balance_of, demo_member, transfer


def interbank(account_number: str, amount: int = 100_00) -> dict:
    return dict(kind="interbancaria", amount=amount, motive="Pago", account_number=account_number,
                institution_code="0017", account_type="ahorros", holder_name="Pedro Andrade",
                holder_id_type="cedula", holder_id_number="1104680135")


def send(backend, who, account_number: str, amount: int = 100_00):
    return transfer(backend, who, TransferRequest(origin_id=who.accounts[0], **interbank(account_number, amount)))


@pytest.fixture
def backend(make_backend):
    return make_backend(session_idle_seconds=10**7)


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_simulated_network_credits_within_the_minute(backend, clock):
    who = demo_member(backend)
    receipt = send(backend, who, "22001234")
    assert backend.clearing.settle().pending == 1  # too early: still travelling
    clock.advance(seconds=backend.settings.clearing_retry_seconds)
    report = backend.clearing.settle()
    assert report.credited == 1
    assert backend.transfers.receipt(who.token, receipt.result_id).get("Estado") == "Acreditada"
    assert backend.check() == []
    assert backend.clearing.settle().checked == 0  # nothing left to do


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
@pytest.mark.parametrize("refund_fee", [True, False])
def test_return_refunds_amount_and_fee_by_policy(make_backend, clock, refund_fee):
    backend = make_backend(session_idle_seconds=10**7, refund_fee_on_return=refund_fee)
    who = demo_member(backend)
    before = balance_of(backend, who.accounts[0])
    receipt = send(backend, who, "22001299")
    clock.advance(minutes=1)
    assert backend.clearing.settle().returned == 1
    fee = backend.settings.interbank_fee
    assert balance_of(backend, who.accounts[0]) == before - (0 if refund_fee else fee)
    again = backend.transfers.receipt(who.token, receipt.result_id)
    assert again.get("Estado") == "Devuelta" and again.get("Motivo devolución") == "Cuenta inexistente en la institución destino"
    assert "Motivo devolución: Cuenta inexistente" in again.text
    movements = backend.products.movements(who.token, who.accounts[0]).movements
    assert any("Devolución transferencia" in m.description and "Cuenta inexistente" in m.description for m in movements)
    assert "fue devuelta" in backend.outbox(last=1)[0].body
    assert backend.transfers.history(who.token)[0].state == "Devuelta"
    assert backend.check() == []


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_returned_transfers_give_the_daily_quota_back(backend, clock):
    who = demo_member(backend)
    send(backend, who, "22001298", 1_000_00)
    assert backend.transfers.quota(who.token, "interbancaria").left_today == 2_000_00
    clock.advance(minutes=1)
    backend.clearing.settle()
    assert backend.transfers.quota(who.token, "interbancaria").left_today == 3_000_00


class Network:
    """A clearing network that executes each Idempotency-Key once, whatever the client hears."""

    def __init__(self):
        self.executed: dict[str, dict] = {}
        self.mode = "accept"
        self.server = LocalServer(self._respond, "/transferencias")
        self.url = self.server.url

    def _respond(self, headers, body):
        if self.mode == "reject":
            return 422, None
        self.executed.setdefault(headers["Idempotency-Key"], body)
        if self.mode == "timeout":
            time.sleep(1.0)  # executed, but the answer arrives after the client gave up
        return 200, {"status": "Acreditada"}

    @property
    def calls(self):
        return [(headers["Idempotency-Key"], body) for headers, body in self.server.requests]


@pytest.fixture
def network():
    n = Network()
    yield n
    n.server.close()


@pytest.fixture
def http_backend(make_backend, network):
    return make_backend(session_idle_seconds=10**7, clearing_gateway="http", clearing_url=network.url,
                        clearing_timeout_seconds=0.3)


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_http_gateway_accepts(http_backend, network):
    who = demo_member(http_backend)
    receipt = send(http_backend, who, "22001234")
    assert http_backend.clearing.settle().credited == 1
    key, body = network.calls[0]
    assert body["reference"] == receipt.reference and body["amount"] == 100_00 and key
    assert http_backend.transfers.receipt(who.token, receipt.result_id).get("Estado") == "Acreditada"


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_http_gateway_rejects(http_backend, network):
    who = demo_member(http_backend)
    before = balance_of(http_backend, who.accounts[0])
    send(http_backend, who, "22001234")
    network.mode = "reject"
    assert http_backend.clearing.settle().returned == 1
    assert balance_of(http_backend, who.accounts[0]) == before
    assert "Rechazada por la red interbancaria (código 422)" in http_backend.transfers.history(who.token)[0].return_reason


def test_http_timeout_then_retry_without_duplicate(http_backend, network, clock):
    who = demo_member(http_backend)
    receipt = send(http_backend, who, "22001234")
    network.mode = "timeout"
    assert http_backend.clearing.settle().failed == 1
    assert http_backend.transfers.receipt(who.token, receipt.result_id).get("Estado") == "Enviada"
    assert http_backend.clearing.settle().checked == 0  # not due again yet
    network.mode = "accept"
    clock.advance(seconds=http_backend.settings.clearing_retry_seconds)
    assert http_backend.clearing.settle().credited == 1
    keys = [k for k, _ in network.calls]
    assert len(keys) == 2 and len(set(keys)) == 1  # the same key both times
    assert len(network.executed) == 1  # the network executed it once
    assert http_backend.check() == []


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_settle_command(db_path, backend, clock):
    who = demo_member(backend)
    send(backend, who, "22001234")
    from tests.core.test_database import cli

    out = cli("--set", "clearing_settle_seconds=0", "settle", "--db", str(db_path))
    assert out.returncode == 0 and "acreditadas 1" in out.stdout
