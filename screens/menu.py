"""«Menú de opciones»: the manual's eight sections, with Transferencias' four options beneath it."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from .base import MemberScreen


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    indent: bool = False
    heading: bool = False


SECTIONS = [
    Section("productos", "1. Productos"),
    Section("transferencias", "2. Transferencias", heading=True),
    Section("transferencias_propias", "Transferencias a mis Cuentas", indent=True),
    Section("transferencias_cooprogreso", "Transferencias Cooprogreso", indent=True),
    Section("transferencias_interbancarias", "Transferencias Interbancarias", indent=True),
    Section("beneficiarios", "Administración de Beneficiarios", indent=True),
    Section("historial", "Historial de Transferencias", indent=True),
    Section("servicios", "3. Pago de Servicios"),
    Section("tarjetas", "4. Pago de Tarjetas"),
    Section("diferido", "5. Diferido Tarjetas Cooprogreso"),
    Section("contacto", "6. Contacto"),
    Section("solicitudes", "7. Solicita tus Productos"),
    Section("ayuda", "8. Ayuda"),
]
TITLES = {s.key: s.title.split(". ", 1)[-1] for s in SECTIONS}


class MenuScreen(MemberScreen):
    BINDINGS = [
        Binding(str(n), f"open_number({n})", show=False, id=f"menu.{n}") for n in range(1, 9)
    ] + [Binding("escape", "back", show=False, id="menu.back")]  # nothing to go back to: SALIR signs out

    def compose_body(self) -> ComposeResult:
        yield Label("Cooprogreso en Línea · Menú de opciones", classes="section-title")
        yield OptionList(
            *[Option(("    " if s.indent else "") + s.title, id=s.key, disabled=s.heading) for s in SECTIONS],
            id="menu",
        )

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#menu", OptionList).focus()

    def action_back(self) -> None:
        """Escape on the menu does not sign out: SALIR does."""

    @on(OptionList.OptionSelected, "#menu")
    def selected(self, event: OptionList.OptionSelected) -> None:
        self.open_section(event.option.id)

    def action_open_number(self, number: int) -> None:
        top = [s for s in SECTIONS if not s.indent]
        section = top[number - 1]
        if section.heading:
            self.query_one("#menu", OptionList).highlighted = SECTIONS.index(section) + 1
            self.query_one("#menu", OptionList).focus()
        else:
            self.open_section(section.key)

    def open_section(self, key: str) -> None:
        from .sections import screen_for

        self.app.push_screen(screen_for(key))
