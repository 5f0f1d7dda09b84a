"""Pagos Programados meet the limits in force on the day they run, with the manual payment's own checks:
a maximum the co-op lowered, the daily cupo, the debit account, the member, the entity still collected for."""

from dataclasses import replace

import pytest

from backend.bill_payments import billers
from backend.core.errors import ValidationError
from tests.bill_payments.test_services import pay
from tests.services_helpers import add_schedule, loaded, savings_of
from tests.transfer_helpers import balance_of, demo_member

CLARO = "0991234561"


@pytest.fixture
def backend(make_backend):
    return loaded(make_backend(session_idle_seconds=10**7))


def lower_topup_maximum(backend, dollars: str) -> None:
    """The co-op reloads the catalogue with a lower maximum for Claro's top-ups (`billers --load`)."""
    billers.load_text(backend.db, "code,category,name,id_label,rule,hint,amount_mode,commission,max_amount\n"
                      "CLARO-REC,Telefonía móvil,Claro (recarga),Número de celular,movil,"
                      f"el celular tiene 10 dígitos y empieza con 09.,recarga,0,{dollars}\n")


def runs(backend) -> list[tuple]:
    return [tuple(r) for r in backend.db.conn.execute(
        "SELECT period, outcome, reason FROM bill_schedule_runs ORDER BY period")]


def test_a_topup_scheduled_under_a_higher_maximum_is_refused_once_the_coop_lowers_it(backend, clock):
    who = demo_member(backend)
    account = savings_of(backend, who.member_id)[0]
    sid = add_schedule(backend, who, biller="CLARO-REC", identifier=CLARO, day=26, max_amount=60_00)
    lower_topup_maximum(backend, "20.00")
    with pytest.raises(ValidationError) as manual:  # the same $60 by hand is refused
        pay(backend, who, biller="CLARO-REC", identifier=CLARO, bills=[], amount=60_00)
    before = balance_of(backend, account)
    clock.advance(days=1)
    report = backend.scheduled_runner().run_pass()
    assert (report.paid, report.failed) == (0, 1)
    assert balance_of(backend, account) == before
    reason = "El pago supera el máximo por pago para Claro (recarga) ($20.00)"
    assert manual.value.message == reason + "."
    row = backend.db.conn.execute("SELECT state, reason, entry_id, amount FROM bill_payments WHERE schedule_id = ?",
                                  (sid,)).fetchone()
    assert tuple(row) == ("fallido", reason, None, 60_00)
    assert runs(backend) == [("2026-11", "fallido", reason)]
    sms = backend.outbox(last=1)[0].body
    assert "no se realizó: el pago supera el máximo por pago para Claro (recarga) ($20.00)" in sms
    assert "No se harán más intentos este mes" in sms
    next_run = backend.db.conn.execute("SELECT state, period FROM bill_schedules WHERE id = ?", (sid,)).fetchone()
    assert tuple(next_run) == ("activo", "2026-12")  # a refused month; the schedule goes on
    assert backend.check() == []
    lower_topup_maximum(backend, "100.00")  # raised again: December is paid
    clock.advance(days=31)
    assert backend.scheduled_runner().run_pass().paid == 1


def test_a_scheduled_payment_meets_the_daily_cupo_and_uses_it(make_backend, clock):
    backend = loaded(make_backend(session_idle_seconds=10**7, limit_servicios_daily=70_00, scheduled_retries=1))
    who = demo_member(backend)
    add_schedule(backend, who, biller="CLARO-REC", identifier=CLARO, day=26, max_amount=40_00)
    add_schedule(backend, who, biller="CLARO-REC", identifier="0991234563", day=26, max_amount=40_00)
    clock.advance(days=1)  # Thu 26: two schedules of $40 against a $70 cupo
    report = backend.scheduled_runner().run_pass()
    assert (report.paid, report.failed) == (1, 1)
    assert backend.services.quota(who.token).left_today == 30_00  # the paid one used the cupo
    failed = backend.db.conn.execute("SELECT reason FROM bill_payments WHERE state = 'fallido'").fetchone()[0]
    assert failed == "El pago supera tu cupo disponible hoy ($30.00)"
    assert "Lo intentaremos de nuevo el 27/11/2026" in backend.outbox(last=1)[0].body
    with pytest.raises(ValidationError, match=r"cupo disponible hoy \(\$30.00\)"):
        pay(backend, who, biller="CLARO-REC", identifier=CLARO, bills=[], amount=35_00)
    clock.advance(days=1)  # Fri 27: a new day's cupo
    assert backend.scheduled_runner().run_pass().paid == 1
    assert backend.check() == []


def test_a_refunded_scheduled_payment_gives_its_cupo_back(backend, clock):
    who = demo_member(backend)
    add_schedule(backend, who, biller="CLARO-REC", identifier="0991234567", day=26, max_amount=40_00)
    clock.advance(days=1)  # the entity leaves it pending (a number ending in 7), then refuses it for good
    full = backend.services.quota(who.token).left_today
    payment = backend.scheduled_runner().run_pass().payments[0]
    assert backend.services.quota(who.token).left_today == full - 40_00
    from backend.bill_payments.payments import _refund

    _refund(backend.ctx, payment, "La entidad rechazó el pago.")
    assert backend.services.quota(who.token).left_today == full
    assert backend.check() == []


@pytest.mark.parametrize("change, reason", [
    ("UPDATE accounts SET status = 'bloqueada' WHERE id = {account}",
     "La cuenta de débito no es una de tus cuentas de ahorros activas"),
    ("UPDATE accounts SET member_id = (SELECT MAX(id) FROM members) WHERE id = {account}",
     "La cuenta de débito no es una de tus cuentas de ahorros activas"),
    ("UPDATE members SET status = 'inactivo' WHERE id = {member}",
     "Tu registro de socio no está activo. Acércate a una agencia"),
])
def test_the_account_and_the_member_are_checked_on_the_day_it_runs(backend, clock, change, reason):
    from tests.transfer_helpers import other_member

    who = demo_member(backend)
    other_member(backend)
    account = savings_of(backend, who.member_id)[0]
    add_schedule(backend, who, identifier="022345671", day=26)
    with backend.db.write() as conn:
        conn.execute(change.format(account=account, member=who.member_id))
    clock.advance(days=1)
    report = backend.scheduled_runner().run_pass()
    assert (report.paid, report.failed) == (0, 1)
    assert runs(backend) == [("2026-11", "fallido", reason)]
    assert backend.db.conn.execute("SELECT COUNT(*) FROM entries WHERE kind = 'pago_servicio'").fetchone()[0] == 0
    assert "No se harán más intentos este mes" in backend.outbox(last=1)[0].body


def test_an_entity_no_longer_collected_for_is_not_asked_and_the_member_is_told(backend, clock):
    who = demo_member(backend)
    sid = add_schedule(backend, who, identifier="022345671", day=26)
    with backend.db.write() as conn:
        conn.execute("UPDATE billers SET active = 0 WHERE code = 'CNT-FIJO'")
    clock.advance(days=1)
    report = backend.scheduled_runner().run_pass()
    assert (report.paid, report.failed, report.deferred) == (0, 1, 0)  # not an error retried every pass
    name = backend.db.conn.execute("SELECT name FROM billers WHERE code = 'CNT-FIJO'").fetchone()[0]
    assert runs(backend) == [("2026-11", "fallido", f"La entidad {name} ya no recibe pagos por Cooprogreso")]
    assert f"no se realizó: la entidad {name} ya no recibe pagos por Cooprogreso." in backend.outbox(last=1)[0].body
    audit = backend.db.conn.execute("SELECT outcome FROM audit_log WHERE action = 'servicio.programado.periodo'")
    assert [r[0] for r in audit] == ["fallido"]
    assert backend.db.conn.execute("SELECT next_run FROM bill_schedules WHERE id = ?", (sid,)).fetchone()[0]


def test_the_migration_counts_earlier_scheduled_payments_in_their_days_cupo(backend, clock):
    from backend.core.db import statements
    from backend.core.schema import MIGRATIONS

    who = demo_member(backend)
    add_schedule(backend, who, biller="CLARO-REC", identifier=CLARO, day=26, max_amount=40_00)
    clock.advance(days=1)
    assert backend.scheduled_runner().run_pass().paid == 1
    with backend.db.write() as conn:  # as a database from before scheduled payments used the cupo has it
        conn.execute("DELETE FROM bill_usage")
    assert any("nada usado ≠ $40.00 pagado" in line for line in backend.check())
    with backend.db.write() as conn:
        for statement in statements(next(sql for sql in MIGRATIONS if "origin = 'automatico'" in sql)):
            conn.execute(statement)
    assert backend.check() == []
    assert backend.services.quota(who.token).used_today == 40_00


@pytest.mark.parametrize("limit", [0, -1, 601, True, "6"])
@pytest.mark.sqlite_only(covered=True)
def test_a_number_of_payments_out_of_range_is_refused_never_read_as_no_limit(backend, clock, limit):
    """«0» payments is not «no limit»: only an absent number (None) is; anything else is 1–600 or refused."""
    from backend.bill_payments.requests import ServiceScheduleRequest

    loaded(backend)
    who = demo_member(backend)
    request = ServiceScheduleRequest(account_id=savings_of(backend, who.member_id)[0], biller="CLARO",
                                     identifier="0991234561", day=10, max_amount=45_00,
                                     start_date=clock.now().date().isoformat(), payments_limit=limit)
    before = backend.db.conn.execute("SELECT COUNT(*) FROM operations").fetchone()[0]
    with pytest.raises(ValidationError, match="El número de pagos va de 1 a 600") as refused:
        backend.scheduled.prepare_schedule(who.token, request)
    assert refused.value.field == "payments_limit"
    assert backend.db.conn.execute("SELECT COUNT(*) FROM operations").fetchone()[0] == before
    unlimited = backend.scheduled.prepare_schedule(who.token, replace(request, payments_limit=None))
    assert unlimited.id
