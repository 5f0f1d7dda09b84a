"""Pagos Programados: Programar Pago (debit account, entity, identifier, day, maximum, dates → code)
and Consultar Pagos Programados (next run, last result; pause, resume, cancel after a confirmation)."""

from __future__ import annotations

import re
from datetime import date

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Button, DataTable, Input, Label, Select, Static

from backend.bill_payments.scheduled import change_refusal
from backend.bill_payments.requests import ServiceScheduleRequest
from backend.bill_payments.services import RegisteredService
from backend.core.errors import ServiceError, ValidationError
from backend.core.money import format_money, parse_money
from backend.core.text import ascii_digits
from screens.bill_payments.biller_choice import BillerChoice
from screens.shared.account_select import AccountSelect
from screens.shared.base import MemberScreen
from screens.shared.field_errors import FieldErrors
from screens.shared.cells import date_text, follow_row
from screens.shared.confirm import ConfirmModal
from screens.shared.flow import start_authorised
from screens.shared.safe_text import safe_text, visible_lines
from screens.shared.scroll import FormScroll
from screens.shared.text_entry import TextInput
from screens.shared.widgets import DigitInput, chosen_id, chosen_key, money_input

DUE_DATE = 0  # «En la fecha de vencimiento»


def iso_date(text: str, label: str, required: bool, field: str | None = None) -> str:
    """dd/mm/aaaa → AAAA-MM-DD, or "" when optional and empty; a refusal names `field`."""
    text = (text or "").strip()
    if not text:
        if required:
            raise ValidationError(f"Ingresa la fecha «{label}» (dd/mm/aaaa).", field=field)
        return ""
    match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
    try:
        if not match:
            raise ValueError
        day, month, year = map(int, match.groups())
        return date(year, month, day).isoformat()
    except ValueError:
        raise ValidationError(f"Fecha no válida en «{label}»: usa dd/mm/aaaa.", field=field) from None


class ProgramarScreen(FieldErrors, BillerChoice, MemberScreen):
    ENTER_NEXT = "#identifier, #max-amount, #start, #end"  # Enter moves on (the app does it); the last programs
    DEFAULT_CSS = """
    #schedule-form { height: 1fr; padding: 0 1; }
    #schedule-form Select, #schedule-form Input { width: 60; }
    #schedule-form Label { margin-top: 1; }
    #schedule-error { color: $error; height: auto; }
    #schedule { margin-top: 1; }
    """
    FIELD_ERRORS = {"account": ("#account", "#account-error"), "biller": ("#biller", "#biller-error"),
                    "identifier": ("#identifier", "#biller-error"), "day": ("#day", "#day-error"),
                    "monto": ("#max-amount", "#max-amount-error"), "max_amount": ("#max-amount", "#max-amount-error"),
                    "start_date": ("#start", "#start-error"), "end_date": ("#end", "#end-error"),
                    "payments_limit": ("#count", "#count-error")}
    FORM_ERROR = ("", "#schedule-error")

    def __init__(self) -> None:
        super().__init__()
        self.billers: dict[str, object] = {}
        self.services: dict[int, RegisteredService] = {}

    def compose_body(self) -> ComposeResult:
        yield Label("Programar Pago", classes="section-title")
        with FormScroll(id="schedule-form"):
            yield Label("Cuenta de la que se generarán los débitos automáticos")
            yield AccountSelect(id="account", prompt="Cuenta de débito", note="#account-error")
            yield Static("", id="account-error", classes="field-error collapse")
            yield Label("Servicio registrado (opcional)")
            yield Select([], id="service", prompt="Escribir los datos", compact=True)
            yield Select([], id="category", prompt="Categoría", compact=True)
            yield Select([], id="biller", prompt="Entidad", compact=True)
            yield Label("Número de cuenta o contrato", id="id-label")
            yield TextInput(id="identifier", max_length=20, compact=True)
            yield Static("", id="biller-error", classes="field-error collapse")
            yield Label("Día de pago")
            yield Select([("En la fecha de vencimiento", DUE_DATE)] + [(f"Día {d} de cada mes", d) for d in range(1, 32)],
                         id="day", value=DUE_DATE, allow_blank=False, compact=True)
            yield Static("", id="day-error", classes="field-error collapse")
            yield Label("Monto máximo (USD): una factura mayor no se paga y te avisamos", id="max-label")
            yield money_input("max-amount", 10)
            yield Static("", id="max-amount-error", classes="field-error collapse")
            yield Label("Desde (dd/mm/aaaa)")
            yield DigitInput(id="start", max_length=10, compact=True)
            yield Static("", id="start-error", classes="field-error collapse")
            yield Label("Hasta (dd/mm/aaaa, opcional)")
            yield DigitInput(id="end", max_length=10, compact=True)
            yield Static("", id="end-error", classes="field-error collapse")
            yield Label("o número de pagos (opcional)")
            yield Input(id="count", max_length=3, restrict=r"\d*", compact=True)
            yield Static("", id="count-error", classes="field-error collapse")
            yield Static("", id="schedule-error")  # what names no field
            yield Button("Programar", id="schedule", variant="primary", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        services, token = self.coop.backend.services, self.coop.token
        self.query_one("#start", Input).value = f"{self.coop.backend.now():%d/%m/%Y}"
        self.call("origins", services.origins, token)
        self.call("categories", services.categories, token)
        self.call("services", services.services, token)

    def done_origins(self, items) -> None:
        select = self.query_one("#account", AccountSelect)
        select.offer((safe_text(f"Ahorros {o.number} · Disponible {format_money(o.available)}"), o.account_id, o.number)
                     for o in items)
        select.focus()

    def done_categories(self, items) -> None:
        self.query_one("#category", Select).set_options([(safe_text(c), c) for c in items])

    def done_services(self, items) -> None:
        self.services = {s.id: s for s in items}
        self.query_one("#service", Select).set_options(
            [(safe_text(f"{s.biller_name} · {s.identifier}" + (f" · {s.alias}" if s.alias else "")), s.id) for s in items])

    @on(Select.Changed, "#service")
    def service_changed(self, event: Select.Changed) -> None:
        service = self.services.get(chosen_id(self.query_one("#service", Select)) or 0)
        for selector in ("#category", "#biller", "#id-label", "#identifier"):
            self.query_one(selector).display = service is None
        if service:  # its account closed or blocked since: none chosen, and said (never another account)
            self.query_one("#account", AccountSelect).choose(service.account_id, service.account_masked)

    def biller_chosen(self, biller) -> None:
        if biller:
            self.query_one("#max-label", Label).update(
                "Monto de cada recarga (USD)" if biller.is_topup else
                "Monto máximo (USD): una factura mayor no se paga y te avisamos")

    @on(Button.Pressed, "#schedule")
    @on(Input.Submitted, "#count")
    def schedule(self) -> None:
        self.clear_field_errors()
        try:
            request = self._request()
        except ServiceError as exc:
            self.field_error(exc.field, exc.message)
            return
        scheduled, token = self.coop.backend.scheduled, self.coop.token
        start_authorised(self, lambda: scheduled.prepare_schedule(token, request), on_done=self._done,
                         on_error=lambda e: self.field_error(e.field, e.message),
                         otp_title="Código de seguridad · Pago Programado")

    def _request(self) -> ServiceScheduleRequest:
        account_select = self.query_one("#account", AccountSelect)
        account = chosen_id(account_select)
        service = self.services.get(chosen_id(self.query_one("#service", Select)) or 0)
        if service:
            biller, identifier = service.biller_code, service.identifier
        else:
            biller, identifier = chosen_key(self.query_one("#biller", Select)), self.query_one("#identifier", Input).value
        if account is None:
            raise ValidationError(account_select.unchosen or "Selecciona la cuenta de débito.", field="account")
        if not biller:
            raise ValidationError("Selecciona la categoría y la entidad.", field="biller")
        day = chosen_id(self.query_one("#day", Select))  # DUE_DATE (0): on each bill's due date
        count = self.query_one("#count", Input).value.strip()
        return ServiceScheduleRequest(
            account_id=account, biller=biller, identifier=identifier, day=day or None,
            max_amount=parse_money(self.query_one("#max-amount", Input).value),
            start_date=iso_date(self.query_one("#start", Input).value, "Desde", True, "start_date"),
            end_date=iso_date(self.query_one("#end", Input).value, "Hasta", False, "end_date"),
            payments_limit=int(ascii_digits(count, field="payments_limit", label="El número de pagos")) if count else None)

    def _done(self, receipt) -> None:
        for selector in ("#identifier", "#max-amount", "#end", "#count"):
            self.query_one(selector, Input).value = ""


class ConsultarScreen(MemberScreen):
    DEFAULT_CSS = """
    #schedules { height: 1fr; margin: 1 1 0 1; }
    #schedule-detail { height: 3; margin: 0 1; }
    """
    BINDINGS = [
        Binding("p", "change('pause')", "Pausar", id="schedules.pause", tooltip="Pausar el pago programado"),
        Binding("r", "change('resume')", "Reanudar", id="schedules.resume", tooltip="Reanudar el pago programado"),
        Binding("c", "change('cancel')", "Cancelar", id="schedules.cancel", tooltip="Cancelar el pago programado"),
    ]
    QUESTIONS = {"pause": "¿Está seguro que desea pausar el pago programado?",
                 "resume": "¿Está seguro que desea reanudar el pago programado?",
                 "cancel": "¿Está seguro que desea cancelar el pago programado?"}
    # The dialog's buttons name the action: «Cancelar» could mean either answer to «¿…cancelar…?».
    ACTIONS = {"pause": "Pausar el pago", "resume": "Reanudar el pago", "cancel": "Cancelar el pago"}

    def __init__(self) -> None:
        super().__init__()
        self.items: list = []

    def compose_body(self) -> ComposeResult:
        yield Label("Consultar Pagos Programados", classes="section-title")
        yield DataTable(id="schedules", cursor_type="row", zebra_stripes=True)
        yield Static("", id="schedule-detail")

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one("#schedules", DataTable)
        for label, width in (("Entidad", 20), ("Identif.", 11), ("Día", 6), (safe_text("Máximo", justify="right"), 9),
                             ("Próximo", 10), ("Estado", 9)):
            table.add_column(safe_text(label), width=width)
        table.focus()
        self.reload()

    def reload(self) -> None:
        self.call("list", self.coop.backend.scheduled.schedules, self.coop.token)

    def done_list(self, items) -> None:
        current = self._current()
        self.items = items
        table = self.query_one("#schedules", DataTable)
        row = table.cursor_row or 0
        table.clear()
        for s in items:
            table.add_row(safe_text(s.biller_name), safe_text(s.identifier), safe_text("Venc." if s.day is None else f"Día {s.day}"),
                          safe_text(format_money(s.max_amount), justify="right"),
                          date_text(s.next_run) if s.next_run else "—", safe_text(s.state_label), key=str(s.id))
        if items:
            # Pausing or resuming re-sorts the list: the cursor stays on the schedule, not on its old row.
            follow_row(table, str(current.id) if current else None, row)
            self.show_detail()
        else:
            self.query_one("#schedule-detail", Static).update("No tienes pagos programados. Créalos en Programar Pago.")

    def _current(self):
        table = self.query_one("#schedules", DataTable)
        if not self.items or table.cursor_row is None or table.cursor_row >= len(self.items):
            return None
        return self.items[table.cursor_row]

    @on(DataTable.RowHighlighted, "#schedules")
    def show_detail(self) -> None:
        s = self._current()
        if s:
            end = f" · hasta {s.end_date:%d/%m/%Y}" if s.end_date else ""
            limit = f" · {s.payments_done} de {s.payments_limit} pagos" if s.payments_limit else ""
            self.query_one("#schedule-detail", Static).update(safe_text(
                f"{s.identifier} · Débito de Ahorros {s.account_masked}{end}{limit}\n"
                f"Último resultado: {s.last_result or 'todavía no se ha ejecutado'}\n"
                "p: pausar · r: reanudar · c: cancelar"))

    def action_change(self, what: str) -> None:
        s = self._current()
        if s is None:
            return
        refused = change_refusal(s, {"pause": "pausar", "resume": "reanudar", "cancel": "cancelar"}[what])
        if refused:  # said at once, not after a «¿Está seguro…?» whose answer could change nothing
            self.notify(visible_lines(refused), severity="warning", markup=False)
            return
        scheduled = self.coop.backend.scheduled
        fn = {"pause": scheduled.pause, "resume": scheduled.resume, "cancel": scheduled.cancel}[what]

        def decided(yes: bool | None) -> None:
            if yes:
                self.call("change", fn, self.coop.token, s.id)

        self.app.push_screen(ConfirmModal(self.QUESTIONS[what], f"{s.biller_name} · {s.identifier}",
                                          accept=self.ACTIONS[what], cancel="Volver"), decided)

    def done_change(self, schedule) -> None:
        self.notify(visible_lines(f"Pago programado {schedule.state_label.lower()}."), markup=False)
        self.reload()
