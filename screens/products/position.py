"""Section 1, Productos: the consolidated position and «Detalle de Movimientos» of each product."""

from __future__ import annotations

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Input, Label, Static
from textual.widgets.data_table import ColumnKey

from backend.core.money import format_money
from backend.core.text import counted
from backend.core.movement_filter import MovementFilter
from backend.products.position import MovementPage, Product
from screens.shared.base import MemberScreen
from screens.shared.card_debt import debt_text
from screens.shared.cells import fit
from screens.shared.downloads import hand_over
from screens.shared.safe_text import SafeText, safe_text, visible_lines
from screens.shared.text_entry import TextInput
from screens.shared.widgets import date_range_inputs, read_date_filter

SHORT = {"ahorros": "Ahorros", "plazo_fijo": "Plazo Fijo", "prestamo": "Crédito Consumo", "tarjeta": "Tarjeta Crédito"}


def money_cell(cents: int | None) -> SafeText:
    return safe_text("" if cents is None else format_money(cents), justify="right")


def _rate(p: Product) -> str:
    return "—" if p.rate_bp is None else f"{p.rate_bp / 100:.2f}%"


def product_details(p: Product) -> str:
    """Everything a member asks about one product, in one or two lines."""
    if p.kind == "ahorros":
        return (f"{p.label} {p.number} · Saldo disponible {format_money(p.available)} · "
                f"Saldo contable {format_money(p.balance)}")
    if p.kind == "plazo_fijo":
        return (f"{p.label} {p.number} · Capital {format_money(p.balance)} · Tasa {_rate(p)} · "
                f"Vence {p.maturity:%d/%m/%Y}")
    if p.kind == "prestamo":
        nxt = "Sin cuotas pendientes"
        if p.next_installment:
            nxt = (f"Próxima cuota {format_money(p.next_installment)} el {p.next_installment_date:%d/%m/%Y} · "
                   f"Cuotas pendientes {p.installments_left}")
        return f"{p.label} {p.number} · Saldo por pagar {format_money(p.balance)} · Tasa {_rate(p)} · {nxt}"
    limit = "—" if p.credit_limit is None else format_money(p.credit_limit)
    return (f"Tarjeta No. {p.masked_pan} · Cupo {limit} · Disponible "
            f"{format_money(p.available)} · {debt_text(p.card_consumos or 0, p.card_diferidos or 0)} · "
            f"Fecha de corte {p.cutoff_date:%d/%m/%Y} · Fecha máxima de pago {p.due_date:%d/%m/%Y}")


class ProductsScreen(MemberScreen):
    BINDINGS = [Binding("m", "movements", "Movimientos", id="products.movements",
                        tooltip="Ver los movimientos del producto seleccionado"),
                Binding("t", "schedule", "Amortización", id="products.schedule",
                        tooltip="Cuotas del crédito seleccionado"),
                Binding("e", "paper", "Estado", id="products.paper",  # «Estado de cuenta»: the footer has 80 columns
                        tooltip="Estado de cuenta mensual en PDF o CSV de la cuenta de ahorros o tarjeta seleccionada"),
                Binding("r", "reload", "Actualizar", id="products.reload", tooltip="Volver a consultar saldos")]

    def __init__(self) -> None:
        super().__init__()
        self.products: list[Product] = []

    def compose_body(self) -> ComposeResult:
        yield Label("Productos · Posición consolidada", classes="section-title")
        table: DataTable[str | SafeText] = DataTable(id="position", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static("", id="product-detail")

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one("#position", DataTable)
        table.add_column("Producto", width=16, key="producto")
        table.add_column("Número", width=19, key="numero")
        table.add_column(safe_text("Disponible", justify="right"), width=13, key="disponible")
        table.add_column(safe_text("Saldo", justify="right"), width=13, key="saldo")
        table.focus()
        self.action_reload()

    def action_reload(self) -> None:
        self.call("position", self.coop.backend.products.position, self.coop.token)

    def on_screen_resume(self) -> None:
        """Balances may have moved while another screen was on top (a transfer, say)."""
        if self.products:
            self.action_reload()

    def done_position(self, products: list[Product]) -> None:
        self.products = products
        table = self.query_one("#position", DataTable)
        table.clear()
        for p in products:
            shows_available = p.kind in ("ahorros", "tarjeta")
            table.add_row(SHORT[p.kind], safe_text(p.masked_pan or p.number),
                          money_cell(p.available if shows_available else None), money_cell(p.balance),
                          key=str(p.account_id))
        if not products:
            self.query_one("#product-detail", Static).update("No tienes productos activos.")

    @on(DataTable.RowHighlighted, "#position")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        product = self._product(event.row_key.value)
        if product:
            self.query_one("#product-detail", Static).update(safe_text(product_details(product)))

    @on(DataTable.RowSelected, "#position")
    def selected(self, event: DataTable.RowSelected) -> None:
        product = self._product(event.row_key.value)
        if product:
            self.app.push_screen(MovementsScreen(product))

    def action_movements(self) -> None:
        table = self.query_one("#position", DataTable)
        if self.products and table.cursor_row is not None:
            self.app.push_screen(MovementsScreen(self.products[table.cursor_row]))

    def action_schedule(self) -> None:
        table = self.query_one("#position", DataTable)
        if not self.products or table.cursor_row is None:
            return
        product = self.products[table.cursor_row]
        if product.kind != "prestamo":
            self.notify("Selecciona tu crédito para ver su tabla de amortización.")
            return
        self.app.push_screen(LoanScheduleScreen(product))

    def action_paper(self) -> None:
        from screens.shared.paper import PaperScreen

        table = self.query_one("#position", DataTable)
        if not self.products or table.cursor_row is None:
            return
        product = self.products[table.cursor_row]
        backend, token = self.coop.backend, self.coop.token
        if product.kind == "ahorros":
            self.app.push_screen(PaperScreen(f"Cuenta de Ahorros {product.number}", lambda month, fmt:
                                             backend.account_statements.statement(token, product.account_id, month,
                                                                                  fmt)))
        elif product.kind == "tarjeta":
            self.app.push_screen(PaperScreen(f"Tarjeta {product.masked_pan or ''}", lambda month, fmt:
                                             backend.card_statements.statement(token, product.account_id, month,
                                                                               fmt),
                                             lambda: backend.card_statements.latest_month(token, product.account_id)))
        else:
            self.notify("El estado de cuenta mensual es para cuentas de ahorros y tarjetas de crédito.")

    def _product(self, key: str | None) -> Product | None:
        return next((p for p in self.products if str(p.account_id) == key), None)


DESCRIPTION_WIDTH = 22  # the movement description's column at 80×24


class MovementsScreen(MemberScreen):
    # Enter in a filter field moves to the list as the app reads it (cooprogreso_tui/app.py), so keys typed right
    # after land there and not in the filter; the field's Submitted then applies the filter.
    ENTER_NEXT = ENTER_SUBMITS = "#filters Input"
    ENTER_AFTER = {"#desde": "#movements", "#hasta": "#movements", "#texto": "#movements"}
    BINDINGS = [
        Binding("n", "next_page", "Siguiente", id="movements.next", tooltip="Movimientos más antiguos"),
        Binding("p", "previous_page", "Anterior", id="movements.previous", tooltip="Movimientos más recientes"),
        Binding("f", "focus_filter", "Filtrar", id="movements.filter", tooltip="Filtrar por fecha o texto"),
        Binding("e", "export", "Exportar CSV", id="movements.export", tooltip="Guardar los movimientos filtrados"),
    ]

    def __init__(self, product: Product) -> None:
        super().__init__()
        self.product = product
        self.filter = MovementFilter()
        self.cursors: list[str | None] = [None]  # cursor of each page visited; the last is the current
        self.next_cursor: str | None = None
        self.page: MovementPage | None = None

    def compose_body(self) -> ComposeResult:
        yield Label(safe_text(f"Detalle de Movimientos · {SHORT[self.product.kind]} {self.product.masked_pan or self.product.number}"),
                    classes="section-title")
        with Horizontal(id="filters"):
            yield from date_range_inputs()
            yield TextInput(placeholder="Buscar texto", id="texto", max_length=60, compact=True)
            yield Button("Filtrar", id="apply", compact=True)
        yield Static("", id="filter-error", classes="error")
        yield DataTable(id="movements", cursor_type="row", zebra_stripes=True)
        yield Static("", id="page-status")

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one("#movements", DataTable)
        table.add_column("Fecha", width=10, key="fecha")
        table.add_column("Descripción", width=self.description_width(), key="descripcion")
        table.add_column(safe_text("Débito", justify="right"), width=10, key="debito")
        table.add_column(safe_text("Crédito", justify="right"), width=10, key="credito")
        # a card's running balance is its consumos: the diferidos pendientes are beside it in the status line
        balance = "Consumos" if self.product.kind == "tarjeta" else "Saldo"
        table.add_column(safe_text(balance, justify="right"), width=11, key="saldo")
        table.focus()
        self._load()

    def description_width(self) -> int:
        """22 characters at 80 columns, and every column a wider terminal adds (cut with «…» past that)."""
        return DESCRIPTION_WIDTH + max(0, self.app.size.width - 80)

    def on_resize(self, event: events.Resize) -> None:
        table = self.query_one("#movements", DataTable)
        column = table.columns.get(ColumnKey("descripcion"))
        if column is None or column.width == self.description_width():
            return
        column.width = self.description_width()
        if self.page is not None:
            row = table.cursor_row
            self.done_page(self.page)
            table.move_cursor(row=row)

    def _load(self) -> None:
        self.call("page", self.coop.backend.products.movements, self.coop.token, self.product.account_id,
                  self.filter, self.cursors[-1])

    def done_page(self, page: MovementPage) -> None:
        self.page = page
        table = self.query_one("#movements", DataTable)
        table.clear()
        owed = -1 if self.product.kind == "tarjeta" else 1  # a card's consumos read as owed, like everywhere
        for m in page.movements:
            table.add_row(f"{m.posted_at:%d/%m/%Y}", fit(m.description, self.description_width()),
                          money_cell(-m.amount if m.amount < 0 else None),
                          money_cell(m.amount if m.amount > 0 else None), money_cell(owed * m.balance_after),
                          key=str(m.posting_id))
        self.next_cursor = page.next_cursor
        shown = len(page.movements)
        if not shown:
            status = "No hay movimientos para este filtro."
        else:
            status = f"Página {len(self.cursors)} · {counted(shown, 'movimiento', 'movimientos')}"
            status += " · n: más antiguos" if page.next_cursor else " · fin del historial"
            if len(self.cursors) > 1:
                status += " · p: más recientes"
        if self.product.kind == "tarjeta":
            status = debt_text(self.product.card_consumos or 0, self.product.card_diferidos or 0) + "\n" + status
        self.query_one("#page-status", Static).update(safe_text(status))

    @on(DataTable.RowHighlighted, "#movements")
    def show_full(self, event: DataTable.RowHighlighted) -> None:
        if self.page is None:
            return
        m = next((m for m in self.page.movements if str(m.posting_id) == event.row_key.value), None)
        if m:
            amount = format_money(abs(m.amount))
            kind = "Débito" if m.amount < 0 else "Crédito"
            self.query_one("#filter-error", Static).update(
                safe_text(f"{m.posted_at:%d/%m/%Y %H:%M} · {m.description} · {kind} {amount}", style="dim"))

    def action_next_page(self) -> None:
        if self.next_cursor:
            self.cursors.append(self.next_cursor)
            self._load()

    def action_previous_page(self) -> None:
        if len(self.cursors) > 1:
            self.cursors.pop()
            self._load()

    def action_focus_filter(self) -> None:
        self.query_one("#desde", Input).focus()

    @on(Input.Submitted, "#filters Input")
    @on(Button.Pressed, "#apply")
    def apply_filter(self, event: Input.Submitted | Button.Pressed) -> None:
        flt = read_date_filter(self, self.query_one("#texto", Input).value)
        if flt is None:  # said at the filters; the page shown stays as it was, the field to correct is focused
            (event.input if isinstance(event, Input.Submitted) else self.query_one("#desde", Input)).focus()
            return
        self.filter = flt
        self.cursors = [None]
        self._load()
        if isinstance(event, Button.Pressed):  # an Enter in a field has moved there already
            self.query_one("#movements", DataTable).focus()

    def action_export(self) -> None:
        self.call("export", self._export, self.coop.token, self.product.account_id, self.filter)

    def _export(self, token: str, account_id: int, flt: MovementFilter) -> tuple[int, str]:
        data = self.coop.backend.products.export_data(token, account_id, flt)
        return data.rows, hand_over(self.app, data.stem, ".csv", data.data, "text/csv")

    def done_export(self, result: tuple[int, str]) -> None:
        rows, said = result
        self.notify(visible_lines(f"Se exportaron {counted(rows, 'movimiento', 'movimientos')}. {said}"),
                    title="Exportación lista", markup=False, timeout=15)
        self.query_one("#page-status", Static).update(safe_text(f"CSV: {said}"))


class LoanScheduleScreen(MemberScreen):
    """Tabla de amortización: every installment of a loan, with what is already paid."""

    def __init__(self, product: Product) -> None:
        super().__init__()
        self.product = product

    def compose_body(self) -> ComposeResult:
        yield Label(safe_text(f"Tabla de amortización · Crédito {self.product.number}"), classes="section-title")
        yield DataTable(id="schedule", cursor_type="row", zebra_stripes=True)
        yield Static(safe_text(product_details(self.product)), id="page-status")

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one("#schedule", DataTable)
        table.add_column("Cuota", width=5)
        table.add_column("Vence", width=10)
        table.add_column(safe_text("Capital", justify="right"), width=11)
        table.add_column(safe_text("Interés", justify="right"), width=10)
        table.add_column(safe_text("Total", justify="right"), width=11)
        table.add_column("Estado", width=9)
        table.focus()
        self.call("schedule", self.coop.backend.products.loan_schedule, self.coop.token, self.product.account_id)

    def done_schedule(self, installments) -> None:
        table = self.query_one("#schedule", DataTable)
        for i in installments:
            table.add_row(safe_text(i.number), f"{i.due_date:%d/%m/%Y}", money_cell(i.principal), money_cell(i.interest),
                          money_cell(i.total), "Pagada" if i.paid else "Pendiente")
