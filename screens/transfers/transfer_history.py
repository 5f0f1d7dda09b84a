"""The member's transfers, with their state, filtered by date and kind; each opens its receipt."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Input, Label, Select, Static

from backend.core.money import format_money
from backend.transfers.transfers import KINDS
from screens.shared.base import MemberScreen
from screens.shared.receipt import ReceiptModal
from screens.shared.safe_text import safe_text
from screens.shared.widgets import date_range_inputs, read_date_filter


class TransferHistoryScreen(MemberScreen):
    def compose_body(self) -> ComposeResult:
        yield Label("Historial de Transferencias", classes="section-title")
        with Horizontal(id="filters"):
            yield from date_range_inputs()
            yield Select([(label, key) for key, label in KINDS.items()], prompt="Todas", id="kind", compact=True)
            yield Button("Filtrar", id="apply", compact=True)
        yield Static("", id="filter-error", classes="error")
        yield DataTable(id="history", cursor_type="row", zebra_stripes=True)
        yield Static("Enter: ver comprobante", id="page-status")

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one("#history", DataTable)
        table.add_column("Fecha", width=10)
        table.add_column("Tipo", width=13)
        table.add_column("Beneficiario", width=20)
        table.add_column(safe_text("Monto", justify="right"), width=11)
        table.add_column("Estado", width=10)
        table.focus()
        self._load(None, None, None)

    def _load(self, date_from, date_to, kind) -> None:
        self.call("history", self.coop.backend.transfers.history, self.coop.token, date_from, date_to, kind)

    def done_history(self, items) -> None:
        table = self.query_one("#history", DataTable)
        table.clear()
        for t in items:
            table.add_row(f"{t.created_at:%d/%m/%Y}", KINDS[t.kind], safe_text(t.dest_name),
                          safe_text(format_money(t.amount), justify="right"), safe_text(t.state), key=str(t.id))
        self.query_one("#page-status", Static).update(
            f"{len(items)} transferencias · Enter: ver comprobante" if items else "No hay transferencias para este filtro.")

    @on(Input.Submitted, "#filters Input")
    @on(Button.Pressed, "#apply")
    def apply_filter(self) -> None:
        flt = read_date_filter(self)
        if flt is None:
            return
        kind = self.query_one("#kind", Select).value
        self._load(flt.date_from, flt.date_to, None if kind == Select.NULL else kind)

    @on(DataTable.RowSelected, "#history")
    def open_receipt(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:  # rows are keyed by the transfer's id
            self.call("receipt", self.coop.backend.transfers.receipt, self.coop.token, int(event.row_key.value))

    def done_receipt(self, receipt) -> None:
        self.app.push_screen(ReceiptModal(receipt))
