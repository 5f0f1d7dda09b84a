"""The one renderer of text in screens: whatever a database holds, it reaches the terminal as itself.

The service refuses control and invisible characters, but a row written by an earlier version or by
hand may still carry an escape sequence (a transfer motive changed another member's terminal title),
a direction override or Rich markup. `SafeText` is a `rich.text.Text` that never holds such a
character: every one is shown as «\\u…» (`backend.core.text.visible`, line by line, so line breaks stay), and
it is never read as markup. Screens build text only through it: `tests/app/test_screen_text_rule.py` checks
the source, `tests/app/test_ui_stored_text.py` what reaches the terminal.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from backend.core.text import visible


def visible_lines(text: object) -> str:
    """`backend.core.text.visible` line by line: for a notification (shown with `markup=False`), which takes a str."""
    text = "" if text is None else str(text)
    if text.isprintable():
        return text
    return "\n".join(visible(line) for line in text.split("\n"))


class SafeText(Text):
    """A Rich `Text` whose every string, given at creation or appended, is made visible first."""

    def __init__(self, text: str = "", *args: Any, **kwargs: Any) -> None:
        super().__init__(visible_lines(text), *args, **kwargs)

    def append(self, text: str | Text, style: Any = None) -> SafeText:
        if isinstance(text, Text) and not isinstance(text, SafeText) and visible_lines(text.plain) != text.plain:
            text = SafeText(text.plain, style=text.style)  # a foreign Text loses its spans, not its safety
        elif isinstance(text, str):
            text = visible_lines(text)
        super().append(text, style)
        return self


def safe_text(value: object, **kwargs: Any) -> SafeText:
    """Any value (a stored name, a motive, an error message, None) as text to show: literal, visible."""
    if isinstance(value, SafeText) and not kwargs:
        return value
    if isinstance(value, Text):
        value = value.plain
    return SafeText("" if value is None else str(value), **kwargs)
