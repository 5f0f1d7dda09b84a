"""The one confirmation dialog (Cancelar / Aceptar), reused wherever a step needs a yes."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from screens.shared.safe_text import safe_text
from screens.shared.styled import StyledWhenShown


class ConfirmModal(StyledWhenShown, ModalScreen[bool]):
    # A modal screen hides the app's own keys: F1 is bound here too, so its help opens over the dialog.
    BINDINGS = [Binding("escape", "answer(False)", "Cancelar", id="confirm.cancel", tooltip="No continuar"),
                Binding("f1", "app.help", "Ayuda", id="confirm.help", tooltip="Ayuda de este diálogo", show=False)]

    def __init__(self, question: str, details: str = "", *, accept: str = "Aceptar", cancel: str = "Cancelar"):
        super().__init__()
        self.question, self.details, self.accept, self.cancel = question, details, accept, cancel

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(safe_text(self.question), classes="dialog-title")
            if self.details:
                yield Static(safe_text(self.details))
            with Horizontal(classes="buttons"):
                yield Button(safe_text(self.cancel), id="cancel", compact=True)
                yield Button(safe_text(self.accept), id="accept", variant="primary", compact=True)

    def on_mount(self) -> None:
        # «Cancelar» first: every confirmation deletes, sends or moves money, and a stray Enter (or a key
        # typed for the screen below) must not do it.
        self.query_one("#cancel", Button).focus()

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.action_answer(event.button.id == "accept")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)
