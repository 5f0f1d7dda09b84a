"""Section 7's «Mis solicitudes»: the member's product requests with their number, state and a rejection's reason."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Label, Static

from backend.core.money import format_money
from backend.products.product_requests import RequestSummary
from backend.products.simulators import METHODS, cuota_labels
from screens.shared.base import MemberScreen
from screens.shared.safe_text import SafeText, safe_text


class MyRequestsScreen(MemberScreen):
    """«Mis solicitudes»: number, product, amount, state and the reason of a rejection."""

    HELP = "Tus solicitudes de productos con su número y estado: Recibida, En revisión, Aprobada o Rechazada con el motivo."
    HELP_KEYS = [("↑ ↓", "Recorrer las solicitudes; abajo se ve el detalle")]
    DEFAULT_CSS = """
    MyRequestsScreen #requests { height: 1fr; margin: 0 1; }
    MyRequestsScreen #request-detail { height: auto; margin: 0 1; }
    """
    BINDINGS = [Binding("r", "reload", "Actualizar", id="mine.reload", tooltip="Volver a consultar")]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[str, RequestSummary] = {}

    def compose_body(self) -> ComposeResult:
        yield Label("Solicita tus Productos · Mis solicitudes", classes="section-title")
        yield DataTable(id="requests", cursor_type="row", zebra_stripes=True)
        yield Static("", id="request-detail")

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one("#requests", DataTable)
        for name, width in (("Número", 13), ("Fecha", 10), ("Producto", 20), ("Monto", 12), ("Estado", 11)):
            table.add_column(safe_text(name), width=width)
        table.focus()
        self.action_reload()

    def action_reload(self) -> None:
        self.call("requests", self.coop.backend.product_requests.my_requests, self.coop.token)

    def done_requests(self, items) -> None:
        self.items = {str(r.id): r for r in items}
        table = self.query_one("#requests", DataTable)
        table.clear()
        for r in items:
            table.add_row(safe_text(r.number), safe_text(f"{r.created_at[8:10]}/{r.created_at[5:7]}/{r.created_at[:4]}"),
                          safe_text(r.product_name, overflow="ellipsis", no_wrap=True),
                          format_money(r.amount) if r.amount else "—", safe_text(r.state), key=str(r.id))
        if not items:
            self.query_one("#request-detail", Static).update("Aún no tienes solicitudes. Simula un producto y solicítalo.")

    @on(DataTable.RowHighlighted, "#requests")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        r = self.items.get(str(event.row_key.value))
        if r is None:
            return
        text = SafeText()
        text.append(f"{r.product_name} N.º {r.number} · {r.state}\n", style="bold")
        parts = []
        if r.term:
            parts.append(f"Plazo {r.term_label}")
        if r.method:
            parts.append(METHODS.get(r.method, r.method))
        if r.installment:
            parts.append(f"{cuota_labels(r.method)[0]} {format_money(r.installment)}")
        if parts:
            text.append(" · ".join(parts) + "\n")
        if r.reason:
            text.append("Motivo: ", style="bold")
            text.append(r.reason)
        self.query_one("#request-detail", Static).update(safe_text(text))
