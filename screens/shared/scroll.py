"""A scrolling form that a focus change restyles alone."""

from __future__ import annotations

from textual.containers import VerticalScroll

from screens.shared.styled import restyled_later


class FormScroll(VerticalScroll):
    """A VerticalScroll in the tab order (its focus draws the bar at its left) whose focus change restyles only
    itself and its scrollbars: Textual restyles a widget's whole subtree when its focus changes, a form's 30
    widgets for each Tab into or out of it, yet no rule styles what is inside a scroll by the scroll's focus
    (tests/app/test_ui_restyles.py keeps it so)."""

    def watch_has_focus(self, _has_focus: bool) -> None:
        if not restyled_later(self, subtree=False):
            self.app.stylesheet.update_nodes([self], animate=True)
