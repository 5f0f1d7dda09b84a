"""Widgets every member screen shares: the co-op header, the idle countdown, amount and date fields.
The footer of keys is in footer.py (the sign-in screen loads it without these)."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Select, Static

from backend.core.errors import ValidationError
from screens.shared.footer import Footer as Footer  # its old home, still imported from here by older code
from screens.shared.safe_text import SafeText, safe_text
from screens.shared.text_entry import TextInput

if TYPE_CHECKING:  # the app imports the screens, never the other way round at run time
    from backend.core.movement_filter import MovementFilter
    from screens.shared.coop import CoopApp


def chosen_key(select: Select) -> str:
    """The key a Select of keys holds, "" when nothing is chosen (the service says what is missing)."""
    value = select.selection
    return "" if value is None else str(value)


def chosen_id(select: Select) -> int | None:
    """The id a Select of ids holds, None when nothing (or a non-id entry such as «Otra cuenta») is chosen."""
    value = select.selection
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class DigitInput(TextInput):
    """An Input that shows look-alike digits (fullwidth, Arabic-Indic, …) as the ASCII digits they mean,
    as they are typed or pasted. The services fold them anyway; folding here keeps the field showing what
    will be used (a fullwidth digit is two cells wide: `０１/１１/２０２６` scrolled its first digit out of view).
    Nothing else is changed or dropped, so a wrong character is still refused with its reason."""

    def replace(self, text: str, start: int, end: int) -> None:
        super().replace("".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text), start, end)


def money_input(id: str, max_length: int = 16) -> Input:
    """An amount field. What is typed reaches `parse_money` whole: no input filter quietly drops a
    character, so `1e9` is refused with its reason instead of becoming 19 on screen."""
    return DigitInput(id=id, placeholder="0.00", max_length=max_length, compact=True)


def last_login_text(previous: datetime | None) -> str:
    """As the manual shows it: `Última conexión: 20H25 / 14.12.2023`."""
    if previous is None:
        return "Primera conexión"
    return f"Última conexión: {previous:%H}H{previous:%M} / {previous:%d.%m.%Y}"


class SignOutButton(Button, can_focus=False):
    """SALIR is never reached with Tab: a stray Tab+Enter must not end the session (Ctrl+S or a click do)."""


class CoopHeader(Vertical):
    """COOPROGRESO · Cooperativa de Ahorro y Crédito, the member, the last sign-in and SALIR."""

    @property
    def coop(self) -> CoopApp:
        return cast("CoopApp", self.app)

    def compose(self) -> ComposeResult:
        signed = self.coop.signed_in
        with Horizontal():
            yield Static(SafeText.assemble(("COOPROGRESO", "bold"), " · Cooperativa de Ahorro y Crédito"), id="brand")
            yield SignOutButton("SALIR", id="salir", variant="error", compact=True)
        with Horizontal():
            yield Static(safe_text(signed.member_name if signed else ""), id="member-name")
            yield Static(safe_text(last_login_text(signed.previous_login) if signed else ""), id="last-login")

    def on_resize(self) -> None:
        """Staff: «name · role» beside «Última conexión» cut the role; the name gives way (with «…») instead."""
        from screens.shared.cells import fit

        signed = self.coop.signed_in
        if signed is None or signed.role == "socio" or " · " not in signed.member_name:
            return
        name, _, role = signed.member_name.rpartition(" · ")
        room = self.content_size.width - len(last_login_text(signed.previous_login)) - len(f" · {role}") - 2
        if len(safe_text(signed.member_name).plain) > room + len(f" · {role}"):
            self.query_one("#member-name", Static).update(SafeText.assemble(fit(name, max(room, 1)), f" · {role}"))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "salir":
            event.stop()
            self.coop.sign_out()


class IdleBanner(Static):
    """Shown when the session is about to end for inactivity."""

    def show_remaining(self, seconds: int | None) -> None:
        if seconds is None:
            self.display = False
            return
        self.display = True
        self.update(safe_text(f"Tu sesión se cerrará por inactividad en {seconds} s. Presiona cualquier tecla para continuar."))


def date_range_inputs() -> tuple[Input, Input]:
    """«Desde» and «Hasta» (dd/mm/aaaa) for a filter row; read them back with `read_date_filter`."""
    return (DigitInput(placeholder="Desde dd/mm/aaaa", id="desde", max_length=10, compact=True),
            DigitInput(placeholder="Hasta dd/mm/aaaa", id="hasta", max_length=10, compact=True))


def read_date_filter(screen, text: str = "") -> MovementFilter | None:
    """The typed filter, or None after saying what is wrong in the screen's `#filter-error` line."""
    from backend.core.movement_filter import parse_filter  # not at import: the login screen loads this module

    error = screen.query_one("#filter-error", Static)
    try:
        flt = parse_filter(screen.query_one("#desde", Input).value, screen.query_one("#hasta", Input).value, text)
    except ValidationError as exc:
        error.update(safe_text(exc.message, style="bold red"))
        return None
    error.update("")
    return flt
