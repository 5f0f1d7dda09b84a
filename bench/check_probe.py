"""Child process for bench/checkscale.py: `cooprogreso check --db DB`, then its own peak RSS and the audit's time.

usage: check_probe.py DB
Prints the command's own lines, then `rss_kb N seconds S`. VmHWM, not ru_maxrss: Linux carries the parent's peak
across fork+exec into ru_maxrss, and the parent that built a 20,000-member co-op is big.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    from backend.service import Backend
    from bench.probe import peak_rss_kb
    from cooprogreso_tui.cli import main as cli

    spent: list[float] = []
    audit = Backend.check

    def timed(self: Backend) -> list[str]:  # the audit alone: opening the database and the warnings are fixed costs
        start = time.perf_counter()
        try:
            return audit(self)
        finally:
            spent.append(time.perf_counter() - start)

    Backend.check = timed  # type: ignore[method-assign]
    code = cli(["check", "--db", sys.argv[1]])
    print(f"rss_kb {peak_rss_kb()} seconds {sum(spent):.3f}", flush=True)
    sys.exit(0 if code in (0, 1) else code)


if __name__ == "__main__":
    main()
