"""7. Solicita tus Productos: catalogue, simulators against independent figures, the request flow."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.core.business_days import shipped
from backend.core.errors import NotFound, OtpError, ValidationError
from backend.core.rates import LegalCap, Offer, RateAboveCap, RateBook, default_book
from backend.products import simulators
from backend.products.product_requests import ProductRequestsService, parse_request_number
from backend.products.requests import ProductRequest
from tests.conftest import last_code
from tests.transfer_helpers import balance_of

TODAY = date(2026, 11, 25)
HOSTILE = ["\x1b[2J\x1b[31mAPROBADO", "Casa\u202e odabrorpa", "texto\u200b oculto", "nul\x00 aquí", "a" * 161, "ab"]


def book_at(effective: str, cap: str = "16.77") -> RateBook:
    """A rate book where consumo credits cost `effective` for every plazo, under a consumo cap of `cap`."""
    return RateBook([LegalCap("consumo", date(2026, 1, 1), Decimal(cap) / 100)],
                    [Offer("credito_consumo", "consumo", 1, 600, Decimal(effective) / 100, date(2026, 1, 1)),
                     Offer("rotativo", "consumo", 1, 1, Decimal(cap) / 100, date(2026, 1, 1))])


def service_with(backend, book: RateBook) -> ProductRequestsService:
    backend.product_requests  # noqa: B018 - the regular one first; this one replaces its handler
    return ProductRequestsService(backend.ctx, backend.auth, backend.ops, book)


def independent_schedule(principal: int, effective: str, months: int, method: str) -> list[tuple[int, int]]:
    """(cuota, interest) per month, computed here from the definitions, not with backend.core.amortization."""
    monthly = (Decimal(1) + Decimal(effective) / 100) ** (Decimal(1) / 12) - 1
    half = Decimal(1)
    rows, balance = [], principal
    if method == "frances":
        cuota = int((principal * monthly / (1 - (1 + monthly) ** -months)).quantize(half, ROUND_HALF_UP))
    for n in range(months):
        interest = int((balance * monthly).quantize(half, ROUND_HALF_UP))
        if method == "frances":
            capital = balance if n == months - 1 else cuota - interest
        else:
            capital = principal // months + (1 if n < principal % months else 0)
        balance -= capital
        rows.append((capital + interest, interest))
    return rows


def request(backend, who, **over):
    base = {"product": "consumo", "amount": 1_000_00, "term": 12, "method": "frances", "income": 1_500_00,
            "purpose": "Arreglo del techo de la casa", "account_id": who.accounts[0]}
    return ProductRequest(**{**base, **over})


def authorise(backend, who, pending):
    backend.ops.request_code(who.token, pending.id)
    return backend.ops.authorise(who.token, pending.id, last_code(backend))


def rows_of(backend):
    """The requests made in the test (the demo member's own two are left out)."""
    return backend.db.conn.execute("SELECT * FROM product_requests WHERE idempotency_key NOT LIKE 'demo-%'"
                                   " ORDER BY id").fetchall()


# -- catalogue and simulators ---------------------------------------------------------------------
@pytest.mark.sqlite_only(covered=True)
def test_catalogue_has_the_manuals_products_in_order(backend, lucia):
    products = backend.product_requests.catalogue(lucia.token)
    assert [(p.code, p.name) for p in products] == [
        ("consumo", "Crédito de consumo"), ("microcredito", "Microcrédito"), ("inmobiliario", "Crédito inmobiliario"),
        ("plazo_fijo", "Inversión a plazo fijo (certificado de depósito)"), ("tarjeta", "Tarjeta de crédito"),
        ("ahorros", "Cuenta de ahorros adicional")]
    assert simulators.product_name("microcredito") == "Microcrédito"


@pytest.mark.sqlite_only(covered=True)
def test_the_issues_example_french_at_16_77_over_12_months(backend, lucia):
    service = service_with(backend, book_at("16.77"))
    sim = service.simulate_loan(lucia.token, "consumo", 1_000_00, 12, "frances")
    assert sim.cuota == 90_54 and sim.total_interest == 86_51
    assert [(r.cuota, r.interest) for r in sim.schedule.rows] == independent_schedule(1_000_00, "16.77", 12, "frances")
    assert sum(r.cuota for r in sim.schedule.rows) == 1_000_00 + 86_51 == sim.total_paid
    assert sim.schedule.rows[-1].balance == 0 and sim.rate_bp == 1677


@pytest.mark.sqlite_only(covered=True)
def test_german_matches_an_independent_computation(backend, lucia):
    service = service_with(backend, book_at("16.77"))
    sim = service.simulate_loan(lucia.token, "consumo", 1_000_00, 12, "aleman")
    expected = independent_schedule(1_000_00, "16.77", 12, "aleman")
    assert [(r.cuota, r.interest) for r in sim.schedule.rows] == expected
    assert sim.cuota == 96_34 and sim.max_cuota == 96_34  # capital 83.34 + interest 13.00
    assert sum(r.capital for r in sim.schedule.rows) == 1_000_00
    assert sim.total_interest < 86_51  # capital fijo pays less interest than cuota fija


@pytest.mark.sqlite_only(covered=True)
def test_the_co_ops_own_rate_is_used_and_a_rate_above_todays_cap_is_refused(backend, lucia):
    sim = backend.product_requests.simulate_loan(lucia.token, "consumo", 1_000_00, 12, "frances")
    assert sim.effective == Decimal("0.156") and sim.cap.max_effective == Decimal("0.1677")
    over = service_with(backend, book_at("17.50"))
    with pytest.raises(RateAboveCap, match="supera la tasa máxima legal del segmento Consumo"):
        over.simulate_loan(lucia.token, "consumo", 1_000_00, 12, "frances")
    micro = backend.product_requests.simulate_loan(lucia.token, "microcredito", 2_000_00, 24, "aleman")
    assert micro.effective <= micro.cap.max_effective and micro.cap.segment.startswith("microcredito")
    with pytest.raises(RateAboveCap, match="Inmobiliario"):  # the co-op's 10.75% is above the published 10.40%
        backend.product_requests.simulate_loan(lucia.token, "inmobiliario", 50_000_00, 240, "frances")


@pytest.mark.sqlite_only  # input refused before any SQL (see the marker in pyproject.toml)
@pytest.mark.parametrize("kwargs, field", [
    (dict(product="consumo", amount=100_00, term=12, method="frances"), "monto"),
    (dict(product="consumo", amount=1_000_00, term=61, method="frances"), "plazo"),
    (dict(product="consumo", amount=1_000_00, term=12, method="americano"), "metodo"),
    (dict(product="tarjeta", amount=1_000_00, term=12, method="frances"), "producto"),
    (dict(product="hipoteca", amount=1_000_00, term=12, method="frances"), "producto"),
    (dict(product="consumo", amount=True, term=12, method="frances"), "monto"),
])
def test_simulator_input_is_checked(backend, lucia, kwargs, field):
    with pytest.raises(ValidationError) as err:
        backend.product_requests.simulate_loan(lucia.token, kwargs["product"], kwargs["amount"], kwargs["term"],
                                               kwargs["method"])
    assert err.value.field == field


@pytest.mark.sqlite_only  # arithmetic on the catalogue, no SQL of its own (the limits test below keeps both engines)
@pytest.mark.parametrize("days, band, rate", [
    (30, "30–60 días", "5.00"), (60, "30–60 días", "5.00"), (61, "61–90 días", "5.50"), (90, "61–90 días", "5.50"),
    (91, "91–120 días", "6.00"), (120, "91–120 días", "6.00"), (121, "121–180 días", "6.50"),
    (180, "121–180 días", "6.50"), (181, "181–360 días", "7.25"), (360, "181–360 días", "7.25"),
    (361, "361 días o más", "8.00"), (720, "361 días o más", "8.00")])
def test_plazo_fijo_by_day_bands(backend, lucia, days, band, rate):
    amount = 12_345_67
    sim = backend.product_requests.simulate_deposit(lucia.token, amount, days)
    exact = Fraction(amount) * Fraction(rate) / 100 * days / 360
    assert sim.band == band and sim.interest == int(exact + Fraction(1, 2))  # half-up, exact
    assert sim.at_maturity == amount + sim.interest
    # it matures on the first business day from its last day: 30 days is Christmas 2026, paid on Monday 28/12
    assert sim.maturity == shipped().roll(TODAY + timedelta(days=days))
    assert sim.maturity.weekday() < 5 and 0 <= (sim.maturity - TODAY).days - days <= 3
    assert days != 30 or sim.maturity == date(2026, 12, 28)
    assert "COSEDE" in sim.insurance_note and "excedente" not in sim.insurance_note


@pytest.mark.sqlite_only(covered=True)
def test_plazo_fijo_limits_and_the_insurance_ceiling(make_backend, lucia):
    backend = make_backend(deposit_insurance_ceiling=1_000_00)
    sim = backend.product_requests.simulate_deposit(lucia.token, 5_000_00, 90)
    assert "$1,000.00" in sim.insurance_note and "excedente" in sim.insurance_note
    for days in (29, 1081):
        with pytest.raises(ValidationError) as err:
            backend.product_requests.simulate_deposit(lucia.token, 5_000_00, days)
        assert err.value.field == "plazo"


@settings(max_examples=60, deadline=None)
@given(amount=st.integers(300_00, 30_000_00), months=st.integers(3, 60), method=st.sampled_from(["frances", "aleman"]))
def test_every_schedule_adds_up_to_the_cent(amount, months, method):
    sim = simulators.simulate_loan(default_book(), "consumo", amount, months, method, TODAY)
    rows = sim.schedule.rows
    assert sum(r.capital for r in rows) == amount and rows[-1].balance == 0
    assert sum(r.cuota for r in rows) == amount + sim.total_interest
    assert all(r.capital >= 0 and r.interest >= 0 for r in rows)
    assert len(rows) == months


def test_the_demo_member_follows_two_requests_none_waiting_in_the_queue(backend, lucia):
    mine = backend.product_requests.my_requests(lucia.token)
    assert [(m.product, m.state) for m in mine] == [("tarjeta", "Rechazada"), ("consumo", "Aprobada")]
    assert "capacidad de pago" in mine[0].reason
    loan = backend.db.conn.execute("SELECT r.amount, l.principal, r.product_account_id, l.account_id FROM product_requests r"
                                   " JOIN loans l ON l.account_id = r.product_account_id WHERE r.state = 'Aprobada'"
                                   " AND r.user_id = (SELECT id FROM users WHERE username = 'demo')").fetchone()
    assert loan is not None and loan[0] == loan[1] == mine[1].amount


# -- the request ----------------------------------------------------------------------------------
def test_a_request_is_received_with_a_number_and_moves_no_money(backend, lucia):
    account = lucia.accounts[0]
    before = balance_of(backend, account)
    forged = {**asdict(request(backend, lucia)), "rate_bp": 1, "installment": 1, "state": "Aprobada"}
    with pytest.raises(ValidationError, match="La solicitud no es válida"):
        backend.ops.prepare(lucia.token, "solicitud_producto", forged)  # figures a client sends are refused
    assert backend.db.conn.execute("SELECT COUNT(*) FROM operations").fetchone()[0] == 0
    pending = backend.product_requests.prepare_request(lucia.token, request(backend, lucia))
    lines = dict(pending.lines)
    assert lines["Cuota"] == "$90.06" and lines["Tasa efectiva"].startswith("15.60%")
    receipt = authorise(backend, lucia, pending)
    [row] = rows_of(backend)
    assert (row["state"], row["rate_bp"], row["installment"], row["amount"], row["method"]) == \
        ("Recibida", 1560, 90_06, 1_000_00, "frances")
    assert receipt.reference == f"S-2026-{row['id']:06d}" and receipt.text.count(receipt.reference) == 1
    assert receipt.get("Número de solicitud") is None  # the number is the receipt's «Referencia», once
    assert parse_request_number(receipt.reference) == row["id"]
    assert balance_of(backend, account) == before and backend.check() == []
    mine = backend.product_requests.my_requests(lucia.token)
    assert [(m.number, m.product_name, m.amount, m.state) for m in mine][0] == \
        (receipt.reference, "Crédito de consumo", 1_000_00, "Recibida")
    audit = backend.audit_log(last=5)
    assert any(a.action == "solicitud.crear" and receipt.reference in a.details for a in audit)
    assert not any("techo" in a.details for a in audit)
    assert receipt.reference in backend.outbox(last=1)[-1].body
    # the same confirmation again: the same receipt, still one request
    assert backend.ops.authorise(lucia.token, pending.id, "000000").reference == receipt.reference
    assert len(rows_of(backend)) == 1


@pytest.mark.sqlite_only(covered=True)
def test_a_second_open_request_of_the_same_product_is_refused_before_any_code(backend, lucia):
    first = authorise(backend, lucia, backend.product_requests.prepare_request(lucia.token, request(backend, lucia)))
    sent = len(backend.outbox())
    with pytest.raises(ValidationError, match="en trámite") as err:
        backend.product_requests.prepare_request(lucia.token, request(backend, lucia, amount=2_000_00))
    assert err.value.field == "producto" and first.reference in err.value.message
    assert len(backend.outbox()) == sent and len(rows_of(backend)) == 1  # no code was sent
    # another product is still welcome
    backend.product_requests.prepare_request(lucia.token, request(backend, lucia, product="microcredito"))


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_two_open_requests_prepared_before_either_is_confirmed_store_one(backend, lucia):
    """Both got their code while nothing was in trámite; confirming the second after the first is refused."""
    first = backend.product_requests.prepare_request(lucia.token, request(backend, lucia))
    second = backend.product_requests.prepare_request(lucia.token, request(backend, lucia, amount=2_000_00))
    backend.ops.request_code(lucia.token, first.id)
    first_code = last_code(backend)
    backend.ops.request_code(lucia.token, second.id)
    second_code = last_code(backend)
    backend.ops.authorise(lucia.token, first.id, first_code)
    with pytest.raises(ValidationError, match="en trámite"):
        backend.ops.authorise(lucia.token, second.id, second_code)
    assert len(rows_of(backend)) == 1


@pytest.mark.sqlite_only(covered=True)
def test_a_loan_above_the_income_share_is_explained(backend, lucia):
    with pytest.raises(ValidationError) as err:
        backend.product_requests.prepare_request(lucia.token, request(backend, lucia, amount=5_000_00, income=1000_00))
    message = err.value.message
    assert err.value.code == "income_share"
    assert "30%" in message and "$1,000.00" in message and "La cuota máxima es $137.92" in message  # less her $162.08 loan cuota
    most = simulators.max_amount_for(default_book(), "consumo", 12, "frances", TODAY, 137_92)
    assert f"hasta {simulators.format_money(most)}" in message
    assert simulators.simulate_loan(default_book(), "consumo", most, 12, "frances", TODAY).max_cuota <= 137_92
    assert simulators.simulate_loan(default_book(), "consumo", most + 1, 12, "frances", TODAY).max_cuota > 137_92
    # what the message offers is accepted
    authorise(backend, lucia, backend.product_requests.prepare_request(
        lucia.token, request(backend, lucia, amount=most, income=1000_00)))
    assert rows_of(backend)[0]["amount"] == most


@pytest.mark.sqlite_only(covered=True)
def test_loans_in_process_count_against_the_income_share(backend, lucia):
    """Her loan's $162.08 and a microcrédito still in process are both owed from the same income."""
    income = 1_000_00  # 30%: $300.00 a month for all her cuotas
    micro = request(backend, lucia, product="microcredito", amount=1_200_00, income=income)
    authorise(backend, lucia, backend.product_requests.prepare_request(lucia.token, micro))
    asked = rows_of(backend)[0]["installment"]
    alone = request(backend, lucia, amount=1_000_00, income=income)  # about $90 a month: fits by itself
    with pytest.raises(ValidationError) as err:
        backend.product_requests.prepare_request(lucia.token, alone)
    left = 300_00 - 162_08 - asked
    assert err.value.code == "income_share" and f"La cuota máxima es {simulators.format_money(left)}" in err.value.message


@pytest.mark.sqlite_only  # input refused before any SQL (see the marker in pyproject.toml)
@pytest.mark.parametrize("purpose", HOSTILE)
def test_hostile_purpose_is_refused_and_nothing_is_stored(backend, lucia, purpose):
    with pytest.raises(ValidationError) as err:
        backend.product_requests.prepare_request(lucia.token, request(backend, lucia, purpose=purpose))
    assert err.value.field == "destino" and rows_of(backend) == []


@pytest.mark.sqlite_only(covered=True)
def test_a_member_cannot_use_anothers_account_or_see_anothers_request(backend, lucia, ana):
    with pytest.raises(NotFound):
        backend.product_requests.prepare_request(lucia.token, request(backend, lucia, account_id=ana.accounts[0]))
    receipt = authorise(backend, lucia, backend.product_requests.prepare_request(lucia.token, request(backend, lucia)))
    assert backend.product_requests.my_requests(ana.token) == []
    with pytest.raises(NotFound):
        backend.product_requests.get(ana.token, receipt.result_id)
    with pytest.raises(NotFound):
        backend.ops.receipt(ana.token, "solicitud_producto", receipt.result_id)


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_the_code_is_bound_to_the_details(backend, lucia):
    first = backend.product_requests.prepare_request(lucia.token, request(backend, lucia))
    backend.ops.request_code(lucia.token, first.id)
    code = last_code(backend)
    # the stored request is altered after the code was sent: the code is void, nothing is booked
    with backend.db.write() as conn:
        row = conn.execute("SELECT request FROM operations WHERE id = ?", (first.id,)).fetchone()
        changed = {**json.loads(row[0]), "amount": 2_000_00}
        conn.execute("UPDATE operations SET request = ? WHERE id = ?", (json.dumps(changed), first.id))
    with pytest.raises(OtpError):
        backend.ops.authorise(lucia.token, first.id, code)
    # a rate change between the code and the confirmation voids it too
    second = backend.product_requests.prepare_request(lucia.token, request(backend, lucia))
    backend.ops.request_code(lucia.token, second.id)
    code = last_code(backend)
    backend.product_requests.book = book_at("16.00")
    with pytest.raises(OtpError):
        backend.ops.authorise(lucia.token, second.id, code)
    assert rows_of(backend) == []


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_plazo_fijo_tarjeta_and_ahorros_requests(backend, lucia):
    account = lucia.accounts[0]
    available = balance_of(backend, account)
    with pytest.raises(ValidationError, match="no alcanza"):
        backend.product_requests.prepare_request(lucia.token, request(
            backend, lucia, product="plazo_fijo", amount=available + 100_00, term=90, method=""))
    pending = backend.product_requests.prepare_request(lucia.token, request(
        backend, lucia, product="plazo_fijo", amount=100_00, term=90, method="frances", income=0))
    assert dict(pending.lines)["Al vencimiento"] == "$101.38"  # 100 × 5.50% × 90/360 = 1.375 → 1.38
    authorise(backend, lucia, pending)
    with pytest.raises(ValidationError) as err:
        backend.product_requests.prepare_request(lucia.token, request(backend, lucia, product="tarjeta", income=0))
    assert err.value.field == "ingreso"
    authorise(backend, lucia, backend.product_requests.prepare_request(lucia.token, request(  # beside her $3,000 card
        backend, lucia, product="tarjeta", amount=2_000_00, term=7, method="aleman", income=2_000_00)))
    authorise(backend, lucia, backend.product_requests.prepare_request(lucia.token, request(
        backend, lucia, product="ahorros", amount=5_000_00, income=0, purpose="Ahorro para vacaciones")))
    got = [(r["product"], r["amount"], r["term"], r["method"], r["rate_bp"], r["installment"])
           for r in rows_of(backend)]
    assert got == [("plazo_fijo", 100_00, 90, "", 550, 0), ("tarjeta", 2_000_00, 0, "", 1677, 0),
                   ("ahorros", 0, 0, "", 0, 0)]
    assert balance_of(backend, account) == available and backend.check() == []


def test_two_processes_asking_at_once_store_one_open_request(backend, db_path, tmp_path):
    """Each process books its own confirmation of a consumo request at the same moment: one is stored."""
    from backend.service import Backend
    from tests.conftest import fast_settings
    from tests.core.test_races import processes, run_workers

    account = demo_member_account(backend)
    backend.close()
    outs = run_workers(tmp_path, """
        from backend.core.errors import ServiceError
        token = backend.auth.login("demo", "Demo-2026!").token
        who = backend.auth.principal(token)
        service = backend.product_requests
        handler = backend.ops._handlers["solicitud_producto"]
        request = {"product": "consumo", "amount": 1_000_00, "term": 12, "method": "frances", "income": 1_500_00,
                   "purpose": "Al mismo tiempo", "account_id": int(sys.argv[2])}
        sys.stdin.readline()
        try:
            with backend.db.write() as conn:
                prepared = handler.prepare(conn, who, request)
                print("ok", handler.execute(conn, who, prepared.plan, sys.argv[3]))
        except ServiceError as exc:
            print("refused", exc.code)
    """, [[str(db_path), str(account), f"clave-{n}"] for n in range(processes(db_path))])
    assert sorted(o.split()[0] for o in outs).count("ok") == 1
    assert all(o.split()[1] == "request_open" for o in outs if o.startswith("refused"))
    check = Backend(db_path, fast_settings())
    assert len(rows_of(check)) == 1 and check.check() == []
    check.close()


@pytest.mark.sqlite_only  # SQLite's query planner and trace hook
def test_storing_a_request_uses_indexes_only(backend, lucia):
    import sqlite3

    backend.product_requests  # noqa: B018 - builds the section, which registers its handler
    handler = backend.ops._handlers["solicitud_producto"]
    who = backend.auth.principal(lucia.token)
    conn = backend.db.conn
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        with backend.db.write() as c:
            prepared = handler.prepare(c, who, asdict(request(backend, lucia)))
            handler.execute(c, who, prepared.plan, "clave-indices")
    finally:
        conn.set_trace_callback(None)
    scans = {}
    for sql in statements:
        if sql.split()[0].upper() in ("SELECT", "UPDATE", "DELETE"):
            try:
                plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]
            except sqlite3.Error:
                continue
            if any(step.startswith("SCAN") and "CONSTANT" not in step for step in plan):
                scans[sql] = plan
    assert scans == {}


@pytest.mark.sqlite_only(covered=True)
def test_the_receipt_verifies_and_names_the_request(backend, lucia):
    from backend.security import receipts

    receipt = authorise(backend, lucia, backend.product_requests.prepare_request(lucia.token, request(backend, lucia)))
    assert receipts.verify(backend.ctx.secret("receipt_secret"), receipt.text)
    assert receipt.get("Producto") == "Crédito de consumo" and receipt.get("Cuota") == "$90.06"
    assert receipt.get("Tasa efectiva") == "15.60%" and receipt.get("Estado") == "Recibida"
    assert not receipts.verify(backend.ctx.secret("receipt_secret"), receipt.text.replace("$90.06", "$9.06"))


def demo_member_account(backend) -> int:
    from tests.transfer_helpers import demo_member

    return demo_member(backend).accounts[0]


@pytest.mark.sqlite_only(covered=True)
def test_a_card_limit_above_the_income_multiple_is_explained(backend, ana):
    """Ana has no card yet: the whole multiple is hers to ask for."""
    with pytest.raises(ValidationError) as err:
        backend.product_requests.prepare_request(ana.token, request(
            backend, ana, product="tarjeta", amount=10_000_00, income=1))
    assert err.value.code == "income_multiple" and err.value.field == "monto"
    assert "3 veces" in err.value.message and "$0.03" in err.value.message
    assert "cupo mínimo de la tarjeta ($300.00)" in err.value.message
    with pytest.raises(ValidationError, match=r"El cupo máximo es \$1,500.00: solicita un cupo de hasta"):
        backend.product_requests.prepare_request(ana.token, request(
            backend, ana, product="tarjeta", amount=1_500_01, income=500_00))
    pending = backend.product_requests.prepare_request(ana.token, request(
        backend, ana, product="tarjeta", amount=1_500_00, income=500_00))
    receipt = authorise(backend, ana, pending)
    confirmed = dict(pending.lines)
    assert confirmed["Tasa efectiva"] == receipt.get("Tasa efectiva") == "16.77%"
    assert confirmed["Cupo solicitado"] == receipt.get("Cupo solicitado") == "$1,500.00"


@pytest.mark.sqlite_only(covered=True)
def test_the_card_income_multiple_is_a_checked_setting(make_backend, lucia):
    from backend.core.settings import Settings, SettingsError

    assert Settings().card_limit_income_multiple == 3
    for bad in (0, 25, -1):
        with pytest.raises(SettingsError):
            Settings(card_limit_income_multiple=bad)
    backend = make_backend(card_limit_income_multiple=6)
    backend.product_requests.prepare_request(lucia.token, request(  # 6 × $1,000 less her $3,000 card
        backend, lucia, product="tarjeta", amount=3_000_00, income=1_000_00))


@pytest.mark.sqlite_only(covered=True)
def test_the_income_message_names_the_largest_cuota_as_such(backend, lucia):
    sim = simulators.simulate_loan(default_book(), "consumo", 5_000_00, 12, "frances", TODAY)
    assert sim.max_cuota != sim.cuota  # the last French cuota absorbs the cents
    with pytest.raises(ValidationError) as err:
        backend.product_requests.prepare_request(lucia.token, request(backend, lucia, amount=5_000_00, income=1000_00))
    assert f"La cuota más alta (la última) de {simulators.format_money(sim.max_cuota)}" in err.value.message
    assert "descontadas tus cuotas vigentes y solicitadas de $162.08" in err.value.message
    german = simulators.simulate_loan(default_book(), "consumo", 5_000_00, 12, "aleman", TODAY)
    with pytest.raises(ValidationError) as err:
        backend.product_requests.prepare_request(lucia.token, request(
            backend, lucia, amount=5_000_00, income=1000_00, method="aleman"))
    assert f"La primera cuota (la más alta) de {simulators.format_money(german.max_cuota)}" in err.value.message


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_a_german_request_names_its_first_and_last_cuota(backend, lucia):
    pending = backend.product_requests.prepare_request(lucia.token, request(backend, lucia, method="aleman"))
    sim = simulators.simulate_loan(default_book(), "consumo", 1_000_00, 12, "aleman", TODAY)
    lines = dict(pending.lines)
    assert "Cuota" not in lines
    assert lines["Primera cuota"] == simulators.format_money(sim.schedule.rows[0].cuota)
    assert lines["Última cuota"] == simulators.format_money(sim.schedule.rows[-1].cuota)
    receipt = authorise(backend, lucia, pending)
    assert receipt.get("Primera cuota") == lines["Primera cuota"] and receipt.get("Cuota") is None


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_the_plazo_fijo_receipt_carries_what_was_confirmed(backend, lucia):
    from backend.security import receipts

    pending = backend.product_requests.prepare_request(lucia.token, request(
        backend, lucia, product="plazo_fijo", amount=1_000_00, term=200, method="", income=0))
    confirmed = dict(pending.lines)
    assert "Ingreso mensual" not in confirmed  # not asked of a plazo fijo: no «$0.00»
    assert confirmed["Tasa nominal"] == "7.25%" and confirmed["Interés"] == "$40.28"  # 1000 × 7.25% × 200/360
    assert confirmed["Al vencimiento"] == "$1,040.28"
    assert confirmed["Vencimiento"] == "14/06/2027 si se abre el 25/11/2026"  # day 200 is Sunday 13/06: Monday
    receipt = authorise(backend, lucia, pending)
    for label in ("Producto", "Monto", "Plazo", "Tasa nominal", "Interés", "Al vencimiento", "Vencimiento",
                  "Destino", "Cuenta de débito"):
        assert receipt.get(label) == confirmed[label], label
    assert receipt.get("Ingreso mensual") is None and receipt.get("Tasa efectiva") is None
    for line in receipt.text.splitlines()[3:-2]:  # every label fits the receipt's column
        if line:
            assert line[receipts.LABEL_WIDTH] == " " and line[receipts.LABEL_WIDTH - 1] != " " or \
                line[:receipts.LABEL_WIDTH].rstrip().endswith(":"), line



def test_the_members_cards_and_card_requests_count_against_the_income_multiple(backend, clock, lucia):
    """Lucía's card has a $3,000.00 cupo: with $2,000.00 declared (× 3 = $6,000.00) $3,000.00 is left."""
    from backend.products.product_requests import committed_card_limits
    from tests.request_helpers import insert_request
    from tests.staff_helpers import team

    with pytest.raises(ValidationError) as err:
        backend.product_requests.prepare_request(lucia.token, request(
            backend, lucia, product="tarjeta", amount=3_000_01, income=2_000_00))
    assert err.value.code == "income_multiple" and err.value.field == "monto"
    assert "ya suman un cupo de $3,000.00" in err.value.message and "($6,000.00)" in err.value.message
    assert "el cupo máximo que aún puedes solicitar es $3,000.00" in err.value.message
    assert rows_of(backend) == []
    with pytest.raises(ValidationError, match=r"aún te quedan \$199.98, menos que el cupo mínimo"):
        backend.product_requests.prepare_request(lucia.token, request(
            backend, lucia, product="tarjeta", amount=300_00, income=1_066_66))
    # what the message offers is accepted; approved, it becomes a second card that counts in turn
    request_id = authorise(backend, lucia, backend.product_requests.prepare_request(lucia.token, request(
        backend, lucia, product="tarjeta", amount=3_000_00, income=2_000_00))).result_id
    conn = backend.db.conn
    assert committed_card_limits(conn, lucia.member_id) == 6_000_00  # her card and the request in process
    staff = team(backend, clock)
    backend.product_approvals.take(staff["atencion"].token, request_id)
    backend.product_approvals.approve(staff["supervisor"].token, request_id)
    assert committed_card_limits(conn, lucia.member_id) == 6_000_00  # now two cards, no request
    with pytest.raises(ValidationError, match="no queda cupo disponible para otra tarjeta"):
        backend.product_requests.prepare_request(lucia.token, request(
            backend, lucia, product="tarjeta", amount=300_00, income=2_000_00))
    # a rejected request and a closed card no longer count; another member's card never did
    rejected = insert_request(backend, lucia.member_id, product="tarjeta", amount=900_00, term=0)
    assert committed_card_limits(conn, lucia.member_id) == 6_900_00
    backend.product_approvals.reject(staff["atencion"].token, rejected, "Capacidad de pago insuficiente")
    with backend.db.write() as w:
        w.execute("UPDATE accounts SET status = 'cerrada' WHERE id = (SELECT c.account_id FROM cards c"
                  " JOIN accounts a ON a.id = c.account_id WHERE a.member_id = ? ORDER BY c.account_id LIMIT 1)",
                  (lucia.member_id,))
    assert committed_card_limits(conn, lucia.member_id) == 3_000_00
    assert backend.check() == []


@pytest.mark.sqlite_only(covered=True)
def test_the_cosede_cover_is_measured_on_all_the_members_deposits(make_backend, lucia):
    """The cover is per person and institution: savings and plazos fijos add up with the new plazo's interest."""
    from backend.core.money import format_money
    from backend.products.product_requests import member_deposits

    backend = make_backend(deposit_insurance_ceiling=1_000_00)
    held = member_deposits(backend.db.conn, lucia.member_id)
    assert held > 1_000_00  # her savings alone are above this cover
    sim = backend.product_requests.simulate_deposit(lucia.token, 500_00, 90)  # a small plazo, below the cover
    assert sim.member_total == held + sim.interest and sim.uncovered == held + sim.interest - 1_000_00
    assert f"el excedente de {format_money(sim.uncovered)} no está cubierto" in sim.insurance_note
    roomy = make_backend(deposit_insurance_ceiling=held + 10_000_00)
    assert "excedente" not in roomy.product_requests.simulate_deposit(lucia.token, 500_00, 90).insurance_note
