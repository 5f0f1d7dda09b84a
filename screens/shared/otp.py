"""The one OTP modal: every operation that needs a code goes through it.

It is given the challenge and two callables — `submit(code)` runs the operation the code authorises
(it verifies and acts in one backend transaction) and `resend()` asks for a fresh code. It dismisses
with submit's result, or None when the member cancels or the code can no longer be used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from backend.core.errors import OtpError, SessionExpired
from backend.security.otp import Challenge
from screens.shared.calls import ServiceCalls, as_service_error
from screens.shared.safe_text import safe_text, visible_lines
from screens.shared.styled import StyledWhenShown

FINAL = {"otp_exhausted", "otp_expired", "otp_void", "otp_used", "otp_details_changed", "otp_unknown"}
# Final refusals a new code answers, when `resend` can renew a spent code (an operation can; an affiliation
# starts again, within its own daily budget).
RENEWABLE = {"otp_exhausted", "otp_expired", "otp_void"}


class OtpModal(StyledWhenShown, ServiceCalls, ModalScreen[Any]):
    # A modal screen hides the app's own keys: F1 is bound here too, so its help opens over the dialog.
    BINDINGS = [Binding("escape", "cancel", "Cancelar", id="otp.cancel", tooltip="Cancelar la operación"),
                Binding("f1", "app.help", "Ayuda", id="otp.help", tooltip="Ayuda de este diálogo", show=False)]

    def __init__(self, challenge: Challenge, submit: Callable[[str], Any], resend: Callable[[], Challenge],
                 title: str = "Código de seguridad", *, renewable: bool = False) -> None:
        super().__init__()
        self.challenge = challenge
        self.submit = submit
        self.resend = resend
        self.title_text = title
        self.closed = False
        self.renewable = renewable  # `resend` also replaces a code typed wrong too often or expired
        self.renew = False  # this code is spent, and «Reenviar código» sends a new one
        self.busy = False  # a code is being checked: a second Enter must not submit it again

    def compose(self) -> ComposeResult:
        with Vertical(id="otp-box", classes="dialog"):
            yield Label(safe_text(self.title_text), classes="dialog-title")
            yield Static(safe_text(f"Ingresa el código de 6 dígitos que enviamos a tu celular {self.challenge.masked_phone}."),
                         id="otp-sent")
            yield Input(placeholder="000000", max_length=6, restrict=r"\d*", id="otp-code", compact=True)
            yield Static("", id="otp-status")
            yield Static("", id="otp-error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Confirmar", id="otp-confirm", variant="primary", compact=True)
                yield Button("Reenviar código", id="otp-resend", compact=True)
                yield Button("Cancelar", id="otp-cancel", compact=True)

    def on_mount(self) -> None:
        self._refresh_status()
        self.set_interval(1, self._refresh_status)
        self.coop.show_demo_phone(self.challenge.id)

    def on_unmount(self) -> None:
        self.coop.hide_demo_phone()  # the code is used or given up: its SMS would only cover what comes next

    def _refresh_status(self) -> None:
        now = self.coop.backend.now()
        left = int((self.challenge.expires_at - now).total_seconds())
        if left <= 0 and not self.closed:
            self._final("El código expiró. Solicita uno nuevo.", "otp_expired")
        if left <= 0:
            expiry = "Código vencido"
        elif self.closed:  # annulled, used or spent on other details: no time left to count down
            expiry = "Código sin validez"
        else:
            expiry = f"Vence en {left // 60}:{left % 60:02d}"
        tries = self.challenge.tries_left
        self.query_one("#otp-status", Static).update(
            safe_text(f"{expiry} · Intentos restantes: {tries}"))
        wait = int((self.challenge.resend_at - now).total_seconds())
        resend = self.query_one("#otp-resend", Button)
        if self.renew:  # the code is spent: a new one at once (the guessing budget counts what was spent)
            wait = 0
        resend.disabled = (self.closed and not self.renew) or wait > 0
        resend.label = f"Reenviar ({wait} s)" if wait > 0 else "Reenviar código"

    @on(Input.Submitted, "#otp-code")
    @on(Button.Pressed, "#otp-confirm")
    def confirm(self) -> None:
        if self.busy or self.closed:
            return
        code = self.query_one("#otp-code", Input).value.strip()
        if len(code) != 6:
            self._error("El código tiene 6 dígitos.")
            return
        self.busy = True
        self.query_one("#otp-confirm", Button).disabled = True
        self._submit_outliving_the_modal(code)

    def _submit_outliving_the_modal(self, code: str) -> None:
        """Run submit in an app-owned worker: if this modal is taken away while the operation books
        (the session ends, say), the outcome still reaches the member on whatever screen comes next."""

        app = self.app  # this modal may be detached by the time the thread finishes

        def work() -> None:
            try:
                result = self.submit(code)
            except Exception as exc:  # every failure is shown; unexpected ones are logged
                app.call_from_thread(self._submitted, app, None, exc)
                return
            app.call_from_thread(self._submitted, app, result, None)

        app.run_worker(work, name="otp-submit", thread=True, exit_on_error=False)

    def _submitted(self, app: Any, result: Any, error: BaseException | None) -> None:
        if error is None:
            self.done_submit(result, app)
        elif isinstance(error, SessionExpired):
            app.end_session(error.message)
        elif self in app.screen_stack:
            self.failed_submit(as_service_error(error, "otp-submit"))

    def done_submit(self, result: Any, app: Any) -> None:
        self.busy = False
        self.closed = True
        app.clear_notifications()  # the simulated phone's code is spent
        if self not in app.screen_stack:
            # The member's screen went away while the code was checked (e.g. the session ended):
            # the operation was booked all the same, so whatever screen comes next says so.
            app.notify(visible_lines(_executed_notice(result)), title="Operación realizada", timeout=60, markup=False)
            return
        self.dismiss(result)

    def failed_submit(self, error) -> None:
        self.busy = False
        if isinstance(error, OtpError):
            self.challenge = replace(self.challenge, tries_left=error.tries_left)
            if error.code in FINAL:
                self._final(error.message, error.code)
                return
            self.query_one("#otp-confirm", Button).disabled = False
            code = self.query_one("#otp-code", Input)
            code.value = ""
            code.focus()
            self._error(error.message)
            self._refresh_status()
        else:
            # The code was right but the operation was refused (e.g. funds): nothing happened.
            self.closed = True
            self.notify(visible_lines(error.message), severity="error", markup=False)
            self.dismiss(None)

    @on(Button.Pressed, "#otp-resend")
    def ask_resend(self) -> None:
        self.query_one("#otp-resend", Button).disabled = True
        self.call("resend", self.resend)

    def done_resend(self, challenge: Challenge) -> None:
        self.challenge = challenge
        self.closed = self.renew = False
        self.query_one("#otp-confirm", Button).disabled = False
        code = self.query_one("#otp-code", Input)
        code.disabled = False
        code.value = ""
        code.focus()
        self._error("Te enviamos un nuevo código.")
        self._refresh_status()
        self.coop.show_demo_phone(self.challenge.id)

    def failed_resend(self, error) -> None:
        self._error(error.message)
        self._refresh_status()

    @on(Button.Pressed, "#otp-cancel")
    def action_cancel(self) -> None:
        if self.busy:
            # The code is being checked and the operation may be booking: wait for the outcome.
            self._error("Estamos verificando tu código; espera el resultado.")
            return
        self.closed = True
        self.dismiss(None)

    def _final(self, message: str, code: str) -> None:
        self.closed = True
        self.renew = self.renewable and code in RENEWABLE
        self.query_one("#otp-confirm", Button).disabled = True
        self.query_one("#otp-code", Input).disabled = True
        self._error(message)
        self._refresh_status()
        self.query_one("#otp-cancel", Button).focus()

    def _error(self, message: str) -> None:
        self.query_one("#otp-error", Static).update(safe_text(message))


def _executed_notice(result: Any) -> str:
    reference = getattr(result, "reference", None)
    title = getattr(result, "title", "Tu operación")
    if reference:
        return (f"{title}: la operación se realizó (referencia {reference}). "
                "Encuentra su comprobante en el historial de la sección.")
    return "Tu operación se realizó. Encuentra su comprobante en el historial de la sección."
