"""soak_day_cost_ratio: seconds per simulated day late in a long run ÷ early in it (goal ≤ 1.2).

A demo co-op (50 members, 8 of them online) is moved 400 days forward by backend/demo/simulation.py; a day that
costs more as the books grow (a scan of every posting, a re-read of every SMS) shows here.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

DAYS = 400


def soak_day_cost_ratio(work: Path, days: int = DAYS) -> float:
    from backend.core.clock import FixedClock, set_process_clock
    from backend.core.settings import Settings
    from backend.demo.coop import create_demo
    from backend.demo.simulation import Simulation, day_cost_ratio
    from backend.service import Backend

    settings = Settings(scrypt_log_n=8)
    clock = FixedClock(datetime(2026, 11, 25, 10, 0))
    set_process_clock(clock)
    try:
        path = work / "soak.sqlite3"
        create_demo(path, members=50, today=date(2026, 11, 25), settings=settings)
        backend = Backend(path, settings, clock, create=False)
        try:
            report = Simulation(backend, seed=2026, members=8).run(days)
        finally:
            backend.close()
    finally:
        set_process_clock(None)
    if report.stopped or len(report.seconds) < days:
        raise SystemExit(f"soak: the simulation stopped: {report.stopped}")
    return day_cost_ratio(report.seconds)
