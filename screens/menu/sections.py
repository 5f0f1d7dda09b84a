"""The notice a menu entry opens while its section is not built in this edition."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.widgets import Label, Static

from screens.shared.base import MemberScreen
from screens.shared.safe_text import safe_text

if TYPE_CHECKING:
    from screens.menu.registry import Section


class NotAvailableScreen(MemberScreen):
    """Honest placeholder for a section of the manual that this edition does not offer yet."""

    def __init__(self, section: Section) -> None:
        super().__init__()
        self.section = section

    def compose_body(self) -> ComposeResult:
        title = self.section.plain_title
        yield Label(safe_text(title), classes="section-title")
        yield Static(safe_text(
            f"La sección «{title}» todavía no está disponible en la edición terminal de "
            "Cooprogreso en Línea.\n\nMientras tanto puedes realizar esta operación en una agencia de "
            "Cooprogreso.\n\nPresiona Esc para volver al menú."), id="not-available")
