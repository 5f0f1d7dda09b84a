"""Time source, injectable so tests and demo recordings can fix or advance it.

Times are the co-op's wall-clock time (setting `timezone`), naive, whatever the server's own zone is:
what is stored, shown to a member, printed on a receipt or exported all read the same in Ecuador.
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from backend.core.text import visible

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


class StartedClock(Clock):
    """Real time passing from a chosen instant: what `COOPROGRESO_CLOCK` gives a process a test starts."""

    def __init__(self, start: datetime, timezone: str = DEFAULT_TIMEZONE):
        super().__init__(timezone)
        self.offset = start - super().now()

    def now(self) -> datetime:
        return (super().now() + self.offset).replace(microsecond=0)


CLOCK_ENV = "COOPROGRESO_CLOCK"
_process_clock: Clock | None = None


def set_process_clock(clock: Clock | None) -> None:
    """Make `clock` the one every entry point of this process uses (tests); None gives the real one back."""
    global _process_clock
    _process_clock = clock


def system_clock(timezone: str = DEFAULT_TIMEZONE) -> Clock:
    """The one place every entry point (app, CLI, web, background passes, demo data) takes its clock from.

    The real clock, unless a test set one for this process (`set_process_clock`) or for a process it starts
    (`COOPROGRESO_CLOCK=2026-11-25T10:00:00`: time runs from that instant). A fixed date in a test is passed
    in this way, never hoped for.
    """
    if _process_clock is not None:
        return _process_clock
    start = os.environ.get(CLOCK_ENV, "").strip()
    if start:
        try:
            return StartedClock(datetime.fromisoformat(start).replace(tzinfo=None), timezone)
        except ValueError:
            raise SystemExit(f"{CLOCK_ENV}: fecha y hora no válida ({start!r}); usa AAAA-MM-DDTHH:MM:SS") from None
    return Clock(timezone)


def iso(dt: datetime) -> str:
    if isinstance(dt, datetime) and dt.tzinfo is None and dt.year >= 1000:  # the same text, four times faster
        return dt.isoformat(" ", "seconds")  # (every booking stamps its rows with it under the write lock)
    return dt.strftime("%Y-%m-%d %H:%M:%S")


def parse_iso(text: str) -> datetime:
    """A stored stamp. Its exact shape (`2026-11-25 10:00:00`, ASCII digits) by fromisoformat, the same datetime
    ten times faster (every confirmation reads four); anything else as strptime reads or refuses it."""
    if (len(text) == 19 and text.isascii() and text[4] == text[7] == "-" and text[10] == " "
            and text[13] == text[16] == ":" and text[:4].isdigit() and text[5:7].isdigit() and text[8:10].isdigit()
            and text[11:13].isdigit() and text[14:16].isdigit() and text[17:].isdigit()):
        return datetime.fromisoformat(text)
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")


DATE_FORMAT = "%d/%m/%Y"  # what a person reads, on screen, in the CLI and in CSV exports (issue #21)


def date_text(value: date | datetime | str | None, *, time: bool = False, seconds: bool = False) -> str:
    """The one way a date reaches a person: `2026-11-25` or a stored stamp `2026-11-25 10:08:30` → `25/11/2026`
    (`25/11/2026 10:08` with `time`, `25/11/2026 10:08:30` with `seconds`, in the co-op's zone like every stored
    stamp). Text that is no date (a row written by hand) is shown as typed, never read as markup or control."""
    if value is None or value == "":
        return ""
    moment: date
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value) if len(value) > 10 else date.fromisoformat(value)
        except ValueError:
            return visible(value).replace("[", "(").replace("]", ")")
    else:
        moment = value
    if (time or seconds) and isinstance(moment, datetime):
        return f"{moment:{DATE_FORMAT} %H:%M:%S}" if seconds else f"{moment:{DATE_FORMAT} %H:%M}"
    return f"{moment:{DATE_FORMAT}}"


def parse_date(text: str) -> date:
    """A date as a person types it, dd/mm/aaaa (d/m/aaaa too); AAAA-MM-DD is still read, for scripts written
    before #21. ValueError on anything else, on an impossible day and on a year outside 1900-2999."""
    text = text.strip()
    match = re.fullmatch(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})", text)
    if match:
        day, month, year = map(int, match.groups())
    elif re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        year, month, day = int(text[:4]), int(text[5:7]), int(text[8:])
    else:
        raise ValueError(f"not a date: {text!r}")
    if not 1900 <= year <= 2999:
        raise ValueError(f"year out of range: {year}")
    return date(year, month, day)
