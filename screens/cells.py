"""Table cells that fit 80 columns: dates as the member screens show them (dd/mm/aaaa), text cut
with an ellipsis (always as `Text`, never markup), and the check that a table fits its screen."""

from __future__ import annotations

from datetime import date, datetime

from rich.text import Text

DATE = "%d/%m/%Y"  # the member screens' format: `f"{d:%d/%m/%Y}"`


def date_text(value: date | datetime | str | None, *, time: bool = False) -> str:
    """`2026-11-25` or a stored timestamp `2026-11-25 10:08:30` → `25/11/2026` (`25/11/2026 10:08` with time)."""
    if value is None or value == "":
        return ""
    moment: date
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value) if len(value) > 10 else date.fromisoformat(value)
        except ValueError:
            return value
    else:
        moment = value
    if time and isinstance(moment, datetime):
        return f"{moment:%d/%m/%Y %H:%M}"
    return f"{moment:{DATE}}"


def fit(text: str | None, width: int) -> Text:
    """At most `width` characters, the last one «…» when cut."""
    text = text or ""
    return Text(text if len(text) <= width else text[: width - 1] + "…")


def fits(table) -> bool:
    """True when a DataTable shows every column without scrolling sideways."""
    return table.virtual_size.width <= table.scrollable_content_region.width
