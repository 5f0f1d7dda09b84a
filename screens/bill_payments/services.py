"""Registro de Servicio: the member's registered services (the start of Pagar), add (Paso 1–3), alias, delete."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, Select, Static

from backend.bill_payments.requests import ServiceRegistrationRequest
from backend.core.errors import ServiceError
from backend.core.money import format_money
from screens.bill_payments.biller_choice import BillerChoice
from screens.shared.base import MemberScreen
from screens.shared.calls import ServiceCalls
from screens.shared.confirm import ConfirmModal
from screens.shared.flow import start_authorised
from screens.shared.field_errors import FieldErrors
from screens.shared.safe_text import safe_text
from screens.shared.scroll import FormScroll
from screens.shared.text_entry import TextInput

FORM_CSS = """
.step { color: $accent; margin-top: 1; }
"""  # the box's size is in screens.tcss (.svc-box): a default rule here loses to the app's .dialog


class ServicesScreen(MemberScreen):
    DEFAULT_CSS = """
    #services { height: 1fr; margin: 1 1 0 1; }
    #service-detail { height: 2; margin: 0 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("a", "add", "Registrar", id="services.add", tooltip="Registrar un servicio (Paso 1–3)"),
        Binding("e", "edit", "Alias", id="services.edit", tooltip="Cambiar el alias del servicio"),
        Binding("d,delete", "delete", "Eliminar", id="services.delete", tooltip="Eliminar el servicio"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.items: list = []

    def compose_body(self) -> ComposeResult:
        yield Label("Registro de Servicio", classes="section-title")
        yield DataTable(id="services", cursor_type="row", zebra_stripes=True)
        yield Static("", id="service-detail")

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one("#services", DataTable)
        for label, width in (("Categoría", 14), ("Entidad", 22), ("Identificador", 13), ("Alias", 18)):
            table.add_column(safe_text(label), width=width)
        table.focus()
        self.reload()

    def reload(self) -> None:
        self.call("list", self.coop.backend.services.services, self.coop.token)

    def done_list(self, items) -> None:
        self.items = items
        table = self.query_one("#services", DataTable)
        table.clear()
        for s in items:
            table.add_row(safe_text(s.category), safe_text(s.biller_name), safe_text(s.identifier), safe_text(s.alias or "—"),
                          key=str(s.id))
        self.query_one("#service-detail", Static).update(
            "Enter: pagar · a: registrar · e: alias · d: eliminar" if items else
            "No tienes servicios registrados. Presiona «a» para registrar uno.")

    def _current(self):
        table = self.query_one("#services", DataTable)
        if not self.items or table.cursor_row is None or table.cursor_row >= len(self.items):
            return None
        return self.items[table.cursor_row]

    def action_add(self) -> None:
        self.app.push_screen(RegisterModal(), self._registered)

    def _registered(self, receipt) -> None:
        if receipt is not None:
            self.reload()

    def action_edit(self) -> None:
        s = self._current()
        if s:
            def reload_if_saved(saved) -> None:
                if saved:
                    self.reload()

            self.app.push_screen(AliasModal(s), reload_if_saved)

    def action_delete(self) -> None:
        s = self._current()
        if s:
            def delete_if_confirmed(yes: bool | None) -> None:
                if yes:
                    self.call("delete", self.coop.backend.services.delete, self.coop.token, s.id)

            self.app.push_screen(ConfirmModal("¿Está seguro que desea eliminar el servicio?",
                                              f"{s.biller_name} · {s.identifier}"), delete_if_confirmed)

    def done_delete(self, _) -> None:
        self.notify("Servicio eliminado.")
        self.reload()

    @on(DataTable.RowSelected, "#services")
    def pay(self) -> None:
        s = self._current()
        if s:
            from screens.bill_payments.service_pay import PayScreen

            self.app.push_screen(PayScreen(s.id))


class RegisterModal(FieldErrors, BillerChoice, ModalScreen):
    """Paso 1: categoría y entidad · Paso 2: cuenta de débito · Paso 3: identificador y alias → código."""
    ENTER_NEXT = "#identifier"  # Enter moves on (the app does it: cooprogreso_tui/app.py)

    ID_LABEL = "Paso 3 · {}"
    # One way for refusals (screens/shared/field_errors.py): beside the field, focused, cleared when changed
    FIELD_ERRORS = {"category": ("#category", "#biller-error"), "biller": ("#biller", "#biller-error"),
                    "account": ("#account", "#account-error"), "account_id": ("#account", "#account-error"),
                    "origin": ("#account", "#account-error"), "identifier": ("#identifier", "#identifier-error"),
                    "alias": ("#alias", "#alias-error")}
    FORM_ERROR = ("", "#register-error")

    DEFAULT_CSS = FORM_CSS
    BINDINGS = [Binding("escape", "cancel", "Cancelar", id="register.cancel", tooltip="No registrar")]

    def __init__(self) -> None:
        super().__init__()
        self.billers: dict[str, object] = {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog svc-box"):
            yield Label("Registro de Servicio", classes="dialog-title")
            with FormScroll(classes="form"):
                yield Label("Paso 1 · Selecciona la categoría del servicio", classes="step")
                yield Select([], id="category", prompt="Categoría", compact=True)
                yield Select([], id="biller", prompt="Entidad", compact=True)
                yield Static("", id="biller-error", classes="field-error collapse")
                yield Label("Paso 2 · Cuenta de la que se generarán los débitos", classes="step")
                yield Select([], id="account", prompt="Cuenta de débito", compact=True)
                yield Static("", id="account-error", classes="field-error collapse")
                yield Label("Paso 3 · Número de cuenta, contrato o identificador", classes="step", id="id-label")
                yield TextInput(id="identifier", max_length=20, compact=True)
                yield Static("", id="identifier-error", classes="field-error collapse")
                yield Label("Alias (opcional)")
                yield TextInput(id="alias", max_length=30, placeholder="p. ej. Luz de la casa", compact=True)
                yield Static("", id="alias-error", classes="field-error collapse")
                yield Static("", id="register-error", classes="field-error collapse")
            with Horizontal(classes="buttons"):
                yield Button("Cancelar", id="cancel", compact=True)
                yield Button("Confirmar", id="confirm", variant="primary", compact=True)

    def on_mount(self) -> None:
        services, token = self.coop.backend.services, self.coop.token
        self.call("categories", services.categories, token)
        self.call("origins", services.origins, token)

    def done_categories(self, items) -> None:
        select = self.query_one("#category", Select)
        select.set_options([(safe_text(c), c) for c in items])
        select.focus()

    def done_origins(self, items) -> None:
        select = self.query_one("#account", Select)
        select.set_options([(safe_text(f"Ahorros {o.number} · Disponible {format_money(o.available)}"), o.account_id)
                            for o in items])
        if items:
            select.value = items[0].account_id

    @on(Button.Pressed, "#confirm")
    @on(Input.Submitted, "#alias")
    def confirm(self) -> None:
        self.clear_field_errors()
        biller = self.query_one("#biller", Select).value
        account = self.query_one("#account", Select).value
        if not isinstance(biller, str):  # Select.NULL: nothing chosen yet
            category = self.query_one("#category", Select).value
            self.field_error("biller" if isinstance(category, str) else "category",
                             "Selecciona la categoría y la entidad del servicio.")
            return
        if not isinstance(account, int):
            self.field_error("account", "Selecciona la cuenta de débito.")
            return
        services, token = self.coop.backend.services, self.coop.token
        identifier, alias = self.query_one("#identifier", Input).value, self.query_one("#alias", Input).value
        request = ServiceRegistrationRequest(biller, identifier, alias, account)
        start_authorised(self, lambda: services.prepare_registration(token, request),
                         on_done=self._done, on_error=self._error, otp_title="Código de seguridad · Registro de Servicio")

    def _done(self, receipt) -> None:
        self.dismiss(receipt)

    def _error(self, error: ServiceError) -> None:
        self.field_error(error.field, error.message)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class AliasModal(FieldErrors, ServiceCalls, ModalScreen):
    BINDINGS = [Binding("escape", "cancel", "Cancelar", id="alias.cancel", tooltip="No cambiar")]
    FIELD_ERRORS = {"alias": ("#alias", "#alias-error")}
    FORM_ERROR = ("#alias", "#alias-error")

    def __init__(self, service) -> None:
        super().__init__()
        self.service = service

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(safe_text(f"Alias de {self.service.biller_name} {self.service.identifier}"), classes="dialog-title")
            yield TextInput(self.service.alias, id="alias", max_length=30, compact=True)
            yield Static("", id="alias-error", classes="field-error")
            with Horizontal(classes="buttons"):
                yield Button("Cancelar", id="cancel", compact=True)
                yield Button("Guardar", id="save", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#alias", Input).focus()

    @on(Button.Pressed, "#save")
    @on(Input.Submitted, "#alias")
    def save(self) -> None:
        self.call("rename", self.coop.backend.services.rename, self.coop.token, self.service.id,
                  self.query_one("#alias", Input).value)

    def done_rename(self, service) -> None:
        self.dismiss(service)

    def failed_rename(self, error: ServiceError) -> None:
        self.field_error(error.field, error.message)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
