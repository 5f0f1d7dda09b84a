"""The auditor's «Bitácora de auditoría» and «Movimientos de un socio» (read-only, CSV export)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Input, Label, Static

from backend.core.money import format_money
from screens.shared.base import MemberScreen
from screens.shared.cells import date_text, fit
from screens.shared.safe_text import safe_text
from screens.shared.text_entry import TextInput


class AuditLogScreen(MemberScreen):
    ENTER_SEARCH = "#audit-filters Input"  # keys typed after its Enter wait for the result (cooprogreso_tui/app.py)
    BINDINGS = [Binding("f4", "export", "Exportar CSV", id="audit.export", tooltip="Guardar lo filtrado como CSV")]
    DEFAULT_CSS = """
    AuditLogScreen #audit-filters { height: 1; margin: 1 1 0 1; }
    AuditLogScreen #audit-filters Input { width: 12; margin-right: 1; }
    AuditLogScreen #audit-filters #f-member { width: 9; }
    AuditLogScreen #audit-log { height: 1fr; margin: 1 1 0 1; }
    AuditLogScreen #audit-status { height: auto; margin: 0 1; }
    """

    def compose_body(self) -> ComposeResult:
        yield Label("Bitácora de auditoría", classes="section-title")
        with Horizontal(id="audit-filters"):
            yield TextInput(id="f-user", placeholder="Usuario", max_length=40, compact=True)
            yield Input(id="f-member", placeholder="Nº socio", max_length=10, restrict=r"\d*", compact=True)
            yield TextInput(id="f-action", placeholder="Acción", max_length=40, compact=True)
            yield TextInput(id="desde", placeholder="Desde", max_length=10, compact=True)
            yield TextInput(id="hasta", placeholder="Hasta", max_length=10, compact=True)
            yield Button("Filtrar", id="filter", compact=True)
        yield DataTable(id="audit-log", cursor_type="row", zebra_stripes=True)
        yield Static("", id="audit-status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#audit-log", DataTable).add_columns("Fecha", "Actor", "Acción", "Resultado", "Socio")
        self.load()

    def filters(self) -> dict:
        member = self.query_one("#f-member", Input).value
        return {"staff_user": self.query_one("#f-user", Input).value, "member_id": int(member) if member else None,
                "action": self.query_one("#f-action", Input).value, "desde": self.query_one("#desde", Input).value,
                "hasta": self.query_one("#hasta", Input).value}

    @on(Input.Submitted)
    @on(Button.Pressed, "#filter")
    def load(self) -> None:
        self.call("entries", self.coop.backend.audit_views.audit_entries, self.coop.token, self.filters(),
                  hold_keys=True)

    def done_entries(self, rows) -> None:
        table = self.query_one("#audit-log", DataTable)
        table.clear()
        for r in rows:
            table.add_row(date_text(r.at, time=True), fit(r.actor, 12), fit(r.action, 18), fit(r.outcome, 13),
                          safe_text(r.member_id or ""))
        self.query_one("#audit-status", Static).update(
            f"{len(rows)} entradas (las más recientes primero) · fechas dd/mm/aaaa · F4 exporta")

    def failed_entries(self, error) -> None:
        self.query_one("#audit-status", Static).update(safe_text(error.message, style="bold red"))

    def action_export(self) -> None:
        self.call("export", self.coop.backend.audit_views.export_audit_csv, self.coop.token, self.filters(),
                  self.coop.export_dir)

    def done_export(self, path: str) -> None:
        self.query_one("#audit-status", Static).update(safe_text(f"Exportado a {path}"))


class MemberMovementsScreen(MemberScreen):
    ENTER_SEARCH = "#moves-query"  # keys typed after its Enter wait for the rows (cooprogreso_tui/app.py)
    BINDINGS = [Binding("f4", "export", "Exportar CSV", id="moves.export", tooltip="Guardar los movimientos como CSV")]
    DEFAULT_CSS = """
    MemberMovementsScreen #moves-search { height: 1; margin: 1 1 0 1; }
    MemberMovementsScreen #moves-search Input { width: 40; margin-right: 1; }
    MemberMovementsScreen #moves { height: 1fr; margin: 1 1 0 1; }
    MemberMovementsScreen #moves-status { height: auto; margin: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.member_id: int | None = None

    def compose_body(self) -> ComposeResult:
        yield Label("Movimientos de un socio", classes="section-title")
        with Horizontal(id="moves-search"):
            yield TextInput(id="moves-query", placeholder="Cédula o número de cuenta", max_length=80, compact=True)
            yield Button("Buscar", id="moves-find", compact=True)
        yield DataTable(id="moves", cursor_type="row", zebra_stripes=True)
        yield Static("", id="moves-status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#moves", DataTable).add_columns("Fecha", "Cuenta", "Concepto", "Monto", "Saldo")
        self.query_one("#moves-query", Input).focus()

    @on(Input.Submitted, "#moves-query")
    @on(Button.Pressed, "#moves-find")
    def find(self) -> None:
        self.call("find", self.coop.backend.counter.find_member, self.coop.token,
                  self.query_one("#moves-query", Input).value, hold_keys=True)

    def done_find(self, cards) -> None:
        if len(cards) != 1:
            self.query_one("#moves-status", Static).update(
                "Ningún socio con esos datos." if not cards else "Varios socios: usa la cédula o la cuenta.")
            return
        self.member_id = cards[0].member_id
        self.query_one("#moves-status", Static).update(safe_text(f"{cards[0].name} · {cards[0].id_masked}"))
        self.call("moves", self.coop.backend.audit_views.member_movements, self.coop.token, self.member_id,
                  hold_keys=True)

    def failed_find(self, error) -> None:
        self.query_one("#moves-status", Static).update(safe_text(error.message, style="bold red"))

    def done_moves(self, rows) -> None:
        table = self.query_one("#moves", DataTable)
        table.clear()
        for r in rows:
            table.add_row(date_text(r.posted_at), safe_text(f"···{r.account[-4:]}"), fit(r.memo, 24), format_money(r.amount),
                          format_money(r.balance_after))

    def action_export(self) -> None:
        if self.member_id is not None:
            self.call("export", self.coop.backend.audit_views.export_movements_csv, self.coop.token, self.member_id,
                      "", "", self.coop.export_dir)

    def done_export(self, path: str) -> None:
        self.query_one("#moves-status", Static).update(safe_text(f"Exportado a {path}"))
