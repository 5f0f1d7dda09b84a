"""One way for every form to say what is wrong: the message on the line beside the field, the focus on that
field, and the line cleared as soon as the person changes the field.

Forms used to do it three ways (focus moved or not, one message above the button, old messages kept until the
next submit). A form lists its fields once in `FIELD_ERRORS` and calls `field_error(error.field, message)`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.widgets import Input, RadioSet, Select, Static, TextArea

from screens.shared.safe_text import safe_text

if TYPE_CHECKING:
    from textual.widget import Widget

    _Mixin = Widget  # mixed into a Screen or a ModalScreen
else:
    _Mixin = object


class FieldErrors(_Mixin):
    """Mixin for a form screen. Handlers by name, not @on: a plain mixin is not seen by Textual's decorators.

    A line with the class `collapse` takes no row while it says nothing (`.field-error.collapse` in the theme):
    for forms short of rows at 80×24."""

    # The service's field name → (the field's selector, the selector of the error line beside it). The field's
    # may list several ids ("#a, #b"): the first on the screen gets the focus.
    FIELD_ERRORS: ClassVar[dict[str, tuple[str, str]]] = {}
    # Where a refusal that names no field of this form is said (and which field, if any, gets the focus).
    FORM_ERROR: ClassVar[tuple[str, str]] = ("", "")

    def field_error(self, field: str | None, message: str) -> None:
        """Say `message` beside the field the service named (or on the form's line) and focus that field."""
        self.clear_field_errors()
        target, line = self.FIELD_ERRORS.get(field or "", self.FORM_ERROR)
        self._said_line = line
        lines = list(self.query(line).results(Static)) if line else []
        for said in lines:
            said.update(safe_text(message))
            said.display = True
        focused: Widget | None = None
        if target and (found := self.query(target)):
            widget = found.first()
            if widget.display and widget.focusable:
                # with a message, the field is scrolled to below, with it: the focus's own scroll (animated, to the
                # field's centre) ran after the message's and took it out of sight on a busy machine
                widget.focus(scroll_visible=not lines)
                focused = widget
        for said in lines:  # once laid out (twice: a scrollbar that appears for it narrows the form, and the
            # message wraps again)
            said.call_after_refresh(said.call_after_refresh, self._into_sight, said, focused)

    @staticmethod
    def _into_sight(said: Widget, field: Widget | None) -> None:
        """The field, then its message, each scrolled the least into sight: both seen when they fit in the form,
        and the message whatever happens (it is what the person reads first). A scroll still gliding (Enter on
        the last field scrolled the form to «Continuar») is ended first: measured from a position it was about to
        leave, the message was scrolled to where the glide then took the form from."""
        if not said.is_attached:
            return
        animator = said.app.animator
        for node in said.ancestors_with_self:
            animator.force_stop_animation(node, "scroll_y")
            animator.force_stop_animation(node, "scroll_x")
        if field is not None and field.is_attached:
            field.scroll_visible(animate=False, immediate=True)
        said.scroll_visible(animate=False, immediate=True)

    _said_line = ""  # the line `field_error` wrote last: the only one a change clears (not a screen's own notes)

    def clear_field_errors(self) -> None:
        self._said_line = ""
        self._clear({line for _, line in [*self.FIELD_ERRORS.values(), self.FORM_ERROR] if line})

    def _clear(self, lines: set[str]) -> None:
        for line in lines:  # a line may be absent: a form shows some fields only for some choices
            for widget in self.query(line).results(Static):
                widget.update("")
                if widget.has_class("collapse"):
                    widget.display = False

    def _field_changed(self, widget: Widget) -> None:
        """A field the person changed (it has the focus: a value the screen sets itself clears nothing)
        takes away the refusal said about it, or the form's general one."""
        if not self._said_line or not widget.has_focus_within or not widget.id:
            return
        own = {line for target, line in self.FIELD_ERRORS.values()
               if f"#{widget.id}" in (part.strip() for part in target.split(","))}
        if not own and f"#{widget.id}" != self.FORM_ERROR[0]:
            return  # not a field of this form
        if self._said_line in own | {self.FORM_ERROR[1]}:
            self._said_line = ""
            self._clear(own | {self.FORM_ERROR[1]} - {""})

    def on_input_changed(self, event: Input.Changed) -> None:
        self._field_changed(event.input)

    def on_select_changed(self, event: Select.Changed) -> None:
        self._field_changed(event.select)

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self._field_changed(event.text_area)

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        self._field_changed(event.radio_set)
