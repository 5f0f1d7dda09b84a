"""Section 4, Pago de Tarjetas: choose a card (Paso 2), register a new one (Paso 3/4), pay it (Paso 5).

Paso 1 (Tarjetas Cooprogreso / Tarjetas Otros Bancos) is the menu entry that opens this screen.
Paying and registering are authorised operations (screens/shared/flow.py): confirm → code → receipt.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Select, Static

from backend.cards.requests import CardPaymentRequest, CardRegistrationRequest
from backend.core.errors import ServiceError
from backend.core.identity import ID_TYPES
from backend.core.money import format_money, parse_money
from screens.shared.account_select import AccountSelect
from screens.shared.base import MemberScreen
from screens.shared.card_debt import debt_text
from screens.shared.calls import ServiceCalls
from screens.shared.field_errors import FieldErrors
from screens.shared.flow import start_authorised
from screens.shared.safe_text import safe_text, visible_lines
from screens.shared.scroll import FormScroll
from screens.shared.text_entry import TextInput
from screens.shared.widgets import chosen_key, money_input

TITLES = {"cooprogreso": "Tarjetas Cooprogreso", "otros": "Tarjetas Otros Bancos"}
OPTION_IDS = {"minimo": "opt-minimo", "total": "opt-total", "otro": "opt-otro"}


def option_label(name: str, amount: int, due_date) -> str:
    """«Pago mínimo $12.00», or what the member needs to know instead of an amount of $0.00."""
    if amount:
        return f"{name} {format_money(amount)}"
    return f"{name}: cubierto" if due_date is not None else f"{name}: aún sin estado de cuenta"


class CardPaymentScreen(FieldErrors, MemberScreen):
    BINDINGS = [Binding("f2", "statement", "Estado de cuenta", id="cards.statement",
                        tooltip="Estado de cuenta de tu tarjeta Cooprogreso")]
    FIELD_ERRORS = {"card": ("#card", "#card-error"), "option": ("#amount-option", "#monto-error"),
                    "monto": ("#other-amount, #amount-option", "#monto-error"),
                    "origin": ("#origin", "#origin-error")}
    FORM_ERROR = ("#card", "#card-error")
    DEFAULT_CSS = """
    CardPaymentScreen #card-row { height: 1; }
    CardPaymentScreen #card { width: 1fr; }
    CardPaymentScreen #add-card { margin-left: 1; }
    CardPaymentScreen RadioSet { height: auto; border: none; padding: 0; }
    CardPaymentScreen RadioButton:disabled { color: $text-muted; text-style: italic; }
    CardPaymentScreen #card-due { color: $accent; height: auto; }
    CardPaymentScreen #other-amount { width: 20; }
    """

    def __init__(self, group: str) -> None:
        super().__init__()
        self.group = group
        self.options = None

    def compose_body(self) -> ComposeResult:
        yield Label(f"Pago de Tarjetas · {TITLES[self.group]}", classes="section-title")
        with FormScroll(classes="form", id="card-form"):
            yield Label("Selecciona la tarjeta que vas a cancelar")
            with Horizontal(id="card-row"):
                yield Select([], id="card", prompt="Selecciona la tarjeta", compact=True)
                yield Button("Añadir tarjeta", id="add-card", compact=True)
            yield Static("", id="card-error", classes="field-error")
            yield Static("", id="card-due")
            yield Label("Monto a cancelar")
            with RadioSet(id="amount-option", compact=True):
                yield RadioButton("Pago mínimo", id="opt-minimo", compact=True)
                yield RadioButton("Pago total", id="opt-total", compact=True)
                yield RadioButton("Otro valor", id="opt-otro", compact=True)
            yield money_input("other-amount", 16)
            yield Static("", id="monto-error", classes="field-error")
            yield Label("Cuenta de débito")
            yield AccountSelect(id="origin", prompt="Selecciona la cuenta", note="#origin-error")
            yield Static("", id="origin-error", classes="field-error")
            yield Button("Continuar", id="continue", variant="primary", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#other-amount").display = False
        self.reload()
        self.call("origins", self.coop.backend.cards.origins, self.coop.token)

    def reload(self, select_key: str | None = None) -> None:
        self._select_key = select_key
        self.call("cards", self.coop.backend.cards.payable, self.coop.token, self.group)

    def done_cards(self, cards) -> None:
        select = self.query_one("#card", Select)
        select.set_options([(safe_text(f"{c.masked_pan} · {c.holder.split()[0]} · {c.institution}"[:44]), c.key)
                            for c in cards])
        wanted = self._select_key or (cards[0].key if cards else None)
        if wanted and any(c.key == wanted for c in cards):
            select.value = wanted
        elif not cards:
            self.query_one("#card-due", Static).update(
                safe_text("No tienes tarjetas registradas en este grupo: usa «Añadir tarjeta»."))

    def done_origins(self, origins) -> None:
        """A refresh keeps the member's choice, or leaves none and says so when that account is gone."""
        self.query_one("#origin", AccountSelect).offer(
            (safe_text(f"Ahorros {number} · Disponible {format_money(available)}"), account_id, number)
            for account_id, number, available in origins)

    @on(Select.Changed, "#card")
    def card_changed(self, event: Select.Changed) -> None:
        # Another card (or none): nothing said about the previous choice stays on screen.
        self.options = None
        for line in ("#card-due", "#card-error", "#monto-error"):
            self.query_one(line, Static).update("")
        if event.value != Select.NULL:
            self.call("options", self.coop.backend.cards.payment_options, self.coop.token, event.value)

    def done_options(self, options) -> None:
        if self.query_one("#card", Select).value == Select.NULL:
            return  # the selection was cleared while the figures were on their way
        self.options = options
        due = self.query_one("#card-due", Static)
        buttons = {key: self.query_one(f"#{wid}", RadioButton) for key, wid in OPTION_IDS.items()}
        if options.minimum is not None:
            buttons["minimo"].label = option_label("Pago mínimo", options.minimum, options.due_date)
            buttons["total"].label = option_label("Pago total", options.total, options.due_date)
            when = f"Fecha máxima de pago: {options.due_date:%d/%m/%Y}" if options.due_date else "Aún sin estado de cuenta"
            due.update(safe_text(f"{when}\n{debt_text(options.owed or 0, options.diferidos or 0)}"))
        else:
            owed = f"Deuda actual {format_money(options.owed)}" if options.owed is not None else ""
            due.update(safe_text(owed))
        for key, button in buttons.items():
            # an own card shows mínimo and total even when covered (said, not offered as $0.00)
            button.display = key in options.options or (options.minimum is not None and key != "otro")
            button.disabled = key not in options.options
        first = buttons[options.options[0]]
        first.value = True
        self.query_one("#other-amount").display = options.options[0] == "otro"

    @on(RadioSet.Changed, "#amount-option")
    def option_changed(self, event: RadioSet.Changed) -> None:
        self.query_one("#other-amount").display = event.pressed.id == "opt-otro"

    def action_statement(self) -> None:
        from screens.cards.card_statement import StatementScreen

        self.app.push_screen(StatementScreen())

    @on(Button.Pressed, "#add-card")
    def add_card(self) -> None:
        self.app.push_screen(CardRegistrationModal(self.group), self._registered)

    def _registered(self, key: str | None) -> None:
        if key:
            self.reload(key)

    @on(Button.Pressed, "#continue")
    @on(Input.Submitted, "#other-amount")
    def continue_(self) -> None:
        self.clear_field_errors()
        card = chosen_key(self.query_one("#card", Select))
        if not card:
            self.field_error("card", "Selecciona la tarjeta que vas a cancelar.")
            return
        pressed = self.query_one("#amount-option", RadioSet).pressed_button
        option = next((k for k, wid in OPTION_IDS.items() if pressed is not None and pressed.id == wid), None)
        if option is None:
            self.field_error("option", "Elige cuánto vas a pagar.")
            return
        origin_select = self.query_one("#origin", AccountSelect)
        origin = origin_select.value
        if not isinstance(origin, int):
            self.field_error("origin", origin_select.unchosen or "Selecciona la cuenta de débito.")
            return
        amount = None
        if option == "otro":
            try:
                amount = parse_money(self.query_one("#other-amount", Input).value)
            except ServiceError as exc:
                self.field_error("monto", exc.message)
                return
        request = CardPaymentRequest(card, option, origin, amount)
        cards, token = self.coop.backend.cards, self.coop.token
        start_authorised(self, lambda: cards.prepare_payment(token, request), on_done=lambda _: self.paid(card),
                         on_error=self._failed)

    def paid(self, card: str) -> None:
        """After the receipt: the debit account's Disponible and the card's figures as they are now."""
        self.query_one("#other-amount", Input).value = ""
        self.reload(card)
        self.call("options", self.coop.backend.cards.payment_options, self.coop.token, card)
        self.call("origins", self.coop.backend.cards.origins, self.coop.token)

    def _failed(self, error: ServiceError) -> None:
        self.field_error(error.field, error.message)


class CardRegistrationModal(FieldErrors, ServiceCalls, ModalScreen[str | None]):
    """¿Requieres añadir una nueva tarjeta?: the card's data, then the code."""

    DEFAULT_CSS = """
    CardRegistrationModal #id-row { height: 1; }
    CardRegistrationModal #id-type { width: 16; margin-right: 1; }
    CardRegistrationModal #id-number { width: 1fr; }
    """
    BINDINGS = [("escape", "cancel", "Cancelar")]
    FIELD_ERRORS = {"numero": ("#numero", "#numero-error"), "holder_name": ("#holder-name", "#holder-error"),
                    "id_type": ("#id-type", "#id-error"), "id_number": ("#id-number", "#id-error"),
                    "institution": ("#institution", "#institution-error"), "kind": ("#numero", "#numero-error")}
    FORM_ERROR = ("#numero", "#numero-error")

    def __init__(self, group: str) -> None:
        super().__init__()
        self.group = group
        # Enter moves on (the app does it: cooprogreso_tui/app.py); the last field's Enter registers
        self.ENTER_NEXT = "#numero, #holder-name" if group == "otros" else ""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            title = "Registrar tarjeta Cooprogreso de otro socio" if self.group == "cooprogreso" \
                else "Registrar tarjeta de otra institución"
            yield Label(safe_text(title), classes="dialog-title")
            if self.group == "otros":
                yield Label("Institución financiera")
                yield Select([], id="institution", prompt="Selecciona la institución", compact=True)
                yield Static("", id="institution-error", classes="field-error")
            yield Label("Número de tarjeta")
            yield Input(id="numero", max_length=23, restrict=r"[\d ]*", compact=True)
            yield Static("", id="numero-error", classes="field-error")
            if self.group == "otros":
                yield Label("Nombre del titular")
                yield TextInput(id="holder-name", max_length=80, compact=True)
                yield Static("", id="holder-error", classes="field-error")
                yield Label("Identificación del titular")
                with Horizontal(id="id-row"):
                    yield Select([(label, key) for key, label in ID_TYPES.items()], id="id-type", value="cedula",
                                 allow_blank=False, compact=True)
                    yield TextInput(id="id-number", max_length=13, compact=True)
                yield Static("", id="id-error", classes="field-error")
            with Horizontal(classes="buttons"):
                yield Button("Cancelar", id="cancel", compact=True)
                yield Button("Registrar", id="register", variant="primary", compact=True)

    def on_mount(self) -> None:
        if self.group == "otros":
            self.call("institutions", self.coop.backend.cards.institutions, self.coop.token)
        self.query_one("#numero", Input).focus()

    def done_institutions(self, items) -> None:
        self.query_one("#institution", Select).set_options([(safe_text(i.name), i.code) for i in items])

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#cancel")
    def cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#register")
    @on(Input.Submitted, "#numero")
    @on(Input.Submitted, "#id-number")
    def register(self) -> None:
        self.clear_field_errors()
        number = self.query_one("#numero", Input).value
        if self.group == "otros":
            institution = self.query_one("#institution", Select).value
            id_type = self.query_one("#id-type", Select).value
            request = CardRegistrationRequest(
                "otro_banco", number, institution_code=institution if isinstance(institution, str) else "",
                holder_name=self.query_one("#holder-name", Input).value,
                id_type=id_type if isinstance(id_type, str) else "", id_number=self.query_one("#id-number", Input).value)
        else:
            request = CardRegistrationRequest("cooprogreso", number)
        cards, token = self.coop.backend.cards, self.coop.token
        start_authorised(self, lambda: cards.prepare_registration(token, request), on_done=self._done,
                         on_error=self._failed, show_receipt=False)

    def _done(self, receipt) -> None:
        self.app.notify(visible_lines(f"Tarjeta {receipt.get('Tarjeta')} registrada."), markup=False)
        self.dismiss(f"registrada:{receipt.result_id}")

    def _failed(self, error: ServiceError) -> None:
        self.field_error(error.field, error.message)
