"""Time source, injectable so tests and demo recordings can fix or advance it.

Times are the co-op's wall-clock time (setting `timezone`), naive, whatever the server's own zone is:
what is stored, shown to a member, printed on a receipt or exported all read the same in Ecuador.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "America/Guayaquil"


class Clock:
    def __init__(self, timezone: str = DEFAULT_TIMEZONE):
        self.zone = ZoneInfo(timezone)

    def now(self) -> datetime:
        return datetime.now(self.zone).replace(tzinfo=None, microsecond=0)

    def today(self) -> date:
        return self.now().date()


class FixedClock(Clock):
    """A clock that only moves when told to."""

    def __init__(self, start: datetime):
        super().__init__()
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> None:
        self.current += timedelta(**kwargs)


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S")


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
