"""Pagos Programados: the business-day calendar and the runner (once per period, no partial debits,
retries, SMS, races between processes and runners killed mid-pass)."""

import subprocess
import sys
from datetime import date, datetime

import pytest

from backend.bill_payments.scheduled import first_run, resume_point, roll
from backend.bill_payments.scheduled_runner import Runner
from backend.core import accounts
from backend.core.accounts import internal_account
from backend.core.business_days import shipped
from backend.core.ledger import Leg, post
from tests.conftest import NOW
from tests.services_helpers import add_schedule, loaded, paid_periods, savings_of
from tests.transfer_helpers import balance_of, demo_member


@pytest.fixture
def backend(make_backend):
    return loaded(make_backend(session_idle_seconds=10**7))


def test_weekends_and_ecuadorian_holidays_roll_to_the_next_business_day():
    cal = shipped()
    assert roll(date(2026, 12, 25), cal) == date(2026, 12, 28)  # Christmas (Friday) → Monday
    assert roll(date(2026, 11, 28), cal) == date(2026, 11, 30)  # Saturday → Monday
    assert roll(date(2026, 11, 2), cal) == date(2026, 11, 4)  # Difuntos and Independencia de Cuenca
    assert roll(date(2027, 2, 8), cal) == date(2027, 2, 10)  # Carnaval, Monday and Tuesday
    assert roll(date(2026, 1, 1), cal) == date(2026, 1, 5)  # Año Nuevo and the decreed bridge of Friday 2
    assert not cal.is_business_day(date(2026, 8, 10)) and cal.is_business_day(date(2026, 8, 11))
    assert first_run(date(2026, 11, 25), 31, cal) == date(2026, 11, 30)  # clamped to the month's end
    assert first_run(date(2026, 11, 25), 3, cal) == date(2026, 12, 3)  # this month's day already passed


def test_resume_does_not_pay_missed_months_late():
    cal = shipped()
    assert resume_point("2026-08", 10, date(2026, 11, 25), cal) == ("2026-12", date(2026, 12, 10))
    assert resume_point("2026-11", 26, date(2026, 11, 25), cal) == ("2026-11", date(2026, 11, 26))
    assert resume_point("2026-08", None, date(2026, 11, 25), cal) == ("2026-11", date(2026, 11, 25))


def test_a_due_schedule_is_paid_once_into_the_entitys_collection_account(backend, clock):
    who = demo_member(backend)
    sid = add_schedule(backend, who, identifier="022345671", day=26)
    account = savings_of(backend, who.member_id)[0]
    before = balance_of(backend, account)
    runner = backend.scheduled_runner()
    assert runner.run_pass().due == 0  # not before its day
    clock.advance(days=1)
    report = runner.run_pass()
    assert report.paid == 1
    payment = backend.db.conn.execute("SELECT * FROM bill_payments WHERE schedule_id = ?", (sid,)).fetchone()
    assert payment["state"] == "pagado" and payment["origin"] == "automatico"
    assert balance_of(backend, account) == before - payment["amount"]
    collection = backend.db.conn.execute("SELECT account_id FROM billers WHERE code = 'CNT-FIJO'").fetchone()[0]
    assert accounts.balance(backend.db.conn, collection) == payment["amount"]  # its parts summed
    assert "débito automático" in backend.outbox(last=1)[0].body
    assert runner.run_pass().due == 0  # nothing more until next month
    assert backend.check() == []
    row = backend.db.conn.execute("SELECT period, next_run, payments_done FROM bill_schedules WHERE id = ?",
                                  (sid,)).fetchone()
    assert tuple(row) == ("2026-12", "2026-12-28 06:00:00", 1)  # the 26th is a Saturday


def test_short_of_funds_nothing_is_debited_member_told_and_retried_then_given_up(make_backend, clock):
    backend = loaded(make_backend(session_idle_seconds=10**7, scheduled_retries=2))
    who = demo_member(backend)
    account = savings_of(backend, who.member_id)[0]
    with backend.db.write() as conn:  # leave $5.00 in the account: a real withdrawal, so `check` agrees
        spend = conn.execute("SELECT balance - held - 500 FROM accounts WHERE id = ?", (account,)).fetchone()[0]
        post(conn, kind="retiro", description="Retiro", posted_at="2026-11-25 09:00:00", actor="test",
             legs=[Leg(account, -spend, "Retiro"), Leg(internal_account(conn, "caja"), spend, "Retiro")])
    add_schedule(backend, who, identifier="022345671", day=26)
    runner = backend.scheduled_runner()
    clock.advance(days=1)  # Thu 26
    before = balance_of(backend, account)
    assert runner.run_pass().failed == 1
    assert balance_of(backend, account) == before
    failed = backend.db.conn.execute("SELECT state, reason, entry_id FROM bill_payments").fetchall()
    assert [tuple(r) for r in failed] == [("fallido", "Saldo insuficiente", None)]
    assert "no se realizó: saldo insuficiente" in backend.outbox(last=1)[0].body
    assert "27/11/2026" in backend.outbox(last=1)[0].body
    assert runner.run_pass().due == 0  # not again the same day
    clock.advance(days=1)  # Fri 27: second try
    assert runner.run_pass().failed == 1
    clock.advance(days=3)  # Mon 30: third and last try
    assert runner.run_pass().failed == 1
    assert "No se harán más intentos" in backend.outbox(last=1)[0].body
    outcome = backend.db.conn.execute("SELECT outcome FROM bill_schedule_runs").fetchone()[0]
    assert outcome == "fallido" and balance_of(backend, account) == before
    assert backend.check() == []


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_a_bill_above_the_maximum_is_not_paid_and_the_member_is_told(backend, clock):
    who = demo_member(backend)
    add_schedule(backend, who, identifier="022345676", day=26, max_amount=50_00)
    clock.advance(days=1)
    report = backend.scheduled_runner().run_pass()
    assert report.skipped == 1 and report.paid == 0
    assert "supera el monto máximo de $50.00" in backend.outbox(last=1)[0].body
    assert backend.db.conn.execute("SELECT COUNT(*) FROM bill_payments").fetchone()[0] == 0


def test_paused_and_cancelled_schedules_are_not_run(backend, clock):
    who = demo_member(backend)
    sid = add_schedule(backend, who, identifier="022345671", day=26)
    with backend.db.write() as conn:
        conn.execute("UPDATE bill_schedules SET state = 'pausado', next_run = NULL WHERE id = ?", (sid,))
    clock.advance(days=1)
    assert backend.scheduled_runner().run_pass().due == 0


@pytest.mark.sqlite_only  # SQLite's query planner
def test_a_pass_reads_only_due_schedules_through_the_index(backend):
    plan = " ".join(r[-1] for r in backend.db.conn.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM bill_schedules WHERE next_run <= ? AND (claimed_until IS NULL"
        " OR claimed_until <= ?) ORDER BY next_run, id LIMIT 100", ("2026-11-26", "2026-11-26")))
    assert "bill_schedules_next" in plan and "SCAN bill_schedules" not in plan.replace("USING INDEX", "")


@pytest.mark.parametrize("point", ["claimed", "consulted", "booked", "committed"])
def test_a_pass_stopped_anywhere_is_finished_by_a_later_pass_exactly_once(backend, clock, point):
    who = demo_member(backend)
    ids = [add_schedule(backend, who, identifier=f"02234567{n + 3}", day=26) for n in range(3)]
    clock.advance(days=1)

    def die(at):
        if at == point:
            raise KeyboardInterrupt  # as abrupt as it gets in-process; kill -9 has its own test below

    with pytest.raises(KeyboardInterrupt):
        Runner(backend.ctx, backend.bill_gateway, crash=die).run_pass()
    backend.scheduled_runner().run_pass()  # the claims of the dead runner still hold
    clock.advance(seconds=backend.settings.scheduled_lease_seconds + 1)
    backend.scheduled_runner().run_pass()
    clock.advance(seconds=backend.settings.services_retry_seconds + 1)
    backend.scheduled_runner().run_pass()  # a booking left unsent is sent again
    assert paid_periods(backend) == {(sid, "2026-11"): 1 for sid in ids}
    states = {r[0] for r in backend.db.conn.execute("SELECT state FROM bill_payments")}
    assert states == {"pagado"}
    assert backend.check() == []


def _workers(db, when: datetime, count: int, hang: str | None = None):
    args = [sys.executable, "-m", "tests.scheduled_worker", str(db), when.isoformat()] + ([hang] if hang else [])
    return [subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(count)]


def test_runners_in_several_processes_at_once_pay_each_period_once(backend, db_path, clock, tmp_path):
    """Three runners, forked by tests/fork_server.py (a fresh interpreter each cost ~0.3 s of imports)."""
    from tests.core.test_races import run_workers

    who = demo_member(backend)
    ids = [add_schedule(backend, who, identifier=f"0223456{n:02d}1", day=26) for n in range(12)]
    backend.close()
    outs = run_workers(tmp_path, """
        from datetime import datetime
        from backend.core.clock import FixedClock
        backend.close()
        backend = Backend(sys.argv[1], Settings(scrypt_log_n=8), FixedClock(datetime.fromisoformat(sys.argv[2])),
                          create=False)
        runner = backend.scheduled_runner()
        sys.stdin.readline()
        report = runner.run_pass()
        print(f"paid {report.paid} lost {report.lost}", flush=True)
        backend.close()
    """, [[str(db_path), datetime(2026, 11, 26, 9).isoformat()]] * 3)
    assert sum(int(o.split()[1]) for o in outs) == 12
    assert paid_periods(backend) == {(sid, "2026-11"): 1 for sid in ids}
    assert backend.check() == []


@pytest.mark.parametrize("point", ["booked", "committed"])
def test_a_runner_killed_mid_pass_leaves_nothing_half_done(backend, db_path, point):
    who = demo_member(backend)
    sid = add_schedule(backend, who, identifier="022345671", day=26)
    account = savings_of(backend, who.member_id)[0]
    before = balance_of(backend, account)
    (proc,) = _workers(db_path, datetime(2026, 11, 26, 9), 1, hang=point)
    proc.stdin.write("go\n")
    proc.stdin.flush()
    assert proc.stdout.readline().strip() == f"at {point}"
    proc.kill()  # SIGKILL: no cleanup of any kind
    proc.wait()
    later = datetime(2026, 11, 26, 9, 30)
    (again,) = _workers(db_path, later, 1)
    out = again.communicate("go\n", timeout=120)[0]
    assert again.returncode == 0, out
    assert paid_periods(backend) == {(sid, "2026-11"): 1}
    amount = backend.db.conn.execute("SELECT amount FROM bill_payments WHERE entry_id IS NOT NULL").fetchone()[0]
    assert balance_of(backend, account) == before - amount
    assert backend.check() == []


def test_the_clock_fixture_is_a_wednesday_in_november():
    assert NOW.date() == date(2026, 11, 25) and NOW.weekday() == 2


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_run_scheduled_command_runs_one_pass_and_refuses_a_bad_date(backend, db_path):
    from tests.core.test_database import cli

    who = demo_member(backend)
    add_schedule(backend, who, identifier="022345671", day=26, start=date(2026, 11, 25))
    bad = cli("run-scheduled", "--db", str(db_path), "--until", "2026-02-30")
    assert bad.returncode == 2 and "Fecha no válida en --until" in bad.stderr
    out = cli("run-scheduled", "--db", str(db_path), "--until", "26/11/2026")
    assert out.returncode == 0, out.stderr
    assert "pagados 1" in out.stdout  # run ahead of its day with --until
    assert backend.check() == []


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_one_broken_schedule_does_not_stop_the_others(backend, clock):
    who = demo_member(backend)
    add_schedule(backend, who, identifier="022345671", day=26)  # the one the entity garbles
    fine = add_schedule(backend, who, identifier="022345673", day=26)
    network = backend.bill_gateway

    class Garbled:  # the entity answers one identifier with something unreadable
        def statement(self, biller, identifier):
            if identifier == "022345671":
                raise ValueError("respuesta ilegible")
            return network.statement(biller, identifier)

        def pay(self, notice):
            return network.pay(notice)

    clock.advance(days=1)
    report = Runner(backend.ctx, Garbled()).run_pass()
    assert report.paid == 1 and paid_periods(backend) == {(fine, "2026-11"): 1}
    assert any(e.action == "servicio.programado.error" for e in backend.audit_log(last=20))
