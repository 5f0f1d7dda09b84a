"""«Menú de opciones»: the registry's sections for the signed-in person, entries beneath their heading."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from screens.menu.registry import Section, menu_for
from screens.shared.base import MemberScreen
from screens.shared.safe_text import SafeText, safe_text

HEARTBEAT_EVERY_SECONDS = 5
HEARTBEAT_IDLE_LIMIT = 60  # as the app's keep-alive: no renewal for someone who has walked away


def _ago(seconds: float) -> str:
    whole = int(seconds)
    if whole < 120:
        return f"{whole} s"
    if whole < 120 * 60:
        return f"{whole // 60} min"
    return f"{whole // 3600} h"


def worker_status(beat) -> tuple[str, bool]:
    """The staff menu's line about `cooprogreso worker` (a `worker_lease.Heartbeat` or None), and whether it
    is a warning: nobody settling transfers or sending SMS is something staff must pass on at once."""
    if beat is None:
        return "Procesos de fondo: no iniciados (cooprogreso-worker); avise al administrador", True
    if beat.released:
        return f"Procesos de fondo: detenidos hace {_ago(beat.age_seconds)}; avise al administrador", True
    if beat.expired:
        return f"Procesos de fondo: sin señal hace {_ago(beat.age_seconds)}; avise al administrador", True
    return f"Procesos de fondo: activos hace {_ago(beat.age_seconds)}", False


class MenuScreen(MemberScreen):
    audience = "socio"  # whose menu: staff menus are the same screen over their own rows
    BINDINGS: ClassVar[list[BindingType]] = [
        *[Binding(str(n), f"open_number({n})", show=False, id=f"menu.{n}") for n in range(1, 10)],
        Binding("escape", "back", show=False, id="menu.back")]  # nothing to go back to: SALIR signs out

    def __init__(self, audience: str | None = None) -> None:
        super().__init__()
        if audience is not None:
            self.audience = audience

    def compose_body(self) -> ComposeResult:
        title = "Menú de opciones" if self.audience == "socio" else "Menú del personal"
        yield Label(SafeText.assemble(f"Cooprogreso en Línea · {title}", ("      F1 ayuda · Ctrl+P buscar", "not bold dim")),
                    classes="section-title")
        yield OptionList(
            *[Option(safe_text(("    " if s.parent else "") + s.title), id=s.key, disabled=s.heading) for s in self.sections],
            id="menu",
        )
        if self.audience != "socio":
            yield Label(id="worker-status")  # staff see whether the co-op's background worker is alive

    @property
    def sections(self) -> list[Section]:
        return menu_for(self.audience)


    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#menu", OptionList).focus()
        if self.audience != "socio":
            self.read_heartbeat()
            self.set_interval(HEARTBEAT_EVERY_SECONDS, self.read_heartbeat)

    def read_heartbeat(self) -> None:
        """Only while the person is at the screen: each call renews their session, so polling a menu left
        alone would keep it open on the server past the staff idle limit."""
        if self.coop.idle_seconds() >= HEARTBEAT_IDLE_LIMIT:
            return
        self.call("heartbeat", self.coop.backend.worker_heartbeat, self.coop.token)

    def done_heartbeat(self, beat) -> None:
        text, stale = worker_status(beat)
        label = self.query_one("#worker-status", Label)
        label.update(safe_text(text))
        label.set_class(stale, "stale")

    def failed_heartbeat(self, error) -> None:
        """The session ended or the database is away: the sign-out and other screens say so; not this line."""

    def action_back(self) -> None:
        """Escape on the menu does not sign out: SALIR does."""

    @on(OptionList.OptionSelected, "#menu")
    def selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:  # every row of the menu has its section's key
            self.open_section(event.option.id)

    def action_open_number(self, number: int) -> None:
        section = next((s for s in self.sections if s.number == number), None)
        if section is None:
            return
        if section.heading:
            self.query_one("#menu", OptionList).highlighted = self.sections.index(section) + 1
            self.query_one("#menu", OptionList).focus()
        else:
            self.open_section(section.key)

    def open_section(self, key: str) -> None:
        from screens.menu.registry import screen_for

        self.app.push_screen(screen_for(key))
