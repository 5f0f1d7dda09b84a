"""PostgreSQL figures: the service's transfers against the same writes by hand, and 8 processes against 1.

    python bench/pg.py       (also called from bench/run.py)
A throwaway cluster is started the same way CI does (.ci/pg-cluster, durable commits) unless
COOPROGRESO_TEST_PG_URL names a server. Targets: pg_transfer_throughput_ratio ≥ 0.5,
pg_concurrent_scaling_ratio ≥ 2.0 with pg_concurrent_errors = 0.
Each worker process is a branch booking its own members' transfers (payer `benchN` → a payee of its own), as
branches do; the service's own locks (the member's advisory lock, account rows in id order) are all taken.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
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


def _raw_transfers(url: str, count: int) -> float:
    """The same rows the service writes for a transfer, by hand with psycopg, one transaction each: per second."""
    import psycopg
    from psycopg.rows import dict_row

    conn = psycopg.connect(url, autocommit=True, row_factory=dict_row)
    t = conn.execute("SELECT * FROM transfers ORDER BY id DESC LIMIT 1").fetchone()
    e = conn.execute("SELECT * FROM entries WHERE id = %s", (t["entry_id"],)).fetchone()
    legs = conn.execute("SELECT * FROM postings WHERE entry_id = %s ORDER BY id", (e["id"],)).fetchall()
    a = conn.execute("SELECT * FROM audit_log WHERE action = 'transferencia.terceros' ORDER BY id DESC LIMIT 1"
                     ).fetchone()
    t_cols = [c for c in t if c != "id"]
    insert_transfer = f"INSERT INTO transfers ({', '.join(t_cols)}) VALUES ({', '.join(['%s'] * len(t_cols))})"
    start = time.perf_counter()
    for _ in range(count):
        key = secrets.token_urlsafe(16)
        conn.execute("BEGIN")
        entry = conn.execute("INSERT INTO entries (kind, description, posted_at, actor, idempotency_key)"
                             " VALUES (%s, %s, %s, %s, %s) RETURNING id",
                             (e["kind"], e["description"], e["posted_at"], e["actor"], key)).fetchone()["id"]
        for leg in legs:
            after = conn.execute("UPDATE accounts SET balance = balance + %s WHERE id = %s RETURNING balance",
                                 (leg["amount"], leg["account_id"])).fetchone()["balance"]
            conn.execute("INSERT INTO postings (entry_id, account_id, amount, balance_after, posted_at, memo)"
                         " VALUES (%s, %s, %s, %s, %s, %s)",
                         (entry, leg["account_id"], leg["amount"], after, leg["posted_at"], leg["memo"]))
        row = {**t, "reference": f"{t['reference'][:6]}{entry:08d}", "idempotency_key": key, "entry_id": entry,
               "motive": "raw"}
        conn.execute(insert_transfer, [row[c] for c in t_cols])
        conn.execute("INSERT INTO transfer_usage (user_id, kind, day, amount) VALUES (%s, %s, %s, %s)"
                     " ON CONFLICT (user_id, kind, day) DO UPDATE SET amount = transfer_usage.amount + excluded.amount",
                     (t["user_id"], t["kind"], t["created_at"][:10], t["amount"]))
        conn.execute("INSERT INTO audit_log (at, actor, action, outcome, details) VALUES (%s, %s, %s, %s, %s)",
                     (a["at"], a["actor"], a["action"], a["outcome"], a["details"]))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return count / elapsed


def pg_figures(count: int = 300, rounds: int = 3) -> dict[str, float]:
    """Each figure is the median of `rounds` interleaved measurements: this machine is shared, and a burst of
    someone else's work during one short measurement would otherwise decide the ratio."""
    from backend.core.db import Database
    from backend.service import Backend

    singles, raws, manys, errors = [], [], [], 0
    with server() as base:
        url = _database(base, f"cp_bench_{os.getpid()}")
        Database(url, migrate=True).close()
        _bench_coop(url, members=PROCESSES, own_payees=True)  # each branch's own members: no shared hot row
        for _ in range(rounds):
            single, _, single_errors = _workers(url, 1, count)
            raws.append(_raw_transfers(url, count))
            many, _, many_errors = _workers(url, PROCESSES, count)
            singles.append(single)
            manys.append(many)
            errors += single_errors + many_errors
        backend = Backend(url)
        booked = backend.db.conn.execute("SELECT COUNT(*) FROM transfers WHERE motive = 'bench'").fetchone()[0]
        sound = backend.check() == []
        backend.close()
    lost = rounds * (count + PROCESSES * count) - booked - errors  # every attempt is either booked or reported
    single, raw, many = (statistics.median(v) for v in (singles, raws, manys))
    return {"pg_transfer_throughput_ratio": single / raw, "pg_concurrent_scaling_ratio": many / single,
            "pg_concurrent_errors": errors + abs(lost) + (0 if sound else 1)}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("COOPROGRESO_SECRET_KEY_FILE", str(Path(tmp) / "keys.json"))
        figures = pg_figures()
    for name, value in figures.items():
        print(f"{name}: {value:.2f}" if isinstance(value, float) else f"{name}: {value}", flush=True)


if __name__ == "__main__":
    main()
