"""Free-text fields that keep what the member typed, invisible characters included.

Textual's Input and TextArea silently drop a typed character that is not printable (a zero-width
space, a direction override), so «ahorro», U+200B, U+202E, «ozil x» reached the service as «ahorroozil x»:
stored, but not what was typed, while the same text pasted is refused. These fields keep such a
character so `backend.core.text.clean_text` refuses the text with its message either way.
Control keys (Cc: ctrl+…, escape, enter) stay keys. A kept character is drawn as «�», never sent to the
terminal as itself (a direction override would reorder what the terminal shows).
TextEntry (a TextArea) lives in text_area_entry.py: Textual's TextArea and its document model load only with
the screens that write free text, not with the sign-in screen (start-up time).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.expand_tabs import expand_tabs_inline
from textual.widgets import Input

from screens.shared.safe_text import SafeText
from screens.shared.styled import StyledWhenAttached

_KEPT = {"Cf", "Co", "Cn", "Zl", "Zp", "Cs"}  # refused by clean_text; never a key binding


SHOWN_AS = "\ufffd"


def shown(text: str) -> str:
    """`text` as a field draws it: every invisible or control character (tabs aside) as «�»."""
    return "".join(SHOWN_AS if not ch.isprintable() and ch != "\t" else ch for ch in text)


def hidden_character(event: events.Key) -> str | None:
    ch = event.character
    if ch is None or len(ch) != 1 or ch.isprintable():
        return None
    return ch if unicodedata.category(ch) in _KEPT else None


class TextInput(StyledWhenAttached, Input):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Built valid: Textual's validation gives a field with no validators the `-valid` class at its first value
        (no rule styles by it), a restyle of the field as the first key is typed."""
        super().__init__(*args, **kwargs)
        if not self.validators:
            self.add_class("-valid", update=False)

    @property
    def _value(self) -> Text:
        if self.password:
            return super()._value
        return SafeText(shown(self.value), no_wrap=True, overflow="ignore", end="")

    def _position_to_cell(self, position: int) -> int:
        return cell_len(expand_tabs_inline(shown(self.value[:position]), 4))

    async def _on_key(self, event: events.Key) -> None:
        ch = hidden_character(event)
        if ch is None:
            await super()._on_key(event)
            return
        event.stop()
        event.prevent_default()
        if self.selection.is_empty:
            self.insert_text_at_cursor(ch)
        else:
            self.replace(ch, *self.selection)
