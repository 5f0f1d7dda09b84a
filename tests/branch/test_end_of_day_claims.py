"""End of day under running work, with real processes: `run-scheduled` (from cron) and `end-of-day` as the
commands they are, a real local HTTP server as the payment network, kill -9 of either side mid-pass. The commands
are forked from one process that has imported the CLI already (tests/fork_server.py: a fresh interpreter each
cost ~0.4 s of imports); tests/core/test_database.py runs the `cooprogreso` script itself.

The close never closes under scheduled payments claimed for its day: it waits for them (a dead holder's
lease ends and the close pays what it left) or refuses naming who holds them and until when; everything
paid that day is stamped with that day and is in that day's report."""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import date, timedelta
from typing import NamedTuple

import pytest

from tests.conftest import NOW
from tests.fork_server import Forked, ForkServer
from tests.local_http import LocalServer
from tests.services_helpers import add_schedule, paid_periods
from tests.transfer_helpers import demo_member

DAY = "2026-11-25"  # NOW's day: the business day the close closes


class Network:
    """The entities' payment network: answers in 50 ms; `block_at` (nth consulta, or nth pago) holds that
    request until `release` is set, so a test can kill the process waiting on it at a known instant."""

    def __init__(self, block_at: tuple[str, int] | None = None):
        self.block_at = block_at
        self.counts = {"consulta": 0, "pago": 0}
        self.reached, self.release = threading.Event(), threading.Event()
        self.lock = threading.Lock()
        self.server = LocalServer(self._respond)

    def _respond(self, headers, body):
        kind = "pago" if "facturas" in body else "consulta"
        with self.lock:
            self.counts[kind] += 1
            nth = self.counts[kind]
        if self.block_at == (kind, nth):
            self.reached.set()
            self.release.wait(60)
        time.sleep(0.05)
        if kind == "pago":
            return 200, {"estado": "pagado", "autorizacion": f"AUT-{nth}"}
        return 200, {"titular": "María Fernanda Quishpe Andrade",
                     "facturas": [{"numero": f"F-{body['identificador']}", "periodo": "Noviembre 2026",
                                   "vence": DAY, "valor": "12.50", "detalle": []}]}

    def close(self) -> None:
        self.release.set()
        self.server.close()


@pytest.fixture
def network():
    made: list[Network] = []

    def make(block_at=None) -> Network:
        made.append(Network(block_at))
        return made[-1]

    yield make
    for n in made:
        n.close()


@pytest.fixture(scope="module")
def fork_server():
    server = ForkServer(["cooprogreso_tui.cli", "cooprogreso_tui.cli_staff", "cooprogreso_tui.dbcheck", "cooprogreso_tui.logs",
                         "backend.service", "backend.branch.end_of_day", "backend.bill_payments.scheduled_runner",
                         "rich.console", "rich.progress", "rich.table"]
                        + (["psycopg"] if os.environ.get("COOPROGRESO_TEST_PG_URL") else []))
    yield server
    server.close()


@pytest.fixture
def commands(db_path, fork_server, tmp_path):
    return lambda url: Commands(db_path, url, fork_server, tmp_path)


@pytest.fixture
def schedules(backend, clock):
    def make(n: int) -> list[int]:
        who = demo_member(backend)
        return [add_schedule(backend, who, identifier=f"0223{i:05d}1", day=25, start=date(2026, 11, 25))
                for i in range(n)]
    return make


class Commands:
    """`cooprogreso` commands as separate processes, each on a clock that started at NOW when the test did
    (COOPROGRESO_CLOCK set to where the test's time has got to), so leases written by one expire for another."""

    def __init__(self, db, url: str, server: ForkServer, out_dir):
        self.db, self.url, self.started = str(db), url, time.monotonic()
        self.server, self.out_dir = server, out_dir

    def start(self, command: str, *, lease: int, wait: int = 0, ahead: int = 0) -> Forked:
        """`ahead`: the process's clock starts that many seconds further on (a lease ran out, without waiting)."""
        elapsed = time.monotonic() - self.started + ahead
        env = dict(os.environ, COOPROGRESO_CLOCK=(NOW + timedelta(seconds=elapsed)).isoformat())
        settings = {"scrypt_log_n": 8, "services_gateway": "http", "services_url": self.url, "services_retries": 0,
                    "services_timeout_seconds": 30, "scheduled_lease_seconds": lease, "end_of_day_wait_seconds": wait}
        args = [a for k, v in settings.items() for a in ("--set", f"{k}={v}")]
        return self.server.start("cooprogreso_tui.cli:main", [*args, command, "--db", self.db], env=env,
                                 out_dir=self.out_dir)

    def run(self, command: str, **kw) -> Ran:
        proc = self.start(command, **kw)
        out, err = proc.communicate(timeout=120)
        return Ran(proc.returncode, out, err)


class Ran(NamedTuple):
    returncode: int | None
    stdout: str
    stderr: str


def killed(proc: Forked) -> None:
    proc.kill()  # SIGKILL: no cleanup of any kind
    proc.communicate(timeout=30)


def assert_the_day_is_right(backend, ids: list[int]) -> None:
    """Each schedule paid once, every payment stamped with the day, the day's report counting all of them."""
    assert paid_periods(backend) == {(sid, "2026-11"): 1 for sid in ids}
    stamps = backend.db.conn.execute("SELECT e.business_date, COUNT(*) FROM bill_payments p JOIN entries e"
                                     " ON e.id = p.entry_id GROUP BY e.business_date").fetchall()
    assert [tuple(r) for r in stamps] == [(DAY, len(ids))]
    report = json.loads(backend.db.conn.execute("SELECT report FROM business_days WHERE day = ?", (DAY,)).fetchone()[0])
    totals = {t["kind"]: t for t in report["totals"]}
    assert totals["pago_servicio"]["entries"] == len(ids) and totals["pago_servicio"]["amount"] == len(ids) * 12_50
    assert backend.db.conn.execute("SELECT value FROM meta WHERE key = 'business_date'").fetchone()[0] == "2026-11-26"
    assert backend.check() == []


def test_a_close_started_while_cron_pays_waits_for_it_and_reports_every_payment(backend, commands, schedules,
                                                                                network):
    """The issue's case: `run-scheduled` pays through a network answering in 50 ms, `end-of-day` starts while it
    still holds the day's schedules. Both succeed, and nothing paid that day lands in the next one."""
    ids = schedules(20)
    net = network()
    cmd = commands(net.server.url)
    runner = cmd.start("run-scheduled", lease=30)
    for _ in range(600):  # until the runner has claimed its batch and is paying
        if net.counts["consulta"] >= 2 or runner.poll() is not None:
            break
        time.sleep(0.02)
    close = cmd.run("end-of-day", lease=30, wait=60)
    out, err = runner.communicate(timeout=120)
    assert runner.returncode == 0, err
    assert close.returncode == 0, close.stderr
    assert "Día 25/11/2026 cerrado" in close.stdout
    assert_the_day_is_right(backend, ids)


@pytest.mark.parametrize("block, refuse_first", [(("consulta", 3), True), (("pago", 2), False)])
def test_a_runner_killed_mid_pass_holds_the_close_named_until_its_lease_ends(backend, commands, schedules, network,
                                                                             block, refuse_first):
    """kill -9 of `run-scheduled` while the network holds one request (a consulta, or the payment of a booking
    already committed): its claims stay. A close that may not wait refuses, naming the holder and the lease's
    end, and closes nothing; one that may wait closes right."""
    ids = schedules(6)
    net = network(block)
    cmd = commands(net.server.url)
    # A refusal needs claims still held when the close looks: a lease no busy machine outlasts (the close after it
    # runs on a clock moved past the lease); otherwise a short lease the close waits out.
    runner = cmd.start("run-scheduled", lease=120 if refuse_first else 3)
    assert net.reached.wait(60), runner.communicate(timeout=5)
    killed(runner)
    net.release.set()
    if refuse_first:
        refused = cmd.run("end-of-day", lease=3, wait=0)
        assert refused.returncode == 1, refused.stdout
        message = " ".join(refused.stderr.split())
        assert "No se puede cerrar el día 25/11/2026 todavía" in message, message
        assert f"tomados por «run-scheduled · {os.uname().nodename} · proceso {runner.pid} · " in message
        assert "hasta las 10:0" in message and "del 25/11/2026" in message
        assert backend.db.conn.execute("SELECT COUNT(*) FROM business_days").fetchone()[0] == 0
    closed = cmd.run("end-of-day", lease=3, wait=30, ahead=125 if refuse_first else 0)
    assert closed.returncode == 0, closed.stderr
    assert_the_day_is_right(backend, ids)


def test_a_close_killed_mid_pass_is_run_again_at_once_and_closes_right(backend, commands, schedules, network):
    """kill -9 of `end-of-day` inside its own scheduled pass: the re-run at once waits for the dead close's claims
    to end (never closes under them), pays what was left and closes with everything in the report."""
    ids = schedules(6)
    net = network(("consulta", 3))
    cmd = commands(net.server.url)
    first = cmd.start("end-of-day", lease=3, wait=30)
    assert net.reached.wait(60), first.communicate(timeout=5)
    killed(first)
    net.release.set()
    assert backend.db.conn.execute("SELECT COUNT(*) FROM business_days").fetchone()[0] == 0
    held = backend.db.conn.execute("SELECT COUNT(*), MIN(claimed_by) FROM bill_schedules WHERE claimed_until IS NOT NULL"
                                   " AND claimed_by LIKE 'cierre del día (cli)%'").fetchone()
    assert held[0] == 4  # the one on the wire and the three behind it
    again = cmd.run("end-of-day", lease=3, wait=30)
    assert again.returncode == 0, again.stderr
    assert_the_day_is_right(backend, ids)


def test_a_claim_that_outlived_a_close_is_given_back_never_booked_under_the_next_day(backend, clock):
    """A runner run ahead (`--until`) claims a schedule of the 27th under the 25th, then stalls past its lease; the
    close (not waiting for an ended lease) moves the day on. The runner must not book it as the 26th's work claimed
    on the 25th: it gives it back, and a later pass pays it once, stamped with the day open then."""
    from backend.bill_payments.scheduled_runner import Runner
    from backend.branch import end_of_day

    sid = add_schedule(backend, demo_member(backend), identifier="022345671", day=27)

    def close_meanwhile(point: str) -> None:
        if point == "consulted":
            clock.advance(seconds=backend.settings.scheduled_lease_seconds + 1)
            assert end_of_day.run(backend.ctx, backend, "test").next_day == "2026-11-26"

    report = Runner(backend.ctx, backend.bill_gateway, crash=close_meanwhile).run_pass(until=date(2026, 11, 27))
    assert (report.paid, report.deferred) == (0, 1)
    row = backend.db.conn.execute("SELECT claimed_by, claimed_day, next_run FROM bill_schedules WHERE id = ?",
                                  (sid,)).fetchone()
    assert (row[0], row[1], row[2]) == (None, None, "2026-11-27 06:00:00")
    assert paid_periods(backend) == {}
    clock.advance(days=2)
    assert backend.scheduled_runner().run_pass().paid == 1
    stamps = backend.db.conn.execute("SELECT e.business_date FROM bill_payments p JOIN entries e ON e.id = p.entry_id"
                                     ).fetchall()
    assert [r[0] for r in stamps] == ["2026-11-26"] and paid_periods(backend) == {(sid, "2026-11"): 1}
    assert backend.check() == []


@pytest.mark.sqlite_only  # the query plan is SQLite's
def test_the_close_finds_live_claims_through_an_index(backend):
    from backend.branch.end_of_day import CLAIMS_SQL

    plan = " ".join(r[-1] for r in backend.db.conn.execute("EXPLAIN QUERY PLAN " + CLAIMS_SQL, ("cierre",)))
    assert "bill_schedules_claimed" in plan, plan


def test_claims_that_end_while_the_close_runs_are_paid_by_it_never_closed_over(backend, clock, schedules):
    """A dead runner's lease ends after the close's pass skipped its schedules and before the close's last step:
    the close pays them then, instead of closing a day whose due payments nobody holds any more."""
    from backend.bill_payments.scheduled_runner import Runner
    from backend.branch import end_of_day

    ids = schedules(3)

    def die(point: str) -> None:
        if point == "claimed":
            raise KeyboardInterrupt  # kill -9 has its own tests above

    with pytest.raises(KeyboardInterrupt):
        Runner(backend.ctx, backend.bill_gateway, crash=die).run_pass()
    ended: list[str] = []

    def progress(done: int, steps: int, label: str) -> None:
        if label == "Verificación de la contabilidad" and not ended:
            clock.advance(seconds=backend.settings.scheduled_lease_seconds + 1)
            ended.append(label)

    report = end_of_day.run(backend.ctx, backend, "test", progress)
    assert dict(report.passes)["Pagos programados"].startswith("3 vencidos, 3 pagados, 0 fallidos")
    assert {t.kind: t.entries for t in report.totals}["pago_servicio"] == 3
    assert paid_periods(backend) == {(sid, "2026-11"): 1 for sid in ids}
    assert backend.check() == []
