"""The footer of keys every screen shows, and the Spanish keys of a dropdown's open list: the sign-in screen's
first frame needs only these, not the rest of screens/shared/widgets.py (start-up time, #23)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Select

if TYPE_CHECKING:
    from textual.screen import Screen


def spanish_select_lists() -> None:
    """Every Select's open list says «esc Cerrar lista» in the footer, not Textual's «Dismiss menu», and no
    Select searches as the member types.

    Textual gives the list's Escape binding an English description; its bindings are merged once per
    class, so they are replaced here once for the whole app (called by `CooprogresoApp`).
    """
    from textual.widgets._select import SelectOverlay

    SelectOverlay.BINDINGS = [Binding("escape", "dismiss", "Cerrar lista", tooltip="Cerrar la lista sin elegir")]
    SelectOverlay._merged_bindings = SelectOverlay._merge_bindings()
    # Typing over a dropdown must never choose for the member (issue #21): with Textual's type-to-search, a
    # space opened the list, the next letters moved its highlight and Enter chose it (a tester set the
    # destination to the origin account that way). The list is chosen from by opening it and moving in it.
    defaults = Select.__init__.__kwdefaults__
    assert defaults is not None and "type_to_search" in defaults  # Textual's signature, checked on start-up
    defaults["type_to_search"] = False


class Footer(Widget, can_focus=False):
    """The keys of the screen, drawn as Textual's Footer draws them (a FooterKey per key) but by one widget.

    Textual's is a container of one widget per key, rebuilt whenever the bindings are refreshed: three widgets
    built, styled and laid out for the sign-in's three keys before its first frame (start-up time, #23), and more
    on every screen of every UI test. Here the keys are text in one line, styled from the same theme variables by
    the same rules (`_item_style`); hover, tooltip, click and mouse-wheel scrolling act on the key under the
    mouse. tests/app/test_start_path.py checks it draws as Textual's in every theme and state. No binding here
    uses a group or the compact style; the command palette's key is told by the menu, never here."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"footer-key", "footer-key--key", "footer-key--description", "footer-key--disabled",
                         "footer-key--hover"}
    # Textual's Footer and FooterKey rules (textual/widgets/_footer.py), on one widget: a FooterKey is an item.
    DEFAULT_CSS = """
    Footer {
        color: $footer-foreground;
        background: $footer-background;
        dock: bottom;
        height: 1;
        width: 1fr;
        text-wrap: nowrap;
        &.-over-key { pointer: pointer; }
        .footer-key { background: $footer-item-background; }
        .footer-key--disabled { text-style: dim; }
        .footer-key--hover { color: $footer-key-foreground; background: $block-hover-background; }
        .footer-key--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
            padding: 0 1;
        }
        .footer-key--description {
            padding: 0 1 0 0;
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None,
                 show_command_palette: bool = False) -> None:
        assert not show_command_palette, "the command palette's key is told by the menu"
        super().__init__(id=id, classes=classes)
        self._shown: list[tuple[Binding, bool, str]] = []
        self._spans: list[tuple[int, int, Binding, bool, str]] = []  # each key's cells: start, end, and its state
        self._hover: int | None = None  # the key under the mouse
        self._scroll = 0  # cells scrolled off at the left (mouse wheel), when the keys are wider than the line

    @property
    def keys(self) -> list[tuple[str, bool]]:
        """What it shows: each key's description, and whether it is disabled (dimmed)."""
        return [(binding.description, not enabled) for binding, enabled, _ in self._shown]

    def _keys(self, screen: Screen) -> list[tuple[Binding, bool, str]]:
        """The bindings shown, one per action (its first binding), as Textual's Footer picks them."""
        keys: dict[str, tuple[Binding, bool, str]] = {}
        for active in screen.active_bindings.values():
            if active.binding.show:
                keys.setdefault(active.binding.action, (active.binding, active.enabled, active.tooltip))
        return list(keys.values())

    def on_mount(self) -> None:
        self._shown = self._keys(self.screen)
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen) -> None:
        """Redrawn when the keys change (not while the app is in the background, as Textual's)."""
        if not screen.app.app_focus or not self.is_attached or screen is not self.screen:
            return
        keys = self._keys(screen)
        if keys != self._shown:
            # until redrawn, a click presses nothing: the keys it would find are the old ones (a key just disabled)
            self._shown, self._spans, self._hover = keys, [], None
            self.tooltip = None
            self.refresh()

    def _item_style(self, *components: str) -> Style:
        """The style DOMNode.rich_style gives a node under this one with these components' rules (an item, a key
        or a description in it): Textual's FooterKey and its component classes."""
        from textual.color import Color

        background, color, style, opacity = Color(0, 0, 0, 0), Color(255, 255, 255, 0), Style(), 1.0
        chain = [node.styles for node in reversed(self.ancestors_with_self)]
        for group in components:
            chain.append(self.get_component_styles(*group.split()))
        for styles in chain:
            opacity *= styles.opacity
            if styles.has_rule("background"):
                background += styles.background.tint(styles.background_tint).multiply_alpha(opacity)
            if styles.has_rule("color"):
                color = styles.color
            style += styles.text_style
        return style + Style.from_color((background + color).rich_color if (background.a or color.a) else None,
                                        background.rich_color if background.a else None)

    def render(self) -> Text:
        line = Text(no_wrap=True, end="")
        key_padding = self.get_component_styles("footer-key--key").padding
        description_padding = self.get_component_styles("footer-key--description").padding
        self._spans = []
        for index, (binding, enabled, tooltip) in enumerate(self._shown):
            item = "footer-key" + (" footer-key--hover" if index == self._hover else "") + \
                ("" if enabled else " footer-key--disabled")
            label = Text.assemble(
                (" " * key_padding.left + self.app.get_key_display(binding) + " " * key_padding.right,
                 self._item_style(item, "footer-key--key")),
                (" " * description_padding.left + binding.description + " " * description_padding.right,
                 self._item_style(item, "footer-key--description")) if binding.description else "")
            label.stylize_before(self._item_style(item))
            self._spans.append((line.cell_len, line.cell_len + label.cell_len, binding, enabled, tooltip))
            line.append_text(label)
        self._scroll = max(0, min(self._scroll, line.cell_len - self.size.width))
        if self._scroll:  # the first characters that fill the cells scrolled off
            cut = next(i for i in range(len(line.plain) + 1) if cell_len(line.plain[:i]) >= self._scroll)
            line = line[cut:]
        return line

    def _at(self, x: int) -> int | None:
        x += self._scroll
        return next((index for index, (start, end, *_) in enumerate(self._spans) if start <= x < end), None)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self._hovering(self._at(event.x))

    def on_leave(self, event: events.Leave) -> None:
        self._hovering(None)

    def _hovering(self, index: int | None) -> None:
        if index == self._hover:
            return
        self._hover = index
        self.set_class(index is not None, "-over-key")
        self.tooltip = (self._spans[index][4] or None) if index is not None else None
        self.screen.update_pointer_shape()
        self.refresh()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        """A click on a key presses it (a disabled one rings), as on Textual's."""
        index = self._at(event.x)
        if index is None:
            return
        _, _, binding, enabled, _ = self._spans[index]
        if enabled:
            self.app.simulate_key(binding.key)
        else:
            self.app.bell()

    def _on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self._scrolled(event, 1)

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._scrolled(event, -1)

    def _scrolled(self, event: events.MouseEvent, step: int) -> None:
        """The keys beyond the line's width come into view with the wheel, as in Textual's (a scrolling container)."""
        width = self._spans[-1][1] if self._spans else 0
        scroll = max(0, min(self._scroll + 2 * step, width - self.size.width))
        if scroll != self._scroll:
            self._scroll = scroll
            self._hover = None
            self.refresh()
            event.stop()
            event.prevent_default()
