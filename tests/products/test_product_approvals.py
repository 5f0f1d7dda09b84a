"""The back office decides product requests: review, four eyes above the threshold, approval opening the
product with its money in one transaction, rejection leaving nothing, roles, and a clean `check`."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.core.errors import Forbidden, NotFound, ValidationError
from tests.request_helpers import insert_request, new_request, savings_of
from tests.staff_helpers import team
from tests.transfer_helpers import balance_of, other_member


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


def ids(items, member) -> list[int]:
    """The requests of one member (the demo co-op has requests of its own in the queue)."""
    return [r.id for r in items if r.member_id == member.member_id]


def approve(backend, staff, request_id, reviewer="atencion", approver="atencion"):
    backend.product_approvals.take(staff[reviewer].token, request_id)
    return backend.product_approvals.approve(staff[approver].token, request_id)


@pytest.mark.parametrize("product,amount,term,method,label", [
    ("consumo", 1000_00, 12, "frances", "Crédito de consumo"),
    ("microcredito", 1000_00, 12, "aleman", "Microcrédito"),
    ("inmobiliario", 10000_00, 60, "frances", "Crédito inmobiliario")])
def test_an_approved_loan_disburses_with_its_schedule(backend, staff, ana, product, amount, term, method, label,
                                                      tmp_path):
    if product == "inmobiliario":  # the shipped 10.75% offer is above the published 10.40% cap: a test table allows it
        from backend.core import rates

        table = tmp_path / "tasas.csv"
        table.write_text("segment,valid_from,valid_to,max_effective,verified,source\n"
                         "inmobiliario,2026-11-01,,11.00,no,Tabla de prueba\n", encoding="utf-8")
        rates.load_file(backend.ctx, table, "cli")
    request = new_request(backend, ana, product, amount=amount, term=term, method=method)
    asked = [r for r in backend.product_approvals.requests(staff["atencion"].token) if r.member_id == ana.member_id]
    assert [(r.id, r.state, r.product_label) for r in asked] == [(request, "Recibida", label)]
    done = approve(backend, staff, request)
    assert done.state == "Aprobada" and done.decided_by == "atencion1" and done.product_account_number
    assert balance_of(backend, ana.accounts[0]) == 3000_00 + amount
    loan = next(p for p in backend.products.position(ana.token) if p.kind == "prestamo")
    assert loan.label == {"consumo": "Crédito de Consumo", "microcredito": "Microcrédito",
                          "inmobiliario": "Crédito Inmobiliario"}[product]
    assert loan.balance == amount and loan.installments_left == term
    rows = backend.db.conn.execute("SELECT principal, interest FROM loan_installments WHERE loan_id = ?"
                                   " ORDER BY number", (loan.account_id,)).fetchall()
    assert sum(r[0] for r in rows) == amount
    asked_for = backend.product_requests.get(ana.token, request)
    assert rows[0][0] + rows[0][1] == asked_for.installment  # the cuota the member accepted
    assert asked_for.state == "Aprobada"
    if method == "aleman":
        assert {r[0] for r in rows} == {amount // term, amount // term + 1} and rows[0][1] > rows[-1][1]
    assert "aprobada" in backend.outbox(last=1)[-1].body and "******" in backend.outbox(last=1)[-1].body
    assert backend.audit_log(last=1)[-1].action == "solicitud.aprobar"
    assert backend.check() == []


def test_the_issue_figure_french_at_16_77_effective(backend, staff, ana):
    """$1,000 at 16.77% effective over 12 months: cuota $90.54, total interest $86.51, cents add up."""
    done = approve(backend, staff, insert_request(backend, ana.member_id, rate_bp=1677))
    rows = backend.db.conn.execute(
        "SELECT i.principal, i.interest FROM loan_installments i JOIN accounts a ON a.id = i.loan_id"
        " WHERE a.number = ? ORDER BY i.number", (done.product_account_number,)).fetchall()
    assert rows[0][0] + rows[0][1] == 90_54 and sum(r[1] for r in rows) == 86_51
    assert sum(r[0] for r in rows) == 1000_00 and backend.check() == []


def test_a_changed_cuota_is_not_opened(backend, staff, ana):
    request = insert_request(backend, ana.member_id)
    with backend.db.write() as conn:
        conn.execute("UPDATE product_requests SET installment = installment - 1 WHERE id = ?", (request,))
    backend.product_approvals.take(staff["atencion"].token, request)
    before = counts(backend)
    with pytest.raises(ValidationError, match="no es la que el socio aceptó"):
        backend.product_approvals.approve(staff["atencion"].token, request)
    assert counts(backend) == before


@pytest.mark.sqlite_only(covered=True)
def test_a_rate_above_the_cap_in_force_on_approval_day_is_not_opened(backend, staff, ana):
    """Asked for under an older, higher cap (16.77% is today's consumo cap): not paid out at 18%."""
    request = insert_request(backend, ana.member_id, rate_bp=1800)
    backend.product_approvals.take(staff["atencion"].token, request)
    before = counts(backend)
    with pytest.raises(ValidationError, match="simule de nuevo"):
        backend.product_approvals.approve(staff["atencion"].token, request)
    assert counts(backend) == before and backend.check() == []


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_a_plazo_fijo_debits_the_account_and_is_refused_without_funds(backend, staff, ana):
    from backend.core import accounts
    from backend.core.ledger import Leg, post

    request = new_request(backend, ana, "plazo_fijo", amount=2000_00, term=91)
    done = approve(backend, staff, request)
    assert balance_of(backend, ana.accounts[0]) == 1000_00
    deposit = next(p for p in backend.products.position(ana.token) if p.kind == "plazo_fijo")
    assert deposit.balance == 2000_00 and deposit.maturity.isoformat() == "2027-02-24"
    assert done.product_account_number == backend.db.conn.execute(
        "SELECT number FROM accounts WHERE id = ?", (deposit.account_id,)).fetchone()[0]
    second = new_request(backend, ana, "plazo_fijo", amount=900_00, term=180)
    backend.product_approvals.take(staff["atencion"].token, second)
    with backend.db.write() as conn:  # the money leaves the account before the approval
        caja = accounts.internal_account(conn, "caja")
        post(conn, kind="retiro", description="Retiro", posted_at=backend.ctx.now_iso(), actor="test",
             legs=[Leg(ana.accounts[0], -500_00, "Retiro"), Leg(caja, 500_00, "Retiro")])
    before = counts(backend)
    with pytest.raises(ValidationError, match="Fondos insuficientes"):
        backend.product_approvals.approve(staff["atencion"].token, second)
    assert counts(backend) == before and balance_of(backend, ana.accounts[0]) == 500_00
    assert backend.product_approvals.request(staff["atencion"].token, second).state == "En revisión"
    assert backend.audit_log(last=1)[-1].outcome == "rechazada_por_sistema"
    assert backend.check() == []


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_a_card_and_a_savings_account(backend, staff, ana):
    card = approve(backend, staff, new_request(backend, ana, "tarjeta", amount=1500_00, term=0))
    savings = approve(backend, staff, new_request(backend, ana, "ahorros", amount=0, term=0))
    products = backend.products.position(ana.token)
    opened = next(p for p in products if p.kind == "tarjeta")
    assert opened.credit_limit == 1500_00 and opened.masked_pan.startswith("3261 XXXX")
    assert any(opened.masked_pan[-4:] in m.body and "aprobada" in m.body for m in backend.outbox(last=10))
    assert sum(p.kind == "ahorros" for p in products) == 2
    assert card.state == savings.state == "Aprobada"
    assert backend.check() == []


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_four_eyes_above_the_threshold(make_backend, clock):
    backend = make_backend(backoffice_approval_threshold=500_00)
    staff = team(backend, clock)
    ana = other_member(backend, balance=100_00)
    big = new_request(backend, ana, "consumo", amount=5000_00, term=24)
    backend.product_approvals.take(staff["atencion"].token, big)
    assert backend.product_approvals.request(staff["supervisor"].token, big).needs_second_person
    with pytest.raises(Forbidden, match="persona distinta"):  # said before any confirmation, moving nothing
        backend.product_approvals.approval_check(staff["atencion"].token, big)
    assert backend.product_approvals.approval_check(staff["supervisor"].token, big).id == big
    with pytest.raises(Forbidden, match="persona distinta"):
        backend.product_approvals.approve(staff["atencion"].token, big)
    assert backend.product_approvals.request(staff["atencion"].token, big).state == "En revisión"
    assert backend.audit_log(last=1)[-1].outcome == "cuatro_ojos"
    done = backend.product_approvals.approve(staff["supervisor"].token, big)
    assert done.reviewed_by == "atencion1" and done.decided_by == "supervisor1"
    small = new_request(backend, ana, "consumo", amount=500_00, term=6)
    backend.product_approvals.take(staff["atencion"].token, small)
    assert backend.product_approvals.approve(staff["atencion"].token, small).state == "Aprobada"  # at the threshold
    assert backend.check() == []


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_states_twice_approved_after_rejection_and_taken_by_another(backend, staff, ana):
    api, aten, sup = backend.product_approvals, staff["atencion"].token, staff["supervisor"].token
    request = new_request(backend, ana)
    for call in (api.approval_check, api.approve):
        with pytest.raises(ValidationError, match="en revisión"):
            call(aten, request)
    api.take(aten, request)
    api.take(aten, request)  # taking it again is harmless
    with pytest.raises(ValidationError, match="por atencion1"):
        api.take(sup, request)
    api.approve(aten, request)
    before = counts(backend)
    for call in (lambda: api.approve(sup, request), lambda: api.reject(sup, request, "Ya no corresponde"),
                 lambda: api.take(sup, request), lambda: api.approval_check(sup, request)):
        with pytest.raises(ValidationError):
            call()
    assert counts(backend) == before
    rejected = new_request(backend, ana)
    before = counts(backend), balance_of(backend, ana.accounts[0])
    with pytest.raises(ValidationError, match="motivo"):
        api.reject(aten, rejected, "  ")
    done = api.reject(aten, rejected, "Capacidad de pago insuficiente para la cuota")
    assert done.state == "Rechazada" and done.reason == "Capacidad de pago insuficiente para la cuota"
    api.take(aten, new_request(backend, ana))  # (an unrelated request moves nothing either)
    with pytest.raises(ValidationError, match="rechazada"):
        api.approve(sup, rejected)
    assert (counts(backend), balance_of(backend, ana.accounts[0])) == before
    assert any("no fue aprobada" in m.body for m in backend.outbox(last=10))
    assert backend.check() == []


@pytest.mark.sqlite_only  # input refused before any SQL (see the marker in pyproject.toml)
@pytest.mark.parametrize("reason", ["\x1b[31mRECHAZADO\x1b[0m", "Motivo\u202e oculto", "a" * 201])
def test_hostile_reasons_are_refused(backend, staff, ana, reason):
    request = new_request(backend, ana)
    with pytest.raises(ValidationError):
        backend.product_approvals.reject(staff["atencion"].token, request, reason)
    assert backend.product_approvals.request(staff["atencion"].token, request).state == "Recibida"


@pytest.mark.sqlite_only(covered=True)
def test_the_destination_must_be_the_members_own_active_savings(backend, staff, ana, lucia):
    request = insert_request(backend, ana.member_id, account_id=savings_of(backend, lucia.member_id))
    backend.product_approvals.take(staff["atencion"].token, request)
    with pytest.raises(ValidationError, match="ya no está activa"):
        backend.product_approvals.approve(staff["atencion"].token, request)
    assert backend.check() == []


@pytest.mark.sqlite_only(covered=True)
def test_staff_decide_nothing_in_their_own_name(backend, clock, ana):
    from tests.staff_helpers import enrol, sign_in

    twin = sign_in(backend, enrol(backend, "anamaria", "atencion", "Ana María  Prueba Uno"), clock)
    request = new_request(backend, ana)
    for call in (backend.product_approvals.take, backend.product_approvals.approval_check):
        with pytest.raises(Forbidden, match="a tu nombre"):
            call(twin.token, request)
        assert backend.audit_log(last=1)[-1].outcome == "propia_rechazada"


@pytest.mark.sqlite_only(covered=True)
def test_members_cashiers_and_auditors_are_refused(backend, staff, ana):
    request = new_request(backend, ana)
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
    first, second = new_request(backend, ana), new_request(backend, ana, "ahorros", 0, 0)
    api.reject(token, second, "Ya tiene una cuenta adicional")
    assert ids(api.requests(token, "Rechazada"), ana) == [second]
    assert ids(api.requests(token), ana) == [first]
    assert {r.id for r in api.requests(token, "todas")} >= {first, second}
    with pytest.raises(ValidationError):
        api.requests(token, "Aprobada' OR 1=1 --")
    for bad in (10**6, True, "1"):
        with pytest.raises(NotFound):
            api.request(token, bad)


def test_staff_approving_at_once_open_one_product(backend, db_path, tmp_path, clock, staff, ana):
    """Separate processes (as separate branch servers) approve the same request at the same moment."""
    from backend.service import Backend
    from tests.conftest import fast_settings
    from tests.core.test_races import processes, run_workers

    request = new_request(backend, ana, "consumo", amount=2000_00, term=18)
    backend.product_approvals.take(staff["atencion"].token, request)
    tokens = [staff[k].token for k in ("atencion", "supervisor", "supervisor2")]
    backend.close()
    n = processes(db_path)
    outs = run_workers(tmp_path, """
        from datetime import datetime
        from backend.core.clock import FixedClock
        from backend.core.errors import ValidationError
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


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_the_demo_queue_is_workable(backend, staff):
    """The demo co-op's requests: the big one in review by «atencion» goes to a supervisor; the rest open."""
    api = backend.product_approvals
    demo = [r for r in api.requests(staff["supervisor"].token) if r.purpose != "Prueba"]
    assert [(r.product, r.state) for r in demo] == [("consumo", "En revisión"), ("microcredito", "Recibida"),
                                                     ("plazo_fijo", "Recibida")]
    assert demo[0].needs_second_person and demo[0].reviewed_by == "atencion"
    assert api.approve(staff["supervisor"].token, demo[0].id).state == "Aprobada"
    for r in demo[1:]:
        assert approve(backend, staff, r.id).state == "Aprobada"
    assert backend.check() == []


def test_killed_in_the_middle_of_an_approval_opens_nothing(backend, db_path, tmp_path, clock, staff, ana):
    """kill -9 after the loan's money moved but before the request is marked: all or nothing, then it works."""
    import os
    import signal
    import subprocess
    import sys
    import textwrap

    from backend.service import Backend
    from tests.conftest import fast_settings
    from tests.core.test_races import PREAMBLE

    request = new_request(backend, ana, "consumo", amount=1500_00, term=12)
    backend.product_approvals.take(staff["atencion"].token, request)
    before = counts(backend), balance_of(backend, ana.accounts[0])
    backend.close()
    script = tmp_path / "killed.py"
    script.write_text(PREAMBLE + textwrap.dedent("""
        from datetime import datetime
        from backend.core import accounts
        from backend.core.clock import FixedClock
        backend.close()
        backend = Backend(sys.argv[1], settings, FixedClock(datetime.fromisoformat(sys.argv[4])))
        real_open = accounts.open_loan
        def open_then_stall(*args, **kwargs):
            loan = real_open(*args, **kwargs)
            print("posted", flush=True)  # disbursed inside the transaction; the request is not marked yet
            time.sleep(60)
            return loan
        accounts.open_loan = open_then_stall
        backend.product_approvals.approve(sys.argv[3], int(sys.argv[2]))
    """))
    proc = subprocess.Popen([sys.executable, str(script), str(db_path), str(request), staff["atencion"].token,
                             clock.now().isoformat()], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.strip() == "posted", proc.stderr.read()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    again = Backend(db_path, fast_settings(), clock)
    assert (counts(again), balance_of(again, ana.accounts[0])) == before and again.check() == []
    assert again.product_approvals.request(staff["atencion"].token, request).state == "En revisión"
    assert again.product_approvals.approve(staff["atencion"].token, request).state == "Aprobada"
    assert balance_of(again, ana.accounts[0]) == before[1] + 1500_00 and again.check() == []
    again.close()


@settings(max_examples=40, deadline=None)
@given(amount=st.integers(1, 5_000_000_00), months=st.integers(1, 360), rate_bp=st.integers(0, 3000),
       method=st.sampled_from(["frances", "aleman"]))
def test_a_loan_schedule_repays_exactly_its_principal(amount, months, rate_bp, method):
    from datetime import date

    from backend.products.product_opening import loan_schedule

    rows = loan_schedule({"rate_bp": rate_bp, "method": method, "amount": amount, "term": months}, date(2026, 1, 31))
    assert len(rows) == months and sum(capital for _, capital, _ in rows) == amount
    assert all(capital >= 0 and interest >= 0 for _, capital, interest in rows)
    assert [due for due, _, _ in rows] == sorted({due for due, _, _ in rows})  # one due date a month, in order


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_staff_see_the_rate_under_the_members_label(backend, staff, ana):
    request = new_request(backend, ana, "plazo_fijo", amount=1000_00, term=200, income=0)
    receipt = backend.ops.receipt(ana.token, "solicitud_producto", request)
    lines = dict(backend.product_approvals.request(staff["atencion"].token, request).lines())
    assert lines["Tasa nominal"] == receipt.get("Tasa nominal") == "7.25%" and "Tasa efectiva" not in lines
    loan = dict(backend.product_approvals.request(staff["atencion"].token, new_request(backend, ana)).lines())
    assert loan["Tasa efectiva"] == "15.60%" and loan["Cuota"] == "$90.06"
    card = new_request(backend, ana, "tarjeta", amount=1500_00, term=0)
    assert dict(backend.product_approvals.request(staff["atencion"].token, card).lines())["Tasa efectiva"] == \
        backend.ops.receipt(ana.token, "solicitud_producto", card).get("Tasa efectiva")
