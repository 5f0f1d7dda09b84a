"""«Declaración de licitud de fondos»: asked when a cash deposit reaches the threshold, before the
confirmation. The dialog checks the declaration with the same quote the deposit will use, so what
it accepts is exactly what gets booked, printed on the receipt and audited."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from backend.core.identity import ID_TYPES
from screens.shared.calls import ServiceCalls
from screens.shared.safe_text import safe_text
from screens.shared.text_entry import TextInput


class DeclarationModal(ServiceCalls, ModalScreen[tuple[dict, Any] | None]):
    """Dismisses with (declaration, quote) once the quote accepts it, or None when cancelled."""

    HELP = ("Declaración de licitud de fondos: desde el umbral de la cooperativa, un depósito en efectivo "
            "pide el origen de los fondos y quién deposita (nombre e identificación). Queda con la "
            "operación, en el comprobante y en la bitácora.")

    ENTER_SEARCH = "#dec-id"  # keys typed after its Enter wait for the result (cooprogreso_tui/app.py)
    BINDINGS = [Binding("escape", "cancel", "Cancelar", id="declaration.cancel", tooltip="Volver al depósito")]
    ENTER_NEXT = "#dec-origin, #dec-name"  # Enter moves on (the app does it: cooprogreso_tui/app.py)
    DEFAULT_CSS = """
    DeclarationModal #dec-reason { margin-bottom: 1; }
    DeclarationModal #dec-id-row { height: 1; }
    DeclarationModal #dec-id-type { width: 16; margin-right: 1; }
    DeclarationModal #dec-id { width: 1fr; }
    DeclarationModal #dec-error { height: auto; }
    """

    def __init__(self, reason: str, quote: Callable[[dict], Any], person: dict | None = None) -> None:
        super().__init__()
        self.reason = reason
        self.quote = quote
        self.person = person  # the third person the teller named as depositor: the declaration is theirs

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Declaración de licitud de fondos", classes="dialog-title")
            yield Static(safe_text(self.reason + " Se reporta a la UAFE."), id="dec-reason")
            yield Label("Origen de los fondos")
            yield TextInput(id="dec-origin", placeholder="Origen de los fondos (p. ej. venta de un vehículo)",
                        max_length=120, compact=True)
            yield Label("Quién deposita")
            yield TextInput(id="dec-name", placeholder="Nombres y apellidos de quien deposita", max_length=80,
                        compact=True)
            yield Label("Identificación de quien deposita")
            with Horizontal(id="dec-id-row"):
                yield Select([(label, key) for key, label in ID_TYPES.items()], id="dec-id-type", value="cedula",
                             allow_blank=False, compact=True)
                yield TextInput(id="dec-id", placeholder="Número", max_length=20, compact=True)
            yield Static("", id="dec-error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Cancelar", id="dec-cancel", compact=True)
                yield Button("Continuar", id="dec-go", variant="primary", compact=True)

    def on_mount(self) -> None:
        if self.person:
            self.query_one("#dec-name", Input).value = self.person.get("name", "")
            self.query_one("#dec-id-type", Select).value = self.person.get("id_type", "cedula")
            self.query_one("#dec-id", Input).value = self.person.get("id_number", "")
        self.query_one("#dec-origin", Input).focus()

    @on(Input.Submitted, "#dec-id")
    @on(Button.Pressed, "#dec-go")
    def go(self) -> None:
        self.query_one("#dec-error", Static).update("")
        declaration = {"origin": self.query_one("#dec-origin", Input).value,
                       "name": self.query_one("#dec-name", Input).value,
                       "id_type": self.query_one("#dec-id-type", Select).value,
                       "id_number": self.query_one("#dec-id", Input).value}
        self.declaration = declaration
        self.call("check", self.quote, declaration, hold_keys=True)

    def done_check(self, quote: Any) -> None:
        self.dismiss((self.declaration, quote))

    def failed_check(self, error) -> None:
        self.query_one("#dec-error", Static).update(safe_text(error.message))
        target = {"origen": "#dec-origin", "depositante": "#dec-name", "id_number": "#dec-id",
                  "id_type": "#dec-id-type"}.get(error.field or "")
        if target:
            self.query_one(target).focus()

    @on(Button.Pressed, "#dec-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
