"""PostgreSQL figures that measure our code, not the machine (issue #23): on 2 shared cores a CPU-bound booking
path cannot show 8 processes ÷ 1 ≥ 2, so the figures compare like with like.

    python bench/pg.py       (also called from bench/run.py)
A throwaway cluster is started the same way CI does (.ci/pg-cluster, durable commits) unless
COOPROGRESO_TEST_PG_URL names a server. Figures (goals in bench/run.py GOALS):
- pg_like_for_like_ratio: the service's transfers/s with 8 processes ÷ the same statements written by hand
  (bench/pg_raw_worker.py: same round trips and pipelines, same locks), 8 processes;
- pg_no_collapse_ratio: the service with 8 processes ÷ with 1 (the co-op must not slow down as branches join);
- pg_hot_row_ratio: 8 processes paying bills, other banks' cards and interbank transfers (all crediting the
  co-op's internal accounts) ÷ 8 processes making transfers between members of their own, both sides on the
  same production path: each operation prepared and its code sent before the clock, `ops.authorise` timed (the
  code checked, the operation's recheck and booking, the work after it, the receipt). It used to divide each
  handler's prepare + commit in one transaction by `TransfersService._book` alone (no draft, no operation): the
  two sides did unlike work, and the bill payment's `after` (the entity told, a second transaction) was left out;
- pg_hot_row_book_ratio: that old figure (the paid kinds' handlers ÷ `_book`), printed without a goal so the two
  can be compared;
- pg_hot_row_lock_waits: while those 8 pay, the share of their sessions' samples spent waiting for a lock
  (printed without a goal: it tells a hot row from work that costs more CPU, which lowers the ratio alike);
- pg_concurrent_scaling_ratio: the same 8 ÷ 1 figure, printed without a goal for machines with more cores
  (where it should reach 2 and more; here it can only show that nothing collapses);
- pg_concurrent_errors: attempts neither booked nor refused, errors, and a `check` that is not clean.
Each worker process is a branch booking its own members' transfers (payer `benchN` → a payee of its own), as
branches do; the service's own locks (the member's advisory lock, account rows in id order) are all taken.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import _bench_coop, _workers  # noqa: E402

PROCESSES = 8


@contextlib.contextmanager
def server() -> Iterator[str]:
    """A PostgreSQL server URL for the figures: the given one, or a throwaway cluster of our own."""
    given = os.environ.get("COOPROGRESO_TEST_PG_URL")
    if given:
        yield given
        return
    cluster = Path(tempfile.mkdtemp(prefix="cooprogreso-bench-pg."))
    script = str(ROOT / ".ci" / "pg-cluster")
    try:
        yield subprocess.run([script, "start", str(cluster)], check=True, capture_output=True,
                             text=True).stdout.strip()
    finally:
        subprocess.run([script, "stop", str(cluster)], check=False)


def _database(base: str, name: str) -> str:
    from urllib.parse import urlsplit

    import psycopg

    parts = urlsplit(base)
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"{parts.scheme}://{parts.netloc}/{name}" + (f"?{parts.query}" if parts.query else "")


@contextlib.contextmanager
def lock_waits(url: str, share: list[float]) -> Iterator[None]:
    """While the block runs, how often the database's busy sessions wait for a lock (a row's, an advisory
    one): appended to `share` at the end, 0 to 1. Tells a hot row from a slow statement on a busy machine,
    where both lower the throughput alike."""
    import psycopg

    stop = threading.Event()
    counts = [0, 0]

    def sample() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            while not stop.wait(0.02):
                for (waiting,) in conn.execute("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE datname"
                                               " = current_database() AND pid != pg_backend_pid() AND state = 'active'"):
                    counts[0] += 1
                    counts[1] += bool(waiting)

    watcher = threading.Thread(target=sample)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()
        share.append(counts[1] / counts[0] if counts[0] else 0.0)


def pg_figures(count: int = 200, rounds: int = 3) -> dict[str, float]:
    """Each figure is the median of `rounds` interleaved measurements: this machine is shared, and a burst of
    someone else's work during one short measurement would otherwise decide the ratio."""
    from backend.bill_payments import billers
    from backend.core.database import open_database
    from backend.service import Backend

    singles, raws, manys, mixes, waits, errors, mix_lost = [], [], [], [], [], 0, 0
    confirmed, mixbooks = [], []
    with server() as base:
        url = _database(base, f"cp_bench_{os.getpid()}")
        open_database(url, migrate=True).close()
        _bench_coop(url, members=PROCESSES, own_payees=True)  # each branch's own members: no shared member row
        backend = Backend(url)
        billers.ensure_loaded(backend.db)
        backend.close()
        for _ in range(rounds):
            single, _, single_errors = _workers(url, 1, count, extra=("book",))
            raw, _, raw_errors = _workers(url, PROCESSES, count, script="pg_raw_worker.py")
            many, _, many_errors = _workers(url, PROCESSES, count, extra=("book",))
            paid, _, paid_errors = _workers(url, PROCESSES, count)  # transfers confirmed with their code
            with lock_waits(url, waits):
                mix, mix_done, mix_errors = _workers(url, PROCESSES, count, extra=("mix",))
            mixbook, book_done, book_errors = _workers(url, PROCESSES, count, extra=("mixbook",))
            confirmed.append(paid)
            mixbooks.append(mixbook)
            errors += paid_errors
            mix_lost += book_errors + abs(PROCESSES * count - book_done - book_errors)
            singles.append(single)
            raws.append(raw)
            manys.append(many)
            mixes.append(mix)
            errors += single_errors + raw_errors + many_errors
            mix_lost += mix_errors + abs(PROCESSES * count - mix_done - mix_errors)
        backend = Backend(url)
        booked = backend.db.conn.execute("SELECT COUNT(*) FROM transfers WHERE motive = 'bench'"
                                         " AND kind = 'terceros'").fetchone()[0]
        sound = backend.check() == []
        backend.close()
    lost = rounds * (count + 3 * PROCESSES * count) - booked - errors  # every attempt booked or reported
    single, raw, many, mix = (statistics.median(v) for v in (singles, raws, manys, mixes))
    hot = statistics.median(m / p for m, p in zip(mixes, confirmed))  # each round's pair, run back to back
    hot_book = statistics.median(m / b for m, b in zip(mixbooks, manys))
    return {"pg_like_for_like_ratio": many / raw, "pg_no_collapse_ratio": many / single,
            "pg_hot_row_ratio": hot, "pg_hot_row_book_ratio": hot_book,
            "pg_hot_row_lock_waits": statistics.median(waits),
            "pg_concurrent_scaling_ratio": many / single,
            "pg_concurrent_errors": errors + abs(lost) + mix_lost + (0 if sound else 1)}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("COOPROGRESO_SECRET_KEY_FILE", str(Path(tmp) / "keys.json"))
        figures = pg_figures()
    for name, value in figures.items():
        print(f"{name}: {value:.2f}" if isinstance(value, float) else f"{name}: {value}", flush=True)


if __name__ == "__main__":
    main()
