"""Ten co-op days over the demo (backend/demo/simulation.py, `cooprogreso simulate`): the books check
clean every day, scheduled payments are paid once, each business day closes; a database that is not a
demo is refused untouched. The 120-day run is its own CI step (.ci/run)."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import pytest

from backend.core.errors import Forbidden
from backend.demo.simulation import Simulation, day_cost_ratio, schedule_problems
from backend.service import Backend
from cooprogreso_tui import cli
from tests.conftest import fast_settings
from tests.services_helpers import add_schedule
from tests.transfer_helpers import demo_member

FAST = ["--set", "scrypt_log_n=8"]
DAYS = 10


def test_ten_days_keep_the_books_and_the_scheduled_payments(backend, clock):
    closed_before = backend.db.conn.execute("SELECT COUNT(*) FROM business_days").fetchone()[0]
    report = Simulation(backend, seed=3, members=6).run(DAYS)
    assert report.days == DAYS and not report.stopped
    assert report.start == "2026-11-25" and report.end == (date(2026, 11, 25) + timedelta(days=DAYS - 1)).isoformat()
    # Every problem left is a due date on a non-business day (main has no co-op calendar yet, issue #16):
    # never a book that does not check, a payment twice or a card cut without its statement.
    assert report.problem_count == report.calendar_problems, report.problems
    assert all(" calendario: " in p for p in report.problems)
    closed = backend.db.conn.execute("SELECT COUNT(*) FROM business_days").fetchone()[0] - closed_before
    assert report.closed == closed == report.operations["cierre_dia"] >= 8  # a weekend off once the co-op calendar lands
    ops = report.operations
    for kind in ("transferencia", "pago_servicio", "apertura_caja", "cierre_caja", "ventanilla_deposito",
                 "consumo_tarjeta", "solicitud_producto", "aprobacion_producto", "pago_programado"):
        assert ops[kind] > 0, (kind, dict(ops))
    assert ops["apertura_caja"] == ops["cierre_caja"] == 2 * report.closed
    assert backend.check() == []
    conn = backend.db.conn
    assert conn.execute("SELECT COUNT(*) FROM tills WHERE status = 'abierta'").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM users WHERE username LIKE 'simulado%'").fetchone()[0] == 5
    assert conn.execute("SELECT COUNT(*) FROM card_statements WHERE closed_at >= '2026-11-25'").fetchone()[0] > 0
    assert clock.now().date() == date(2026, 11, 25) + timedelta(days=DAYS - 1)
    assert len(report.seconds) == DAYS


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_a_second_run_goes_on_from_the_open_business_day(backend, clock):
    first = Simulation(backend, seed=3, members=3).run(3)
    second = Simulation(backend, seed=4, members=3).run(2)
    assert first.end == "2026-11-27" and second.start == "2026-11-30"  # Friday, then Monday: the next business day
    assert second.problem_count == second.calendar_problems and backend.check() == []


def test_the_same_seed_on_the_same_demo_gives_the_same_days(demo_template, tmp_path, clock):
    from backend.core.clock import FixedClock

    outcomes = []
    for n in range(2):
        path = tmp_path / f"copy{n}.sqlite3"
        shutil.copy(demo_template, path)
        own = FixedClock(clock.now())
        backend = Backend(path, fast_settings(), own)
        try:
            report = Simulation(backend, seed=11, members=4).run(4)
            balances = backend.db.conn.execute("SELECT number, balance FROM accounts ORDER BY number").fetchall()
        finally:
            backend.close()
        outcomes.append((dict(report.operations), dict(report.refused), [tuple(b) for b in balances]))
    assert outcomes[0] == outcomes[1]


def test_the_invariant_catches_a_scheduled_period_paid_twice(backend, clock):
    """A schedule due today is paid once by the day's close; a second debit of its period is reported."""
    schedule = add_schedule(backend, demo_member(backend), identifier="022345673", day=25)
    report = Simulation(backend, seed=3, members=3).run(1)
    assert report.problem_count == report.calendar_problems
    conn = backend.db.conn
    paid = conn.execute("SELECT * FROM bill_payments WHERE schedule_id = ? AND entry_id IS NOT NULL",
                        (schedule,)).fetchall()
    assert len(paid) == 1
    paid = paid[0]
    assert schedule_problems(conn, date(2026, 11, 25)) == []
    columns = [k for k in paid.keys() if k != "id"]
    values = [f"{paid[k]}-dup" if k in ("reference", "idempotency_key") else paid[k] for k in columns]
    with backend.db.write() as w:
        w.execute(f"INSERT INTO bill_payments ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                  values)
    assert schedule_problems(conn, date(2026, 11, 25)) == [
        f"pago programado {paid['schedule_id']}, período {paid['period']}: debitado 2 veces"]


def test_a_database_that_is_not_a_demo_is_refused_untouched(tmp_path, clock, capsys):
    path = tmp_path / "real.sqlite3"
    Backend(path, fast_settings(), clock).close()  # a co-op's database: not marked as a demo
    before = path.read_bytes()
    code = cli.main([*FAST, "simulate", "--days", "3", "--db", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and "solo corre sobre una base de demostración" in err
    assert path.read_bytes() == before
    backend = Backend(path, fast_settings(), clock)
    try:
        with pytest.raises(Forbidden):
            Simulation(backend)
    finally:
        backend.close()


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_cli_draws_progress_and_summarises(db_path, engine, clock, capsys):
    if engine != "sqlite":
        pytest.skip("the command's own path handling is the same on both engines; once is enough")
    code = cli.main([*FAST, "simulate", "--days", "3", "--db", str(db_path), "--members", "3",
                     "--calendar-warn-only"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "Simulados 3 días (25/11/2026 – 27/11/2026): 3 días hábiles cerrados" in out.out
    assert "Cierres del día" in out.out and "Transferencias a socios Cooprogreso" in out.out
    backend = Backend(db_path, fast_settings(), clock)
    try:
        assert backend.check() == []
    finally:
        backend.close()


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
@pytest.mark.parametrize("days", ["0", "x", "4000"])
def test_cli_refuses_a_bad_day_count(db_path, engine, days, capsys):
    if engine != "sqlite":
        pytest.skip("argument parsing")
    with pytest.raises(SystemExit):
        cli.main([*FAST, "simulate", "--days", days, "--db", str(db_path)])
    assert "días" in capsys.readouterr().err


def test_day_cost_ratio_reads_the_two_windows():
    seconds = [1.0] * 100 + [5.0] * 200 + [1.5] * 100
    assert day_cost_ratio(seconds) == pytest.approx(1.5)
