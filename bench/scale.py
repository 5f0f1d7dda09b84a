"""Figures that hold the booking path and demo-data linear in the number of members.

`booking_scale_ratio`: time to book one interbank transfer with 10⁴ members ÷ with 10² (goal ≤ 1.3):
every lookup inside the write lock must use an index.
`demo_data_scale_ratio`: seconds per member building a 2,000-member demo ÷ a 200-member one (goal ≤ 1.2).
"""

from __future__ import annotations

import secrets
import statistics
import time
from pathlib import Path


def bulk_members(conn, members: int) -> int:
    """`members` active members with one savings account each, in bulk SQL (the account serial moved past them);
    returns the first new member's id. Shared by the figures that need a big co-op quickly."""
    from backend.core.identity import account_number
    from backend.demo.coop import cedula

    first = conn.execute("SELECT COALESCE(MAX(id), 0) FROM members").fetchone()[0] + 1
    conn.executemany(
        "INSERT INTO members (id, id_type, id_number, first_names, last_names, mobile, status, created_at)"
        " VALUES (?, 'cedula', ?, 'Socio', ?, '0990000000', 'activo', '2026-01-01 00:00:00')",
        [(first + n, cedula(f"17{n:07d}"), f"Prueba {n}") for n in range(members)])
    serial = conn.execute("SELECT COUNT(*) FROM accounts WHERE kind = 'ahorros'").fetchone()[0]
    conn.executemany(
        "INSERT INTO accounts (number, member_id, kind, name, opened_on)"
        " VALUES (?, ?, 'ahorros', 'Cuenta de Ahorros', '2026-01-01')",
        [(account_number("41", serial + 1 + n), first + n) for n in range(members)])
    conn.execute("INSERT INTO account_serials (kind, last) VALUES ('ahorros', ?)"
                 " ON CONFLICT (kind) DO UPDATE SET last = excluded.last", (serial + members,))
    return first


def _coop(path: Path, members: int):
    """`members` members with one savings account each (bulk SQL), then one signed-in member who sends.

    The two internal accounts an interbank transfer books against are created by the first transfer,
    after every member, as they are in a real co-op that starts sending interbank later.
    """
    from backend.core import accounts
    from backend.core.ledger import Leg, post
    from backend.core.settings import Settings
    from backend.demo.coop import cedula
    from backend.security.passwords import hash_password
    from backend.service import Backend

    backend = Backend(path, Settings(scrypt_log_n=8, limit_interbancaria_tx=10**12,
                                     limit_interbancaria_daily=10**15, session_idle_seconds=10**7))
    with backend.db.write() as conn:
        caja = accounts.internal_account(conn, "caja")
        bulk_members(conn, members)
        sender = accounts.create_member(conn, id_type="cedula", id_number=cedula("180000001"),
                                        first_names="Envía", last_names="Prueba", mobile="0990000001",
                                        email=None, created_at="2026-01-01 00:00:00")
        origin = accounts.open_savings(conn, sender, "2026-01-01")
        post(conn, kind="deposito", description="Depósito", posted_at="2026-01-01 00:00:00", actor="bench",
             legs=[Leg(origin, 10**12, "Depósito"), Leg(caja, -10**12, "Depósito")])
        conn.execute("INSERT INTO users (member_id, username, password_hash, created_at)"
                     " VALUES (?, 'envia', ?, '2026-01-01 00:00:00')",
                     (sender, hash_password("Bench-2026", log_n=8, r=8, p=1)))
    token = backend.auth.login("envia", "Bench-2026").token
    return backend, backend.auth.principal(token), origin


def _booker(path: Path, members: int):
    from backend.transfers.transfers import TransferRequest

    backend, who, origin = _coop(path, members)
    backend.transfers  # noqa: B018 - built (and institutions loaded) before timing
    request = TransferRequest("interbancaria", origin, 1_00, "bench", account_number="22001234",
                              institution_code="0017", account_type="ahorros", holder_name="Pedro Andrade",
                              holder_id_type="cedula", holder_id_number="1104680135")

    def book() -> float:
        start = time.perf_counter()
        with backend.db.write() as conn:
            backend.transfers._book(conn, who, request, secrets.token_urlsafe(16))
        return time.perf_counter() - start

    book()  # the first one creates the internal accounts
    return backend, book


def booking_scale_ratio(workdir: Path, small: int = 100, large: int = 10_000, rounds: int = 5,
                        per_round: int = 60) -> float:
    small_backend, book_small = _booker(workdir / "scale-small.sqlite3", small)
    large_backend, book_large = _booker(workdir / "scale-large.sqlite3", large)
    ratios = []
    for _ in range(rounds):  # interleaved, so drift hits both alike
        s = statistics.median(book_small() for _ in range(per_round))
        big = statistics.median(book_large() for _ in range(per_round))
        ratios.append(big / s)
    small_backend.close()
    large_backend.close()
    return statistics.median(ratios)


def demo_data_scale_ratio(workdir: Path, small: int = 200, large: int = 2_000) -> float:
    """CPU seconds of this process (the machine is shared: wall time measures the neighbours too)."""
    from backend.core.settings import Settings
    from backend.demo.coop import create_demo

    def per_member(members: int) -> float:
        path = workdir / f"demo-{members}.sqlite3"
        start = time.process_time()
        create_demo(path, members=members, settings=Settings(scrypt_log_n=8))
        seconds = time.process_time() - start
        for leftover in workdir.glob(f"demo-{members}.sqlite3*"):
            leftover.unlink()
        return seconds / members

    per_member(small)  # warm imports and caches
    smalls = [per_member(small)]
    big = per_member(large)
    smalls.append(per_member(small))
    return big / statistics.median(smalls)


if __name__ == "__main__":
    import sys
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    with tempfile.TemporaryDirectory() as tmp:
        print(f"booking_scale_ratio: {booking_scale_ratio(Path(tmp)):.2f}", flush=True)
        print(f"demo_data_scale_ratio: {demo_data_scale_ratio(Path(tmp)):.2f}", flush=True)
