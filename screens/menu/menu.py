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


class MenuScreen(MemberScreen):
    audience = "socio"  # whose menu: staff menus are the same screen over their own rows
    BINDINGS: ClassVar[list[BindingType]] = [
        *[Binding(str(n), f"open_number({n})", show=False, id=f"menu.{n}") for n in range(1, 9)],
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

    @property
    def sections(self) -> list[Section]:
        return menu_for(self.audience)


    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#menu", OptionList).focus()

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
