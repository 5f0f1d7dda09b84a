"""Administración de Beneficiarios: the manual's table, with add, edit (lápiz) and delete (basurero)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, Select, Static

from backend.core.errors import ServiceError
from backend.core.identity import ID_TYPES
from backend.core.institutions import COOPROGRESO
from backend.security.receipts import Receipt
from backend.transfers.beneficiaries import ACCOUNT_TYPES, SERVICES, Beneficiary, BeneficiaryForm
from screens.shared.base import MemberScreen
from screens.shared.calls import ServiceCalls
from screens.shared.field_errors import FieldErrors
from screens.shared.cells import follow_row
from screens.shared.confirm import ConfirmModal
from screens.shared.flow import start_authorised
from screens.shared.safe_text import SafeText, safe_text, visible_lines
from screens.shared.scroll import FormScroll
from screens.shared.text_entry import TextInput
from screens.shared.widgets import chosen_key

SHORT_SERVICE = {"terceros": "Terceros", "interbancaria": "Interbancaria"}


class BeneficiariesScreen(MemberScreen):
    BINDINGS = [
        Binding("space", "mark", "Marcar", key_display="espacio", id="beneficiaries.toggle",
                tooltip="Marcar o desmarcar el beneficiario"),
        Binding("a", "add", "Agregar", id="beneficiaries.add", tooltip="Agregar un beneficiario"),
        Binding("e", "edit", "Editar", id="beneficiaries.edit", tooltip="Editar el beneficiario (lápiz)"),
        Binding("d,delete", "delete", "Eliminar", id="beneficiaries.delete",
                tooltip="Eliminar los marcados, o el seleccionado (basurero)"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.items: list[Beneficiary] = []
        self.checked: set[int] = set()

    def compose_body(self) -> ComposeResult:
        yield Label("Administración de Beneficiarios", classes="section-title")
        yield DataTable(id="beneficiaries", cursor_type="row", zebra_stripes=True)
        yield Static("", id="beneficiary-detail")

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one("#beneficiaries", DataTable)
        table.add_column("", width=3, key="check")
        table.add_column("Servicio", width=13, key="service")
        # Fits 78 columns at 80x24; the type of id and the full names are in the detail line below.
        table.add_column("Beneficiario", width=15, key="name")
        table.add_column("Identificación", width=14, key="id_number")
        table.add_column("Institución", width=11, key="institution")
        table.add_column("Cuenta", width=10, key="account")
        table.focus()
        self.reload()

    def reload(self) -> None:
        self.call("list", self.coop.backend.beneficiaries.list, self.coop.token)

    def done_list(self, items: list[Beneficiary]) -> None:
        table = self.query_one("#beneficiaries", DataTable)
        row = table.cursor_row
        current = str(self.items[row].id) if 0 <= row < len(self.items) else None
        self.items = items
        self.checked &= {b.id for b in items}
        table.clear()
        for b in items:
            table.add_row(self._mark(b.id), SHORT_SERVICE[b.service], safe_text(b.name), safe_text(b.id_number),
                          safe_text(b.institution_name), safe_text(b.account_masked), key=str(b.id))
        if items:
            follow_row(table, current, row)  # an edited name re-sorts the list: the cursor stays on it
        else:
            self.query_one("#beneficiary-detail", Static).update(
                "No tienes beneficiarios registrados. Presiona «a» para agregar uno.")

    def _mark(self, beneficiary_id: int) -> SafeText:
        return safe_text("[x]" if beneficiary_id in self.checked else "[ ]")  # Text: "[x]" would be read as markup

    def _current(self) -> Beneficiary | None:
        table = self.query_one("#beneficiaries", DataTable)
        if not self.items or table.cursor_row is None or table.cursor_row >= len(self.items):
            return None
        return self.items[table.cursor_row]

    @on(DataTable.RowHighlighted, "#beneficiaries")
    def show_detail(self, event: DataTable.RowHighlighted) -> None:
        b = self._current()
        if b:
            self.query_one("#beneficiary-detail", Static).update(safe_text(
                f"{b.service_label} · {b.name} · {b.id_type_label} {b.id_number}\n"
                f"{b.institution_name} · {ACCOUNT_TYPES[b.account_type]} {b.account_masked}"))

    def action_mark(self) -> None:
        b = self._current()
        if b:
            self.checked ^= {b.id}
            self.query_one("#beneficiaries", DataTable).update_cell(str(b.id), "check", self._mark(b.id))

    def action_add(self) -> None:
        self.app.push_screen(BeneficiaryModal(None), self._saved)

    @on(DataTable.RowSelected, "#beneficiaries")
    def action_edit(self) -> None:
        b = self._current()
        if b:
            self.app.push_screen(BeneficiaryModal(b), self._saved)

    def _saved(self, result: Beneficiary | Receipt | None) -> None:
        if result is not None:
            name = result.get("Beneficiario") if isinstance(result, Receipt) else result.name
            self.notify(visible_lines(f"Beneficiario «{name}» guardado."), markup=False)
            self.reload()

    def action_delete(self) -> None:
        current = self._current()
        ids = sorted(self.checked) or ([current.id] if current else [])
        if not ids:
            return
        question = ("¿Está seguro que desea eliminar el beneficiario?" if len(ids) == 1 else
                    f"¿Está seguro que desea eliminar los {len(ids)} beneficiarios marcados?")
        names = ", ".join(b.name for b in self.items if b.id in ids)
        self.app.push_screen(ConfirmModal(question, names), lambda yes: self._delete(ids) if yes else None)

    def _delete(self, ids: list[int]) -> None:
        self.call("delete", self.coop.backend.beneficiaries.delete, self.coop.token, ids)

    def done_delete(self, count: int) -> None:
        self.checked.clear()
        self.notify(visible_lines("Beneficiario eliminado." if count == 1 else f"{count} beneficiarios eliminados."),
                    markup=False)
        self.reload()


class BeneficiaryModal(FieldErrors, ServiceCalls, ModalScreen[Beneficiary | Receipt | None]):
    """Add or edit one beneficiary; a change other than the name is confirmed with a code."""

    BINDINGS = [Binding("escape", "cancel", "Cancelar", id="beneficiary.cancel", tooltip="Cerrar sin guardar")]
    ENTER_NEXT = "#name, #id-number"  # Enter moves on (the app does it: cooprogreso_tui/app.py); the account's saves
    FIELD_ERRORS = {"service": ("#service", "#service-error"), "name": ("#name", "#name-error"),
                    "id_type": ("#id-type", "#id-error"), "id_number": ("#id-number", "#id-error"),
                    "institution": ("#institution", "#institution-error"),
                    "account_type": ("#account-type", "#account-error"), "account": ("#account", "#account-error")}
    FORM_ERROR = ("", "#form-error")

    def __init__(self, current: Beneficiary | None) -> None:
        super().__init__()
        self.current = current
        self.form: BeneficiaryForm | None = None

    def compose(self) -> ComposeResult:
        b = self.current
        with Vertical(classes="dialog", id="beneficiary-box"):
            yield Label("Editar beneficiario" if b else "Agregar beneficiario", classes="dialog-title")
            with FormScroll(classes="form"):
                yield Label("Servicio")
                yield Select([(label, key) for key, label in SERVICES.items()], id="service", allow_blank=False,
                             value=b.service if b else "terceros", compact=True)
                yield Static("", id="service-error", classes="field-error collapse")
                yield Label("Beneficiario")
                yield TextInput(b.name if b else "", id="name", max_length=80, compact=True)
                yield Static("", id="name-error", classes="field-error collapse")
                yield Label("Tipo de identificación")
                yield Select([(label, key) for key, label in ID_TYPES.items()], id="id-type", allow_blank=False,
                             value=b.id_type if b else "cedula", compact=True)
                yield Label("Identificación")
                yield TextInput(b.id_number if b else "", id="id-number", max_length=13, compact=True)
                yield Static("", id="id-error", classes="field-error collapse")
                yield Label("Institución financiera", classes="interbank")
                yield Select([], id="institution", prompt="Selecciona la institución", compact=True, classes="interbank")
                yield Static("", id="institution-error", classes="field-error collapse interbank")
                yield Label("Tipo de cuenta", classes="interbank")
                yield Select([(label, key) for key, label in ACCOUNT_TYPES.items()], id="account-type",
                             allow_blank=False, value=b.account_type if b else "ahorros", compact=True,
                             classes="interbank")
                yield Label("Número de cuenta")
                yield TextInput(b.account_number if b else "", id="account", max_length=20, compact=True)
                yield Static("", id="account-error", classes="field-error collapse")
            # A refusal about a field is said beside it (the field gets the focus, so the form scrolls to both);
            # one about the whole form here, outside the scrolling form, never scrolled out of sight.
            yield Static("", id="form-error", classes="field-error")
            with Horizontal(classes="buttons"):
                yield Button("Guardar", id="save", variant="primary", compact=True)
                yield Button("Cancelar", id="cancel", compact=True)

    def on_mount(self) -> None:
        self._show_interbank(self.query_one("#service", Select).value)
        self.call("institutions", self.coop.backend.transfers.institutions, self.coop.token)
        self.query_one("#name", Input).focus()

    def done_institutions(self, items) -> None:
        select = self.query_one("#institution", Select)
        select.set_options([(safe_text(i.name), i.code) for i in items])
        if self.current and self.current.institution_code != COOPROGRESO:
            select.value = self.current.institution_code

    @on(Select.Changed, "#service")
    def service_changed(self, event: Select.Changed) -> None:
        self._show_interbank(event.value)

    def _show_interbank(self, service) -> None:
        for widget in self.query(".interbank"):
            widget.display = service == "interbancaria"

    @on(Button.Pressed, "#save")
    @on(Input.Submitted, "#account")
    def save(self) -> None:
        institution = chosen_key(self.query_one("#institution", Select))
        service = chosen_key(self.query_one("#service", Select))
        self.form = BeneficiaryForm(
            service=service, name=self.query_one("#name", Input).value,
            id_type=chosen_key(self.query_one("#id-type", Select)), id_number=self.query_one("#id-number", Input).value,
            account_number=self.query_one("#account", Input).value,
            institution_code=COOPROGRESO if service == "terceros" or not institution else institution,
            account_type=chosen_key(self.query_one("#account-type", Select)))
        self.clear_field_errors()
        self._say("Validando…")
        self.call("check", self.coop.backend.beneficiaries.needs_code, self.coop.token, self.form,
                  self.current.id if self.current else None)

    def done_check(self, needs_code: bool) -> None:
        service, token = self.coop.backend.beneficiaries, self.coop.token
        if self.form is None:  # the form was built before the check was asked for
            return
        editing = self.current.id if self.current else None
        if needs_code:
            form = self.form
            self._say("")
            start_authorised(self, lambda: service.prepare_save(token, form, editing), on_done=self._after_code,
                             on_error=self.failed_check, otp_title="Código de seguridad · Beneficiario",
                             on_cancel=lambda: self._say("No se guardó: falta confirmar con el código de seguridad."))
        else:
            self.call("saved", service.save, token, self.form, editing)

    def failed_check(self, error: ServiceError) -> None:
        self.field_error(error.field, error.message)

    failed_saved = failed_check

    def _after_code(self, receipt: Receipt) -> None:
        self.dismiss(receipt)

    def done_saved(self, saved: Beneficiary) -> None:
        self.dismiss(saved)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    def _say(self, message: str) -> None:
        self.query_one("#form-error", Static).update(safe_text(message))
