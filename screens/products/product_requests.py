"""Section 7, Solicita tus Productos: choose the tipo de producto, simulate, ask (code); «Mis solicitudes» is in my_requests.

The simulator shows what the backend computed (cuota, interest, rate under the legal cap, the full
table; or a plazo fijo's interest at maturity); «Solicitar» sends only the member's choices and
declared fields, and the backend derives every figure again before the code is sent.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Input, Label, Select, Static

from backend.core.errors import ServiceError, ValidationError
from backend.core.money import format_money, parse_money
from backend.core.rates import format_rate
from backend.products.simulators import METHODS, DepositBand, DepositSimulation, LoanSimulation, Product
from backend.products.requests import ProductRequest
from backend.security.receipts import Receipt
from screens.menu.registry import screen_for as open_entry
from screens.shared.account_select import AccountSelect
from screens.shared.base import MemberScreen
from screens.shared.flow import start_authorised
from screens.shared.receipt import ReceiptModal
from screens.shared.safe_text import SafeText, safe_text
from screens.shared.scroll import FormScroll
from screens.shared.text_entry import TextInput
from screens.shared.widgets import money_input


class ProductRequestsScreen(MemberScreen):
    """Tipo de producto → simulator → result; «Solicitar» opens the request form."""

    HELP = ("Elige el tipo de producto y simula: para un crédito ves la cuota, el interés total, la tasa efectiva "
            "(bajo la máxima legal) y la tabla completa; para un plazo fijo, el interés y el monto al vencimiento. "
            "Luego solicítalo con tu código de seguridad.")
    DEFAULT_CSS = """
    ProductRequestsScreen #pick-row, ProductRequestsScreen #sim-row { height: 1; margin: 0 1; }
    ProductRequestsScreen #pick-row Label { width: 18; }
    ProductRequestsScreen #product { width: 52; }
    ProductRequestsScreen #sim-row Label { margin: 0 1; }
    ProductRequestsScreen #amount { width: 13; }
    ProductRequestsScreen #term { width: 12; }
    ProductRequestsScreen #method { width: 24; }
    ProductRequestsScreen #simulate { margin-left: 1; }
    ProductRequestsScreen #description, ProductRequestsScreen #sim-error { margin: 0 1; height: auto; }
    ProductRequestsScreen #result { margin: 0 1; height: auto; }
    ProductRequestsScreen #table { height: 1fr; margin: 0 1; }
    """
    BINDINGS = [Binding("f2", "simulate", "Simular", id="requests.simulate", tooltip="Calcular con estos datos"),
                Binding("f4", "ask", "Solicitar", id="requests.ask", tooltip="Solicitar este producto"),
                Binding("f3", "mine", "Mis solicitudes", id="requests.mine", tooltip="Tus solicitudes y su estado")]

    def __init__(self) -> None:
        super().__init__()
        self.products: dict[str, Product] = {}
        self.simulated: dict | None = None  # the choices of the last good simulation
        self._pending: dict = {}
        self.bands: list[DepositBand] = []
        # What the member typed on each product's request form, kept while she stays in the section
        # (Esc and F4 again find it there); never stored anywhere else, dropped once the request is sent.
        self.drafts: dict[str, dict] = {}

    def compose_body(self) -> ComposeResult:
        yield Label("Solicita tus Productos · Simulador", classes="section-title")
        with Horizontal(id="pick-row"):
            yield Label("Tipo de producto:")
            yield Select([], id="product", prompt="Elige el producto", compact=True)
        yield Static("", id="description")
        with Horizontal(id="sim-row"):
            yield Label("Monto", id="amount-label")
            yield money_input("amount", 12)
            yield Label("Plazo", id="term-label")
            yield Select([], id="term", prompt="Plazo", compact=True)
            yield Select([(label, key) for key, label in METHODS.items()], id="method", value="frances",
                         allow_blank=False, compact=True)
            yield Button("Simular", id="simulate", variant="primary", compact=True)
        yield Static("", id="sim-error", classes="field-error")
        yield Static("", id="result")
        yield DataTable(id="table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#table").display = False
        self.call("catalogue", self.coop.backend.product_requests.catalogue, self.coop.token)
        self.call("bands", self.coop.backend.product_requests.deposit_bands, self.coop.token)

    def done_catalogue(self, products) -> None:
        self.products = {p.code: p for p in products}
        select = self.query_one("#product", Select)
        select.set_options([(safe_text(p.name), p.code) for p in products])
        select.value = products[0].code
        select.focus()

    def done_bands(self, bands: list[DepositBand]) -> None:
        self.bands = bands

    @property
    def product(self) -> Product | None:
        value = self.query_one("#product", Select).value
        return self.products.get(value) if isinstance(value, str) else None

    @on(Select.Changed, "#product")
    def product_changed(self) -> None:
        p = self.product
        if p is None:
            return
        self.simulated = None
        self.query_one("#description", Static).update(safe_text(self._limits(p)))
        self.query_one("#amount-label", Label).update("Cupo" if p.kind == "tarjeta" else "Monto")
        for selector in ("#amount-label", "#amount"):
            self.query_one(selector).display = p.kind != "ahorros"
        for selector in ("#term-label", "#term", "#simulate"):
            self.query_one(selector).display = p.is_loan or p.kind == "plazo_fijo"
        self.query_one("#method").display = p.is_loan
        if p.terms:
            term = self.query_one("#term", Select)
            term.set_options([(safe_text(p.term_label(t)), t) for t in p.terms])
            term.value = p.terms[min(2, len(p.terms) - 1)]
        self._show(safe_text(""), None)

    def _limits(self, p: Product) -> str:
        text = p.description
        if p.max_amount:
            text += f"\nDesde {format_money(p.min_amount)} hasta {format_money(p.max_amount)}"
            if p.max_term:
                text += f", de {p.term_label(p.min_term)} a {p.term_label(p.max_term)}"
            text += "."
        return text

    def _choices(self) -> dict | None:
        p = self.product
        if p is None:
            self._error("Elige el tipo de producto.")
            return None
        choices: dict = {"product": p.code, "amount": 0, "term": 0, "method": ""}
        if p.kind != "ahorros":
            try:
                choices["amount"] = parse_money(self.query_one("#amount", Input).value)
            except ValidationError as exc:
                self._error(exc.message)
                self.query_one("#amount").focus()
                return None
        if p.is_loan or p.kind == "plazo_fijo":
            choices["term"] = self.query_one("#term", Select).value
        if p.is_loan:
            choices["method"] = self.query_one("#method", Select).value
        return choices

    @on(Input.Submitted, "#amount")
    @on(Button.Pressed, "#simulate")
    def action_simulate(self) -> None:
        self._error("")
        choices = self._choices()
        if choices is None:  # refused here: the last result no longer answers what is on screen
            self.simulated = None
            self._pending = {}
            self._show(safe_text(""), None)
            return
        p, service, token = self.products[choices["product"]], self.coop.backend.product_requests, self.coop.token
        if p.is_loan:
            self.call("simulation", service.simulate_loan, token, p.code, choices["amount"], choices["term"],
                      choices["method"])
        elif p.kind == "plazo_fijo":
            self.call("simulation", service.simulate_deposit, token, choices["amount"], choices["term"])
        else:  # a card or a savings account has nothing to simulate: straight to the request
            self.action_ask()
            return
        self._pending = choices

    def done_simulation(self, sim) -> None:
        if not self._pending:  # the input was refused while this was on its way: not shown
            return
        self.simulated = self._pending
        if isinstance(sim, LoanSimulation):
            self._show_loan(sim)
        else:
            self._show_deposit(sim)

    def failed_simulation(self, error: ServiceError) -> None:
        self.simulated = None
        self._show(safe_text(""), None)
        self._error(error.message)

    def _show_loan(self, sim: LoanSimulation) -> None:
        text = SafeText()
        if sim.method == "aleman":  # the cuota falls every month: its first and last, then the totals
            text.append(f"Primera cuota {format_money(sim.cuota)} · Última cuota "
                        f"{format_money(sim.schedule.rows[-1].cuota)}\n", style="bold")
            text.append(f"Interés total {format_money(sim.total_interest)} · Total a pagar "
                        f"{format_money(sim.total_paid)}\n")
        else:
            text.append(f"Cuota {format_money(sim.cuota)}", style="bold")
            text.append(f" · Interés total {format_money(sim.total_interest)} · Total a pagar "
                        f"{format_money(sim.total_paid)}\n")
        text.append(f"Tasa efectiva {format_rate(sim.effective)} (máxima legal {sim.cap.label} "
                    f"{format_rate(sim.cap.max_effective)}) · {METHODS[sim.method]}", style="dim")
        table = self.query_one("#table", DataTable)
        table.clear(columns=True)
        for name, width in (("N°", 4), ("Cuota", 12), ("Interés", 12), ("Capital", 12), ("Saldo", 14)):
            table.add_column(safe_text(name), width=width)
        for r in sim.schedule.rows:
            table.add_row(safe_text(r.number), format_money(r.cuota), format_money(r.interest), format_money(r.capital),
                          format_money(r.balance))
        self._show(text, table)

    def _show_deposit(self, sim: DepositSimulation) -> None:
        text = SafeText()
        text.append(f"Interés {format_money(sim.interest)} · Monto al vencimiento {format_money(sim.at_maturity)}",
                    style="bold")
        text.append(f"\nTasa nominal anual {format_rate(sim.nominal)} ({sim.band}) · Vence el {sim.maturity:%d/%m/%Y}"
                    "\n", style="dim")
        text.append(sim.insurance_note, style="italic")
        table = self.query_one("#table", DataTable)
        table.clear(columns=True)
        table.add_column("Tramo", width=16)
        table.add_column("Tasa nominal anual", width=20)
        for band in self.bands:
            table.add_row(safe_text(band.label), format_rate(band.nominal), key=band.label)
        self._show(text, table if self.bands else None)
        if sim.band in {b.label for b in self.bands}:
            table.move_cursor(row=table.get_row_index(sim.band))

    def _show(self, text: SafeText, table: DataTable | None) -> None:
        self.query_one("#result", Static).update(safe_text(text))
        self.query_one("#table").display = table is not None

    def action_ask(self) -> None:
        self._error("")
        p = self.product
        choices: dict | None
        if p is not None and (p.is_loan or p.kind == "plazo_fijo"):
            if self.simulated is None or self.simulated != self._choices():
                self._error("Simula primero (F2) con los datos que vas a solicitar.")
                return
            choices = self.simulated
        else:
            choices = self._choices()
        if choices is not None:
            draft = self.drafts.setdefault(choices["product"], {})
            self.app.push_screen(RequestFormScreen(self.products[choices["product"]], choices, draft),
                                 self._after_request)

    def _after_request(self, receipt: Receipt | None) -> None:
        if receipt is not None:  # «Mis solicitudes» with the new request, its receipt on top
            self.drafts.clear()
            self.action_mine()
            self.app.push_screen(ReceiptModal(receipt))

    def action_mine(self) -> None:
        self.app.push_screen(open_entry("solicitudes_mias"))

    def _error(self, message: str) -> None:
        self.query_one("#sim-error", Static).update(safe_text(message))


class RequestFormScreen(MemberScreen):
    """The declared fields (income, purpose, account) → confirm → code → receipt."""

    HELP = ("Completa tu ingreso mensual, el destino y tu cuenta de ahorros; confirma y autoriza con tu código. "
            "La cooperativa revisa la solicitud y te avisa; síguela en «Mis solicitudes».")
    DEFAULT_CSS = "RequestFormScreen #ask-summary { height: auto; margin-bottom: 1; }"
    ENTER_NEXT = "#income"  # Enter moves on (the app does it: cooprogreso_tui/app.py); the destination's asks
    BINDINGS = [Binding("f2", "send", "Solicitar", id="ask.send", tooltip="Confirmar la solicitud")]

    def __init__(self, product: Product, choices: dict, draft: dict | None = None) -> None:
        super().__init__()
        self.product = product
        self.choices = choices
        self.draft = draft if draft is not None else {}  # the section's copy of what is typed here

    def compose_body(self) -> ComposeResult:
        p, c = self.product, self.choices
        yield Label(safe_text(f"Solicita tus Productos · {p.name}"), classes="section-title")
        with FormScroll(classes="form", id="ask-form"):
            summary = p.name
            if c["amount"]:
                summary += f" · {'Cupo' if p.kind == 'tarjeta' else 'Monto'} {format_money(c['amount'])}"
            if c["term"]:
                summary += f" · {p.term_label(c['term'])}"
            if c["method"]:
                summary += f" · {METHODS[c['method']]}"
            yield Static(safe_text(summary), id="ask-summary")
            yield Label("Ingreso mensual (USD)")
            yield money_input("income", 12)
            yield Label("Destino del producto")
            yield TextInput(id="purpose", max_length=160, compact=True, placeholder="Para qué lo necesitas")
            yield Label("Cuenta de débito" if p.kind == "plazo_fijo" else "Cuenta de ahorros")
            yield AccountSelect(id="account", prompt="Elige tu cuenta", note="#ask-error")
            yield Static("", id="ask-error", classes="field-error")
            yield Button("Solicitar", id="send", variant="primary", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.call("accounts", self.coop.backend.product_requests.accounts, self.coop.token)
        for key in ("income", "purpose"):
            field = self.query_one(f"#{key}", Input)
            field.value = self.draft.get(key, "")
            field.cursor_position = len(field.value)
        self.query_one("#income", Input).focus()

    @on(Input.Changed, "#income, #purpose")
    def keep_typed(self, event: Input.Changed) -> None:
        if event.input.id:
            self.draft[event.input.id] = event.value

    @on(Select.Changed, "#account")
    def keep_account(self, event: Select.Changed) -> None:
        select = self.query_one("#account", AccountSelect)
        if isinstance(event.value, int) and event.value in select.numbers:
            self.draft["account"] = event.value
            self.draft["account_number"] = select.numbers[event.value]

    def done_accounts(self, accounts) -> None:
        """Coming back to the form: the account she had chosen, or none and a note when it is gone meanwhile."""
        select = self.query_one("#account", AccountSelect)
        select.offer(((safe_text(f"Ahorros {number}"), account_id, number) for account_id, number in accounts),
                     keep=self.draft.get("account"), keep_number=self.draft.get("account_number", ""), first=True)

    @on(Button.Pressed, "#send")
    @on(Input.Submitted, "#purpose")
    def action_send(self) -> None:
        self._error("")
        income_text = self.query_one("#income", Input).value
        try:
            income = parse_money(income_text, allow_zero=True) if income_text.strip() else 0
        except ValidationError as exc:
            self._error(exc.message)
            return
        account_select = self.query_one("#account", AccountSelect)
        if account_select.unchosen:
            self._error(account_select.unchosen)
            return
        account = account_select.value
        c = self.choices
        request = ProductRequest(product=c["product"], amount=c["amount"], term=c["term"], method=c["method"],
                                 income=income, purpose=self.query_one("#purpose", Input).value,
                                 account_id=account if isinstance(account, int) else None)
        service, token = self.coop.backend.product_requests, self.coop.token
        start_authorised(self, lambda: service.prepare_request(token, request), on_done=self._done,
                         on_error=self._failed, accept="Solicitar", show_receipt=False)

    def _failed(self, error: ServiceError) -> None:
        self._error(error.message)
        target = {"ingreso": "#income", "destino": "#purpose", "cuenta": "#account"}.get(error.field or "")
        if target:
            self.query_one(target).focus()

    def _done(self, receipt: Receipt) -> None:
        self.coop.show_demo_phone()
        self.dismiss(receipt)

    def _error(self, message: str) -> None:
        self.query_one("#ask-error", Static).update(safe_text(message))
