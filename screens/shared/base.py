"""The frame of every screen a signed-in member sees: header, idle warning, content, footer."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen

from screens.shared.calls import ServiceCalls
from screens.shared.footer import Footer
from screens.shared.styled import LaidOutOnce, StyledWhenShown
from screens.shared.widgets import CoopHeader, IdleBanner


class MemberScreen(StyledWhenShown, LaidOutOnce, ServiceCalls, Screen):
    BINDINGS = [
        Binding("escape", "back", "Volver", id="member.back", tooltip="Volver a la pantalla anterior"),
        Binding("ctrl+s", "app.sign_out", "SALIR", id="member.salir", tooltip="Cerrar sesión"),
    ]

    def compose(self) -> ComposeResult:
        yield CoopHeader()
        yield IdleBanner(id="idle-banner")
        yield from self.compose_body()
        yield Footer(show_command_palette=False)  # F1 and Ctrl+P are told on the menu

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.query_one(IdleBanner).display = False

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
