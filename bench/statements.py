"""statement_ratio: the cost per movement of a 5,000-movement month's PDF statement over a 50-movement month's.

Goal ≤ 1.2: a statement grows linearly with its movements (no quadratic layout or signing). Both accounts are
filled with the shape the ledger writes (bench/run.py `_fill`) in January 2020 and rendered through the service.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

BIG, SMALL = 5_000, 50


def statement_ratio(workdir: Path) -> float:
    from backend.core import accounts
    from backend.core.settings import Settings
    from backend.demo.coop import cedula
    from backend.security.passwords import hash_password
    from backend.service import Backend
    from bench.run import _fill

    backend = Backend(workdir / "statements.sqlite3", Settings(scrypt_log_n=8))
    with backend.db.write() as conn:
        caja = accounts.internal_account(conn, "caja")
        member = accounts.create_member(conn, id_type="cedula", id_number=cedula("170000002"), first_names="Estado",
                                        last_names="Prueba", mobile="0990000001", email=None,
                                        created_at="2020-01-01 00:00:00")
        big = accounts.open_savings(conn, member, "2020-01-01")
        small = accounts.open_savings(conn, member, "2020-01-01")
        conn.execute("INSERT INTO users (member_id, username, password_hash, created_at) VALUES (?, 'estado', ?, ?)",
                     (member, hash_password("Bench-2026", log_n=8, r=8, p=1), "2020-01-01 00:00:00"))
    _fill(backend, caja, big, BIG)
    _fill(backend, caja, small, SMALL)
    token = backend.auth.login("estado", "Bench-2026").token

    def per_movement(account: int, count: int, rounds: int) -> float:
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            paper = backend.account_statements.statement(token, account, "2020-01", "pdf")
            times.append(time.perf_counter() - start)
            assert len(paper.document.rows) == count
        return statistics.median(times) / count

    per_movement(small, SMALL, 2)  # warm: fpdf2's import and first page
    ratio = per_movement(big, BIG, 3) / per_movement(small, SMALL, 9)
    backend.close()
    return ratio


def print_statement_figures(work: Path | None = None) -> None:
    import tempfile

    from bench.run import report

    with tempfile.TemporaryDirectory() as tmp:
        report("statement_ratio", statement_ratio(work or Path(tmp)))
