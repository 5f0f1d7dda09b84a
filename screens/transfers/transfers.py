"""Section 2, Transferencias: the three kinds share one form, one confirmation, one OTP and one receipt."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Button, Input, Label, Select, Static

from backend.core.errors import ServiceError
from backend.core.identity import ID_TYPES
from backend.core.money import format_money, parse_money
from backend.security.receipts import Receipt
from backend.transfers.beneficiaries import ACCOUNT_TYPES
from backend.transfers.transfers import TransferRequest
from screens.shared.account_select import AccountSelect
from screens.shared.base import MemberScreen
from screens.shared.field_errors import FieldErrors
from screens.shared.flow import start_authorised
from screens.shared.safe_text import SafeText, safe_text
from screens.shared.scroll import FormScroll
from screens.shared.text_entry import TextInput
from screens.shared.widgets import chosen_id, chosen_key, money_input

TITLES = {"propia": "Transferencias a mis Cuentas", "terceros": "Transferencias Cooprogreso",
          "interbancaria": "Transferencias Interbancarias"}
NEW = -1  # «Otra cuenta»: the member types the destination
OTHER_ACCOUNT = "Otra cuenta (escribir los datos)"


class TransferScreen(FieldErrors, MemberScreen):
    ENTER_NEXT = "#account, #holder-name, #holder-id, #amount"  # Enter moves on (done by cooprogreso_tui/app.py)
    BINDINGS = [Binding("f3", "history", "Historial", id="transfer.history", tooltip="Ver tus transferencias")]
    FIELD_ERRORS = {"amount": ("#amount", "#amount-error"), "monto": ("#amount", "#amount-error"),
                    "motive": ("#motive", "#motive-error"), "origin": ("#origin", "#origin-error"),
                    "destination": ("#dest-own, #beneficiary", "#dest-error"), "account": ("#account", "#dest-error"),
                    "holder_name": ("#holder-name", "#dest-error"), "id_number": ("#holder-id", "#dest-error"),
                    "institution": ("#institution", "#dest-error")}
    FORM_ERROR = ("", "#dest-error")

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.own_accounts: list[tuple[str, int, str]] = []  # «propia»: every savings account, for the destination list
        self._dest_ids: list[int] = []  # what the destination list offers now
        self._origin_ids: list[int] = []  # what the origin list offers now
        self._origin_before: int | None = None  # «propia»: the origin the destination list was last made for

    def compose_body(self) -> ComposeResult:
        yield Label(TITLES[self.kind], classes="section-title")
        with FormScroll(classes="form", id="transfer-form"):
            yield Label("Cuenta de origen")
            yield AccountSelect(id="origin", prompt="Selecciona la cuenta de origen", note="#origin-error")
            yield Static("", id="origin-error", classes="field-error collapse")
            if self.kind == "propia":
                yield Label("Cuenta de destino")
                yield AccountSelect(id="dest-own", prompt="Selecciona la cuenta de destino", note="#dest-error")
            else:
                yield Label("Beneficiario")
                yield Select([(OTHER_ACCOUNT, NEW)], id="beneficiary", allow_blank=False, value=NEW, compact=True)
                if self.kind == "interbancaria":
                    yield Label("Institución financiera", classes="new-dest")
                    yield Select([], id="institution", prompt="Selecciona la institución", compact=True,
                                 classes="new-dest")
                    yield Label("Tipo de cuenta", classes="new-dest")
                    yield Select([(label, key) for key, label in ACCOUNT_TYPES.items()], id="account-type",
                                 value="ahorros", allow_blank=False, compact=True, classes="new-dest")
                label = "Número de cuenta Cooprogreso" if self.kind == "terceros" else "Número de cuenta"
                yield Label(safe_text(label), classes="new-dest")
                yield Input(id="account", max_length=20, restrict=r"[\d -]*", compact=True, classes="new-dest")
                if self.kind == "interbancaria":
                    yield Label("Nombre del titular", classes="new-dest")
                    yield TextInput(id="holder-name", max_length=80, compact=True, classes="new-dest")
                    yield Label("Tipo de identificación del titular", classes="new-dest")
                    yield Select([(label, key) for key, label in ID_TYPES.items()], id="holder-id-type",
                                 value="cedula", allow_blank=False, compact=True, classes="new-dest")
                    yield Label("Identificación del titular", classes="new-dest")
                    yield TextInput(id="holder-id", max_length=13, compact=True, classes="new-dest")
            yield Static("", id="dest-error", classes="field-error")
            yield Static("", id="quota")
            yield Label("Monto (USD)")
            yield money_input("amount", 16)
            yield Static("", id="amount-error", classes="field-error")
            yield Label("Motivo / referencia")
            yield TextInput(id="motive", max_length=60, compact=True)
            yield Static("", id="motive-error", classes="field-error")
            yield Button("Continuar", id="continue", variant="primary", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        backend, token = self.coop.backend, self.coop.token
        self.call("origins", backend.transfers.origins, token)
        self.call("quota", backend.transfers.quota, token, self.kind)
        if self.kind != "propia":
            self.call("beneficiaries", backend.beneficiaries.list, token)
        if self.kind == "interbancaria":
            self.call("institutions", backend.transfers.institutions, token)

    # -- filling the form ------------------------------------------------------------------------
    def done_origins(self, origins) -> None:
        origin = self.query_one("#origin", AccountSelect)
        first_load = not origin.loaded
        self._origin_ids = [o.account_id for o in origins]
        # a reload (after a transfer) brings new balances, never another account: one gone leaves no choice
        origin.offer((safe_text(f"Ahorros {o.number} · Disponible {format_money(o.available)}"), o.account_id, o.number)
                     for o in origins)
        if self.kind == "propia":
            self.own_accounts = [(f"Ahorros {o.number}", o.account_id, o.number) for o in origins]
            self._own_destinations()
            if len(origins) < 2:
                self._error("#dest-error", "Necesitas al menos dos cuentas de ahorros para transferir entre ellas.")
        if first_load:  # a reload that lands late (a busy server) never takes the focus from where the person types
            origin.focus()

    @on(Select.Changed, "#origin")
    def _origin_changed(self) -> None:
        if self.kind == "propia" and self.own_accounts:
            self._own_destinations()

    def _own_destinations(self) -> None:
        """The destination list offers every own account but the origin (choosing it was a dead end)."""
        origin = chosen_id(self.query_one("#origin", Select))
        previous, self._origin_before = self._origin_before, origin
        dest = self.query_one("#dest-own", AccountSelect)
        others = [(safe_text(label), account, number) for label, account, number in self.own_accounts if account != origin]
        if [account for _, account, _ in others] == self._dest_ids:
            return  # same list: leave the person's choice and the Select alone
        self._dest_ids = [account for _, account, _ in others]
        if dest.selection is not None and dest.selection == origin:  # she took the destination as origin: the two
            # swap, as she sees them (never an account she did not have on the screen)
            dest.offer(others, keep=previous if previous in self._dest_ids else None, first=True)
        else:  # the one shown, or none if it was closed or blocked meanwhile (she chooses again)
            dest.offer(others)

    def done_quota(self, quota) -> None:
        text = (f"Cupo disponible hoy: {format_money(quota.left_today)} · "
                f"Máximo por transacción: {format_money(quota.per_transaction)}")
        if self.kind == "interbancaria":
            text += f"\nComisión por transferencia: {format_money(self.coop.backend.settings.interbank_fee)}"
        self.query_one("#quota", Static).update(safe_text(text))

    def done_beneficiaries(self, items) -> None:
        service = "terceros" if self.kind == "terceros" else "interbancaria"
        options: list[tuple[str | SafeText, int]] = [(OTHER_ACCOUNT, NEW)]
        options += [(safe_text(f"{b.name} · {b.institution_name} {b.account_masked}"), b.id)
                    for b in items if b.service == service]
        select = self.query_one("#beneficiary", Select)
        select.set_options(options)
        select.value = NEW

    def done_institutions(self, items) -> None:
        self.query_one("#institution", Select).set_options([(safe_text(i.name), i.code) for i in items])

    @on(Select.Changed, "#beneficiary")
    def beneficiary_changed(self, event: Select.Changed) -> None:
        for widget in self.query(".new-dest"):
            widget.display = event.value == NEW

    # -- continuing ------------------------------------------------------------------------------
    @on(Button.Pressed, "#continue")
    @on(Input.Submitted, "#motive")
    def continue_(self) -> None:
        self.clear_field_errors()
        try:
            amount = parse_money(self.query_one("#amount", Input).value)
        except ServiceError as exc:
            self.field_error("amount", exc.message)
            return
        origin_select = self.query_one("#origin", AccountSelect)
        origin = chosen_id(origin_select)
        if origin is None:
            self.field_error("origin", origin_select.unchosen or "Selecciona la cuenta de origen.")
            return
        if self.kind == "propia" and (dest_select := self.query_one("#dest-own", AccountSelect)).unchosen:
            self.field_error("destination", dest_select.unchosen)
            return
        transfers, token, request = self.coop.backend.transfers, self.coop.token, self._request(origin, amount)
        start_authorised(self, lambda: transfers.prepare(token, request), on_done=self._executed,
                         on_error=self.failed_prepare, otp_title="Código de seguridad · Autoriza la transferencia")

    def _request(self, origin: int, amount: int) -> TransferRequest:
        motive = self.query_one("#motive", Input).value
        if self.kind == "propia":
            dest = chosen_id(self.query_one("#dest-own", Select))
            return TransferRequest("propia", origin, amount, motive, dest_account_id=dest)
        chosen = chosen_id(self.query_one("#beneficiary", Select))
        if chosen is not None and chosen != NEW:
            return TransferRequest(self.kind, origin, amount, motive, beneficiary_id=chosen)
        account = self.query_one("#account", Input).value
        if self.kind == "terceros":
            return TransferRequest("terceros", origin, amount, motive, account_number=account)
        return TransferRequest(
            "interbancaria", origin, amount, motive, account_number=account,
            institution_code=chosen_key(self.query_one("#institution", Select)),
            account_type=chosen_key(self.query_one("#account-type", Select)),
            holder_name=self.query_one("#holder-name", Input).value,
            holder_id_type=chosen_key(self.query_one("#holder-id-type", Select)),
            holder_id_number=self.query_one("#holder-id", Input).value)

    def failed_prepare(self, error: ServiceError) -> None:
        self.field_error(error.field, error.message)

    def _executed(self, receipt: Receipt) -> None:
        """The form starts over from its first field and first account, now; the balances follow when reloaded."""
        self.query_one("#amount", Input).value = ""
        self.query_one("#motive", Input).value = ""
        origin = self.query_one("#origin", Select)
        if self._origin_ids:
            origin.value = self._origin_ids[0]
        origin.focus()
        self.call("origins", self.coop.backend.transfers.origins, self.coop.token)
        self.call("quota", self.coop.backend.transfers.quota, self.coop.token, self.kind)

    def action_history(self) -> None:
        from screens.transfers.transfer_history import TransferHistoryScreen

        self.app.push_screen(TransferHistoryScreen())

    def _error(self, selector: str, message: str) -> None:
        self.query_one(selector, Static).update(safe_text(message))
