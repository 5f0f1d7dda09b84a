"""«Cierre del día» for the supervisor: why it cannot run yet, or run it and show the day's totals."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, DataTable, Label, Static

from backend.branch.end_of_day import DayReport
from backend.core.money import format_money
from screens.shared.base import MemberScreen
from screens.shared.cells import date_text, fit
from screens.shared.confirm import ConfirmModal
from screens.shared.safe_text import safe_text


class EndOfDayScreen(MemberScreen):
    DEFAULT_CSS = """
    EndOfDayScreen #eod-status { margin: 1 1 0 1; height: auto; }
    EndOfDayScreen #run-eod { margin: 1 1 0 1; }
    EndOfDayScreen #eod-totals { height: 1fr; margin: 1 1 0 1; }
    EndOfDayScreen #eod-rates { margin: 1 1 0 1; height: auto; color: $warning; }
    """
    _told = ""  # why the last close was refused, shown above the business day once it is read again

    def compose_body(self) -> ComposeResult:
        yield Label("Cierre del día", classes="section-title")
        yield Static("", id="eod-status")
        yield Static("", id="eod-rates")
        yield Button("Cerrar el día", id="run-eod", variant="primary", compact=True)
        yield DataTable(id="eod-totals", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#eod-totals", DataTable).add_columns("Operación", "Asientos", "Monto")
        self.query_one("#eod-totals").display = False
        self.call("day", self.coop.backend.end_of_day.business_day, self.coop.token)
        self.call("rates", self.coop.backend.end_of_day.rate_warnings, self.coop.token)

    def done_rates(self, warnings: list[str]) -> None:
        """A stale table of legal rate caps or an offer above one: the supervisor sees it every day."""
        # One line at 80×24 (the day's totals need the room); the whole text is in `cooprogreso tasas` and `check`.
        summary = (f"Tasas máximas: {len(warnings)} aviso{'s' if len(warnings) != 1 else ''} — "
                   "detalle con «cooprogreso tasas» y «cooprogreso check».") if warnings else ""
        self.query_one("#eod-rates", Static).update(safe_text(summary))

    def done_day(self, result: tuple[str, str | None]) -> None:
        self.day, reason = result
        text = f"Día de negocio: {date_text(self.day)}\n" + (reason or "Todas las cajas están cerradas; puedes cerrar el día.")
        told, self._told = self._told, ""
        self.query_one("#eod-status", Static).update(safe_text(told + text))
        self.query_one("#run-eod", Button).disabled = bool(reason)

    @on(Button.Pressed, "#run-eod")
    def ask(self) -> None:
        self.app.push_screen(ConfirmModal(f"¿Cerrar el día {date_text(self.day)}?",
                                          "Se liquidan las transferencias, se pagan los pagos programados, se "
                                          "cierran los ciclos de tarjetas, se pagan los plazos fijos vencidos, se "
                                          "cobran las cuotas de crédito, se verifica la contabilidad y el día de "
                                          "negocio avanza.",
                                          accept="Cerrar el día"), self._confirmed)

    def _confirmed(self, yes: bool | None) -> None:
        if yes:
            self.query_one("#run-eod", Button).disabled = True
            self.query_one("#eod-status", Static).update("Cerrando el día…")
            self.call("close", self.coop.backend.end_of_day.close_day, self.coop.token, self.day)

    def done_close(self, report: DayReport) -> None:
        lines = [f"Día {date_text(report.day)} cerrado. Nuevo día de negocio: {date_text(report.next_day)}."]
        passes = [f"{label}: {summary or 'hecho'}" for label, summary in report.passes]
        # Two passes a line when both fit in 78 columns: the day's totals below keep their rows at 80×24.
        while passes:
            pair = " · ".join(passes[:2])
            take = 2 if len(passes) > 1 and len(pair) <= 78 else 1
            lines.append(" · ".join(passes[:take]))
            passes = passes[take:]
        self.query_one("#eod-status", Static).update(safe_text("\n".join(lines)))
        self.query_one("#run-eod", Button).display = False  # the day is closed: nothing left to press
        self.query_one("#eod-rates", Static).display = False
        table = self.query_one("#eod-totals", DataTable)
        for t in report.totals:
            table.add_row(fit(t.label, 34), safe_text(t.entries), format_money(t.amount))
        table.display = True

    def failed_close(self, error) -> None:
        self.query_one("#eod-status", Static).update(safe_text(error.message))
        if getattr(error, "code", None) == "dia_ya_cerrado":
            # another supervisor closed it: say who, then show the business day as it is now
            self._told = error.message + "\n"
            self.call("day", self.coop.backend.end_of_day.business_day, self.coop.token)
        else:
            self.query_one("#run-eod", Button).disabled = False
