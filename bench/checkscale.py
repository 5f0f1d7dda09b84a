"""Figures that hold `cooprogreso check` flat in memory and linear in time as the co-op grows (issue #23).

`check_rss_ratio`: peak RSS of `cooprogreso check` (its own process) on a 20,000-member co-op ÷ on a 1,000-member
one (goal ≤ 1.2): the books audit aggregates in SQL and pages through what it reads row by row, never the whole.
`check_time_ratio`: seconds of the audit per posting, 20,000 members ÷ 1,000 (for the record: ≈ 1 is linear).
The co-ops are built in bulk SQL (as bench/scale.py does): every member opens a savings account with a deposit
and makes a few more; one in four has a card with a year of (empty) statements, which the audit re-derives.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CARD_EVERY, MOVEMENTS, MONTHS = 4, 4, 12


def build(path: Path | str, members: int) -> int:
    """A co-op of `members` whose books agree (a new SQLite file, or an empty PostgreSQL database's URL); returns
    how many postings it holds."""
    import random

    from backend.core import accounts
    from backend.core.pan import pan_secret
    from backend.core.settings import Settings
    from backend.demo.coop import demo_pan
    from backend.service import Backend

    from bench.scale import bulk_members

    backend = Backend(path, Settings(scrypt_log_n=8), migrate=True)
    secret = pan_secret(backend.ctx.secret("otp_pepper"))
    with backend.db.write() as conn:
        caja = accounts.internal_account(conn, "caja")
        first = bulk_members(conn, members)
        entry = conn.execute("SELECT COALESCE(MAX(id), 0) FROM entries").fetchone()[0] + 1
        savings = dict(conn.execute("SELECT member_id, id FROM accounts WHERE kind = 'ahorros' AND member_id >= ?",
                                    (first,)).fetchall())
        entries, postings, openings, balances = [], [], [], {caja: 0}
        for n in range(members):  # each member's deposits: the first opens the account
            for k in range(1 + MOVEMENTS):
                at, amount = f"2026-{1 + k:02d}-{1 + n % 28:02d} 10:00:00", 100_00 + (n * 7 + k) % 900_00
                entries.append((entry, "deposito", "Depósito", at, "bench"))
                for account, value in ((savings[first + n], amount), (caja, -amount)):
                    balances[account] = balances.get(account, 0) + value
                    postings.append((entry, account, value, balances[account], at, "Depósito"))
                if k == 0:
                    openings.append((entry, first + n))
                entry += 1
        conn.executemany("INSERT INTO entries (id, kind, description, posted_at, actor) VALUES (?, ?, ?, ?, ?)",
                         entries)
        conn.executemany("INSERT INTO postings (entry_id, account_id, amount, balance_after, posted_at, memo)"
                         " VALUES (?, ?, ?, ?, ?, ?)", postings)
        conn.executemany("UPDATE members SET opening_entry_id = ? WHERE id = ?", openings)
        conn.executemany("UPDATE accounts SET balance = balance + ? WHERE id = ?",
                         [(value, account) for account, value in balances.items()])
        rng, statements = random.Random(members), []
        for n in range(0, members, CARD_EVERY):
            card = accounts.open_card(conn, first + n, pan=demo_pan(rng), credit_limit=1000_00, cutoff_day=15,
                                      due_day=1, opened_on="2026-01-01", secret=secret)
            statements += [(card, f"2026-{m:02d}-16" if m > 1 else "2026-01-01", f"2026-{m:02d}-15",
                            f"2026-{m + 1:02d}-01" if m < 12 else "2027-01-01", f"2026-{m:02d}-16 00:05:00")
                           for m in range(1, MONTHS + 1)]
        conn.executemany(  # cycles with nothing bought: nothing owed, and the ledger agrees
            "INSERT INTO card_statements (card_id, cycle_from, cut_date, due_date, previous_balance, purchases,"
            " payments, deferred, installments, interest, other, total_due, minimum_due, installment_balance,"
            " closed_at) VALUES (?, ?, ?, ?, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ?)", statements)
        count = conn.execute("SELECT COUNT(*) FROM postings").fetchone()[0]
    backend.close()
    return count


def measure(path: Path | str) -> tuple[int, float, str]:
    """`cooprogreso check` in a process of its own: (peak RSS in kB, seconds in the audit, its output)."""
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "check_probe.py"), str(path)], capture_output=True,
                         text=True, check=True, cwd=ROOT).stdout
    *lines, figures = out.strip().splitlines()
    _, rss, _, seconds = figures.split()
    return int(rss), float(seconds), "\n".join(lines)


def check_figures(workdir: Path, small: int = 1_000, large: int = 20_000, rounds: int = 3) -> dict[str, float]:
    paths = {n: workdir / f"check-{n}.sqlite3" for n in (small, large)}
    postings = {n: build(path, n) for n, path in paths.items()}
    runs: dict[int, list[tuple[int, float, str]]] = {small: [], large: []}
    for _ in range(rounds):  # interleaved, so drift hits both alike
        for n, path in paths.items():
            runs[n].append(measure(path))
    for n, results in runs.items():
        if any("Contabilidad cuadrada" not in output for _, _, output in results):
            raise RuntimeError(f"the {n}-member bench co-op's books do not agree: {results[0][2]}")
    rss = {n: statistics.median(r[0] for r in results) for n, results in runs.items()}
    per_posting = {n: statistics.median(r[1] for r in results) / postings[n] for n, results in runs.items()}
    return {"check_rss_ratio": rss[large] / rss[small], "check_time_ratio": per_posting[large] / per_posting[small],
            "check_rss_small_mb": rss[small] / 1024, "check_rss_large_mb": rss[large] / 1024}


if __name__ == "__main__":
    import tempfile

    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        for name, value in check_figures(Path(tmp)).items():
            print(f"{name}: {value:.2f}", flush=True)
