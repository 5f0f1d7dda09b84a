"""«Mi caja» and «Cierre de caja»: the teller opens the till with counted cash, sees the day's
operations, and closes by counting cash by denomination (a difference goes to the supervisor)."""

from __future__ import annotations

import unicodedata

from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Button, DataTable, Input, Label, Static

from backend.branch.tills import DENOMINATIONS, CloseResult, TillStatus
from backend.core.money import format_money
from backend.security.receipts import Receipt
from screens.shared.base import MemberScreen
from screens.shared.cells import date_text, fit
from screens.shared.confirm import ConfirmModal
from screens.shared.receipt import ReceiptModal
from screens.shared.safe_text import SafeText, safe_text
from screens.shared.text_entry import TextInput
from screens.shared.widgets import money_input

STATES = {"ejecutada": "Hecha", "por_aprobar": "Por aprobar", "rechazada": "Rechazada"}


def status_text(till: TillStatus | None) -> SafeText:
    if till is None or till.status != "abierta":
        closed = ""
        if till is not None:
            closed = (f" Último cierre: {date_text(till.closed_at, time=True) or '-'} · diferencia"
                      f" {format_money(till.difference or 0)}.")
        return safe_text(f"Tu caja está cerrada.{closed}")
    return safe_text(f"Caja abierta · día {date_text(till.business_date)} · apertura {format_money(till.opening)}\n"
                f"Efectivo según el sistema: {format_money(till.cash)} · depósitos {format_money(till.deposits)}"
                f" · retiros {format_money(till.withdrawals)} · por aprobar {till.pending}")


class TillScreen(MemberScreen):
    DEFAULT_CSS = """
    TillScreen #till-status { margin: 1 1 0 1; height: auto; }
    TillScreen #open-row { height: 1; margin: 1 1 0 1; }
    TillScreen #open-row Input { width: 20; margin-right: 1; }
    TillScreen #till-ops { height: 1fr; margin: 1 1 0 1; }
    TillScreen #till-error { margin: 0 1; height: auto; }
    """

    def compose_body(self) -> ComposeResult:
        yield Label("Mi caja", classes="section-title")
        yield Static("", id="till-status")
        with Horizontal(id="open-row"):
            yield Label("Efectivo contado: ")
            # No `restrict` or `max_length`: a character dropped silently changes the amount («1e9» became 19);
            # whatever is typed goes whole to `backend.core.money.parse_money`, which refuses it with a reason.
            yield money_input("opening")
            yield Button("Abrir caja", id="open-till", variant="primary", compact=True)
        yield Static("", id="till-error", classes="error")
        yield DataTable(id="till-ops", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one("#till-ops", DataTable)
        table.add_columns("Ref.", "Operación", "Socio", "Monto", "Estado")

    def on_screen_resume(self) -> None:
        """Read as first shown (just after mounting: reading it on mount too read it twice) and on coming back."""
        self.refresh_till()

    def refresh_till(self) -> None:
        self.call("till", self.coop.backend.tills.my_till, self.coop.token)
        self.call("ops", self.coop.backend.counter.my_operations, self.coop.token)

    def done_till(self, till: TillStatus | None) -> None:
        self.query_one("#till-status", Static).update(status_text(till))
        is_open = till is not None and till.status == "abierta"
        self.query_one("#open-row").display = not is_open
        if not is_open:
            self.query_one("#opening", Input).focus()
        else:
            self.query_one("#till-ops", DataTable).focus()

    def done_ops(self, ops) -> None:
        table = self.query_one("#till-ops", DataTable)
        table.clear()
        for op in ops:
            who = op.member_name or "-"
            if op.kind == "cierre_caja" and op.amount:  # the amount is the difference: which way it went
                counted, expected = op.request.get("counted", 0), op.request.get("expected", 0)
                who = "Faltante" if counted < expected else "Sobrante"
            table.add_row(safe_text(op.reference), safe_text(op.short_label), fit(who, 22), format_money(op.amount),
                          safe_text(STATES.get(op.state, op.state)), key=str(op.id))

    @on(Input.Submitted, "#opening")
    @on(Button.Pressed, "#open-till")
    def open_till(self) -> None:
        amount = self.query_one("#opening", Input).value  # empty is refused: $0.00 is typed as 0
        self.query_one("#till-error", Static).update("")
        self.call("open", self.coop.backend.tills.open_till, self.coop.token, amount)

    def done_open(self, till: TillStatus) -> None:
        self.notify(f"Caja abierta con {format_money(till.opening)}.")
        self.refresh_till()

    def failed_open(self, error) -> None:
        self.query_one("#till-error", Static).update(safe_text(error.message))

    @on(DataTable.RowSelected, "#till-ops")
    def show_receipt(self, event: DataTable.RowSelected) -> None:
        self.receipt_op = int(str(event.row_key.value))
        self.call("receipt", self.coop.backend.counter.receipt, self.coop.token, self.receipt_op)

    def done_receipt(self, receipt: Receipt) -> None:
        show_counter_receipt(self, receipt)


def show_counter_receipt(screen, receipt: Receipt) -> None:
    """The shared receipt view; «Guardar» stores it through the teller's own service, «Imprimir» prints it on
    the agency's printer (over SSH too: the paper comes out at the branch, not on the server)."""
    backend, token = screen.app.backend, screen.app.token
    screen.app.push_screen(ReceiptModal(
        receipt, save=lambda folder: backend.counter.save_receipt(token, receipt.result_id, folder),
        print_=lambda: backend.counter.print_receipt(token, receipt.result_id)))


class TillCloseScreen(MemberScreen):
    ENTER_NEXT = "Input"  # Enter moves on (the app does it: cooprogreso_tui/app.py)

    DEFAULT_CSS = """
    TillCloseScreen #counts { grid-size: 4; grid-columns: 10 12 10 12; grid-rows: 1; grid-gutter: 0 1;
                              height: 6; margin: 1 1 0 1; }
    TillCloseScreen #counts Input { width: 12; }
    TillCloseScreen #close-summary { margin: 1 1 0 1; height: auto; }
    TillCloseScreen #close-note-row { height: 1; margin: 1 1 0 1; }
    TillCloseScreen #close-note { width: 50; }
    TillCloseScreen #close-error { margin: 0 1; height: auto; }
    TillCloseScreen #close-till { margin: 1 1 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.till: TillStatus | None = None

    def compose_body(self) -> ComposeResult:
        yield Label("Cierre de caja · cuenta el efectivo por denominación", classes="section-title")
        with Grid(id="counts"):
            for value, label in DENOMINATIONS:
                yield Label(safe_text(label), classes="denomination")
                yield TextInput(id=f"d{value}", placeholder="0", compact=True)  # checked whole, see `counts`
        yield Static("", id="close-summary")
        with Horizontal(id="close-note-row"):
            yield Label("Observación: ")
            yield TextInput(id="close-note", max_length=200, compact=True)
        yield Static("", id="close-error", classes="error")
        with Vertical():
            yield Button("Cerrar caja", id="close-till", variant="primary", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.call("till", self.coop.backend.tills.my_till, self.coop.token)
        self.query_one("#d10000", Input).focus()

    def done_till(self, till: TillStatus | None) -> None:
        self.till = till
        self._summary()

    def counts(self) -> dict[int, int] | str:
        """Pieces per denomination, or what is wrong with one: a typo is refused, never dropped."""
        counts = {}
        for value, label in DENOMINATIONS:
            raw = self.query_one(f"#d{value}", Input).value.strip()
            # Look-alike digits count as digits; anything else (a letter, a sign, a point) refuses the count.
            digits = "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else "x" for ch in raw) or "0"
            if not digits.isdigit() or len(digits) > 6:
                return f"Cantidad no válida en {label}: escribe solo el número de piezas."
            counts[value] = int(digits)
        return counts

    def counted(self) -> int:
        counts = self.counts()
        return 0 if isinstance(counts, str) else sum(v * n for v, n in counts.items())

    @on(Input.Changed)
    def _summary(self) -> None:
        counts = self.counts()
        text = counts if isinstance(counts, str) else f"Contado: {format_money(self.counted())}"
        if self.till is None or self.till.status != "abierta":
            text = "No tienes una caja abierta."
        self.query_one("#close-summary", Static).update(safe_text(text))

    @on(Button.Pressed, "#close-till")
    def close_till(self) -> None:
        counts = self.counts()
        if isinstance(counts, str):
            self.query_one("#close-error", Static).update(safe_text(counts))
            return
        self.query_one("#close-error", Static).update("")
        details = "\n".join(f"{label}: {n}" for (value, label), n in
                            zip(DENOMINATIONS, counts.values(), strict=True) if n)
        self.app.push_screen(ConfirmModal(f"¿Cerrar tu caja con {format_money(self.counted())} contados?",
                                          details or "Sin efectivo contado.", accept="Cerrar caja"), self._confirmed)

    def _confirmed(self, yes: bool | None) -> None:
        if yes:
            counts = self.counts()
            if isinstance(counts, str):
                return
            self.call("close", self.coop.backend.tills.close_till, self.coop.token,
                      {k: v for k, v in counts.items() if v}, self.query_one("#close-note", Input).value)

    def done_close(self, result: CloseResult) -> None:
        if result.state == "cerrada":
            message = f"Caja cerrada sin diferencias: {format_money(result.counted)}."
        else:
            kind = "Faltante" if result.difference < 0 else "Sobrante"
            message = (f"{kind} de {format_money(abs(result.difference))} (sistema {format_money(result.expected)},"
                       f" contado {format_money(result.counted)}). El cierre espera la nota del supervisor.")
        self.query_one("#close-summary", Static).update(safe_text(message))
        self.query_one("#close-till", Button).disabled = True

    def failed_close(self, error) -> None:
        self.query_one("#close-error", Static).update(safe_text(error.message))
