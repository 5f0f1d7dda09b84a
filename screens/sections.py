"""Which screen each menu entry opens; entries not built yet open a plain notice saying so."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Label, Static

from .base import MemberScreen
from .menu import TITLES


class NotAvailableScreen(MemberScreen):
    """Honest placeholder for a section of the manual that this edition does not offer yet."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

    def compose_body(self) -> ComposeResult:
        yield Label(TITLES[self.key], classes="section-title")
        yield Static(Text(
            f"La sección «{TITLES[self.key]}» todavía no está disponible en la edición terminal de "
            "Cooprogreso en Línea.\n\nMientras tanto puedes realizar esta operación en una agencia de "
            "Cooprogreso.\n\nPresiona Esc para volver al menú."), id="not-available")


TRANSFER_KINDS = {"transferencias_propias": "propia", "transferencias_cooprogreso": "terceros",
                  "transferencias_interbancarias": "interbancaria"}


def screen_for(key: str) -> Screen:
    if key == "productos":
        from .products import ProductsScreen

        return ProductsScreen()
    if key in TRANSFER_KINDS:
        from .transfers import TransferScreen

        return TransferScreen(TRANSFER_KINDS[key])
    if key == "historial":
        from .transfer_history import TransferHistoryScreen

        return TransferHistoryScreen()
    if key == "beneficiarios":
        from .beneficiaries import BeneficiariesScreen

        return BeneficiariesScreen()
    return NotAvailableScreen(key)
