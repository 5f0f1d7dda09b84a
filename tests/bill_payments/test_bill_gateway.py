"""The recaudación network: the simulated cases the README promises, and the http gateway against a real
local server (bearer token, Idempotency-Key, retries, timeouts, nonsense answers, pending never lost)."""

import time

import pytest

from backend.bill_payments import billers
from backend.bill_payments import payments as pay
from backend.bill_payments.bill_gateway import GatewayUnavailable, HttpRecaudacion, SimulatedRecaudacion, UnknownIdentifier
from backend.bill_payments.requests import ServicePaymentRequest
from tests.local_http import LocalServer
from tests.services_helpers import loaded, savings_of
from tests.transfer_helpers import balance_of, demo_member


@pytest.fixture
def backend(make_backend):
    return loaded(make_backend(session_idle_seconds=10**7))


@pytest.mark.sqlite_only(covered=True)
def test_the_simulated_network_is_deterministic_by_the_identifiers_last_digit(backend, clock):
    sim, cnt = SimulatedRecaudacion(clock), billers.get(backend.db.conn, "CNT-FIJO")
    assert sim.statement(cnt, "022345670").bills == ()
    two = sim.statement(cnt, "022345672").bills
    assert [b.period for b in two] == ["Septiembre 2026", "Octubre 2026"]
    one = sim.statement(cnt, "022345671")
    assert len(one.bills) == 1 and one.bills[0].amount < 100_00 and "*" in one.holder
    assert sum(amount for _, amount in one.bills[0].lines) == one.bills[0].amount
    assert sim.statement(cnt, "022345671") == one  # same answer every time
    assert sim.statement(cnt, "022345676").bills[0].amount >= 250_00
    with pytest.raises(GatewayUnavailable):
        sim.statement(cnt, "022345678")
    with pytest.raises(UnknownIdentifier):
        sim.statement(cnt, "022345679")
    assert sim.statement(billers.get(backend.db.conn, "CLARO-REC"), "0991234561").bills == ()  # a top-up


class Recaudadora:
    """An entity's network that pays each Idempotency-Key once, whatever the client hears."""

    def __init__(self):
        self.paid: dict[str, dict] = {}
        self.mode = "ok"
        self.statement = {"titular": "María Fernanda Quishpe Andrade",
                          "facturas": [{"numero": "F-1001", "periodo": "Octubre 2026", "vence": "2026-11-30",
                                        "valor": "23.40", "detalle": [{"concepto": "Consumo", "valor": "20.00"},
                                                                      {"concepto": "IVA", "valor": "3.40"}]}]}
        self.server = LocalServer(self._respond)
        self.url = self.server.url.rstrip("/")

    def _respond(self, headers, body):
        if "facturas" not in body:  # consulta
            if self.mode == "unknown":
                return 404, {"motivo": "no existe"}
            if self.mode == "flaky" and len(self.server.requests) == 1:
                return 503, None
            return 200, self.statement
        if self.mode == "reject":
            return 422, {"motivo": "Factura anulada por la entidad"}
        self.paid.setdefault(headers["Idempotency-Key"], body)
        if self.mode == "slow":
            time.sleep(1.0)  # paid, but the answer arrives after the client gave up
        return 200, {"estado": "pagado", "autorizacion": "AUT-77"}


@pytest.fixture
def network():
    n = Recaudadora()
    yield n
    n.server.close()


def _gateway(network, retries=0):
    return HttpRecaudacion(network.url, "s3cr3t", timeout=0.3, retries=retries)


@pytest.mark.sqlite_only(covered=True)
def test_http_consulta_parses_bills_and_masks_the_holder(backend, network):
    statement = _gateway(network).statement(billers.get(backend.db.conn, "EPMAPS"), "1234567")
    headers, body = network.server.requests[0]
    assert headers["Authorization"] == "Bearer s3cr3t" and body == {"entidad": "EPMAPS", "identificador": "1234567"}
    assert statement.holder == "María Q****"
    (bill,) = statement.bills
    assert (bill.number, bill.amount, bill.lines) == ("F-1001", 23_40, (("Consumo", 20_00), ("IVA", 3_40)))


@pytest.mark.sqlite_only(covered=True)
def test_http_consulta_retries_a_5xx_and_reports_an_unknown_identifier(backend, network):
    epmaps = billers.get(backend.db.conn, "EPMAPS")
    network.mode = "flaky"
    assert _gateway(network, retries=1).statement(epmaps, "1234567").bills
    network.mode = "unknown"
    with pytest.raises(UnknownIdentifier):
        _gateway(network).statement(epmaps, "1234567")


@pytest.mark.parametrize("nonsense", [
    {"facturas": []},  # no holder
    {"titular": "Ana", "facturas": [{"numero": "F1", "periodo": "Oct", "vence": "2026-11-30", "valor": "-5.00"}]},
    {"titular": "Ana", "facturas": [{"numero": "F1", "periodo": "Oct", "vence": "2026-11-30", "valor": "1e9"}]},
    {"titular": "Ana", "facturas": [{"numero": "F1", "periodo": "Oct", "vence": "mañana", "valor": "5.00"}]},
    {"titular": "Ana\x1b[2J", "facturas": []},  # terminal control in the holder's name
    {"titular": "Ana", "facturas": [{"numero": "F1;DROP", "periodo": "Oct", "vence": "2026-11-30", "valor": "5"}]},
    {"titular": "Ana", "facturas": [{"numero": "F1", "periodo": "Oct", "vence": "2026-11-30", "valor": "5.00"},
                                    {"numero": "F1", "periodo": "Oct", "vence": "2026-11-30", "valor": "5.00"}]},
    ["not", "an", "object"],
])
@pytest.mark.sqlite_only  # input checks before any engine-specific SQL: one engine is enough
def test_nonsense_from_the_network_is_no_answer_never_a_bill(backend, network, nonsense):
    network.statement = nonsense
    with pytest.raises(GatewayUnavailable):
        _gateway(network).statement(billers.get(backend.db.conn, "EPMAPS"), "1234567")


def _booked(backend, who, gateway, identifier="1234567", key="first"):
    """A payment booked as the Pagar handler books it, then sent to the entity."""
    biller = billers.get(backend.db.conn, "EPMAPS")
    statement = gateway.statement(biller, identifier)
    principal = backend.auth.principal(who.token)
    booking = pay.Booking(principal.user_id, principal.member_id, principal.username, biller, identifier,
                          statement.holder, statement.bills, savings_of(backend, who.member_id)[0],
                          sum(b.amount for b in statement.bills))
    with backend.db.write() as conn:
        payment_id = pay.book(backend.ctx, conn, booking, key)
    return payment_id


def _state(backend, payment_id):
    return backend.db.conn.execute("SELECT state FROM bill_payments WHERE id = ?", (payment_id,)).fetchone()[0]


def test_an_unanswered_payment_stays_pending_and_is_resent_with_the_same_key_once(backend, network, clock):
    who = demo_member(backend)
    gateway = _gateway(network)
    account = savings_of(backend, who.member_id)[0]
    before = balance_of(backend, account)
    payment_id = _booked(backend, who, gateway)
    network.mode = "slow"
    assert pay.submit(backend.ctx, gateway, payment_id) == "pendiente"
    assert pay.resend_due(backend.ctx, gateway) == 0  # not before its retry time
    network.mode = "ok"
    clock.advance(seconds=backend.settings.services_retry_seconds)
    assert pay.resend_due(backend.ctx, gateway) == 1
    assert _state(backend, payment_id) == "pagado"
    keys = [h["Idempotency-Key"] for h, body in network.server.requests if "facturas" in body]
    assert len(keys) == 2 and len(set(keys)) == 1 and len(network.paid) == 1  # sent twice, paid once
    assert balance_of(backend, account) == before - 23_40
    assert backend.check() == []


def test_a_refused_payment_is_refunded_and_its_bill_can_be_paid_again(backend, network):
    who = demo_member(backend)
    gateway = _gateway(network)
    account = savings_of(backend, who.member_id)[0]
    before = balance_of(backend, account)
    payment_id = _booked(backend, who, gateway)
    network.mode = "reject"
    assert pay.submit(backend.ctx, gateway, payment_id) == "fallido"
    row = backend.db.conn.execute("SELECT reason, refund_entry_id FROM bill_payments WHERE id = ?",
                                  (payment_id,)).fetchone()
    assert row[0] == "Factura anulada por la entidad" and row[1]
    assert balance_of(backend, account) == before
    assert "rechazó tu pago" in backend.outbox(last=1)[0].body
    network.mode = "ok"
    assert pay.submit(backend.ctx, gateway, _booked(backend, who, gateway, key="second")) == "pagado"  # bill free
    assert backend.check() == []


def test_the_same_bill_cannot_be_booked_twice(backend, network):
    from backend.core.errors import ValidationError

    who = demo_member(backend)
    gateway = _gateway(network)
    _booked(backend, who, gateway)
    with pytest.raises(ValidationError, match="ya fue pagada"):
        _booked(backend, who, gateway, key="second")


@pytest.mark.parametrize("mode, state", [("ok", "pagado"), ("slow", "pendiente"), ("reject", "fallido")])
@pytest.mark.sqlite_only(covered=True)
def test_the_code_alone_tells_the_entity_and_the_one_receipt_says_where_it_stands(make_backend, network, clock,
                                                                                    mode, state):
    """Pago de Servicios finishes in the backend like every kind: no screen or caller has to tell the entity."""
    from tests.conftest import last_code

    backend = loaded(make_backend(session_idle_seconds=10**7, services_gateway="http", services_url=network.url,
                                  services_token="s3cr3t", services_timeout_seconds=0.3, services_retries=0))
    who = demo_member(backend)
    presentment = backend.services.consulta(who.token, "EPMAPS", "1234567")
    network.mode = mode
    request = ServicePaymentRequest(presentment.id, [presentment.bills[0].number], savings_of(backend, who.member_id)[0])
    pending = backend.services.prepare_payment(who.token, request)
    backend.ops.request_code(who.token, pending.id)
    code = last_code(backend)
    receipt = backend.ops.authorise(who.token, pending.id, code)
    assert _state(backend, receipt.result_id) == state
    assert receipt.get("Estado") == pay.STATES[state]
    assert len([b for _, b in network.server.requests if "facturas" in b]) == 1  # told once, by the backend
    if mode == "slow":  # no answer: the background pass sends it again with the same key, and it is paid once
        network.mode = "ok"
        clock.advance(seconds=backend.settings.services_retry_seconds)
        assert backend.services.resend_pending() == 1 and _state(backend, receipt.result_id) == "pagado"
        assert len(network.paid) == 1
    again = backend.ops.authorise(who.token, pending.id, code)  # a replay tells nobody again
    assert again.reference == receipt.reference
    assert len(network.paid) == (0 if mode == "reject" else 1)
    assert backend.check() == []
