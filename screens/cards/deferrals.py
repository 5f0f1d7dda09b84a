"""Section 5, Diferido de Tarjetas Cooprogreso: choose purchases (or the revolving balance) and a plazo,
see the simulation with its full amortization table and every plazo side by side, confirm with a code.
"""

from __future__ import annotations

import re

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Label, Select, Static

from backend.cards.requests import DeferralRequest
from backend.core.errors import ServiceError
from backend.core.money import format_money
from backend.core.rates import format_rate
from screens.shared.base import MemberScreen
from screens.shared.flow import start_authorised
from screens.shared.receipt import ReceiptModal
from screens.shared.safe_text import safe_text
from screens.shared.scroll import FormScroll
from screens.shared.widgets import chosen_id

TITLES = {"consumos": "Diferido Transacciones", "rotativo": "Diferido Saldo Actual Rotativo"}
REMINDER = ("*Recuerda que la cuota de este diferido son valores que se suman a tus diferidos anteriores, "
            "y deberán ser cancelados en el próximo mes")
CHECKED, UNCHECKED = "[X]", "[ ]"
PROMOTION_WORDS = re.compile(r"\s*\([^()]*\bsin intereses\b[^()]*\)", re.IGNORECASE)
DESCRIPTION_WIDTH = 30  # what is left of 80 columns beside Fecha Transacción, Valor, Seleccionar and a scrollbar


def purchase_description(description: str, interest_free_months: int, width: int = DESCRIPTION_WIDTH) -> str:
    """The Descripción cell: the merchant's words and «sin intereses» once, never wider than `width`.

    The merchant may already name its promotion («… (3 meses sin intereses)»): the cell says it once, at
    the end, and when the text is too long it is the merchant's words that are shortened, never the
    promotion the member chooses by."""
    tag = ""
    if interest_free_months:
        description = PROMOTION_WORDS.sub("", description).strip() or description
        tag = "" if "sin intereses" in description.lower() else " · sin intereses"
    if len(description) + len(tag) > width:
        description = description[:max(width - len(tag) - 1, 1)].rstrip() + "…"
    return description + tag


class DeferralScreen(MemberScreen):
    """Paso 2 (the card and its Información), Paso 4 (the purchases), Paso 5 (monto y plazo)."""

    DEFAULT_CSS = """
    DeferralScreen #card { margin: 0 1; width: 44; }
    DeferralScreen #card-info { height: auto; margin: 0 1; }
    DeferralScreen #purchases { height: auto; max-height: 8; margin: 0 1; }
    DeferralScreen #total { text-style: bold; margin: 0 1; height: auto; }
    DeferralScreen #plazo-row { height: 1; margin: 0 1; }
    DeferralScreen #plazo-row Label { width: 7; }
    DeferralScreen #plazo { width: 16; }
    DeferralScreen #simulate { margin-left: 2; }
    DeferralScreen #deferral-error { margin: 0 1; }
    """
    BINDINGS = [Binding("space", "mark", "Seleccionar", key_display="espacio", id="deferral.toggle",
                        tooltip="Marcar o desmarcar el consumo"),
                Binding("f3", "mine", "Mis diferidos", id="deferral.mine", tooltip="Tus diferidos y sus cuotas")]

    def __init__(self, kind: str = "consumos") -> None:
        super().__init__()
        self.kind = kind
        self.card_id: int | None = None
        self.purchases: dict[int, int] = {}  # id → amount
        self.selected: set[int] = set()

    def compose_body(self) -> ComposeResult:
        yield Label(f"Diferido Tarjetas Cooprogreso · {TITLES[self.kind]}", classes="section-title")
        yield Select([], id="card", prompt="Selecciona la tarjeta", compact=True)
        yield Static("", id="card-info")
        if self.kind == "consumos":
            table: DataTable = DataTable(id="purchases", cursor_type="row", zebra_stripes=True)
            table.add_columns("Fecha Transacción", "Descripción", "Valor", "Seleccionar")
            yield table
        yield Static("", id="total")
        with Horizontal(id="plazo-row"):
            yield Label("Plazo:")
            yield Select([], id="plazo", allow_blank=True, prompt="Plazo", compact=True)
            yield Button("Simular", id="simulate", variant="primary", compact=True)
        yield Static("", id="deferral-error", classes="field-error")

    def on_mount(self) -> None:
        super().on_mount()
        terms = self.coop.backend.deferrals.terms
        plazo = self.query_one("#plazo", Select)
        plazo.set_options([(safe_text(f"{m} meses"), m) for m in terms])
        plazo.value = terms[0]
        self.call("cards", self.coop.backend.cards.my_cards, self.coop.token)

    def done_cards(self, cards) -> None:
        select = self.query_one("#card", Select)
        select.set_options([(safe_text(f"Tarjeta No. {c.masked_pan}"), c.account_id) for c in cards])
        self._cards = {c.account_id: c for c in cards}
        if self.card_id is not None and self.card_id in self._cards:  # back from a deferral: fresh figures
            select.value = self.card_id
            self._show_card(self.card_id)
        elif cards:
            select.value = cards[0].account_id
        else:
            self._error("No tienes tarjetas de crédito Cooprogreso.")

    @on(Select.Changed, "#card")
    def card_changed(self, event: Select.Changed) -> None:
        card_id = chosen_id(self.query_one("#card", Select))
        if card_id is not None and card_id != self.card_id:
            self._show_card(card_id)

    def _show_card(self, card_id: int) -> None:
        self.card_id = card_id
        card = self._cards[card_id]
        self.query_one("#card-info", Static).update(safe_text(
            f"Información · Titular: {card.holder} · Número de tarjeta: {card.masked_pan} · Estado: {card.status}\n"
            f"Cupo disponible {format_money(card.available)} de {format_money(card.credit_limit)} · "
            f"Saldo rotativo {format_money(card.revolving)} · Diferidos {format_money(card.installments)}"))
        self.selected.clear()
        if self.kind == "consumos":
            self.call("purchases", self.coop.backend.deferrals.eligible, self.coop.token, card.account_id)
        else:
            self.query_one("#total", Static).update(
                safe_text(f"Saldo rotativo a diferir: {format_money(max(card.revolving, 0))}"))

    def done_purchases(self, purchases) -> None:
        table = self.query_one("#purchases", DataTable)
        table.clear()
        self.purchases = {p.id: p.amount for p in purchases}
        for p in purchases:
            description = purchase_description(p.description, p.interest_free_months)
            table.add_row(f"{p.posted_at:%d/%m/%Y}", safe_text(description), format_money(p.amount), UNCHECKED,
                          key=str(p.id))
        if not purchases:
            self._error("No tienes consumos que se puedan diferir en este momento.")
        self._show_total()
        table.focus()

    @on(DataTable.RowSelected, "#purchases")
    def row_selected(self, event: DataTable.RowSelected) -> None:
        self._toggle(int(str(event.row_key.value)))

    def action_mark(self) -> None:
        if self.kind != "consumos":
            return
        table = self.query_one("#purchases", DataTable)
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
            self._toggle(int(str(key.value)))

    def action_mine(self) -> None:
        self.app.push_screen(MyDeferralsScreen())

    def _toggle(self, purchase_id: int) -> None:
        self.selected ^= {purchase_id}
        table = self.query_one("#purchases", DataTable)
        table.update_cell(str(purchase_id), table.ordered_columns[3].key,
                          CHECKED if purchase_id in self.selected else UNCHECKED)
        self._show_total()

    def _show_total(self) -> None:
        total = sum(self.purchases[i] for i in self.selected)
        self.query_one("#total", Static).update(f"Monto Total: {format_money(total)}")

    def clear(self) -> None:
        """Limpiar: no purchase selected."""
        if self.kind == "consumos":
            for purchase_id in list(self.selected):
                self._toggle(purchase_id)
        self._error("")

    @on(Button.Pressed, "#simulate")
    def simulate(self) -> None:
        self._error("")
        months = self.query_one("#plazo", Select).value
        if self.card_id is None or not isinstance(months, int):
            self._error("Selecciona la tarjeta y el plazo.")
            return
        if self.kind == "consumos" and not self.selected:
            self._error("Selecciona al menos un consumo para diferir.")
            return
        request = DeferralRequest(self.card_id, self.kind, months, sorted(self.selected))
        self.call("simulation", self.coop.backend.deferrals.simulate, self.coop.token, request.card_id, request.kind,
                  request.purchases, request.months)
        self._request = request

    def done_simulation(self, sim) -> None:
        self.app.push_screen(SimulationScreen(sim, self._request), self._after_simulation)

    def failed_simulation(self, error: ServiceError) -> None:
        self._error(error.message)

    def _after_simulation(self, outcome: str | None) -> None:
        if outcome == "limpiar":
            self.clear()
        elif outcome == "exito":
            self.call("cards", self.coop.backend.cards.my_cards, self.coop.token)

    def _error(self, message: str) -> None:
        self.query_one("#deferral-error", Static).update(safe_text(message))


class SimulationScreen(MemberScreen):
    """Simulación Diferido: the figures, the full table, every plazo side by side; Limpiar / Confirmar."""

    DEFAULT_CSS = """
    SimulationScreen #sim-body { margin: 0 1; }
    SimulationScreen #summary { height: auto; }
    SimulationScreen DataTable { height: auto; margin-bottom: 1; }
    SimulationScreen #reminder { color: $text-muted; height: auto; }
    SimulationScreen .buttons { margin: 0 1; }
    """

    def __init__(self, sim, request: DeferralRequest) -> None:
        super().__init__()
        self.sim = sim
        self.request = request

    def compose_body(self) -> ComposeResult:
        sim = self.sim
        yield Label(safe_text(f"Simulación Diferido · Tarjeta No. {sim.masked_pan}"), classes="section-title")
        with FormScroll(id="sim-body"):
            rate = "Sin intereses" if sim.effective == 0 else f"{format_rate(sim.effective)} efectiva anual"
            yield Static(safe_text(
                f"Total Monto a Diferir  {format_money(sim.principal):>12}    Número de Cuotas  {sim.months:>3}\n"
                f"Valor Interés:         {format_money(sim.total_interest):>12}    Valor Cuota:  {format_money(sim.cuota):>11}\n"
                f"Tasa: {rate} · tasa máxima legal {format_rate(sim.cap)}"), id="summary")
            yield Static(safe_text(REMINDER), id="reminder")
            with Horizontal(classes="buttons"):
                yield Button("Limpiar", id="limpiar", compact=True)
                yield Button("Confirmar", id="confirmar", variant="primary", compact=True)
            yield Label("Tabla de amortización")
            table: DataTable = DataTable(id="schedule", cursor_type="row", zebra_stripes=True)
            table.add_columns("N°", "Fecha de pago", "Cuota", "Interés", "Capital", "Saldo")
            for row, due in zip(sim.schedule.rows, sim.due_dates or [None] * sim.months):
                table.add_row(safe_text(row.number), f"{due:%d/%m/%Y}" if due else "", format_money(row.cuota),
                              format_money(row.interest), format_money(row.capital), format_money(row.balance))
            yield table
            yield Label("Compara los plazos")
            compare: DataTable = DataTable(id="compare", cursor_type="row", zebra_stripes=True)
            compare.add_columns("Plazo", "Cuota", "Interés total", "Tasa efectiva", "Máxima legal")
            for o in sim.options:
                if o.available:
                    rate = "Sin intereses" if o.effective == 0 else format_rate(o.effective)
                    compare.add_row(safe_text(f"{o.months} meses"), format_money(o.cuota), format_money(o.total_interest),
                                    safe_text(rate), format_rate(o.cap))
                else:
                    compare.add_row(safe_text(f"{o.months} meses"), "—", "—", "No disponible", "")
            yield compare

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#confirmar", Button).focus()

    @on(Button.Pressed, "#limpiar")
    def limpiar(self) -> None:
        self.dismiss("limpiar")

    @on(Button.Pressed, "#confirmar")
    def confirmar(self) -> None:
        deferrals, token, request = self.coop.backend.deferrals, self.coop.token, self.request
        start_authorised(self, lambda: deferrals.prepare_deferral(token, request), on_done=self._done,
                         show_receipt=False)

    def _done(self, receipt) -> None:
        self.app.push_screen(DeferralSuccessModal(receipt, self.request.kind), self._accepted)

    def _accepted(self, _: object) -> None:
        self.dismiss("exito")


class DeferralSuccessModal(ModalScreen[None]):
    """Paso 6: «Diferido exitoso»."""

    BINDINGS = [("escape", "close", "Aceptar")]

    def __init__(self, receipt, kind: str = "consumos") -> None:
        super().__init__()
        self.receipt = receipt
        self.kind = kind  # the title names what was deferred: a rotativo is not «Transacciones»

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="deferral-success"):
            what = TITLES.get(self.kind, TITLES["consumos"]).removeprefix("Diferido ")
            yield Label(f"Diferido Tarjetas de Crédito · {what}", classes="dialog-title")
            yield Label("Diferido exitoso", id="success-title")
            yield Static("Recuerda que este valor se suma a tus diferidos anteriores")
            yield Static(safe_text(f"Referencia {self.receipt.reference} · Valor Cuota {self.receipt.get('Valor Cuota')}"))
            with Horizontal(classes="buttons"):
                yield Button("Aceptar", id="accept", variant="primary", compact=True)
                yield Button("Ver comprobante", id="receipt", compact=True)

    def on_mount(self) -> None:
        self.query_one("#accept", Button).focus()

    @on(Button.Pressed, "#accept")
    def accept(self) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#receipt")
    def show_receipt(self) -> None:
        self.app.push_screen(ReceiptModal(self.receipt))


class MyDeferralsScreen(MemberScreen):
    """Mis diferidos: each deferral with its remaining cuotas."""

    DEFAULT_CSS = "MyDeferralsScreen DataTable { margin: 1 1; height: 1fr; }"

    def compose_body(self) -> ComposeResult:
        yield Label("Mis diferidos", classes="section-title")
        table: DataTable = DataTable(id="mine", cursor_type="row", zebra_stripes=True)
        table.add_columns("Fecha", "Tarjeta", "Monto", "Plazo", "Cuota", "Pendientes", "Saldo")
        yield table
        yield Static("", id="mine-empty")

    def on_mount(self) -> None:
        super().on_mount()
        self.call("mine", self.coop.backend.deferrals.mine, self.coop.token)

    def done_mine(self, items) -> None:
        table = self.query_one("#mine", DataTable)
        for d in items:
            table.add_row(f"{d.created_at:%d/%m/%Y}", safe_text(f"···{d.masked_pan[-4:]}"), format_money(d.principal),
                          safe_text(f"{d.months} m"), format_money(d.cuota), safe_text(f"{d.remaining_cuotas}/{d.months}"),
                          format_money(d.remaining_capital), key=str(d.id))
        if not items:
            self.query_one("#mine-empty", Static).update("Todavía no tienes diferidos.")
        table.focus()
