"""Second step of a staff sign-in: the 6-digit code of the authenticator app (not an SMS)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from backend.core.errors import AccountLocked, SessionExpired
from backend.security.auth import SignedIn
from screens.shared.calls import ServiceCalls
from screens.shared.safe_text import safe_text, visible_lines


class StaffCodeModal(ServiceCalls, ModalScreen[SignedIn | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancelar", id="staffcode.cancel", tooltip="Volver al ingreso")]

    def __init__(self, ticket: str) -> None:
        super().__init__()
        self.ticket = ticket
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical(id="staff-code-box", classes="dialog"):
            yield Label("Verificación del personal", classes="dialog-title")
            yield Static("Ingresa el código de 6 dígitos de tu aplicación autenticadora.")
            yield Input(placeholder="000000", max_length=6, restrict=r"\d*", id="staff-code", compact=True)
            yield Static("", id="staff-code-error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Verificar", id="staff-code-ok", variant="primary", compact=True)
                yield Button("Cancelar", id="staff-code-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#staff-code", Input).focus()

    @on(Input.Submitted, "#staff-code")
    @on(Button.Pressed, "#staff-code-ok")
    def verify(self) -> None:
        code = self.query_one("#staff-code", Input).value
        if self.busy:
            return
        if len(code) != 6:
            self.query_one("#staff-code-error", Static).update("El código tiene 6 dígitos.")
            return
        self.busy = True
        self.call("code", self.coop.backend.auth.staff_code, self.ticket, code)

    def done_code(self, signed: SignedIn) -> None:
        self.dismiss(signed)

    def failed_code(self, error) -> None:
        self.busy = False
        if isinstance(error, (AccountLocked, SessionExpired)):
            self.app.notify(visible_lines(error.message), severity="error", markup=False)
            self.dismiss(None)
            return
        field = self.query_one("#staff-code", Input)
        field.value = ""
        field.focus()
        self.query_one("#staff-code-error", Static).update(safe_text(error.message))

    def on_worker_state_changed(self, event) -> None:
        # SessionExpired here means the ticket ran out, not a member session: handle it ourselves.
        from textual.worker import WorkerState

        if event.state == WorkerState.ERROR and isinstance(event.worker.error, SessionExpired):
            self.failed_code(event.worker.error)
            return
        super().on_worker_state_changed(event)

    @on(Button.Pressed, "#staff-code-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
