"""Pagar Servicios: a registered service (or a one-off entity and identifier) → consulta → bills → pay.

The payment runs through the one authorised flow (confirm → code); once booked it is sent to the
entity and the receipt shows whether it is paid or still waiting for the entity's answer.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Input, Label, Select, SelectionList, Static

from backend.bill_payments.requests import ServicePaymentRequest
from backend.bill_payments.services import RegisteredService
from backend.core.errors import ServiceError
from backend.core.money import format_money, parse_money
from screens.bill_payments.biller_choice import BillerChoice
from screens.shared.account_select import AccountSelect
from screens.shared.base import MemberScreen
from screens.shared.flow import start_authorised
from screens.shared.safe_text import safe_text
from screens.shared.scroll import FormScroll
from screens.shared.text_entry import TextInput
from screens.shared.widgets import chosen_id, chosen_key, money_input

NEW = -1  # «Otro servicio»: the member picks the entity and types the identifier


class PayScreen(BillerChoice, MemberScreen):
    DEFAULT_CSS = """
    #pay-form { height: 1fr; padding: 0 1; }
    #pay-form Select, #pay-form Input { width: 60; }
    #pay-form Label { margin-top: 1; }
    #statement { height: auto; margin-top: 1; }
    #bills { height: auto; max-height: 5; width: 70; }
    #pay-quota { color: $accent; margin-top: 1; }
    #pay-error { color: $error; height: auto; }
    #pay-buttons { height: 1; margin-top: 1; }
    #pay-buttons Button { margin-right: 2; }
    """

    def __init__(self, service_id: int | None = None) -> None:
        super().__init__()
        self.service_id = service_id
        self.services: dict[int, RegisteredService] = {}
        self.billers: dict[str, object] = {}
        self.presentment = None

    def compose_body(self) -> ComposeResult:
        yield Label("Pagar Servicios", classes="section-title")
        with FormScroll(id="pay-form"):
            yield Label("Servicio")
            yield Select([("Otro servicio (escribir los datos)", NEW)], id="service", value=NEW, allow_blank=False,
                         compact=True)
            yield Select([], id="category", prompt="Categoría", compact=True, classes="one-off")
            yield Select([], id="biller", prompt="Entidad", compact=True, classes="one-off")
            yield Label("Identificador", id="id-label", classes="one-off")
            yield TextInput(id="identifier", max_length=20, compact=True, classes="one-off")
            yield Button("Consultar valores", id="consult", compact=True)
            yield Static("", id="statement")
            yield SelectionList(id="bills")
            yield Label("Monto de la recarga (USD)", id="amount-label")
            yield money_input("amount", 10)
            yield Label("Cuenta de débito")
            yield AccountSelect(id="account", prompt="Cuenta de débito", note="#pay-error")
            yield Static("", id="pay-quota")
            yield Static("", id="pay-error")
            with Horizontal(id="pay-buttons"):
                yield Button("Pagar", id="pay", variant="primary", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self._show_bills(None)
        services, token = self.coop.backend.services, self.coop.token
        self.call("services", services.services, token)
        self.call("categories", services.categories, token)
        self.call("origins", services.origins, token)
        self.call("quota", services.quota, token)

    # -- the form ----------------------------------------------------------------------------------
    def done_services(self, items) -> None:
        self.services = {s.id: s for s in items}
        select = self.query_one("#service", Select)
        select.set_options([(safe_text(f"{s.biller_name} · {s.identifier}" + (f" · {s.alias}" if s.alias else "")), s.id)
                            for s in items] + [("Otro servicio (escribir los datos)", NEW)])
        chosen = self.service_id if self.service_id in self.services else (items[0].id if items else NEW)
        select.value = chosen
        select.focus()
        if self.service_id in self.services:
            self.consult()

    def done_categories(self, items) -> None:
        self.query_one("#category", Select).set_options([(safe_text(c), c) for c in items])

    def done_origins(self, items) -> None:
        """A reload (after a payment) keeps the account shown, or leaves none and says so when it is gone."""
        select = self.query_one("#account", AccountSelect)
        first_load = not select.loaded
        select.offer((safe_text(f"Ahorros {o.number} · Disponible {format_money(o.available)}"), o.account_id, o.number)
                     for o in items)
        if first_load:
            self._sync_account()

    def done_quota(self, quota) -> None:
        self.query_one("#pay-quota", Static).update(f"Cupo disponible hoy: {format_money(quota.left_today)}")

    @on(Select.Changed, "#service")
    def service_changed(self, event: Select.Changed) -> None:
        for widget in self.query(".one-off"):
            widget.display = event.value == NEW
        self._sync_account()
        self._show_bills(None)

    def _sync_account(self) -> None:
        """Debit the chosen service's own account, once both lists have arrived (in either order)."""
        service = self.services.get(chosen_id(self.query_one("#service", Select)) or 0)
        if service:  # its account closed or blocked since: none chosen, and said (never another account)
            self.query_one("#account", AccountSelect).choose(service.account_id, service.account_masked)

    def biller_chosen(self, biller) -> None:
        self._show_bills(None)

    # -- consulta ---------------------------------------------------------------------------------
    @on(Button.Pressed, "#consult")
    @on(Input.Submitted, "#identifier")
    def consult(self) -> None:
        self._error("")
        chosen = chosen_id(self.query_one("#service", Select))
        if chosen is not None and chosen in self.services:
            code, identifier = self.services[chosen].biller_code, self.services[chosen].identifier
        else:
            code, identifier = chosen_key(self.query_one("#biller", Select)), self.query_one("#identifier", Input).value
            if not code:
                self._error("Selecciona la categoría y la entidad.")
                return
        self.query_one("#statement", Static).update("Consultando…")
        self.call("consulta", self.coop.backend.services.consulta, self.coop.token, code, identifier)

    def done_consulta(self, presentment) -> None:
        self._show_bills(presentment)

    def failed_consulta(self, error: ServiceError) -> None:
        self._show_bills(None)
        self._error(error.message)

    def _show_bills(self, presentment) -> None:
        self.presentment = presentment
        bills = self.query_one("#bills", SelectionList)
        bills.clear_options()
        topup = bool(presentment and presentment.biller.is_topup)
        self.query_one("#amount-label").display = self.query_one("#amount").display = topup
        bills.display = bool(presentment and presentment.bills)
        self.query_one("#pay").disabled = presentment is None or not (topup or presentment.bills)
        statement = self.query_one("#statement", Static)
        if presentment is None:
            statement.update("")
            return
        head = f"{presentment.biller.name} · {presentment.identifier} · Titular: {presentment.holder}"
        if topup:
            statement.update(safe_text(f"{head}\nRecarga de hasta {format_money(presentment.biller.max_amount)}."))
        elif not presentment.bills:
            statement.update(safe_text(f"{head}\nNo tienes valores pendientes con esta entidad."))
        else:
            statement.update(safe_text(f"{head}\nSelecciona las facturas a pagar (espacio):"))
            for b in presentment.bills:
                bills.add_option((safe_text(f"{b.period} · vence {b.due_date:%d/%m/%Y} · {format_money(b.amount)}"),
                                  b.number, True))

    # -- paying -----------------------------------------------------------------------------------
    @on(Button.Pressed, "#pay")
    @on(Input.Submitted, "#amount")
    def pay(self) -> None:
        self._error("")
        p = self.presentment
        account_select = self.query_one("#account", AccountSelect)
        account = account_select.value
        if p is None or account == Select.NULL:
            self._error(account_select.unchosen if p is not None and account_select.unchosen
                        else "Consulta los valores y selecciona la cuenta de débito.")
            return
        amount = 0
        if p.biller.is_topup:
            try:
                amount = parse_money(self.query_one("#amount", Input).value)
            except ServiceError as exc:
                self._error(exc.message)
                return
        chosen = list(self.query_one("#bills", SelectionList).selected)
        services, token = self.coop.backend.services, self.coop.token
        request = ServicePaymentRequest(p.id, chosen, account, amount)
        start_authorised(self, lambda: services.prepare_payment(token, request),
                         on_done=self._paid, on_error=lambda e: self._error(e.message),
                         otp_title="Código de seguridad · Pago de Servicios")

    def _paid(self, receipt) -> None:
        """The entity was told by the backend; the receipt the flow shows says whether it confirmed."""
        services, token = self.coop.backend.services, self.coop.token
        self._show_bills(None)
        self.query_one("#amount", Input).value = ""
        self.call("origins", services.origins, token)
        self.call("quota", services.quota, token)

    def _error(self, message: str) -> None:
        """The form's error line, which also says which debit account is gone: cleared (a new «Consultar»), it goes
        back to saying so until she chooses another."""
        self.query_one("#pay-error", Static).update(safe_text(message or self.query_one("#account", AccountSelect).unchosen))
