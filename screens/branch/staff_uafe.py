"""The compliance officer's «Reporte RESU (UAFE)»: the month's cash operations that reach the threshold, with
full IDs (each look is audited); the file for the UAFE is exported with `cooprogreso uafe` (0600)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Input, Label, Static

from screens.shared.base import MemberScreen
from screens.shared.cells import date_text, fit
from screens.shared.safe_text import safe_text
from screens.shared.text_entry import TextInput


class ResuScreen(MemberScreen):
    ENTER_SEARCH = "#resu-month"  # keys typed after its Enter wait for the result (cooprogreso_tui/app.py)
    DEFAULT_CSS = """
    ResuScreen #resu-search { height: 1; margin: 1 1 0 1; }
    ResuScreen #resu-month { width: 12; margin-right: 1; }
    ResuScreen #resu { height: 1fr; margin: 1 1 0 1; }
    ResuScreen #resu-status, ResuScreen #resu-hint { height: auto; margin: 0 1; }
    """

    def compose_body(self) -> ComposeResult:
        yield Label("Reporte RESU (UAFE)", classes="section-title")
        with Horizontal(id="resu-search"):
            yield TextInput(id="resu-month", placeholder="AAAA-MM", max_length=7, compact=True)
            yield Button("Consultar", id="resu-find", compact=True)
        yield DataTable(id="resu", cursor_type="row", zebra_stripes=True)
        yield Static("", id="resu-status")
        yield Static("El archivo para la UAFE (permisos 0600) se exporta con: cooprogreso uafe --month AAAA-MM "
                     "--out ARCHIVO --user TU_USUARIO", id="resu-hint", classes="dim")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#resu", DataTable).add_columns("Fecha", "Cuenta", "Depositante", "Nombres", "Valor",
                                                       "Acumulado")
        self.query_one("#resu-month", Input).focus()

    @on(Input.Submitted, "#resu-month")
    @on(Button.Pressed, "#resu-find")
    def find(self) -> None:
        self.call("resu", self.coop.backend.uafe.resu, self.coop.token, self.query_one("#resu-month", Input).value,
                  hold_keys=True)

    def done_resu(self, resu) -> None:
        table = self.query_one("#resu", DataTable)
        table.clear()
        for r in resu.rows:
            table.add_row(date_text(r.business_date), safe_text(r.account), safe_text(r.depositor_id),
                          fit(r.depositor_name, 18), safe_text(r.amount), safe_text(r.depositor_total))
        self.query_one("#resu-status", Static).update(safe_text(
            f"{resu.month}: {len(resu.rows)} operaciones de {resu.depositors} depositantes"
            + ("" if resu.verified_layout else " · orden de columnas del archivo sin verificar con la UAFE")))

    def failed_resu(self, error) -> None:
        self.query_one("#resu-status", Static).update(safe_text(error.message, style="bold red"))
