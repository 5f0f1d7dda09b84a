"""«Regístrate aquí»: the affiliation wizard of the manual (identity → OTP → user → confirmation)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Button, ContentSwitcher, Input, Label, Select, Static

from backend.core.identity import ID_TYPES
from backend.security.auth import AffiliationStart
from screens.shared.calls import ServiceCalls
from screens.shared.footer import Footer
from screens.shared.otp import OtpModal
from screens.shared.safe_text import safe_text
from screens.shared.styled import StyledWhenShown
from screens.shared.text_entry import TextInput


class AffiliationScreen(StyledWhenShown, ServiceCalls, Screen):
    ENTER_NEXT = "#new-username, #new-password"  # Enter moves on (the app does it: cooprogreso_tui/app.py)
    BINDINGS = [Binding("escape", "leave", "Volver", id="affiliation.back", tooltip="Volver al inicio de sesión")]

    def __init__(self) -> None:
        super().__init__()
        self.start: AffiliationStart | None = None
        self.created = ""  # the user made here, handed to the sign-in when leaving

    def compose(self) -> ComposeResult:
        with Center():
            with Vertical(id="affiliation-box", classes="dialog"):
                yield Label("Afíliate a Cooprogreso en Línea", classes="dialog-title")
                with ContentSwitcher(initial="step-identity", id="steps"):
                    with Vertical(id="step-identity"):
                        yield Static("Paso 1 de 3 · Valida tu identidad", classes="step")
                        yield Label("Tipo de identificación")
                        yield Select([(label, key) for key, label in ID_TYPES.items()], value="cedula",
                                     allow_blank=False, id="id-type", compact=True)
                        yield Label("Número de identificación")
                        yield TextInput(id="id-number", max_length=13, compact=True)
                        yield Static("", id="identity-error", classes="error")
                        yield Button("Validar identidad", id="validate", variant="primary", compact=True)
                    with Vertical(id="step-user"):
                        yield Static("Paso 2 de 3 · Crea tu usuario y contraseña", classes="step")
                        yield Static("", id="user-hello")
                        yield Label("Usuario (4 a 20 caracteres)")
                        yield TextInput(id="new-username", max_length=20, compact=True)
                        yield Label("Contraseña (mínimo 8, con letras y números)")
                        yield Input(id="new-password", password=True, max_length=128, compact=True)
                        yield Label("Repite la contraseña")
                        yield Input(id="new-password2", password=True, max_length=128, compact=True)
                        yield Static("", id="user-error", classes="error")
                        yield Button("Crear usuario", id="create", variant="primary", compact=True)
                    with Vertical(id="step-done"):
                        yield Static("Paso 3 de 3 · Confirmación", classes="step")
                        yield Static("", id="done-message")
                        yield Button("Ir a iniciar sesión", id="finish", variant="primary", compact=True)
        yield Footer(show_command_palette=False)  # F1 and Ctrl+P are told on the menu

    def on_mount(self) -> None:
        self.query_one("#id-number", Input).focus()

    # Paso 1: identity
    @on(Input.Submitted, "#id-number")
    @on(Button.Pressed, "#validate")
    def validate_identity(self) -> None:
        id_type = self.query_one("#id-type", Select).value
        number = self.query_one("#id-number", Input).value
        self._say("#identity-error", "Validando…")
        self.query_one("#validate", Button).disabled = True
        self.call("identity", self.coop.backend.auth.start_affiliation, id_type, number)

    def done_identity(self, start: AffiliationStart) -> None:
        self.start = start
        self.query_one("#validate", Button).disabled = False
        self._say("#identity-error", "")
        auth, cid = self.coop.backend.auth, start.challenge.id
        self.app.push_screen(
            OtpModal(start.challenge, submit=lambda code: auth.verify_affiliation_code(cid, code),
                     resend=lambda: auth.resend_affiliation_code(cid),
                     title="Código de verificación"),
            self._otp_closed)

    def failed_identity(self, error) -> None:
        self.query_one("#validate", Button).disabled = False
        self._say("#identity-error", error.message)

    def _otp_closed(self, result) -> None:
        if self.start is None:  # no code was asked for: nothing to close
            return
        if result is None:
            self._say("#identity-error", "No se completó la verificación del código. Puedes intentarlo de nuevo.")
            return
        first = self.start.member_name.split()[0]
        self.query_one("#user-hello", Static).update(safe_text(f"Hola, {first}. Tu identidad fue verificada."))
        self.query_one(ContentSwitcher).current = "step-user"
        self.query_one("#new-username", Input).focus()

    # Paso 2: user and password
    @on(Input.Submitted, "#new-password2")
    @on(Button.Pressed, "#create")
    def create_user(self) -> None:
        if self.start is None:  # step 2 is reached only through step 1
            return
        username = self.query_one("#new-username", Input).value
        password = self.query_one("#new-password", Input).value
        if password != self.query_one("#new-password2", Input).value:
            self._say("#user-error", "Las contraseñas no coinciden.")
            return
        self._say("#user-error", "Creando tu usuario…")
        self.query_one("#create", Button).disabled = True
        start = self.start
        self.call("create", self.coop.backend.auth.complete_affiliation, start.challenge.id, username, password)

    def done_create(self, username: str) -> None:
        self.created = username
        self.query_one("#done-message", Static).update(safe_text(
            f"¡Listo! Tu afiliación a Cooprogreso en Línea fue exitosa.\n"
            f"Ya puedes ingresar con tu usuario «{username}»."))
        self.query_one(ContentSwitcher).current = "step-done"
        self.query_one("#finish", Button).focus()

    def failed_create(self, error) -> None:
        self.query_one("#create", Button).disabled = False
        self._say("#user-error", error.message)
        if error.code == "otp_void":
            self.query_one(ContentSwitcher).current = "step-identity"
            self._say("#identity-error", error.message)

    @on(Button.Pressed, "#finish")
    def action_leave(self) -> None:
        from screens.security.login import LoginScreen

        self.app.pop_screen()
        if self.created and isinstance(self.app.screen, LoginScreen):
            self.app.screen.prefill(self.created)

    def _say(self, selector: str, text: str) -> None:
        self.query_one(selector, Static).update(safe_text(text))
