"""Child process for bench/run.py: book N transfers through the service commit path (no OTP).

usage: transfer_worker.py DB USERNAME COUNT
prints `ready` once signed in, waits for a line on stdin, then prints `done N errors N seconds S`
"""

from __future__ import annotations

import secrets
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.core.errors import ServiceError  # noqa: E402
from backend.core.settings import Settings  # noqa: E402
from backend.service import Backend  # noqa: E402
from backend.transfers.transfers import TransferRequest  # noqa: E402

UNLIMITED = dict(limit_terceros_tx=10**12, limit_terceros_daily=10**12, scrypt_log_n=8)


def book(backend: Backend, token: str, origin: int, dest: str, count: int) -> tuple[int, int, float]:
    who = backend.auth.principal(token)
    request = TransferRequest("terceros", origin, 1_00, "bench", account_number=dest)
    done = errors = 0
    start = time.perf_counter()
    for _ in range(count):
        try:
            with backend.db.write() as conn:
                backend.transfers._book(conn, who, request, secrets.token_urlsafe(16))
            done += 1
        except (sqlite3.OperationalError, ServiceError):  # "database is locked", busy: this figure must show zero
            errors += 1
    return done, errors, time.perf_counter() - start


def main() -> None:
    db, username, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    backend = Backend(db, Settings(**UNLIMITED), create=False)
    token = backend.auth.login(username, "Bench-2026").token
    origin = backend.transfers.origins(token)[0].account_id
    dest = backend.db.get_meta(f"bench_dest_{username}") or backend.db.get_meta("bench_dest")
    print("ready", flush=True)
    sys.stdin.readline()  # wait for the parent's start signal
    done, errors, seconds = book(backend, token, origin, dest, count)
    print(f"done {done} errors {errors} seconds {seconds:.4f}", flush=True)


if __name__ == "__main__":
    main()
