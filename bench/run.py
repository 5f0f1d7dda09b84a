"""Speed and memory as ratios against a baseline measured in the same run (machines here are noisy).

    python bench/run.py            prints `name: value` lines
    python bench/run.py --only pg  only the PostgreSQL figures (bench/pg.py)
    python bench/run.py --only channels  only ssh_startup_ratio and web_first_paint_ratio, with their stages (bench/channels.py)
    python bench/run.py --only soak  only soak_day_cost_ratio (bench/soak.py, ~2 min)
    python bench/run.py --only codes  only otp_abandon_ratio (bench/codes.py)
    python bench/run.py --only statements  only statement_ratio (bench/statements.py)
    python bench/run.py --only sqlite  only transfer_throughput_ratio, concurrent_scaling_ratio, concurrent_errors
    python bench/run.py --only check  only check_rss_ratio and check_time_ratio (bench/checkscale.py)
transfer_throughput_ratio: transfers per second that one process confirms as production does (each prepared and
its code requested before the clock starts; timed: `ops.authorise` with the code, receipt included;
bench/transfer_worker.py) ÷ transfers per second that raw sqlite3 books with the same writes in one transaction
each (code spent and masked, entry, postings, transfer, usage, both audit rows, operation executed, the
checkpoint after a masked code; `_RawTransfers`), the two sides in alternating turns, the median turn's ratio
(`_interleaved`). concurrent_scaling_ratio: four such processes ÷ one, in alternating turns, the median round's ratio
(`_scaling`; COOPROGRESO_BENCH_LOCKS=1 prints each process's lock wait, hold and checkpoint per transfer).
Every figure prints with its goal (GOALS below), e.g. `startup_ratio: 1.08 (meta ≤ 1.1)`, and
`NO CUMPLE` after a missed one.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PROBE = [sys.executable, str(ROOT / "bench" / "probe.py")]


# Each figure's goal (issues #16, #22, #23): (comparison, value); None = printed for the record only.
GOALS: dict[str, tuple[str, float] | None] = {
    "startup_ratio": ("≤", 1.1), "rss_ratio": ("≤", 1.5), "movements_page_ratio": ("≤", 1.5),
    "transfer_throughput_ratio": ("≥", 0.7), "concurrent_scaling_ratio": ("≥", 0.9), "concurrent_errors": ("=", 0),
    "booking_scale_ratio": ("≤", 1.3), "demo_data_scale_ratio": ("≤", 1.2), "scheduled_pass_ratio": ("≤", 2.0),
    "bill_payment_throughput_ratio": ("≥", 0.8), "soak_day_cost_ratio": ("≤", 1.2), "otp_abandon_ratio": ("≥", 0.9),
    "pg_like_for_like_ratio": ("≥", 0.8), "pg_no_collapse_ratio": ("≥", 0.95), "pg_hot_row_ratio": ("≥", 0.8),
    "pg_hot_row_lock_waits": None,
    "pg_concurrent_scaling_ratio": None, "pg_concurrent_errors": ("=", 0),  # bench/pg.py
    "ssh_startup_ratio": ("≤", 1.4), "web_first_paint_ratio": ("≤", 2.0),
    "ssh_handshake_ratio": None, "web_page_ratio": None, "web_load_ratio": None,
    "web_parsed_ratio": None,  # bench/channels.py: stages of the two above
    "statement_ratio": ("≤", 1.2),  # bench/statements.py
    "check_rss_ratio": ("≤", 1.2), "check_time_ratio": None,  # bench/checkscale.py
}


def report(name: str, value: float | None, missing: str = "n/a") -> None:
    """One figure as `name: value (meta ≤ goal)`, ` NO CUMPLE` appended when the goal is missed."""
    if value is None:
        print(f"{name}: {missing}", flush=True)
        return
    goal = GOALS.get(name)
    shown = f"{value}" if isinstance(value, int) else f"{value:.2f}"
    if goal is None:
        print(f"{name}: {shown} (sin meta en esta máquina)", flush=True)
        return
    op, target = goal
    met = {"≤": value <= target, "≥": value >= target, "=": value == target}[op]
    print(f"{name}: {shown} (meta {op} {target:g}){'' if met else ' NO CUMPLE'}", flush=True)


def run_probe(*args: str) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run([*PROBE, *args], capture_output=True, text=True, check=True, cwd=ROOT)
    return time.perf_counter() - start, out.stdout


def compiled_like_an_install() -> None:
    """Byte-compile the project's packages first, as installing a wheel does. Textual's modules come
    compiled from pip; with PYTHONDONTWRITEBYTECODE set (as on the CI machines) ours would otherwise be
    compiled from source at every start, and the ratio would measure the compiler, not the app."""
    import compileall

    for package in ("backend", "screens", "cooprogreso_tui"):
        compileall.compile_dir(str(ROOT / package), quiet=1)


def startup_ratio(db: Path, rounds: int = 7) -> float:
    compiled_like_an_install()
    bare, app = [], []
    for _ in range(rounds):  # interleaved, so drift hits both alike
        bare.append(run_probe("bare", "startup")[0])
        app.append(run_probe("app", "startup", str(db))[0])
    return statistics.median(app) / statistics.median(bare)


def rss_ratio(db: Path) -> float:
    compiled_like_an_install()

    def rss(*args):
        return int(run_probe(*args)[1].split("rss_kb ")[1])

    bare = statistics.median(rss("bare", "rss") for _ in range(3))
    app = statistics.median(rss("app", "rss", str(db)) for _ in range(3))
    return app / bare


def movements_page_ratio(workdir: Path) -> float:
    from backend.core import accounts
    from backend.core.settings import Settings
    from backend.demo.coop import cedula
    from backend.security.passwords import hash_password
    from backend.service import Backend

    backend = Backend(workdir / "movs.sqlite3", Settings(scrypt_log_n=8))
    with backend.db.write() as conn:
        caja = accounts.internal_account(conn, "caja")
        member = accounts.create_member(conn, id_type="cedula", id_number=cedula("170000001"), first_names="Banco",
                                        last_names="Prueba", mobile="0990000000", email=None,
                                        created_at="2020-01-01 00:00:00")
        big = accounts.open_savings(conn, member, "2020-01-01")
        small = accounts.open_savings(conn, member, "2020-01-01")
        conn.execute("INSERT INTO users (member_id, username, password_hash, created_at) VALUES (?, 'bench', ?, ?)",
                     (member, hash_password("Bench-2026", log_n=8, r=8, p=1), "2020-01-01 00:00:00"))
    _fill(backend, caja, big, 1_000_000)
    _fill(backend, caja, small, 100)
    token = backend.auth.login("bench", "Bench-2026").token

    def page_time(account: int) -> float:
        times = []
        for _ in range(200):
            start = time.perf_counter()
            backend.products.movements(token, account, limit=50)
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    page_time(big), page_time(small)  # warm the cache for both
    ratio = statistics.median(page_time(big) / page_time(small) for _ in range(3))
    backend.close()
    return ratio


def _fill(backend, counter: int, account: int, count: int) -> None:
    """Bulk history with the same shape the ledger writes: one entry of two postings per movement."""
    conn = backend.db.conn
    conn.execute("BEGIN IMMEDIATE")
    first_entry = (conn.execute("SELECT COALESCE(MAX(id), 0) FROM entries").fetchone()[0]) + 1
    balance, counter_balance = (conn.execute("SELECT balance FROM accounts WHERE id = ?", (a,)).fetchone()[0]
                                for a in (account, counter))
    start_balance, start_counter = balance, counter_balance
    entries, postings = [], []
    for i in range(count):
        amount = 1000 + (i % 37) * 10
        balance += amount
        counter_balance -= amount
        at = f"{2020 + i // 400_000}-{1 + (i // 33_334) % 12:02d}-{1 + (i // 1_200) % 28:02d} 10:{i % 60:02d}:00"
        entry = first_entry + i
        entries.append((entry, "deposito", "Depósito", at, "bench"))
        postings.append((entry, account, amount, balance, at, f"Depósito {i}"))
        postings.append((entry, counter, -amount, counter_balance, at, f"Depósito {i}"))
    conn.executemany("INSERT INTO entries (id, kind, description, posted_at, actor) VALUES (?, ?, ?, ?, ?)", entries)
    conn.executemany("INSERT INTO postings (entry_id, account_id, amount, balance_after, posted_at, memo)"
                     " VALUES (?, ?, ?, ?, ?, ?)", postings)
    conn.execute("UPDATE accounts SET balance = balance + ? WHERE id = ?", (balance - start_balance, account))
    conn.execute("UPDATE accounts SET balance = balance + ? WHERE id = ?", (counter_balance - start_counter, counter))
    conn.execute("COMMIT")


def _bench_coop(path: Path, members: int, *, own_payees: bool = False) -> None:
    """Members `bench0..N` with a well-funded account each, and the accounts they pay.

    By default every payer credits one shared destination account (`meta.bench_dest`): on SQLite writers are
    serial anyway. With `own_payees` each payer `benchN` pays a member of its own (`meta.bench_dest_benchN`), as
    branches serving different members do: on PostgreSQL one shared payee would be a hot row every transfer
    locks, which measures that row's lock queue rather than the service.
    """
    from backend.core import accounts
    from backend.core.ledger import Leg, post
    from backend.core.settings import Settings
    from backend.demo.coop import cedula
    from backend.security.passwords import hash_password
    from backend.service import Backend

    backend = Backend(path, Settings(scrypt_log_n=8))
    password = hash_password("Bench-2026", log_n=8, r=8, p=1)

    def member_account(conn, n: int, caja: int) -> tuple[int, str]:
        member = accounts.create_member(conn, id_type="cedula", id_number=cedula(f"17{n:07d}"),
                                        first_names="Socio", last_names=f"Prueba {n}", mobile="0990000000",
                                        email=None, created_at="2026-01-01 00:00:00")
        account = accounts.open_savings(conn, member, "2026-01-01")
        post(conn, kind="deposito", description="Depósito", posted_at="2026-01-01 00:00:00", actor="bench",
             legs=[Leg(account, 10**9, "Depósito"), Leg(caja, -10**9, "Depósito")])
        return member, conn.execute("SELECT number FROM accounts WHERE id = ?", (account,)).fetchone()[0]

    with backend.db.write() as conn:
        caja = accounts.internal_account(conn, "caja")
        for n in range(members):
            member, _ = member_account(conn, n, caja)
            conn.execute("INSERT INTO users (member_id, username, password_hash, created_at)"
                         " VALUES (?, ?, ?, '2026-01-01 00:00:00')", (member, f"bench{n}", password))
            if own_payees:
                _, number = member_account(conn, 1000 + n, caja)
                conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (f"bench_dest_bench{n}", number))
        _, number = member_account(conn, members, caja)
        conn.execute("INSERT INTO meta (key, value) VALUES ('bench_dest', ?)", (number,))
    backend.close()


class _RawTransfers:
    """The same writes per confirmation, by hand, with the same pragmas (`book(n)`: seconds for the next n).

    It replays copies of a transfer the service confirmed, the writes `ops.authorise` makes in its one
    transaction: the code spent (challenge verified, its SMS masked with secure_delete on, its outbox_codes row
    gone, the «otp.verificar» audit row), the entry with its business day as the ledger stamps it, postings with
    balances, the transfer, the day's usage, the «transferencia» audit row and the operation marked executed;
    after the commit the write-ahead log checkpointed and truncated, as the scrub after a masked code does. Each
    confirmation's challenge, SMS and operation are copied in before the clock starts, as the service side
    prepares them before its clock starts. It reads only what the writes need (no checks, no receipt).
    """

    def __init__(self, path: Path, count: int):
        import secrets
        import sqlite3

        self.conn = conn = sqlite3.connect(path, isolation_level=None)
        for pragma in ("busy_timeout = 10000", "journal_mode = WAL", "synchronous = FULL", "foreign_keys = ON"):
            conn.execute(f"PRAGMA {pragma}")
        conn.row_factory = sqlite3.Row
        t = dict(conn.execute("SELECT * FROM transfers ORDER BY id DESC LIMIT 1").fetchone())
        e = dict(conn.execute("SELECT * FROM entries WHERE id = ?", (t["entry_id"],)).fetchone())
        legs = [dict(r) for r in conn.execute("SELECT * FROM postings WHERE entry_id = ? ORDER BY id", (e["id"],))]
        a = dict(conn.execute("SELECT * FROM audit_log WHERE action = 'transferencia.terceros' ORDER BY id DESC LIMIT 1").fetchone())
        v = dict(conn.execute("SELECT * FROM audit_log WHERE action = 'otp.verificar' ORDER BY id DESC LIMIT 1").fetchone())
        op = dict(conn.execute("SELECT * FROM operations WHERE result_id = ?", (t["id"],)).fetchone())
        ch = dict(conn.execute("SELECT * FROM otp_challenges WHERE id = ?", (op["challenge_id"],)).fetchone())
        sms = dict(conn.execute("SELECT * FROM outbox WHERE body LIKE 'Cooprogreso: tu código%' ORDER BY id DESC LIMIT 1")
                   .fetchone())
        t_cols = [c for c in t if c != "id"]
        waiting = []
        conn.execute("BEGIN IMMEDIATE")
        for _i in range(count):  # the confirmations waiting for their code, as the service side has them
            challenge, op_id = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
            conn.execute("INSERT INTO otp_challenges (id, member_id, purpose, details_digest, code_hash, phone, created_at,"
                         " expires_at, tries_left, last_sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (challenge, ch["member_id"], ch["purpose"], ch["details_digest"], ch["code_hash"], ch["phone"],
                          ch["created_at"], ch["expires_at"], 3, ch["last_sent_at"]))
            outbox = conn.execute("INSERT INTO outbox (created_at, channel, recipient, body) VALUES (?, ?, ?, ?)",
                                  (sms["created_at"], sms["channel"], sms["recipient"], sms["body"])).lastrowid
            conn.execute("INSERT INTO outbox_codes (outbox_id, challenge_id, sent_at) VALUES (?, ?, ?)",
                         (outbox, challenge, sms["created_at"]))
            conn.execute("INSERT INTO operations (id, user_id, actor, kind, request, details_digest, idempotency_key,"
                         " challenge_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (op_id, op["user_id"], op["actor"], op["kind"], op["request"], op["details_digest"],
                          secrets.token_urlsafe(16), challenge, op["created_at"], op["expires_at"]))
            waiting.append((challenge, outbox, op_id, conn.execute("SELECT idempotency_key FROM operations WHERE id = ?",
                                                                   (op_id,)).fetchone()[0]))
        conn.execute("COMMIT")
        self.waiting, self.copied = waiting, (v, e, legs, t, t_cols, a, op, sms["body"])  # already masked

    def book(self, n: int) -> float:
        """Book the next `n` waiting confirmations; the seconds it took."""
        conn, (v, e, legs, t, t_cols, a, op, masked) = self.conn, self.copied
        batch, self.waiting = self.waiting[:n], self.waiting[n:]
        start = time.perf_counter()
        for challenge, outbox, op_id, key in batch:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE otp_challenges SET verified_at = ? WHERE id = ?", (v["at"], challenge))
            conn.execute("PRAGMA secure_delete = ON")
            conn.execute("UPDATE outbox SET body = ? WHERE id = ?", (masked, outbox))
            conn.execute("DELETE FROM outbox_codes WHERE outbox_id = ?", (outbox,))
            conn.execute("INSERT INTO audit_log (at, actor, action, outcome, details) VALUES (?, ?, ?, ?, ?)",
                         (v["at"], v["actor"], v["action"], v["outcome"], v["details"]))
            entry = conn.execute("INSERT INTO entries (kind, description, posted_at, actor, idempotency_key, business_date)"
                                 " VALUES (?, ?, ?, ?, ?, ?)",
                                 (e["kind"], e["description"], e["posted_at"], e["actor"], key, e["business_date"])).lastrowid
            for leg in legs:
                after = conn.execute("UPDATE accounts SET balance = balance + ? WHERE id = ? RETURNING balance",
                                     (leg["amount"], leg["account_id"])).fetchone()[0]
                conn.execute("INSERT INTO postings (entry_id, account_id, amount, balance_after, posted_at, memo)"
                             " VALUES (?, ?, ?, ?, ?, ?)",
                             (entry, leg["account_id"], leg["amount"], after, leg["posted_at"], leg["memo"]))
            row = {**t, "reference": f"{t['reference'][:6]}{entry:08d}", "idempotency_key": key, "entry_id": entry,
                   "motive": "raw"}
            result = conn.execute(f"INSERT INTO transfers ({', '.join(t_cols)}) VALUES ({', '.join('?' * len(t_cols))})"
                                  " RETURNING id", [row[c] for c in t_cols]).fetchone()[0]
            conn.execute("INSERT INTO transfer_usage (user_id, kind, day, amount) VALUES (?, ?, ?, ?)"
                         " ON CONFLICT (user_id, kind, day) DO UPDATE SET amount = amount + excluded.amount",
                         (t["user_id"], t["kind"], t["created_at"][:10], t["amount"]))
            conn.execute("INSERT INTO audit_log (at, actor, action, outcome, details) VALUES (?, ?, ?, ?, ?)",
                         (a["at"], a["actor"], a["action"], a["outcome"], a["details"]))
            conn.execute("UPDATE operations SET state = 'ejecutada', result_id = ?, executed_at = ? WHERE id = ?",
                         (result, op["executed_at"], op_id))
            conn.execute("COMMIT")
            conn.execute("PRAGMA secure_delete = OFF")
            conn.execute("PRAGMA busy_timeout = 0")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            conn.execute("PRAGMA busy_timeout = 10000")
        return time.perf_counter() - start

    def close(self) -> None:
        self.conn.close()


def _workers(path: Path | str, processes: int, count: int, *, script: str = "transfer_worker.py",
             extra: tuple[str, ...] = ()) -> tuple[float, int, int]:
    """Run `processes` booking processes at once; (transfers per second, done, errors).
    `script`: another worker speaking the same protocol; `extra`: more arguments for each."""
    worker = [sys.executable, str(ROOT / "bench" / script), str(path)]
    procs = [subprocess.Popen([*worker, f"bench{n}", str(count), *extra], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, cwd=ROOT) for n in range(processes)]
    # Start the clock once every process has opened the database and signed in: a fixed pause was too short
    # for 8 processes starting at once on a busy machine, and the slowest ones' start-up was timed as booking.
    if any(p.stdout.readline().strip() != "ready" for p in procs):
        for p in procs:
            p.kill()
        raise RuntimeError("a transfer worker failed to start")
    start = time.perf_counter()
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    outs = [p.communicate(timeout=600)[0].split() for p in procs]
    elapsed = time.perf_counter() - start
    done = sum(int(o[1]) for o in outs)
    errors = sum(int(o[3]) for o in outs)
    return done / elapsed, done, errors


def _interleaved(path: Path, count: int, rounds: int = 8) -> tuple[float, float, int]:
    """The service's confirmations (one transfer_worker) and the raw side's, in `rounds` turns each, alternating
    which goes first: each turn's time is mostly fsync (the commit's and the checkpoint's), and on a shared disk
    its latency changes from one second to the next, so two sides timed one after the other measured the disk's
    moods as much as the code (runs a minute apart gave 0.31 and 0.96). Returns (the median over turns of service rate ÷
    raw rate, the service's own rate over all turns, its errors)."""
    worker = subprocess.Popen([sys.executable, str(ROOT / "bench" / "transfer_worker.py"), str(path), "bench0",
                               str(count)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    raw: _RawTransfers | None = None
    try:
        if worker.stdout.readline().strip() != "ready":
            raise RuntimeError("a transfer worker failed to start")

        def service(n: int) -> tuple[int, int, float]:
            worker.stdin.write(f"go {n}\n")
            worker.stdin.flush()
            _, done, _, errors, _, seconds = worker.stdout.readline().split()
            return int(done), int(errors), float(seconds)

        turn = count // rounds
        ratios, done_all, errors_all, seconds_all = [], 0, 0, 0.0
        for n in range(rounds):
            if raw is None:  # the raw side copies a transfer the service booked: the service goes first once
                done, errors, seconds = service(turn)
                raw = _RawTransfers(path, count)
                raw_seconds = raw.book(turn)
            elif n % 2:
                raw_seconds = raw.book(turn)
                done, errors, seconds = service(turn)
            else:
                done, errors, seconds = service(turn)
                raw_seconds = raw.book(turn)
            ratios.append((done / seconds) / (turn / raw_seconds))
            done_all, errors_all, seconds_all = done_all + done, errors_all + errors, seconds_all + seconds
        worker.stdin.close()
        worker.wait(timeout=60)
    finally:
        if raw is not None:
            raw.close()
        if worker.poll() is None:
            worker.kill()
    return statistics.median(ratios), done_all / seconds_all, errors_all


def _scaling(path: Path, turn: int, rounds: int = 8, processes: int = 4) -> tuple[float, int, int]:
    """concurrent_scaling_ratio: `processes` booking processes (transfer_worker, its default path) each confirm
    `turn` transfers at once, and one of them confirms `turn` alone, in `rounds` turns each, alternating which goes
    first; each round's ratio is (processes × turn ÷ the slowest one's seconds) ÷ (turn ÷ the lone one's seconds),
    and the figure is the median round's. Why so: the two sides used to be timed minutes apart (the lone rate in
    `_interleaved`'s turns, then 4 × 400 in one go), and a booking's time is mostly its fsyncs (the commit's and
    the checkpoint's), whose latency on a shared disk changes from one minute to the next: the same code gave
    0.78 in a full run and 0.95–0.99 alone, 0.36–1.26 under load, and the processes' start (their 400
    confirmations each prepared, 1,600 writes) was the previous figure's to the timed part. Now both sides meet
    the same disk within seconds, the same warm files (the same processes, their statements prepared), and
    one slow round moves the median by little, and what earlier figures and the preparation left to write back is
written (`os.sync`) before the first timed fsync. Nothing is dropped as warm-up: the first round counts like any.
    Returns (median ratio, confirmations done, errors)."""
    worker = [sys.executable, str(ROOT / "bench" / "transfer_worker.py"), str(path)]
    counts = [turn * rounds * (2 if n == 0 else 1) for n in range(processes)]  # bench0 also books the lone turns
    procs = [subprocess.Popen([*worker, f"bench{n}", str(counts[n])], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, cwd=ROOT) for n in range(processes)]
    try:
        if any(p.stdout.readline().strip() != "ready" for p in procs):
            raise RuntimeError("a transfer worker failed to start")
        os.sync()  # the 2,000 confirmations just prepared are on disk before the first round's fsyncs

        def go(group: list[subprocess.Popen]) -> tuple[float, int, int]:
            """`turn` confirmations by each process of `group` at once: (transfers per second, done, errors)."""
            start = time.perf_counter()
            for p in group:
                p.stdin.write(f"go {turn}\n")
                p.stdin.flush()
            outs = [p.stdout.readline().split() for p in group]
            elapsed = time.perf_counter() - start
            done = sum(int(o[1]) for o in outs)
            return done / elapsed, done, sum(int(o[3]) for o in outs)

        ratios, done_all, errors_all = [], 0, 0
        for n in range(rounds):
            sides = [[procs[0]], procs] if n % 2 == 0 else [procs, [procs[0]]]
            (first, d1, e1), (second, d2, e2) = go(sides[0]), go(sides[1])
            alone, together = (first, second) if n % 2 == 0 else (second, first)
            ratios.append(together / alone)
            done_all, errors_all = done_all + d1 + d2, errors_all + e1 + e2
        for p in procs:
            p.stdin.close()
            p.wait(timeout=60)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    return statistics.median(ratios), done_all, errors_all


def transfer_figures(workdir: Path) -> dict[str, float]:
    from backend.service import Backend

    path = workdir / "transfers.sqlite3"
    _bench_coop(path, members=4)
    os.sync()  # in a full run the figure before this one wrote a million movements: on disk before any timed fsync
    count = 400
    ratio, _single, single_errors = _interleaved(path, count)
    turn, rounds = count // 8, 8
    scaling, _done, errors = _scaling(path, turn, rounds)
    errors += single_errors
    backend = Backend(path, create=False)
    booked = backend.db.conn.execute("SELECT COUNT(*) FROM transfers WHERE motive = 'bench'").fetchone()[0]
    sound = backend.check() == []
    backend.close()
    lost = (count + turn * rounds * 5) - booked - errors  # every attempt is either booked or reported
    return {"transfer_throughput_ratio": ratio, "concurrent_scaling_ratio": scaling,
            "concurrent_errors": errors + abs(lost) + (0 if sound else 1)}


def print_transfer_figures(work: Path | None = None) -> None:
    """The SQLite booking figures (transfer_figures), on a fresh co-op in `work`."""
    with tempfile.TemporaryDirectory() as tmp:
        figures = transfer_figures(work or Path(tmp))
    for name, value in figures.items():
        report(name, value)


def print_pg_figures() -> None:
    from bench.pg import pg_figures

    pg = pg_figures()  # its own throwaway PostgreSQL cluster, or COOPROGRESO_TEST_PG_URL
    for name, value in pg.items():
        report(name, value)


def print_channel_figures(work: Path | None = None) -> None:
    """SSH start ÷ local start and the browser's first paint, on the demo co-op in `work` (made if missing)."""
    from backend.core.settings import Settings
    from backend.demo.coop import create_demo
    from bench.channels import ssh_startup_ratio, web_first_paint_ratio

    with tempfile.TemporaryDirectory() as tmp:
        folder = work or Path(tmp)
        demo = folder / "demo.sqlite3"
        if not demo.exists():
            create_demo(demo, settings=Settings(scrypt_log_n=8))
        stages: dict[str, float] = {}
        ssh = ssh_startup_ratio(folder, demo, stages=stages)
        report("ssh_startup_ratio", ssh, missing="n/a (needs root and sshd)")
        if "ssh_handshake_ratio" in stages:
            report("ssh_handshake_ratio", stages["ssh_handshake_ratio"])
        paint = web_first_paint_ratio(folder, demo, stages=stages)
        report("web_first_paint_ratio", paint, missing="n/a (needs chromium)")
        if "web_page_ratio" in stages:
            for name in ("web_page_ratio", "web_load_ratio", "web_parsed_ratio"):
                report(name, stages[name])


def print_soak_figures(work: Path | None = None) -> None:
    """Seconds per simulated day, days 301–400 ÷ days 1–100 (bench/soak.py)."""
    from bench.soak import soak_day_cost_ratio

    with tempfile.TemporaryDirectory() as tmp:
        report("soak_day_cost_ratio", soak_day_cost_ratio(work or Path(tmp)))


def print_statement_figures(work: Path | None = None) -> None:
    from bench.statements import print_statement_figures as run

    run(work)


def print_code_figures(work: Path | None = None) -> None:
    """Transfers per second late in a day with abandoned codes ÷ early in it (bench/codes.py)."""
    from bench.codes import otp_abandon_ratio

    with tempfile.TemporaryDirectory() as tmp:
        report("otp_abandon_ratio", otp_abandon_ratio(work or Path(tmp)))


def print_check_figures(work: Path | None = None) -> None:
    """`cooprogreso check` at 20,000 members ÷ at 1,000: peak RSS, and seconds per posting (bench/checkscale.py)."""
    from bench.checkscale import check_figures

    with tempfile.TemporaryDirectory() as tmp:
        figures = check_figures(work or Path(tmp))
        report("check_rss_ratio", figures["check_rss_ratio"])
        report("check_time_ratio", figures["check_time_ratio"])


# `python bench/run.py --only pg`: one group of figures, same output lines
ONLY = {"sqlite": print_transfer_figures, "pg": print_pg_figures, "channels": print_channel_figures,
        "soak": print_soak_figures, "codes": print_code_figures, "statements": print_statement_figures,
        "check": print_check_figures}


def main() -> None:
    from backend.core.settings import Settings
    from backend.demo.coop import create_demo

    if "--only" in sys.argv:
        group = sys.argv[sys.argv.index("--only") + 1] if sys.argv.index("--only") + 1 < len(sys.argv) else ""
        if group not in ONLY:
            sys.exit(f"usage: bench/run.py [--only {'|'.join(ONLY)}]")
        with tempfile.TemporaryDirectory() as tmp:
            os.environ.setdefault("COOPROGRESO_SECRET_KEY_FILE", str(Path(tmp) / "keys.json"))
            ONLY[group]()
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.environ.setdefault("COOPROGRESO_SECRET_KEY_FILE", str(work / "keys.json"))  # not the user's own
        demo = work / "demo.sqlite3"
        create_demo(demo, settings=Settings(scrypt_log_n=8))
        report("startup_ratio", startup_ratio(demo))
        report("rss_ratio", rss_ratio(demo))
        report("movements_page_ratio", movements_page_ratio(work))
        figures = transfer_figures(work)
        report("transfer_throughput_ratio", figures["transfer_throughput_ratio"])
        report("concurrent_scaling_ratio", figures["concurrent_scaling_ratio"])
        report("concurrent_errors", figures["concurrent_errors"])
        from bench.scale import booking_scale_ratio, demo_data_scale_ratio

        report("booking_scale_ratio", booking_scale_ratio(work))
        report("demo_data_scale_ratio", demo_data_scale_ratio(work))
        from bench import services

        report("scheduled_pass_ratio", services.scheduled_pass_ratio(work))
        report("bill_payment_throughput_ratio", services.bill_payment_throughput_ratio(work))
        print_soak_figures(work)
        print_code_figures(work)
        print_statement_figures(work)
        print_check_figures(work)
        print_pg_figures()
        print_channel_figures(work)


if __name__ == "__main__":
    main()
