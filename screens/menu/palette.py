"""The command palette (Ctrl+P) in Spanish: Textual's says «No matches found» when nothing matches.

Textual 8 builds that line inside `_start_no_matches_countdown` with no setting for its text, so this
palette replaces the method with the same behaviour and the manual's wording.
"""

from __future__ import annotations

from rich.align import Align
from textual.command import CommandList, CommandPalette
from textual.widgets.option_list import Option

from screens.shared.safe_text import safe_text

NO_MATCHES = "Sin resultados"


class Palette(CommandPalette):
    HELP = "Buscar una sección o un tema de ayuda: escribe parte de su nombre y pulsa Enter para abrirlo."

    def _start_no_matches_countdown(self, search_value: str) -> None:
        self._stop_no_matches_countdown()

        def show_no_matches() -> None:
            if search_value:  # searching found nothing (an empty search is discovery: nothing to say)
                self.query_one(CommandList).add_option(
                    Option(Align.center(safe_text(NO_MATCHES, style="not bold")), disabled=True, id=self._NO_MATCHES))
                self._list_visible = True
            else:
                self._list_visible = False

        self._no_matches_timer = self.set_timer(self._NO_MATCHES_COUNTDOWN, show_no_matches)
