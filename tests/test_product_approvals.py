"""The back office decides product requests: review, four eyes above the threshold, approval opening the
product with its money in one transaction, rejection leaving nothing, roles, and a clean `check`."""

from __future__ import annotations

import pytest

from backend.errors import Forbidden, NotFound, ValidationError

from .request_helpers import new_request, savings_of
from .staff_helpers import team
from .transfer_helpers import balance_of, other_member


@pytest.fixture
def staff(backend, clock):
    return team(backend, clock)


@pytest.fixture
def ana(backend):
    return other_member(backend, balance=3000_00)


def counts(backend) -> tuple[int, int, int]:
    conn = backend.db.conn
    return tuple(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]  # type: ignore[return-value]
                 for t in ("accounts", "entries", "loan_installments"))


def approve(backend, staff, request_id, reviewer="atencion", approver="atencion"):
    backend.product_approvals.take(staff[reviewer].token, request_id)
    return backend.product_approvals.approve(staff[approver].token, request_id)


@pytest.mark.parametrize("product,method,label", [("consumo", "frances", "Crédito de Consumo"),
                                                  ("microcredito", "aleman", "Microcrédito"),
                                                  ("inmobiliario", "frances", "Crédito Inmobiliario")])
def test_an_approved_loan_disburses_with_its_schedule(backend, staff, ana, product, method, label):
    request = new_request(backend, ana.member_id, product, amount=1000_00, term=12, method=method)
    assert [r.id for r in backend.product_approvals.requests(staff["atencion"].token)] == [request]
    done = approve(backend, staff, request)
    assert done.state == "Aprobada" and done.decided_by == "atencion1" and done.product_account_number
    assert balance_of(backend, ana.accounts[0]) == 4000_00
    loan = next(p for p in backend.products.position(ana.token) if p.kind == "prestamo")
    assert loan.label == label and loan.balance == 1000_00 and loan.installments_left == 12
    rows = backend.db.conn.execute("SELECT principal, interest FROM loan_installments WHERE loan_id = ?"
                                   " ORDER BY number", (loan.account_id,)).fetchall()
    assert sum(r[0] for r in rows) == 1000_00
    if method == "frances":  # the figure: $1,000 at 16.77% effective over 12 months
        assert rows[0][0] + rows[0][1] == 90_54 and sum(r[1] for r in rows) == 86_51
    else:
        assert {r[0] for r in rows} == {83_33, 83_34} and rows[0][1] > rows[-1][1]
    assert "aprobada" in backend.outbox(last=1)[-1].body and "******" in backend.outbox(last=1)[-1].body
    assert backend.audit_log(last=1)[-1].action == "solicitud.aprobar"
    assert backend.check() == []


def test_a_plazo_fijo_debits_the_account_and_is_refused_without_funds(backend, staff, ana):
    request = new_request(backend, ana.member_id, "plazo_fijo", amount=2000_00, term=91, rate_bp=650)
    done = approve(backend, staff, request)
    assert balance_of(backend, ana.accounts[0]) == 1000_00
    deposit = next(p for p in backend.products.position(ana.token) if p.kind == "plazo_fijo")
    assert deposit.balance == 2000_00 and deposit.maturity.isoformat() == "2027-02-24"
    assert done.product_account_number == backend.db.conn.execute(
        "SELECT number FROM accounts WHERE id = ?", (deposit.account_id,)).fetchone()[0]
    second = new_request(backend, ana.member_id, "plazo_fijo", amount=1500_00, term=180, rate_bp=700)
    backend.product_approvals.take(staff["atencion"].token, second)
    before = counts(backend)
    with pytest.raises(ValidationError, match="Fondos insuficientes"):
        backend.product_approvals.approve(staff["atencion"].token, second)
    assert counts(backend) == before and balance_of(backend, ana.accounts[0]) == 1000_00
    assert backend.product_approvals.request(staff["atencion"].token, second).state == "En revisión"
    assert backend.check() == []


def test_a_card_and_a_savings_account(backend, staff, ana):
    card = approve(backend, staff, new_request(backend, ana.member_id, "tarjeta", amount=1500_00, term=0))
    savings = approve(backend, staff, new_request(backend, ana.member_id, "ahorros", amount=0, term=0))
    products = backend.products.position(ana.token)
    opened = next(p for p in products if p.kind == "tarjeta")
    assert opened.credit_limit == 1500_00 and opened.masked_pan.startswith("3261 XXXX")
    assert any(opened.masked_pan[-4:] in m.body and "Tarjeta" in m.body for m in backend.outbox(last=4))
    assert sum(p.kind == "ahorros" for p in products) == 2
    assert card.state == savings.state == "Aprobada"
    assert backend.check() == []


def test_four_eyes_above_the_threshold(make_backend, clock):
    backend = make_backend(backoffice_approval_threshold=500_00)
    staff = team(backend, clock)
    ana = other_member(backend, balance=100_00)
    big = new_request(backend, ana.member_id, "consumo", amount=5000_00, term=24)
    backend.product_approvals.take(staff["atencion"].token, big)
    assert backend.product_approvals.request(staff["supervisor"].token, big).needs_second_person
    with pytest.raises(Forbidden, match="persona distinta"):
        backend.product_approvals.approve(staff["atencion"].token, big)
    assert backend.product_approvals.request(staff["atencion"].token, big).state == "En revisión"
    assert backend.audit_log(last=1)[-1].outcome == "cuatro_ojos"
    done = backend.product_approvals.approve(staff["supervisor"].token, big)
    assert done.reviewed_by == "atencion1" and done.decided_by == "supervisor1"
    small = new_request(backend, ana.member_id, "consumo", amount=500_00, term=6)
    backend.product_approvals.take(staff["atencion"].token, small)
    assert backend.product_approvals.approve(staff["atencion"].token, small).state == "Aprobada"  # at the threshold
    assert backend.check() == []


def test_states_twice_approved_after_rejection_and_taken_by_another(backend, staff, ana):
    api, aten, sup = backend.product_approvals, staff["atencion"].token, staff["supervisor"].token
    request = new_request(backend, ana.member_id)
    with pytest.raises(ValidationError, match="en revisión"):
        api.approve(aten, request)
    api.take(aten, request)
    api.take(aten, request)  # taking it again is harmless
    with pytest.raises(ValidationError, match="por atencion1"):
        api.take(sup, request)
    api.approve(aten, request)
    before = counts(backend)
    for call in (lambda: api.approve(sup, request), lambda: api.reject(sup, request, "Ya no corresponde"),
                 lambda: api.take(sup, request)):
        with pytest.raises(ValidationError):
            call()
    assert counts(backend) == before
    rejected = new_request(backend, ana.member_id)
    before = counts(backend), balance_of(backend, ana.accounts[0])
    with pytest.raises(ValidationError, match="motivo"):
        api.reject(aten, rejected, "  ")
    done = api.reject(aten, rejected, "Capacidad de pago insuficiente para la cuota")
    assert done.state == "Rechazada" and done.reason == "Capacidad de pago insuficiente para la cuota"
    api.take(aten, new_request(backend, ana.member_id))  # (an unrelated request moves nothing either)
    with pytest.raises(ValidationError, match="rechazada"):
        api.approve(sup, rejected)
    assert (counts(backend), balance_of(backend, ana.accounts[0])) == before
    assert any("no fue aprobada" in m.body for m in backend.outbox(last=3))
    assert backend.check() == []


@pytest.mark.parametrize("reason", ["\x1b[31mRECHAZADO\x1b[0m", "Motivo\u202e oculto", "a" * 201])
def test_hostile_reasons_are_refused(backend, staff, ana, reason):
    request = new_request(backend, ana.member_id)
    with pytest.raises(ValidationError):
        backend.product_approvals.reject(staff["atencion"].token, request, reason)
    assert backend.product_approvals.request(staff["atencion"].token, request).state == "Recibida"


def test_the_destination_must_be_the_members_own_active_savings(backend, staff, ana, lucia):
    request = new_request(backend, ana.member_id, account_id=savings_of(backend, lucia.member_id))
    backend.product_approvals.take(staff["atencion"].token, request)
    with pytest.raises(ValidationError, match="ya no está activa"):
        backend.product_approvals.approve(staff["atencion"].token, request)
    assert backend.check() == []


def test_staff_decide_nothing_in_their_own_name(backend, clock, ana):
    from .staff_helpers import enrol, sign_in

    twin = sign_in(backend, enrol(backend, "anamaria", "atencion", "Ana María  Prueba Uno"), clock)
    request = new_request(backend, ana.member_id)
    with pytest.raises(Forbidden, match="a tu nombre"):
        backend.product_approvals.take(twin.token, request)
    assert backend.audit_log(last=1)[-1].outcome == "propia_rechazada"


def test_members_cashiers_and_auditors_are_refused(backend, staff, ana):
    request = new_request(backend, ana.member_id)
    api = backend.product_approvals
    for token in (ana.token, staff["cajero"].token, staff["auditor"].token, ""):
        for call in (lambda t: api.requests(t), lambda t: api.request(t, request), lambda t: api.take(t, request),
                     lambda t: api.approve(t, request), lambda t: api.reject(t, request, "Motivo de prueba")):
            with pytest.raises(Exception) as err:
                call(token)
            assert not isinstance(err.value, (ValidationError, NotFound))
    assert api.request(staff["atencion"].token, request).state == "Recibida"


def test_filters_and_unknown_requests(backend, staff, ana):
    api, token = backend.product_approvals, staff["atencion"].token
    first, second = new_request(backend, ana.member_id), new_request(backend, ana.member_id, "ahorros", 0, 0)
    api.reject(token, second, "Ya tiene una cuenta adicional")
    assert [r.id for r in api.requests(token, "Rechazada")] == [second]
    assert [r.id for r in api.requests(token)] == [first]
    assert {r.id for r in api.requests(token, "todas")} >= {first, second}
    with pytest.raises(ValidationError):
        api.requests(token, "Aprobada' OR 1=1 --")
    for bad in (10**6, True, "1"):
        with pytest.raises(NotFound):
            api.request(token, bad)


def test_staff_approving_at_once_open_one_product(backend, db_path, tmp_path, clock, staff, ana):
    """Separate processes (as separate branch servers) approve the same request at the same moment."""
    from backend.service import Backend

    from .conftest import fast_settings
    from .test_races import processes, run_workers

    request = new_request(backend, ana.member_id, "consumo", amount=2000_00, term=18)
    backend.product_approvals.take(staff["atencion"].token, request)
    tokens = [staff[k].token for k in ("atencion", "supervisor", "supervisor2")]
    backend.close()
    n = processes(db_path)
    outs = run_workers(tmp_path, """
        from datetime import datetime
        from backend.clock import FixedClock
        from backend.errors import ValidationError
        backend.close()
        backend = Backend(sys.argv[1], settings, FixedClock(datetime.fromisoformat(sys.argv[4])))
        backend.auth.staff(sys.argv[3])  # connected and signed in before the start
        sys.stdin.readline()
        try:
            print("ok", backend.product_approvals.approve(sys.argv[3], int(sys.argv[2])).decided_by)
        except ValidationError as exc:
            print("refused", exc.code)
    """, [[str(db_path), str(request), tokens[i % len(tokens)], clock.now().isoformat()] for i in range(n)])
    results = [o.split()[0] for o in outs]
    assert results.count("ok") == 1 and results.count("refused") == n - 1, outs
    check = Backend(db_path, fast_settings(), clock)
    conn = check.db.conn
    assert conn.execute("SELECT COUNT(*) FROM loans l JOIN accounts a ON a.id = l.account_id WHERE a.member_id = ?",
                        (ana.member_id,)).fetchone()[0] == 1
    assert balance_of(check, ana.accounts[0]) == 5000_00 and check.check() == []
    check.close()
