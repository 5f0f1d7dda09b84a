"""The card's estado de cuenta: the last cut in full, earlier ones in a table (a card a member understands)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Label, Select, Static

from backend.core.money import format_money
from screens.shared.base import MemberScreen
from screens.shared.card_debt import debt_text
from screens.shared.safe_text import safe_text


class StatementScreen(MemberScreen):
    BINDINGS = [Binding("e", "paper", "PDF/CSV", id="cards.paper",
                        tooltip="Estado de cuenta mensual de la tarjeta en PDF o CSV")]
    DEFAULT_CSS = """
    StatementScreen #st-card { margin: 0 1; width: 44; }
    StatementScreen #st-last { margin: 0 1; height: auto; }
    StatementScreen DataTable { margin: 0 1; height: 1fr; }
    """

    def compose_body(self) -> ComposeResult:
        yield Label("Estado de Cuenta · Tarjeta de Crédito Cooprogreso", classes="section-title")
        yield Select([], id="st-card", prompt="Selecciona la tarjeta", compact=True)
        yield Static("", id="st-last")
        table: DataTable = DataTable(id="statements", cursor_type="row", zebra_stripes=True)
        # Six columns fit 80×24 with room to spare: with «Pagos» and «Cuotas» too, «Mínimo» was past the right
        # edge. Those two, and the rest of a cut, show above for the row the cursor is on.
        table.add_columns("Corte", "Pago hasta", "Consumos", "Intereses", "Pago total", "Mínimo")
        yield table

    def on_mount(self) -> None:
        super().on_mount()
        self.call("cards", self.coop.backend.cards.my_cards, self.coop.token)

    def done_cards(self, cards) -> None:
        self._cards = {c.account_id: c for c in cards}
        select = self.query_one("#st-card", Select)
        select.set_options([(safe_text(f"Tarjeta No. {c.masked_pan}"), c.account_id) for c in cards])
        if cards:
            select.value = cards[0].account_id
        else:
            self.query_one("#st-last", Static).update("No tienes tarjetas de crédito Cooprogreso.")

    @on(Select.Changed, "#st-card")
    def card_changed(self, event: Select.Changed) -> None:
        if event.value == Select.NULL:
            return
        card = self._cards[event.value]
        self._statements: list = []
        self._head = (f"Cupo total {format_money(card.credit_limit)} · Cupo disponible {format_money(card.available)}\n"
                      + debt_text(card.revolving, card.installments))
        self._show_cut(card.statement)
        self.call("statements", self.coop.backend.cards.statements, self.coop.token, card.account_id)

    def _show_cut(self, st, newest: bool = True) -> None:
        """The card's figures and one cut in full (the last one, or the table's row under the cursor). What is left
        of the last cut is still «Por pagar»; of an earlier one it passed to the next statement (or it was paid)."""
        if st is None:
            self.query_one("#st-last", Static).update(safe_text(self._head + "\nTodavía no tienes estados de cuenta."))
            return
        self.query_one("#st-last", Static).update(safe_text(
            f"{self._head}\nFecha de corte {st.cut_date:%d/%m/%Y} · Fecha máxima de pago {st.due_date:%d/%m/%Y}\n"
            f"Saldo anterior {format_money(st.previous_balance)} · Consumos {format_money(st.purchases)} · "
            f"Pagos {format_money(st.payments)} · Diferido {format_money(st.deferred)}\n"
            f"Cuotas de diferidos {format_money(st.installments)} · Intereses {format_money(st.interest)}"
            + (f" · Interés de mora {format_money(st.late_interest)}" if st.late_interest else "")
            + (f" · Otros {format_money(st.other)}" if st.other else "")
            + (f" · Valor vencido {format_money(st.overdue)}" if st.overdue else "") +
            f"\nPago total {format_money(st.total_due)} · Pago mínimo {format_money(st.minimum_due)} · "
            + (f"Por pagar {format_money(st.total_left)}" if newest else
               f"Pasó al siguiente corte {format_money(st.total_left)}" if st.total_left else "Pagado")))

    def done_statements(self, statements) -> None:
        self._statements = list(statements)
        table = self.query_one("#statements", DataTable)
        table.clear()
        for index, st in enumerate(statements):
            table.add_row(f"{st.cut_date:%d/%m/%Y}", f"{st.due_date:%d/%m/%Y}", format_money(st.purchases),
                          format_money(st.interest), format_money(st.total_due), format_money(st.minimum_due),
                          key=str(index))

    @on(DataTable.RowHighlighted, "#statements")
    def cut_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None and int(event.row_key.value) < len(self._statements):
            index = int(event.row_key.value)
            self._show_cut(self._statements[index], newest=index == 0)

    def action_paper(self) -> None:
        from screens.shared.paper import PaperScreen

        card = self.query_one("#st-card", Select).value
        if card == Select.NULL or not isinstance(card, int):  # the footer offers the key: say why it does nothing
            self.notify("No tienes una tarjeta de crédito Cooprogreso con estados de cuenta.", severity="warning")
            return
        backend, token = self.coop.backend, self.coop.token
        self.app.push_screen(PaperScreen(f"Tarjeta {self._cards[card].masked_pan}", lambda month, fmt:
                                         backend.card_statements.statement(token, card, month, fmt),
                                         lambda: backend.card_statements.latest_month(token, card)))
