"""The notice a terminal smaller than 80×24 gets instead of a screen drawn over itself."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import ModalScreen
from textual.widgets import Static

from screens.shared.safe_text import safe_text

MIN_WIDTH, MIN_HEIGHT = 80, 24  # every screen is laid out for 80×24


def too_small(width: int, height: int) -> bool:
    return width < MIN_WIDTH or height < MIN_HEIGHT


class TooSmallScreen(ModalScreen[None]):
    """Covers everything until the terminal is large enough again (the app takes it off then): below 80×24
    the header overlapped and columns were cut with nothing saying why. Keys go nowhere meanwhile, so
    nothing is typed blind into a field the person cannot see; Ctrl+Q still quits."""

    HELP = ("La ventana es más pequeña que 80×24 caracteres: agrándala (o reduce la letra) y la pantalla "
            "vuelve sola.")

    def __init__(self, width: int, height: int) -> None:
        super().__init__(id="too-small")
        self._terminal = (width, height)

    def compose(self) -> ComposeResult:
        yield Static(self._text(*self._terminal), id="too-small-notice")

    @staticmethod
    def _text(width: int, height: int):
        return safe_text(f"La ventana es muy pequeña ({width}×{height}).\n"
                         f"Cooprogreso en Línea necesita al menos {MIN_WIDTH}×{MIN_HEIGHT} caracteres: "
                         "agranda la ventana o reduce el tamaño de la letra.")

    def on_screen_resume(self) -> None:
        """A dialog opened over the notice and closed after the window grew: nothing left to say."""
        if not too_small(*self.app.size):
            self.dismiss()

    def show_size(self, width: int, height: int) -> None:
        self._terminal = (width, height)
        if self.is_mounted:
            self.query_one("#too-small-notice", Static).update(self._text(width, height))
