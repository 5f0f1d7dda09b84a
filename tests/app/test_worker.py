"""`cooprogreso worker`: one active worker per database, a standby that takes over when it dies, a clean stop,
and member sessions that do no background work."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from backend.core import worker_lease
from backend.core.worker_lease import Lease
from tests.services_helpers import add_schedule
from tests.transfer_helpers import demo_member
from tests.transfers.test_clearing import send

LEASE = 2  # seconds: a short lease keeps the takeover test to a few seconds


@pytest.fixture
def backend(make_backend):
    return make_backend(session_idle_seconds=10**7, clearing_settle_seconds=0)


def start_worker(db_path, tmp_path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "cooprogreso_tui.cli", "--set", f"worker_lease_seconds={LEASE}",
         "--set", "clearing_settle_seconds=0", "--set", f"log_dir={tmp_path / 'logs'}", "worker", "--db", str(db_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def holder_pid(backend) -> int | None:
    beat = worker_lease.heartbeat(backend.db)
    if beat is None or beat.expired or beat.released:
        return None
    return int(beat.holder.split(":")[1])


def transfer_states(backend) -> list[tuple[str, bool]]:
    return [(r[0], r[1] is not None) for r in
            backend.db.conn.execute("SELECT state, settle_entry_id FROM transfers WHERE kind = 'interbancaria'"
                                    " ORDER BY id")]


def settled_entries(backend) -> int:
    """Settlement entries in the journal: one per transfer, never two."""
    return backend.db.conn.execute("SELECT COUNT(*) FROM entries WHERE kind = 'liquidacion_interbancaria'").fetchone()[0]


def test_the_standby_takes_over_within_the_lease_when_the_active_worker_is_killed(backend, db_path, tmp_path):
    who = demo_member(backend)
    for n in range(3):
        send(backend, who, f"2200123{n}")
    schedule = add_schedule(backend, who, identifier="022345671", day=25)
    first = start_worker(db_path, tmp_path)
    second = None
    try:
        assert wait_for(lambda: holder_pid(backend) == first.pid, 20, "the first worker to take the lease")
        wait_for(lambda: all(state == "Acreditada" for state, _ in transfer_states(backend)), 20, "settlement")
        second = start_worker(db_path, tmp_path)
        time.sleep(LEASE)  # the second one waits: the first still holds the lease
        assert holder_pid(backend) == first.pid and second.poll() is None
        for n in range(2):
            send(backend, who, f"2200124{n}")  # work that only the standby can do once the first one is gone
        os.kill(first.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        first.wait(10)
        wait_for(lambda: holder_pid(backend) == second.pid, LEASE + 5, "the standby to take over")
        assert time.monotonic() - killed_at < LEASE + 3  # within the lease (and a tick), not some minutes later
        wait_for(lambda: len(transfer_states(backend)) == 5 and all(s == "Acreditada" for s, _ in
                                                                    transfer_states(backend)), 20, "settlement")
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)
    assert settled_entries(backend) == 5
    paid = backend.db.conn.execute("SELECT COUNT(*) FROM bill_payments WHERE schedule_id = ?", (schedule,)).fetchone()[0]
    assert paid == 1  # paid by the first worker, not again by the one that took over
    assert backend.check() == []


def test_sigterm_finishes_and_releases_the_lease_at_once(backend, db_path, tmp_path):
    worker = start_worker(db_path, tmp_path)
    try:
        assert wait_for(lambda: holder_pid(backend) == worker.pid, 20, "the worker to take the lease")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(10) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
    beat = worker_lease.heartbeat(backend.db)
    assert beat is not None and beat.released and beat.expired  # free now, not after the lease
    assert "turno liberado" in worker.stderr.read()
    assert Lease(backend.db, LEASE).hold()  # another worker gets it straight away


def test_every_pass_has_its_failure_message_and_interval(backend):
    """A pass missing from JOBS turned its own failure into a KeyError that ended the worker's loop."""
    from cooprogreso_tui.worker import JOBS, PASSES, Worker

    worker = Worker(backend, say=lambda said: None)
    assert set(JOBS) == set(PASSES) and all(worker.every(name) > 0 for name in PASSES)


def test_the_lease_has_one_holder_until_it_runs_out_or_is_released(backend):
    now = [1_000.0]
    one, two = (Lease(backend.db, 30, holder, wall=lambda: now[0]) for holder in ("uno", "dos"))
    assert one.hold() and not two.hold()
    now[0] += 29
    assert one.hold() and not two.hold()  # renewed: 30 s more from now
    now[0] += 29
    assert not two.hold()
    now[0] += 2
    assert two.hold() and not one.hold()  # ran out: the standby has it, the old holder is refused
    assert not one.release()  # a late worker cannot free what it no longer holds
    assert two.release() and one.hold()


async def test_a_member_session_runs_no_background_pass(make_backend):
    from tests.ui import SIZE, login, make_app, settle

    backend = make_backend(session_idle_seconds=10**7, scheduled_every_seconds=1, card_cycle_seconds=1)
    who = demo_member(backend)
    schedule = add_schedule(backend, who, identifier="022345671", day=25)  # due now: a pass would pay it
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        await pilot.pause(1.5)  # longer than the intervals the sessions used to run their passes at
        await settle(pilot)
        assert not app.screen.query("#worker-status")  # no heartbeat line on a member's menu
    paid = backend.db.conn.execute("SELECT COUNT(*) FROM bill_payments WHERE schedule_id = ?", (schedule,)).fetchone()[0]
    assert paid == 0 and worker_lease.heartbeat(backend.db) is None
    assert backend.scheduled_runner().run_pass().paid == 1  # it was due: the worker's pass pays it


async def test_staff_see_the_workers_heartbeat_and_a_warning_when_it_is_stale(backend, clock):
    from backend.core.errors import ServiceError
    from screens.menu.menu import MenuScreen
    from tests.branch.test_ui_staff import staff_login
    from tests.staff_helpers import enrol
    from tests.ui import SIZE, FakeMonotonic, make_app, settle

    supervisor = enrol(backend, "sup.ana", "supervisor")
    Lease(backend.db, 30, "sucursal:4242:abc", wall=lambda: time.time() - 12).hold()
    began = time.monotonic()
    idle = FakeMonotonic()
    app = make_app(backend, monotonic=idle)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, supervisor)
        screen = app.screen
        assert isinstance(screen, MenuScreen)
        line = screen.query_one("#worker-status")
        shown = re.fullmatch(r"Procesos de fondo: activos hace (\d+) s", str(line.render()))
        assert shown and 12 <= int(shown[1]) <= 12 + time.monotonic() - began  # 12 s and the sign-in
        assert not line.has_class("stale") and line.region.bottom <= SIZE[1] - 1  # on the 80×24 screen
        Lease(backend.db, 30, "sucursal:4242:abc", wall=lambda: time.time() - 5 * 60).hold()  # silent 5 min
        screen.read_heartbeat()
        await settle(pilot)
        assert "sin señal hace 5 min" in str(line.render()) and line.has_class("stale")
        idle.advance(61)  # walked away: the menu stops asking (each call would renew the staff session)
        Lease(backend.db, 30, "sucursal:4242:abc").hold()
        screen.read_heartbeat()
        await settle(pilot)
        assert "sin señal hace 5 min" in str(line.render())
    with pytest.raises(ServiceError):
        backend.worker_heartbeat(demo_member(backend).token)  # members are refused
