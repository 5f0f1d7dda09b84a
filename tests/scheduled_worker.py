"""Child process for runner races: one pass of Pagos Programados at a fixed time.

usage: python -m tests.scheduled_worker DB ISO_TIME [HANG_AT]
Waits for a line on stdin (so several start together), runs one pass and prints its report line.
With HANG_AT (claimed, consulted, booked, committed) it prints `at HANG_AT` there and sleeps, to be killed.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime

from backend.core.clock import FixedClock
from backend.core.settings import Settings
from backend.service import Backend


def main() -> None:
    db, when = sys.argv[1], datetime.fromisoformat(sys.argv[2])
    hang = sys.argv[3] if len(sys.argv) > 3 else None

    def crash(point: str) -> None:
        if point == hang:
            print(f"at {point}", flush=True)
            time.sleep(600)

    backend = Backend(db, Settings(scrypt_log_n=8), FixedClock(when), create=False)
    runner = backend.scheduled_runner(crash=crash)
    sys.stdin.readline()
    report = runner.run_pass()
    print(f"paid {report.paid} lost {report.lost}", flush=True)
    backend.close()


if __name__ == "__main__":
    main()
