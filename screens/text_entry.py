"""Free-text fields that keep what the member typed, invisible characters included.

Textual's Input and TextArea silently drop a typed character that is not printable (a zero-width
space, a direction override), so «ahorro», U+200B, U+202E, «ozil x» reached the service as «ahorroozil x»:
stored, but not what was typed, while the same text pasted is refused. These fields keep such a
character so `backend.text.clean_text` refuses the text with its message either way.
Control keys (Cc: ctrl+…, escape, enter) stay keys.
"""

from __future__ import annotations

import unicodedata

from textual import events
from textual.widgets import Input, TextArea

_KEPT = {"Cf", "Co", "Cn", "Zl", "Zp", "Cs"}  # refused by clean_text; never a key binding


def hidden_character(event: events.Key) -> str | None:
    ch = event.character
    if ch is None or len(ch) != 1 or ch.isprintable():
        return None
    return ch if unicodedata.category(ch) in _KEPT else None


class TextInput(Input):
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


class TextEntry(TextArea):
    async def _on_key(self, event: events.Key) -> None:
        ch = hidden_character(event)
        if ch is None:
            await super()._on_key(event)
            return
        event.stop()
        event.prevent_default()
        start, end = self.selection
        self._replace_via_keyboard(ch, start, end)
