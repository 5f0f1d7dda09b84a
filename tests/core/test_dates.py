"""The one date format people read (issue #21): dd/mm/aaaa, with HH:MM where a time is shown, and the dates
people type read the same way."""

from datetime import date, datetime

import pytest

from backend.core.clock import date_text, parse_date


def test_dates_and_stamps_read_dd_mm_aaaa():
    assert date_text(date(2026, 1, 5)) == "05/01/2026"
    assert date_text("2026-11-25") == "25/11/2026"
    assert date_text("2026-11-25 10:08:30") == "25/11/2026"
    assert date_text("2026-11-25 10:08:30", time=True) == "25/11/2026 10:08"
    assert date_text(datetime(2026, 11, 25, 10, 8, 30), seconds=True) == "25/11/2026 10:08:30"
    assert date_text(date(2026, 11, 25), time=True) == "25/11/2026"  # a day has no time to show
    assert date_text(None) == date_text("") == ""


def test_text_that_is_no_date_is_shown_literally_never_as_markup_or_control():
    shown = date_text("[bold]mañana[/]\x1b[2J")
    assert shown.startswith("(bold)mañana(/)") and "[" not in shown and "\x1b" not in shown


@pytest.mark.parametrize("typed, day", [("05/01/2026", date(2026, 1, 5)), ("5/1/2026", date(2026, 1, 5)),
                                        (" 29/02/2028 ", date(2028, 2, 29)), ("2026-11-26", date(2026, 11, 26))])
def test_typed_dates_are_read_as_dd_mm_aaaa(typed, day):
    assert parse_date(typed) == day


@pytest.mark.parametrize("typed", ["30/02/2026", "13/13/2026", "01/01/26", "2026/11/26", "1/1/0001",
                                   "25-11-2026", "", "hoy", "２５/11/2026", "11/25/2026"])
def test_anything_else_is_refused(typed):
    with pytest.raises(ValueError):
        parse_date(typed)


def test_iso_is_strftimes_text_whatever_it_is_given():
    """clock.iso takes a fast path (isoformat) for naive datetimes: the text is strftime's, to the second."""
    from datetime import timedelta, timezone

    from backend.core.clock import iso

    for value in (datetime(2026, 11, 25, 10, 0, 0), datetime(2026, 2, 28, 23, 59, 59, 999_999),
                  datetime(1000, 1, 1), datetime(9999, 12, 31, 23, 59, 59), datetime(999, 1, 1, 1, 2, 3),
                  datetime(2026, 1, 1, 5, tzinfo=timezone(timedelta(hours=-5))), date(2026, 11, 25)):
        assert iso(value) == value.strftime("%Y-%m-%d %H:%M:%S")  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["2026-11-25 10:00:00", "0001-01-01 00:00:00", "9999-12-31 23:59:59",
                                  "2024-02-29 12:30:45", "2026-1-5 1:2:3", "2026-11-25T10:00:00", "2026-11-25 10:00",
                                  "2026-11-25 10:00:00.5", "2026-02-29 10:00:00", "2026-13-01 10:00:00",
                                  "2026-11-25 24:00:00", "2026-11-25 10:60:00", "2026-11-25 10:00:60",
                                  "2026-11-25 10:00:0\u0661", "+026-11-25 10:00:00", "2026-11-25 10:00:00+00:00",
                                  "2026-11-25\t10:00:00", "", "2026-11-25 1 :00:00"])
def test_parse_iso_reads_or_refuses_as_strptime_does(text):
    """clock.parse_iso takes a fast path (fromisoformat) for a stamp's exact shape: same datetime, same refusals."""
    from backend.core.clock import parse_iso

    try:
        expected: datetime | None = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        expected = None
    if expected is None:
        with pytest.raises(ValueError):
            parse_iso(text)
    else:
        assert parse_iso(text) == expected
