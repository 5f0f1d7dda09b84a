"""«Menú de opciones»: the registry's sections for the signed-in person, entries beneath their heading."""

from __future__ import annotations

from typing import ClassVar

from textual import _widget_navigation, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.strip import Strip
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


ONE_COLUMN_ROWS = 12  # a staff menu (a handful of rows) stays one column


def column_split(sections: list[Section]) -> int:
    """Where the second column starts: at a numbered section, so a heading never leaves its entries, with
    the columns as even as that allows. The member's menu (22 rows, 25 with a ninth section) took 22 of the
    19 rows an 80×24 terminal has for it: sections 6–8 were below the fold."""
    count = len(sections)
    starts = [i for i, s in enumerate(sections) if i > 0 and s.number is not None and not s.parent]
    if count <= ONE_COLUMN_ROWS or not starts:
        return count
    return min(starts, key=lambda i: (max(i, count - i), i))


class MenuColumns(OptionList):
    """The menu's rows in two columns, read down the first and then the second: still one OptionList, so
    ↑↓ walk the rows in the registry's order (from the foot of the first column to the head of the second),
    ←→ jump between columns, a row's index is its place in the registry, and a click opens the row under it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("left", "column(-1)", show=False),
                                             Binding("right", "column(1)", show=False)]

    def __init__(self, *options: Option, split: int, id: str | None = None) -> None:
        super().__init__(*options, id=id)
        self.split = split

    @property
    def two_columns(self) -> bool:
        return self.split < self.option_count

    def _rows(self) -> int:
        return max(self.split, self.option_count - self.split)

    def _row(self, index: int) -> int:
        return index if index < self.split else index - self.split

    def _column_width(self) -> int:
        width = self.scrollable_content_region.width
        return width // 2 if self.two_columns else width

    def _get_left_gutter_width(self) -> int:
        """Each option is drawn a column wide."""
        return self.scrollable_content_region.width - self._column_width()

    def _update_lines(self) -> None:
        if not self.scrollable_content_region:
            return
        cache = self._line_cache
        for index in range(len(cache.lines), self.option_count):
            cache.index_to_line[index] = self._row(index)
            cache.heights[index] = 1
            cache.lines.append((index, 0))
        size = Size(self.scrollable_content_region.width, self._rows())
        if size != self.virtual_size:
            self.virtual_size = size
            self._scroll_update(size)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self._rows()

    def _cell(self, index: int | None) -> Strip:
        width = self._column_width()
        if index is None:
            return Strip.blank(width, self.get_visual_style("option-list--option").rich_style)
        option = self.options[index]
        component = ""
        if option.disabled:
            component = "option-list--option-disabled"
        elif self.highlighted == index:
            component = "option-list--option-highlighted"
        elif self._mouse_hovering_over == index:
            component = "option-list--option-hover"
        style = self.get_visual_style("option-list--option", *([component] if component else []))
        return self._get_option_render(option, style)[0]

    def render_line(self, y: int) -> Strip:
        self._update_lines()
        row = self.scroll_offset.y + y
        cells = [self._cell(row if row < self.split else None)]
        if self.two_columns:
            right = self.split + row
            cells.append(self._cell(right if right < self.option_count else None))
        width = self.scrollable_content_region.width
        return Strip.join(cells).extend_cell_length(width, self.get_visual_style("option-list--option").rich_style)

    def action_column(self, direction: int) -> None:
        """The row beside the highlighted one in the other column (or the nearest entry below it)."""
        if not self.two_columns or self.highlighted is None:
            return
        right = self.highlighted >= self.split
        if right == (direction > 0):
            return
        row = self._row(self.highlighted)
        target = min(self.split + row, self.option_count - 1) if direction > 0 else min(row, self.split - 1)
        found = _widget_navigation.find_next_enabled_no_wrap(
            candidates=self.options, anchor=target, direction=1, with_anchor=True)
        if found is not None:
            self.highlighted = found


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
        sections = self.sections
        yield MenuColumns(
            *[Option(safe_text(("    " if s.parent else "") + s.title), id=s.key, disabled=s.heading) for s in sections],
            split=column_split(sections), id="menu",
        )
        if self.audience != "socio":
            yield Label(id="worker-status")  # staff see whether the co-op's background worker is alive

    @property
    def sections(self) -> list[Section]:
        return menu_for(self.audience)

    @property
    def HELP_KEYS(self) -> list[tuple[str, str]]:  # noqa: N802 — the name F1's help reads (screens/help/help.py)
        """The numbers this menu has (a member's 1–9, a teller's 1–4), not one range for every menu."""
        numbers = [s.number for s in self.sections if s.number]
        shown = f"1–{max(numbers)}" if numbers and max(numbers) > 1 else "1"
        return [(shown, "Abrir la sección, o ir a su primera opción si hay varias"), ("Enter", "Abrir la opción resaltada")]


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
