"""Figures for Pago de Servicios, as ratios against a baseline measured in the same run.

scheduled_pass_ratio: one runner pass over 10⁵ schedules of which 10² are due ÷ one pass over 10²
schedules all due (goal ≤ 2: a pass costs O(due), not O(all)).
bill_payment_throughput_ratio: service payments booked per second ÷ transfers booked per second, both
through their handlers' commit path on the same database (goal ≥ 0.8).
"""

from __future__ import annotations

import secrets
import statistics
import time
from datetime import datetime
from pathlib import Path

from backend.core.clock import FixedClock

NOW = datetime(2026, 11, 26, 9, 0, 0)  # a Thursday: the due schedules' day


def _coop(path: Path):
    """One well-funded member (`bench`) with a savings account, and the biller catalogue."""
    from backend.bill_payments import billers
    from backend.core import accounts
    from backend.core.ledger import Leg, post
    from backend.core.settings import Settings
    from backend.demo.coop import cedula
    from backend.security.passwords import hash_password
    from backend.service import Backend

    settings = Settings(scrypt_log_n=8, limit_servicios_daily=10**12, limit_terceros_tx=10**12,
                        limit_terceros_daily=10**12, session_idle_seconds=10**7)
    backend = Backend(path, settings, FixedClock(NOW))
    with backend.db.write() as conn:
        caja = accounts.internal_account(conn, "caja")
        for n in range(2):
            member = accounts.create_member(conn, id_type="cedula", id_number=cedula(f"1700{n:05d}"), first_names="Socio",
                                            last_names=f"Prueba {n}", mobile="0990000000", email=None,
                                            created_at="2026-01-01 00:00:00")
            account = accounts.open_savings(conn, member, "2026-01-01")
            post(conn, kind="deposito", description="Depósito", posted_at="2026-01-01 00:00:00", actor="bench",
                 legs=[Leg(account, 10**11, "Depósito"), Leg(caja, -10**11, "Depósito")])
            conn.execute("INSERT INTO users (member_id, username, password_hash, created_at)"
                         " VALUES (?, ?, ?, '2026-01-01 00:00:00')",
                         (member, f"bench{n}", hash_password("Bench-2026", log_n=8, r=8, p=1)))
    billers.ensure_loaded(backend.db)
    return backend


def _schedules(backend, total: int, due: int) -> None:
    """`total` schedules of the bench member, of which `due` run now and the rest next month."""
    conn = backend.db.conn
    user, account = conn.execute("SELECT u.id, a.id FROM users u JOIN accounts a ON a.member_id = u.member_id"
                                 " WHERE u.username = 'bench0' AND a.kind = 'ahorros'").fetchone()
    rows = [(user, account, "CNT-FIJO", f"02{n:07d}1", 26, 500_00, "2026-11-01", "activo",
             "2026-11" if n < due else "2026-12", "2026-11-26 06:00:00" if n < due else "2026-12-28 06:00:00",
             "2026-11-01 00:00:00", "2026-11-01 00:00:00") for n in range(total)]
    with backend.db.write() as conn:
        conn.executemany(
            "INSERT INTO bill_schedules (user_id, account_id, biller_code, identifier, day, max_amount, start_date,"
            " state, period, next_run, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def scheduled_pass_ratio(workdir: Path, rounds: int = 3) -> float:
    big_times, small_times = [], []
    for r in range(rounds):
        times = {}
        for name, total in (("small", 100), ("big", 100_000)):
            backend = _coop(workdir / f"sched-{name}-{r}.sqlite3")
            _schedules(backend, total, 100)
            runner = backend.scheduled_runner()
            start = time.perf_counter()
            report = runner.run_pass()
            times[name] = time.perf_counter() - start
            assert report.paid == 100, report
            backend.close()
        big_times.append(times["big"])
        small_times.append(times["small"])
    return statistics.median(big_times) / statistics.median(small_times)


def bill_payment_throughput_ratio(workdir: Path, count: int = 300) -> float:
    """Top-ups (no bill to exhaust) through the Pagar handler vs Cooprogreso transfers through theirs."""
    backend = _coop(workdir / "throughput.sqlite3")
    token = backend.auth.login("bench0", "Bench-2026").token
    who = backend.auth.principal(token)
    origin = backend.services.origins(token)[0].account_id
    dest = backend.db.conn.execute("SELECT a.number FROM accounts a JOIN users u ON u.member_id = a.member_id"
                                   " WHERE u.username = 'bench1' AND a.kind = 'ahorros'").fetchone()[0]
    presentment = backend.services.consulta(token, "CLARO-REC", "0991234561")
    ops = backend.ops
    pay_handler = ops._handler("pago_servicio")
    transfer_handler = ops._handler("transferencia")
    pay_request = {"presentment_id": presentment.id, "bills": [], "account_id": origin, "amount": 1_00}
    transfer_request = _transfer_request(origin, dest)

    def rate(handler, request) -> float:
        start = time.perf_counter()
        for _ in range(count):
            with backend.db.write() as conn:
                prepared = handler.prepare(conn, who, request)
                handler.execute(conn, who, prepared.plan, secrets.token_urlsafe(16))
        return count / (time.perf_counter() - start)

    rate(pay_handler, pay_request), rate(transfer_handler, transfer_request)  # warm both
    ratios = [rate(pay_handler, pay_request) / rate(transfer_handler, transfer_request) for _ in range(3)]
    backend.close()
    return statistics.median(ratios)


def _transfer_request(origin: int, dest: str) -> dict:
    from dataclasses import asdict

    from backend.transfers.transfers import TransferRequest

    return asdict(TransferRequest("terceros", origin, 1_00, "bench", account_number=dest))
