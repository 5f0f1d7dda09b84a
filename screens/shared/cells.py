"""Table cells that fit 80 columns: dates as the member screens show them (dd/mm/aaaa), text cut
with an ellipsis (always as `SafeText`: never markup, never a control character), and the check that a table fits its screen."""

from __future__ import annotations

from backend.core.clock import DATE_FORMAT, date_text
from screens.shared.safe_text import SafeText, safe_text

__all__ = ["DATE", "date_text", "fit", "fits", "follow_row"]

DATE = DATE_FORMAT  # the member screens' format: `f"{d:%d/%m/%Y}"`


def fit(text: object, width: int) -> SafeText:
    """At most `width` characters of the text as shown (invisible ones made visible), «…» last when cut."""
    text = safe_text(text).plain
    return SafeText(text if len(text) <= width else text[: width - 1] + "…")


def fits(table) -> bool:
    """True when a DataTable shows every column without scrolling sideways."""
    return table.virtual_size.width <= table.scrollable_content_region.width


def follow_row(table, key: str | None, row: int | None) -> None:
    """After a table was refilled, and perhaps re-sorted: the cursor on the row of `key` while it is listed, else
    at `row` (or the last row), so the next key the member presses acts on the item they chose."""
    if not table.row_count:
        return
    if key is not None:
        try:
            table.move_cursor(row=table.get_row_index(key))
            return
        except Exception:  # RowDoesNotExist: the item left the list
            pass
    table.move_cursor(row=min(row or 0, table.row_count - 1))
