"""A multi-line free-text field that keeps invisible characters, as TextInput does (see text_entry.py).

Its own module: Textual's TextArea and its document model are imported by the screens that write free text
(contact), not with the sign-in screen (start-up time).
"""

from __future__ import annotations

from textual import events
from textual.strip import Strip
from textual.widgets import TextArea

from screens.shared.text_entry import hidden_character, shown


class TextEntry(TextArea):
    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        if all(text.isprintable() for text, _, _ in strip):
            return strip
        return Strip([segment._replace(text=shown(segment.text)) for segment in strip]).crop(0, strip.cell_length)

    async def _on_key(self, event: events.Key) -> None:
        ch = hidden_character(event)
        if ch is None:
            await super()._on_key(event)
            return
        event.stop()
        event.prevent_default()
        start, end = self.selection
        self._replace_via_keyboard(ch, start, end)
