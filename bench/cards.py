"""Card figures: what a longer deferral costs to price (goal: amortization_ratio ≤ 3)."""

from __future__ import annotations

import statistics
import time
from decimal import Decimal


def amortization_ratio(rounds: int = 9, repeat: int = 300) -> float:
    """Computing a 36-month French schedule ÷ computing a 3-month one, median of `rounds`, same run."""
    from backend.core.amortization import french
    from backend.core.rates import monthly_from_effective

    monthly = monthly_from_effective(Decimal("0.1677"))

    def timed(months: int) -> float:
        start = time.perf_counter()
        for n in range(repeat):
            french(1000_00 + n, monthly, months)
        return time.perf_counter() - start

    timed(3), timed(36)  # warm up
    return statistics.median(timed(36) / timed(3) for _ in range(rounds))


if __name__ == "__main__":
    print(f"amortization_ratio: {amortization_ratio():.2f}")
