"""Time source, injectable so tests and demo recordings can fix or advance it."""

from __future__ import annotations

from datetime import datetime, timedelta


class Clock:
    def now(self) -> datetime:
        return datetime.now().replace(microsecond=0)


class FixedClock(Clock):
    """A clock that only moves when told to."""

    def __init__(self, start: datetime):
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> None:
        self.current += timedelta(**kwargs)


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S")


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
