"""Categoría → Entidad, once for Registro, Pagar and Programar: the entity list follows the category,
the identifier's label follows the entity (its own words: «Código Único Eléctrico Nacional», «Placa»…)."""

from __future__ import annotations

from typing import Any

from textual.widgets import Label, Select

from screens.shared.calls import ServiceCalls
from screens.shared.safe_text import safe_text


class BillerChoice(ServiceCalls):
    """Mixin for a form with Selects `#category` and `#biller` and a Label `#id-label`.

    Handlers by name (a plain mixin is not seen by Textual's `@on` collection); a screen reacts to a
    chosen entity in `biller_chosen` and may word the label with `ID_LABEL`."""

    ID_LABEL = "{}"
    billers: dict[str, Any]

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "category" and event.value != Select.NULL:
            self.call("billers", self.coop.backend.services.billers, self.coop.token, event.value)
        elif event.select.id == "biller":
            biller = self.billers.get(str(event.value))
            if biller:
                self.query_one("#id-label", Label).update(safe_text(self.ID_LABEL.format(biller.id_label)))
            self.biller_chosen(biller)

    def done_billers(self, items) -> None:
        self.billers = {b.code: b for b in items}
        self.query_one("#biller", Select).set_options([(safe_text(b.name), b.code) for b in items])

    def biller_chosen(self, biller: Any) -> None:
        """The entity chosen (None when the choice was cleared)."""
