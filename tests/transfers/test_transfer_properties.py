"""Random transfers, in one process and in several at once, never break the books or overdraw."""

import shutil
import textwrap

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from backend import audit_books  # noqa: F401  (registers every area's invariants)
from backend.core import invariants
from backend.core.errors import InsufficientFunds, ValidationError
from backend.service import Backend
from backend.transfers.transfers import TransferRequest
from tests import fork_server
from tests.conftest import NOW, fast_settings, last_code
from tests.transfer_helpers import balance_of, demo_member, number_of, other_member



def test_stateful_random_transfers(demo_template, tmp_path_factory):
    class Transfers(RuleBasedStateMachine):
        @initialize()
        def setup(self):
            from backend.core.clock import FixedClock

            path = tmp_path_factory.mktemp("st") / "st.sqlite3"
            shutil.copy(demo_template, path)
            self.backend = Backend(path, fast_settings(session_idle_seconds=10**7), FixedClock(NOW))
            self.lucia = demo_member(self.backend)
            self.ana = other_member(self.backend, balance=50_00)
            self.accounts = self.lucia.accounts[:2] + self.ana.accounts
            self.owner = {a: self.lucia for a in self.lucia.accounts[:2]} | {self.ana.accounts[0]: self.ana}
            self.model = {a: balance_of(self.backend, a) for a in self.accounts}

        @rule(src=st.integers(0, 2), dst=st.integers(0, 2), amount=st.integers(1, 120_00))
        def move(self, src, dst, amount):
            a, b = self.accounts[src], self.accounts[dst]
            who = self.owner[a]
            kind = "propia" if self.owner[b] is who else "terceros"
            request = TransferRequest(kind, a, amount, "prueba", dest_account_id=b if kind == "propia" else None,
                                      account_number=number_of(self.backend, b) if kind == "terceros" else "")
            try:
                draft = self.backend.transfers.prepare(who.token, request)
                self.backend.ops.request_code(who.token, draft.id)
                self.backend.ops.authorise(who.token, draft.id, last_code(self.backend))
            except InsufficientFunds:
                assert self.model[a] < amount
                return
            except ValidationError as err:
                assert a == b or err.code in ("limit_daily", "limit_tx"), err.message
                return
            self.model[a] -= amount
            self.model[b] += amount

        @invariant()
        def books_balance(self):
            """After every step, every invariant of the books but the cards' (a transfer never touches a card, and
            replaying the demo's card cycles was three quarters of each `check`); the whole `check` at the end."""
            if not hasattr(self, "backend"):
                return
            assert [problem for inv in invariants.registered() if inv.name != "tarjetas"
                    for problem in inv.full(self.backend.db.conn)] == []
            for account, cents in self.model.items():
                assert balance_of(self.backend, account) == cents >= 0

        def teardown(self):
            if hasattr(self, "backend"):
                try:
                    assert self.backend.check() == []
                finally:
                    self.backend.close()

    Transfers.TestCase.settings = settings(max_examples=12, stateful_step_count=8, deadline=None,
                                           suppress_health_check=list(HealthCheck))
    Transfers.TestCase().runTest()


WORKER = textwrap.dedent("""
    import sys
    from backend.service import Backend
    from backend.core.settings import Settings
    from backend.core.errors import InsufficientFunds
    from backend.transfers.transfers import TransferRequest

    class Phone:
        name = "outbox"
        def send(self, db, recipient, body, at):
            self.last = body.split("es ")[1][:6]

    backend = Backend(sys.argv[1], Settings(scrypt_log_n=8, limit_terceros_daily=10**9, session_idle_seconds=10**7,
                                            otp_max_per_window=10**6, otp_max_failures_per_day=10**6, otp_max_unused_per_day=10**6))
    phone = Phone()
    backend.ctx.channel = backend.otp.ctx.channel = phone
    token = backend.auth.login(sys.argv[2], "Clave2026x").token
    origin, dest = int(sys.argv[3]), sys.argv[4]
    sys.stdin.readline()  # all signed in: they start together
    done = refused = 0
    for _ in range(int(sys.argv[5])):
        try:
            draft = backend.transfers.prepare(token, TransferRequest("terceros", origin, 7_00, "carrera", account_number=dest))
            ch = backend.ops.request_code(token, draft.id)
            backend.ops.authorise(token, draft.id, phone.last)
            done += 1
        except InsufficientFunds:
            refused += 1
    print(done, refused)
""")


def test_processes_racing_on_one_account_never_overdraw(backend, db_path, tmp_path):
    ana = other_member(backend, balance=100_00)  # room for 14 transfers of $7.00
    lucia = demo_member(backend)
    dest = number_of(backend, lucia.accounts[0])
    backend.close()
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    # Forked from one server that has imported the backend (tests/fork_server.py: a fresh interpreter each cost
    # ~0.3 s of imports); each is still a separate process with its own connections.
    out_dir = tmp_path / "workers"
    out_dir.mkdir()
    args = [str(db_path), "ana.prueba", str(ana.accounts[0]), dest, "6"]
    codes = fork_server.run_script(script, out_dir, [args] * 4, timeout=120)
    results = [((out_dir / f"{n}.out").read_text(), (out_dir / f"{n}.err").read_text()) for n in range(4)]
    assert codes == [0] * 4, [r[1][-800:] for r in results]
    done = sum(int(out.split()[0]) for out, _ in results)
    refused = sum(int(out.split()[1]) for out, _ in results)
    assert done == 14 and refused == 10
    check = Backend(db_path, fast_settings())
    assert check.check() == []
    assert balance_of(check, ana.accounts[0]) == 100_00 - 14 * 7_00 == 2_00
    check.close()
