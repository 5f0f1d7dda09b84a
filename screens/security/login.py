"""The sign-in screen: usuario, contraseña, and the way to «Regístrate aquí»."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Button, Input, Static

from screens.shared.calls import ServiceCalls
from screens.shared.footer import Footer
from screens.shared.safe_text import safe_text
from screens.shared.styled import StyledWhenAttached, StyledWhenShown
from screens.shared.text_entry import TextInput

if TYPE_CHECKING:  # sign-in's module loads with the first sign-in, not before the first screen
    from backend.security.auth import SignedIn


# What the person can act on; all of it is off while a sign-in is being verified.
FORM = ("#username", "#password", "#login", "#register")


class PasswordInput(StyledWhenAttached, Input):
    """The password: its Enter signs in with what was typed before it. Keys typed right behind it (fast, pasted,
    one burst over SSH) reach the field before the sign-in reads it, and became part of the password tried
    («Demo-2026!» Enter «xyz»: a failed attempt counted); in queue order here they come after the Enter and are
    dropped until the form is back (`reopen`)."""

    submitted = False

    async def _on_key(self, event: events.Key) -> None:
        if self.submitted:
            event.prevent_default()
            event.stop()
            return
        if event.key == "enter":
            self.submitted = True  # the value now is what was typed before this Enter
            event.prevent_default()
            event.stop()
            self.post_message(self.Submitted(self, self.value))
            return
        await super()._on_key(event)

    def _on_paste(self, event: events.Paste) -> None:
        if self.submitted:
            event.stop()
            return
        super()._on_paste(event)

    def reopen(self) -> None:
        self.submitted = False


class SignInButton(StyledWhenAttached, Button, inherit_css=False):
    """A Button styled by the rules of Button's DEFAULT_CSS that a compact default-style button, plain or
    primary, can match, copied as they are (with Widget's): Textual's whole DEFAULT_CSS (45 rules, every variant
    and the flat style) was the biggest part of the CSS parsed before the sign-in's first frame (start-up time).
    Only these two buttons: `Button` rules (theme.tcss's `.buttons Button`) do not reach them.
    tests/app/test_start_path.py checks they are styled as Textual's Button in every state and theme."""

    DEFAULT_CSS = """
    SignInButton {
        scrollbar-background: $scrollbar-background;
        scrollbar-background-hover: $scrollbar-background-hover;
        scrollbar-background-active: $scrollbar-background-active;
        scrollbar-color: $scrollbar;
        scrollbar-color-active: $scrollbar-active;
        scrollbar-color-hover: $scrollbar-hover;
        scrollbar-corner-color: $scrollbar-corner-color;
        scrollbar-size-vertical: 2;
        scrollbar-size-horizontal: 1;
        link-background: $link-background;
        link-color: $link-color;
        link-style: $link-style;
        link-background-hover: $link-background-hover;
        link-color-hover: $link-color-hover;
        link-style-hover: $link-style-hover;
        background: transparent;
    }
    SignInButton:ansi.-style-default {
        border: tall $border-blurred;
        background: ansi_default;
        &:disabled {
            text-opacity: 1;
            text-style: bold dim;
            border: tall $border-blurred !important;
            background: ansi_default !important;
            pointer: not-allowed;
            &:hover {
                background: ansi_default;
            }
        }
        &:hover {
            background: $ansi-background;
            border: tall $border;
        }
        &.-active {
            background: $ansi-background !important;
            border: blank $background !important;
            tint: transparent;
        }
        &.-primary {
            color: $primary;
            border: tall $primary;
            background: ansi_default;
            &:hover {
                background: $ansi-background;
            }
        }
    }
    SignInButton {
        width: auto;
        min-width: 16;
        height: auto;
        line-pad: 1;
        text-align: center;
        content-align: center middle;
        pointer: pointer;
        &.-style-default {
            text-style: bold;
            color: $button-foreground;
            background: $surface;
            border: none;
            border-top: tall $surface-lighten-1;
            border-bottom: tall $surface-darken-1;
            &.-textual-compact {
                border: none !important;
            }
            &:disabled {
                text-opacity: 0.6;
                pointer: not-allowed;
            }
            &:focus {
                text-style: $button-focus-text-style;
                background-tint: $foreground 5%;
            }
            &:hover {
                border-top: tall $surface;
                background: $surface-darken-1;
            }
            &.-active {
                background: $surface;
                border-bottom: tall $surface-lighten-1;
                border-top: tall $surface-darken-1;
                tint: $background 30%;
            }
            &.-primary {
                color: $button-color-foreground;
                background: $primary;
                border-top: tall $primary-lighten-3;
                border-bottom: tall $primary-darken-3;
                &:hover {
                    background: $primary-darken-2;
                    border-top: tall $primary;
                }
                &.-active {
                    background: $primary;
                    border-bottom: tall $primary-lighten-3;
                    border-top: tall $primary-darken-3;
                }
            }
        }
    }
    """


class LoginScreen(StyledWhenShown, ServiceCalls, Screen):
    ENTER_NEXT = "#username"  # Enter moves on (the app does it: cooprogreso_tui/app.py)
    verifying = False  # a sign-in is out: one at a time
    BINDINGS = [
        Binding("ctrl+r", "register", "Regístrate aquí", id="login.register", tooltip="Afiliarte a Cooprogreso en Línea"),
        Binding("ctrl+q", "quit", "Salir", id="login.quit", tooltip="Cerrar la aplicación"),
        # The sign-in is where a new member first needs help: F1 is told here too, not only on the menu.
        Binding("f1", "app.help", "Ayuda", id="login.help", tooltip="Ayuda de esta pantalla"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="login-box", classes="dialog"):
            # the brand, the co-op's name below it and, after a blank line, the first field's label in one widget
            # (start-up time: the label was a Static of its own); the label in the colour that Static had
            yield Static(Content.assemble(("COOPROGRESO", "bold $success"), "\n",
                                          "Cooperativa de Ahorro y Crédito · Cooprogreso en Línea", "\n\n",
                                          ("Usuario", "$foreground")),
                         id="login-brand")
            yield TextInput(id="username", max_length=40, compact=True)
            yield Static("Contraseña")
            yield PasswordInput(id="password", password=True, max_length=128, compact=True)
            yield Static("", id="login-error", classes="error")
            yield SignInButton("Ingresar", id="login", variant="primary", compact=True)
            yield Static("¿Aún no tienes usuario?", id="login-hint")
            yield SignInButton("Regístrate aquí", id="register", compact=True)
            yield Static("", id="login-notice")
        yield Footer(show_command_palette=False)  # Ctrl+P is told on the menu

    def on_mount(self) -> None:
        self.query_one("#username", Input).focus()

    def reset(self) -> None:
        """After a session ends: nothing of the last member stays in the fields."""
        for field in ("#username", "#password"):
            self.query_one(field, Input).value = ""
        self._error("")
        self._verifying(False)
        self.query_one("#username", Input).focus()

    def prefill(self, username: str) -> None:
        """After an affiliation: the new user is the one to sign in, never the name typed before it."""
        self.query_one("#username", Input).value = username
        self.query_one("#password", Input).value = ""
        self._error("")
        self.query_one("#password", Input).focus()

    def action_quit(self) -> None:
        """Ctrl+Q asks first: a key pressed by mistake must not drop what the person typed."""
        from screens.shared.confirm import ConfirmModal

        def answered(close: bool | None) -> None:
            if close:
                self.app.exit()

        self.app.push_screen(ConfirmModal("¿Cerrar Cooprogreso en Línea?", accept="Cerrar", cancel="Seguir aquí"),
                             answered)

    def show_notice(self, text: str) -> None:
        self.query_one("#login-notice", Static).update(safe_text(text))

    @on(Input.Submitted, "#password")
    @on(Button.Pressed, "#login")
    def login(self, event: Input.Submitted | Button.Pressed) -> None:
        if self.verifying:  # a second Enter: the first attempt's answer comes first
            return
        username = self.query_one("#username", Input).value
        # The password's Enter carries the value it was pressed on: keys typed behind it are not part of it.
        password = event.value if isinstance(event, Input.Submitted) else self.query_one("#password", Input).value
        if not username.strip() or not password:
            self.query_one("#password", PasswordInput).reopen()
            self._error("Ingresa tu usuario y tu contraseña.")
            return
        self._error("Verificando…")
        self._verifying(True)
        self.call("login", self.coop.backend.auth.login, username, password, self.coop.sign_in_origin())

    def done_login(self, signed) -> None:
        from backend.security.auth import SignedIn

        self.query_one("#password", Input).value = ""
        self._verifying(False)
        self._error("")
        self.show_notice("")
        if isinstance(signed, SignedIn):
            self.coop.start_session(signed)
            return
        from screens.security.staff_code import StaffCodeModal  # staff: the authenticator code comes next

        self.app.push_screen(StaffCodeModal(signed.ticket), self._staff_signed)

    def _staff_signed(self, signed: SignedIn | None) -> None:
        if signed is not None:
            self.coop.start_session(signed)
        else:
            self.query_one("#password", Input).focus()

    def failed_login(self, error) -> None:
        self._verifying(False)
        password = self.query_one("#password", Input)
        password.value = ""
        password.focus()
        self._error(error.message)

    @on(Button.Pressed, "#register")
    def action_register(self) -> None:
        if self.verifying:  # Ctrl+R meanwhile: the sign-in's answer would land under the affiliation
            return
        from screens.security.affiliation import AffiliationScreen

        self.app.push_screen(AffiliationScreen())

    def _verifying(self, on: bool) -> None:
        """While a sign-in is out the form takes no key: nothing is focused (keys typed meanwhile go nowhere,
        never into the user field in clear, as a disabled field's focus would pass on) and Enter starts nothing."""
        self.verifying = on
        if on:
            self.set_focus(None)
        else:
            self.query_one("#password", PasswordInput).reopen()
        for selector in FORM:
            self.query_one(selector).disabled = on

    def _error(self, text: str) -> None:
        self.query_one("#login-error", Static).update(safe_text(text))
