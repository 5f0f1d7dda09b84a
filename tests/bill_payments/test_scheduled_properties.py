"""Stateful property: random schedules, clock jumps, concurrent runner passes and runners that die mid-pass.

Whatever happens, no (schedule, period) is debited twice, every period that came due is recorded once
(paid, failed or skipped) and the books stay sound.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from datetime import datetime
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from backend.bill_payments.scheduled import first_period, next_period
from backend import audit_books  # noqa: F401  (registers every area's invariants)
from backend.bill_payments.scheduled_runner import Runner
from backend.core.accounts import internal_account
from backend.core import invariants
from backend.core.invariants import Since
from backend.core.clock import FixedClock
from backend.core.ledger import Leg, post
from backend.service import Backend
from tests.conftest import NOW, fast_settings
from tests.services_helpers import add_schedule, loaded, paid_periods, savings_of
from tests.transfer_helpers import demo_member

POINTS = ["claimed", "consulted", "booked", "committed"]


class Died(BaseException):
    """A runner stopped dead (kill -9 in-process: nothing after this point runs)."""


class RunnerMachine(RuleBasedStateMachine):
    template: Path

    def __init__(self):
        super().__init__()
        self.dir = Path(tempfile.mkdtemp())
        self.path = self.dir / "coop.sqlite3"
        shutil.copy(self.template, self.path)
        self.clock = FixedClock(NOW)
        self.settings = fast_settings(session_idle_seconds=10**8, scheduled_retries=1)
        self.backend = loaded(Backend(self.path, self.settings, self.clock))
        self.who = demo_member(self.backend)
        self.account = savings_of(self.backend, self.who.member_id)[0]
        self.schedules: dict[int, str] = {}  # id → first period
        entry, posting, account = self.backend.db.conn.execute(
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM entries), (SELECT COALESCE(MAX(id), 0) FROM postings),"
            " (SELECT COALESCE(MAX(id), 0) FROM accounts)").fetchone()
        self.since = Since(entry, posting, account, NOW.date().isoformat())  # the demo co-op as the run found it
        self.serial = 0

    def teardown(self):
        self.backend.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _runner(self, backend=None, die_at=None):
        backend = backend or self.backend

        def crash(point):
            if point == die_at:
                raise Died(point)

        return Runner(backend.ctx, backend.bill_gateway, crash=crash)

    SCHEDULE = dict(last=st.sampled_from("1234567"), day=st.one_of(st.none(), st.integers(1, 31)),
                    max_amount=st.integers(10_00, 400_00), limit=st.one_of(st.none(), st.integers(1, 3)))

    @initialize(specs=st.lists(st.fixed_dictionaries(SCHEDULE), min_size=2, max_size=5))
    def some_schedules(self, specs):
        for spec in specs:
            self.add(**spec)

    @rule(**SCHEDULE)
    def add(self, last, day, max_amount, limit):
        self.serial += 1
        identifier = f"02{self.serial:06d}{last}"
        sid = add_schedule(self.backend, self.who, identifier=identifier, day=day, max_amount=max_amount,
                           limit=limit, account_id=self.account)
        self.schedules[sid] = first_period(self.clock.now().date(), day)

    @rule(days=st.integers(0, 40), hours=st.integers(0, 23))
    def advance(self, days, hours):  # hours too, so passes land before and after 06:00
        self.clock.advance(days=days, hours=hours)

    @rule(available=st.sampled_from([0, 30_00, 10_000_00]))
    def funds(self, available):
        with self.backend.db.write() as conn:  # a real deposit or withdrawal, so `check` agrees with it
            now = conn.execute("SELECT balance - held FROM accounts WHERE id = ?", (self.account,)).fetchone()[0]
            if now != available:
                move = available - now
                post(conn, kind="deposito" if move > 0 else "retiro", description="Ajuste de prueba",
                     posted_at=self.clock.now().strftime("%Y-%m-%d %H:%M:%S"), actor="test",
                     legs=[Leg(self.account, move, "Ajuste"), Leg(internal_account(conn, "caja"), -move, "Ajuste")])

    @rule()
    def one_pass(self):
        self._runner().run_pass()

    @rule(point=st.sampled_from(POINTS))
    def pass_that_dies(self, point):
        try:
            self._runner(die_at=point).run_pass()
        except Died:
            pass

    @rule(count=st.integers(2, 3), die=st.one_of(st.none(), st.sampled_from(POINTS)))
    def concurrent_passes(self, count, die):
        backends = [Backend(self.path, self.settings, self.clock) for _ in range(count)]
        errors: list[BaseException] = []

        def run(n):
            try:
                self._runner(backends[n], die if n == 0 else None).run_pass()
            except Died:
                pass
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for b in backends:
            b.close()
        assert not errors, errors

    @invariant()
    def never_twice_and_books_sound(self):
        """After every step, every invariant of the books but the cards' (the runner never touches a card, and
        replaying every card cycle was most of the test's time) over what the run touched, as the end of day
        checks what came since its checkpoint (re-deriving the whole demo co-op after every step was ~40% of the
        test's time); the whole `check` at the end of each run."""
        assert all(count == 1 for count in paid_periods(self.backend).values())
        conn = self.backend.db.conn
        assert [problem for inv in invariants.registered() if inv.name != "tarjetas"
                for problem in (inv.recent(conn, self.since) if inv.recent else inv.full(conn))] == []

    @invariant()
    def every_closed_period_recorded_once_in_order(self):
        conn = self.backend.db.conn
        for sid, first in self.schedules.items():
            period = conn.execute("SELECT period FROM bill_schedules WHERE id = ?", (sid,)).fetchone()[0]
            recorded = [r[0] for r in conn.execute(
                "SELECT period FROM bill_schedule_runs WHERE schedule_id = ? ORDER BY period", (sid,))]
            expected, p = [], first
            while p < period:
                expected.append(p)
                p = next_period(p)
            assert recorded == expected
            for (outcome, payment) in conn.execute(
                    "SELECT outcome, payment_id FROM bill_schedule_runs WHERE schedule_id = ?", (sid,)):
                if outcome == "pagado":
                    assert conn.execute("SELECT entry_id FROM bill_payments WHERE id = ?", (payment,)).fetchone()[0]

    def check_everything_due_gets_done(self):
        """After every lease and retry has run out, nothing due is left behind."""
        self.clock.advance(seconds=max(self.settings.scheduled_lease_seconds, self.settings.services_retry_seconds) + 1)
        start = self.clock.now()
        for _ in range(7):  # retries of insufficient funds fall on later business days
            self._runner().run_pass()
            self.clock.advance(days=1)
        self._runner().run_pass()
        booked_before = self.clock.now().strftime("%Y-%m-%d %H:%M:%S")
        self.clock.advance(seconds=self.settings.services_retry_seconds + 1)
        self._runner().run_pass()  # what the last pass left unanswered is sent again
        conn = self.backend.db.conn
        due = conn.execute("SELECT COUNT(*) FROM bill_schedules WHERE state = 'activo' AND next_run <= ?",
                           (start.strftime("%Y-%m-%d %H:%M:%S"),)).fetchone()[0]
        assert due == 0
        assert conn.execute("SELECT COUNT(*) FROM bill_payments WHERE state = 'pendiente' AND created_at <= ?",
                            (booked_before,)).fetchone()[0] == 0


def test_runner_state_machine(demo_template):
    RunnerMachine.template = demo_template

    class Checked(RunnerMachine):
        def teardown(self):
            try:
                self.check_everything_due_gets_done()
                self.never_twice_and_books_sound()
                assert self.backend.check() == []
            finally:
                super().teardown()

    run_state_machine_as_test(Checked, settings=settings(
        max_examples=15, stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))


def test_first_period_starts_this_month_when_its_day_is_still_ahead():
    assert first_period(datetime(2026, 11, 25).date(), 26) == "2026-11"
    assert first_period(datetime(2026, 11, 25).date(), 24) == "2026-12"
