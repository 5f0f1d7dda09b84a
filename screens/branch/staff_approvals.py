"""The supervisor's «Aprobaciones» (maker-checker queue) and «Cajas del día»."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, Static

from backend.branch.approvals import Approval
from backend.branch.counter_ops import SHORT_LABELS
from backend.core.money import format_money
from screens.shared.base import MemberScreen
from screens.shared.calls import ServiceCalls
from screens.shared.cells import date_text, fit
from screens.shared.safe_text import safe_text
from screens.shared.text_entry import TextInput

TILL_STATES = {"abierta": "Abierta", "cerrada": "Cerrada"}


class DecisionModal(ServiceCalls, ModalScreen[str | None]):
    """One pending operation: its details, a note, Aprobar or Rechazar (with the supervisor's session)."""

    BINDINGS = [Binding("escape", "dismiss_none", "Cancelar", id="decision.cancel", tooltip="Volver a la lista")]
    # At 80×24 (.dialog max-height 22): the details scroll inside at most 9 rows and the error takes at
    # most 3, so the note box and the buttons always stay on screen, before and after an error.
    DEFAULT_CSS = """
    DecisionModal #decision-lines { height: auto; max-height: 9; }
    DecisionModal #decision-note { width: 60; margin-top: 1; }
    DecisionModal #decision-error { height: auto; max-height: 3; }
    """

    def __init__(self, approval: Approval) -> None:
        super().__init__()
        self.approval = approval

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(safe_text(self.approval.label), classes="dialog-title")
            with VerticalScroll(id="decision-lines", can_focus=False):
                yield Static(safe_text("\n".join(f"{k}: {v}" for k, v in self.approval.lines)))
            yield TextInput(id="decision-note", placeholder="Nota (obligatoria para rechazar o cerrar con diferencia)",
                        max_length=200, compact=True)
            yield Static("", id="decision-error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Aprobar", id="approve", variant="success", compact=True)
                yield Button("Rechazar", id="reject", variant="error", compact=True)
                yield Button("Cancelar", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#decision-note", Input).focus()

    @on(Button.Pressed, "#approve")
    def approve(self) -> None:
        self.call("decide", self.coop.backend.approvals.approve, self.coop.token, self.approval.id,
                  self.query_one("#decision-note", Input).value)

    @on(Button.Pressed, "#reject")
    def reject(self) -> None:
        self.call("decide", self.coop.backend.approvals.reject, self.coop.token, self.approval.id,
                  self.query_one("#decision-note", Input).value)

    def done_decide(self, outcome: str) -> None:
        self.dismiss(outcome)

    def failed_decide(self, error) -> None:
        self.query_one("#decision-error", Static).update(safe_text(error.message))
        self.query_one("#decision-note", Input).focus()  # what was typed stays; fix it and decide again

    @on(Button.Pressed, "#cancel")
    def action_dismiss_none(self) -> None:
        self.dismiss(None)


class ApprovalsScreen(MemberScreen):
    BINDINGS = [Binding("f5", "reload", "Actualizar", id="approvals.reload", tooltip="Volver a leer la cola")]
    DEFAULT_CSS = """
    ApprovalsScreen #approvals { height: 1fr; margin: 1 1 0 1; }
    ApprovalsScreen #approvals-status { margin: 0 1; height: auto; color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[int, Approval] = {}
        self.outcome = ""  # the last decision, said once above the reloaded queue

    def compose_body(self) -> ComposeResult:
        yield Label("Aprobaciones pendientes", classes="section-title")
        yield DataTable(id="approvals", cursor_type="row", zebra_stripes=True)
        yield Static("", id="approvals-status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#approvals", DataTable).add_columns("Ref.", "Operación", "Socio", "Monto", "Solicitó")
        self.action_reload()

    def action_reload(self) -> None:
        self.call("pending", self.coop.backend.approvals.pending, self.coop.token)

    def done_pending(self, items: list[Approval]) -> None:
        self.items = {a.id: a for a in items}
        table = self.query_one("#approvals", DataTable)
        table.clear()
        for a in items:
            ref = dict(a.lines).get("Referencia", "")
            table.add_row(safe_text(ref), safe_text(SHORT_LABELS.get(a.kind, a.label)), fit(a.member, 20),
                          format_money(a.amount) if a.amount else "—",  # a change of mobile moves no money
                          fit(a.maker, 12), key=str(a.id))
        status = (f"Pendientes: {len(items)} · Enter abre la operación · nadie aprueba lo que solicitó"
                  if items else "No hay operaciones esperando aprobación.")
        self.query_one("#approvals-status", Static).update(
            safe_text(f"{self.outcome} {status}" if self.outcome else status))
        self.outcome = ""
        table.focus()

    @on(DataTable.RowSelected, "#approvals")
    def open_item(self, event: DataTable.RowSelected) -> None:
        self.app.push_screen(DecisionModal(self.items[int(str(event.row_key.value))]), self._decided)

    def _decided(self, outcome: str | None) -> None:
        # Said on this screen's status line, not as a toast: a toast outlived the screen and still said
        # «Operación rechazada.» over the next one.
        self.outcome = f"Operación {outcome}." if outcome else ""
        self.action_reload()


class TillsScreen(MemberScreen):
    DEFAULT_CSS = "TillsScreen #tills { height: 1fr; margin: 1 1 0 1; }"

    def compose_body(self) -> ComposeResult:
        yield Label("Cajas del día", classes="section-title")
        yield DataTable(id="tills", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        super().on_mount()
        # The opening amount is left out to fit 80 columns: «Efectivo» is what matters at the close.
        self.query_one("#tills", DataTable).add_columns("Cajero", "Día", "Estado", "Efectivo", "Diferencia",
                                                        "Pend.")
        self.call("tills", self.coop.backend.tills.tills_of_day, self.coop.token)

    def done_tills(self, tills) -> None:
        table = self.query_one("#tills", DataTable)
        for t in tills:
            # A closed till's cash went back to the vault (the ledger says $0.00): its «Efectivo» is what was counted.
            cash = t.counted if t.status == "cerrada" and t.counted is not None else t.cash
            table.add_row(fit(t.teller, 14), date_text(t.business_date), safe_text(TILL_STATES.get(t.status, t.status)),
                          format_money(cash), format_money(t.difference or 0), safe_text(t.pending))
        table.focus()
