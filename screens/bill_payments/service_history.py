"""Historial de Pagos: every service payment, by hand or débito automático, with filters, CSV export
and, on Enter, its receipt."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Input, Label, Select, Static

from backend.core.money import format_money
from backend.core.text import counted
from screens.shared.base import MemberScreen
from screens.shared.cells import date_text
from screens.shared.receipt import ReceiptModal
from screens.shared.safe_text import safe_text, visible_lines
from screens.shared.widgets import date_range_inputs, read_date_filter

ORIGINS = {"manual": "En línea", "automatico": "Débito automático"}


class PaymentHistoryScreen(MemberScreen):
    DEFAULT_CSS = """
    PaymentHistoryScreen #filters Input { width: 17; }
    PaymentHistoryScreen #filters Select { width: 13; margin-right: 1; }
    #pay-history { height: 1fr; margin: 0 1; }
    #history-detail { height: 2; margin: 0 1; color: $text-muted; }
    """
    BINDINGS = [Binding("e", "export", "Exportar CSV", id="payments.export", tooltip="Exportar el historial a CSV")]

    def __init__(self) -> None:
        super().__init__()
        self.items: list = []
        self.filters: tuple = (None, None, None, None)

    def compose_body(self) -> ComposeResult:
        yield Label("Historial de Pagos", classes="section-title")
        with Horizontal(id="filters"):
            yield from date_range_inputs()
            yield Select([], prompt="Entidad", id="biller", compact=True)
            yield Select([(label, key) for key, label in ORIGINS.items()], prompt="Origen", id="origin", compact=True)
            yield Button("Filtrar", id="apply", compact=True)
        yield Static("", id="filter-error", classes="error")
        yield DataTable(id="pay-history", cursor_type="row", zebra_stripes=True)
        yield Static("", id="history-detail")

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one("#pay-history", DataTable)
        for label, width in (("Fecha y hora", 16), ("Entidad", 16), ("Identif.", 11),
                             (safe_text("Monto", justify="right"), 8), ("Orig.", 5), ("Estado", 9)):
            table.add_column(safe_text(label), width=width)
        table.focus()
        self.call("billers", self._all_billers)
        self._load()

    def _all_billers(self):
        services, token = self.coop.backend.services, self.coop.token
        return [b for c in services.categories(token) for b in services.billers(token, c)]

    def done_billers(self, items) -> None:
        self.query_one("#biller", Select).set_options([(safe_text(b.name), b.code) for b in items])

    def _load(self) -> None:
        self.call("history", self.coop.backend.services.history, self.coop.token, *self.filters)

    def done_history(self, items) -> None:
        self.items = items
        table = self.query_one("#pay-history", DataTable)
        table.clear()
        for p in items:
            table.add_row(date_text(p.created_at, time=True), safe_text(p.biller_name), safe_text(p.identifier),
                          safe_text(format_money(p.amount), justify="right"),
                          "Auto" if p.origin == "automatico" else "Línea", safe_text(p.state_label), key=str(p.id))
        self.query_one("#history-detail", Static).update(
            f"{counted(len(items), 'pago', 'pagos')} · Enter: ver comprobante · e: exportar CSV" if items else
            "No hay pagos para este filtro.")

    @on(DataTable.RowHighlighted, "#pay-history")
    def show_detail(self, event: DataTable.RowHighlighted) -> None:
        row = event.cursor_row
        if 0 <= row < len(self.items):
            p = self.items[row]
            extra = f" · Motivo: {p.reason}" if p.reason else ""
            self.query_one("#history-detail", Static).update(safe_text(
                f"{p.identifier} · {ORIGINS[p.origin]} · Ref. {p.reference} · comisión {format_money(p.commission)}{extra}\n"
                "Enter: ver comprobante · e: exportar CSV"))

    @on(Input.Submitted, "#filters Input")
    @on(Button.Pressed, "#apply")
    def apply_filter(self) -> None:
        flt = read_date_filter(self)
        if flt is None:
            return
        biller = self.query_one("#biller", Select).value
        origin = self.query_one("#origin", Select).value
        self.filters = (flt.date_from, flt.date_to, None if biller == Select.NULL else biller,
                        None if origin == Select.NULL else origin)
        self._load()

    @on(DataTable.RowSelected, "#pay-history")
    def open_receipt(self, event: DataTable.RowSelected) -> None:
        self.call("receipt", self.coop.backend.services.receipt, self.coop.token, int(str(event.row_key.value)))

    def done_receipt(self, receipt) -> None:
        self.app.push_screen(ReceiptModal(receipt))

    def action_export(self) -> None:
        self.call("export", self.coop.backend.services.export_history, self.coop.token, self.coop.export_dir,
                  *self.filters)

    def done_export(self, path: str) -> None:
        self.notify(visible_lines(f"Historial exportado a {path}"), markup=False, timeout=10)
