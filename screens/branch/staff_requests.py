"""Atención al socio and supervisors work the queue of «Solicita tus Productos»: review, approve, reject."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Input, Label, Select, Static

from backend.core.errors import ServiceError
from backend.core.money import format_money
from backend.products.product_approvals import FILTERS, PENDING, ProductRequest
from screens.shared.base import MemberScreen
from screens.shared.confirm import ConfirmModal
from screens.shared.safe_text import SafeText, safe_text
from screens.shared.scroll import FormScroll
from screens.shared.text_entry import TextInput

STATUS_WIDTH = 78  # one line at 80 columns, inside the margins
SHORT = {"consumo": "Consumo", "microcredito": "Microcrédito", "inmobiliario": "Inmobiliario",
         "plazo_fijo": "Plazo fijo", "tarjeta": "Tarjeta", "ahorros": "Ahorros"}


class StaffRequestsScreen(MemberScreen):
    HELP = ("Las solicitudes de productos de los socios, de la más antigua a la más nueva. Toma una en revisión "
            "(F2), apruébala (F3: abre el producto y mueve el dinero) o recházala con un motivo (F4). Sobre el "
            "umbral de aprobación aprueba una persona distinta de quien la revisó.")
    HELP_KEYS = [("↑ ↓", "Recorrer las solicitudes; abajo se ven sus condiciones")]
    BINDINGS = [Binding("f2", "take", "Revisar", id="staff_requests.take", tooltip="Tomar la solicitud en revisión"),
                Binding("f3", "approve", "Aprobar", id="staff_requests.approve", tooltip="Aprobar y abrir el producto"),
                Binding("f4", "reject", "Rechazar", id="staff_requests.reject", tooltip="Rechazar con el motivo"),
                Binding("f5", "reload", "Actualizar", id="staff_requests.reload", tooltip="Volver a leer la cola")]
    DEFAULT_CSS = """
    StaffRequestsScreen #request-filters { height: 1; margin: 0 1; }
    StaffRequestsScreen #request-state { width: 24; }
    StaffRequestsScreen #requests { height: 7; margin: 0 1; }
    StaffRequestsScreen #request-scroll { height: 1fr; margin: 0 1; }
    StaffRequestsScreen #request-reason { margin: 0 1; }
    StaffRequestsScreen #requests-status { height: auto; max-height: 4; margin: 0 1; }  /* a long refusal wraps, whole */
    """

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[str, ProductRequest] = {}
        self.current: ProductRequest | None = None
        self.message = ""
        self.keep_row: int | None = None  # after a decision: the position to stay on (the next request)
        self.requested: str | None = None  # the state filter of the last reading of the list

    def compose_body(self) -> ComposeResult:
        yield Label("Solicitudes de productos", classes="section-title")
        with Horizontal(id="request-filters"):
            yield Select([(label, key) for key, label in FILTERS.items()], id="request-state", value="pendientes",
                         allow_blank=False, compact=True)
        yield DataTable(id="requests", cursor_type="row", zebra_stripes=True)
        with FormScroll(id="request-scroll"):
            yield Static("", id="request-detail")
        yield TextInput(id="request-reason", compact=True, max_length=200,
                    placeholder="Motivo del rechazo (obligatorio) o nota de aprobación")
        yield Static("", id="requests-status")

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one("#requests", DataTable)
        table.add_column("Solicitud", width=13)
        table.add_column("Socio", width=18)
        table.add_column("Producto", width=12)
        table.add_column("Monto", width=11)
        table.add_column("Estado", width=13)
        table.focus()
        self.action_reload()

    @on(Select.Changed, "#request-state")
    def filter_changed(self) -> None:
        if str(self.query_one("#request-state", Select).value) != self.requested:  # not the Select's own Changed
            self.action_reload()  # as it is mounted: the list is read once

    def action_reload(self) -> None:
        state = self.requested = str(self.query_one("#request-state", Select).value)
        self.call("requests", self.coop.backend.product_approvals.requests, self.coop.token, state,
                  hold_keys=True)  # ↓ typed before the rows are there moves in them

    def done_requests(self, items: list[ProductRequest]) -> None:
        self.items = {str(r.id): r for r in items}
        table = self.query_one("#requests", DataTable)
        table.clear()
        for r in items:
            amount = format_money(r.amount) if r.product != "ahorros" else "-"
            table.add_row(safe_text(r.number), safe_text(r.member_name), safe_text(SHORT.get(r.product, r.product)), safe_text(amount),
                          safe_text(r.state + (" ²" if r.needs_second_person else "")), key=str(r.id))
        second = sum(r.needs_second_person for r in items)
        status = f"Solicitudes: {len(items)}" + (f" · ² aprueba otra persona: {second}" if second else "")
        if not items:
            status = "No hay solicitudes con ese filtro."
            self.current = None
            self.query_one("#request-detail", Static).update("")
        line = f"{self.message} · {status}" if self.message else status
        if len(line) > STATUS_WIDTH:  # the outcome of what was just done matters more than the count
            line = self.message
        self.query_one("#requests-status", Static).update(safe_text(line))
        self.message = ""
        row, self.keep_row = self.keep_row, None
        if items:
            keep = self.items.get(str(self.current.id)) if self.current is not None else None
            if keep is not None:  # stay on the request just worked
                table.move_cursor(row=table.get_row_index(str(keep.id)))
            elif row is not None:  # the request just decided left the list: the next one takes its place
                keep = items[min(row, len(items) - 1)]
                table.move_cursor(row=min(row, len(items) - 1))
            self.show(keep or items[0])
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """F2/F3/F4 are offered for what the highlighted request can still go through: none once decided
        (hidden), F2 only while Recibida (dimmed once someone has it en revisión)."""
        if action not in ("take", "approve", "reject"):
            return super().check_action(action, parameters)
        state = self.current.state if self.current is not None else ""
        if state not in PENDING:
            return False
        if action == "take" and state != "Recibida":
            return None
        return True

    @on(DataTable.RowHighlighted, "#requests")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        item = self.items.get(str(event.row_key.value))
        if item is not None:
            self.show(item)

    def show(self, item: ProductRequest) -> None:
        self.current = item
        text = SafeText()
        for label, value in item.lines():
            text.append(f"{label}: ", style="bold")
            text.append(f"{value}\n")
        if item.needs_second_person and item.state == "En revisión":
            text.append(f"Sobre el umbral: aprueba una persona distinta de {item.reviewed_by}.", style="bold yellow")
        self.query_one("#request-detail", Static).update(safe_text(text))
        self.refresh_bindings()

    def action_take(self) -> None:
        if self.current is not None:
            self.call("take", self.coop.backend.product_approvals.take, self.coop.token, self.current.id)

    def done_take(self, item: ProductRequest) -> None:
        self.current = item
        self.message = f"{item.number} en revisión."
        self.action_reload()

    def action_approve(self) -> None:
        item = self.current
        if item is None:
            return
        if item.state == "Recibida":  # said before asking for a confirmation that could only be refused
            self._say("Primero toma la solicitud en revisión (F2).")
            return
        if item.state != "En revisión":
            self._say(f"La solicitud ya fue {item.state.lower()}.")
            return
        # Four eyes, or a row gone stale (decided elsewhere since): the backend says what it would refuse
        # before any confirmation is asked for, and checks again, under its lock, when approving.
        self.call("check", self.coop.backend.product_approvals.approval_check, self.coop.token, item.id)

    def done_check(self, item: ProductRequest) -> None:
        details = "\n".join(f"{k}: {v}" for k, v in item.lines()[:8])
        self.app.push_screen(ConfirmModal(f"¿Aprobar la solicitud {item.number}?", details, accept="Aprobar"),
                             lambda yes: self._approve(item) if yes else None)

    def failed_check(self, error: ServiceError) -> None:
        self._say(error.message)

    def _approve(self, item: ProductRequest) -> None:
        self.call("decide", self.coop.backend.product_approvals.approve, self.coop.token, item.id,
                  self.query_one("#request-reason", Input).value)

    def action_reject(self) -> None:
        item = self.current
        if item is None:
            return
        reason = self.query_one("#request-reason", Input).value
        if not reason.strip():  # the reason is mandatory: said before asking for a confirmation
            self._say("Escribe el motivo del rechazo; el socio lo lee en «Mis solicitudes».")
            self.query_one("#request-reason", Input).focus()
            return
        details = "\n".join([f"Motivo: {reason}"] + [f"{k}: {v}" for k, v in item.lines()[:7]])
        self.app.push_screen(ConfirmModal(f"¿Rechazar la solicitud {item.number}?", details, accept="Rechazar"),
                             lambda yes: self._reject(item, reason) if yes else None)

    def _reject(self, item: ProductRequest, reason: str) -> None:
        self.call("decide", self.coop.backend.product_approvals.reject, self.coop.token, item.id, reason)

    def done_decide(self, item: ProductRequest) -> None:
        self.query_one("#request-reason", Input).value = ""
        self.current = None
        self.keep_row = self.query_one("#requests", DataTable).cursor_row
        self.message = f"{item.number} {item.state.lower()}."
        self.action_reload()

    def failed_decide(self, error: ServiceError) -> None:
        self._say(error.message)
        if error.field == "reason":
            self.query_one("#request-reason", Input).focus()

    def failed_take(self, error: ServiceError) -> None:
        self._say(error.message)

    def _say(self, message: str) -> None:
        self.query_one("#requests-status", Static).update(safe_text(message, style="bold red"))
