"""Styled once: Textual runs the whole stylesheet over a widget more often than its look can change, and each
pass before the sign-in's first frame is start-up time (#23), each one on a screen opened in a UI test is CPU.
Plain mixins, first among the bases: Textual takes a widget's CSS, type name and component classes from its
first DOMNode base only, and calls the handlers of every class in the order of the MRO."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # at run time plain classes (see the module's docstring)
    from textual import events
    from textual.geometry import Size
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
    (a change of theme restyles every screen anyway)."""

    shown_once = False

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        if not self.shown_once:
            self.shown_once = True
            event.refresh_styles = False


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
