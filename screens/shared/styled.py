"""Styled once: Textual runs the whole stylesheet over a widget more often than its look can change, and each
pass before the sign-in's first frame is start-up time (#23), each one on a screen opened in a UI test is CPU.
Plain mixins, first among the bases: Textual takes a widget's CSS, type name and component classes from its
first DOMNode base only, and calls the handlers of every class in the order of the MRO."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # at run time plain classes (see the module's docstring)
    from textual import events
    from textual.dom import DOMNode
    from textual.geometry import Size
    from textual.message_pump import MessagePump
    from textual.screen import Screen as _Screen
    from textual.widget import Widget as _Widget
else:
    _Screen = _Widget = object


class StyledWhenAttached(_Widget):
    """Styled once, when mounted. Textual restyles a widget at each change of its classes, also while it is
    still being built: `compact=True`, a Button's variant, … each ran the whole stylesheet over a widget with no
    parent yet, styled again when mounted (7 of the sign-in's passes before its first frame)."""

    def update_node_styles(self, animate: bool = True) -> None:
        if self.is_attached:
            super().update_node_styles(animate)


class StyledWhenShown(_Screen):
    """A screen's first showing does not restyle it: its widgets were styled when mounted a moment before, and
    Textual's resume ran the whole stylesheet over all of them again. Later showings are left as Textual has them
    (a change of theme restyles every screen anyway).

    Until then a change of classes or focus in it restyles nothing at once: the widgets changed are restyled
    together, each once, as it is first shown (`restyled_later`, called by the app for every restyle Textual asks
    for), and before its first layout."""

    shown_once = False
    _restyle_on_resume = False  # its next showing restyles it whole (see `restyle_when_resumed`)
    _restyle_when_shown: dict[DOMNode, bool] | None = None  # node → with its subtree: changed before the showing

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        if not self.shown_once:
            self.shown_once = True
            event.refresh_styles = False
            changed, self._restyle_when_shown = self._restyle_when_shown or {}, None
            nodes: dict[DOMNode, None] = {}  # each node once, in the order they changed
            for node, subtree in changed.items():
                if _screen_of(node) is self:  # still in it (not removed meanwhile)
                    nodes.update(dict.fromkeys(node.walk_children(with_self=True) if subtree else (node,)))
            if nodes:
                self.app.stylesheet.update_nodes(nodes, animate=False)
        elif self._restyle_on_resume:
            self._restyle_on_resume = False
            event.refresh_styles = True

    def restyle_when_resumed(self) -> None:
        """Rules came (the app's screens.tcss) while a screen hid this one: it is restyled whole as it is next
        shown (Textual's resume after a pop does not restyle), not at once under the screen that hides it."""
        self._restyle_on_resume = True


def _screen_of(node: DOMNode) -> _Screen | None:
    """The screen a node is in, None if it is in none (not mounted yet, or removed)."""
    from textual.screen import Screen

    current: MessagePump | None = node
    while current is not None and not isinstance(current, Screen):
        current = current._parent
    return current if current is not None and current._parent is not None else None


def restyled_later(node: DOMNode, subtree: bool = True) -> bool:
    """Whether a restyle Textual asks for (of the node and its subtree) is left for later, because it would be done
    again before anybody sees it: a node in no screen is styled when mounted (Textual's `_register`: a Button's or
    a Select's own classes, set as it is built, each restyled a widget about to be styled anyway); a node in a
    screen not yet shown is restyled as the screen is first shown (StyledWhenShown), once, however many of its
    classes changed (a Select's value and its list's `compact`, set as it is mounted); a node in a screen that has
    left the stack is restyled whole by Textual if it is ever shown again (the focused field's blur as it goes).
    `subtree`: the restyle asked for is of the node alone (FormScroll's)."""
    screen = _screen_of(node)
    if screen is None:
        return True
    if not isinstance(screen, StyledWhenShown):
        return False
    if not screen.shown_once:
        if screen._restyle_when_shown is None:
            screen._restyle_when_shown = {}
        screen._restyle_when_shown[node] = subtree or screen._restyle_when_shown.get(node, False)
        return True
    app = screen.app
    return all(screen not in stack for stack in app._screen_stacks.values()) and not app.is_screen_installed(screen)


class LaidOutOnce(_Screen):
    """A screen is not laid out again at the size it was just laid out at. Textual sends a screen a Resize after
    its first layout (the screen is among the widgets that layout showed), and that Resize lays the screen out
    again at the same size, and every screen beneath it too (the menu under a section, the form under a dialog):
    three layouts where one was due. What changed since the last layout is laid out by the screen's own update,
    as every other change is (after the data its calls bring, often the same layout); a screen beneath with such
    a change, or any screen at another size, is laid out as before."""

    def _screen_resized(self, size: Size) -> None:
        if size == self._compositor.size and (self.is_current or not (self._layout_required or self._layout_widgets)):
            return
        super()._screen_resized(size)
