"""Atención al socio: «Registrar socio» (know your member, one confirmation, then the opening deposit at a
till; backend/branch/backoffice.py says why) and «Atención al socio» (unlock, reset online access, ask a
supervisor to change the registered mobile)."""

from __future__ import annotations

import uuid

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, Select, Static

from backend.branch.backoffice import Enrolled, EnrolReview, OnlineAccess
from backend.core.money import format_money
from backend.core.identity import ID_TYPES
from screens.shared.base import MemberScreen
from screens.shared.calls import ServiceCalls
from screens.shared.confirm import ConfirmModal
from screens.shared.field_errors import FieldErrors
from screens.shared.safe_text import safe_text
from screens.shared.scroll import FormScroll
from screens.shared.text_entry import TextInput

FIELDS = [("first_names", "Nombres", 60), ("last_names", "Apellidos", 60),
          ("birth_date", "Fecha de nacimiento (dd/mm/aaaa)", 10), ("mobile", "Celular", 10),
          ("email", "Correo electrónico", 80), ("address", "Dirección", 120), ("occupation", "Ocupación", 80),
          ("monthly_income", "Ingreso mensual (USD)", 14)]
PEP_CHOICES = [("No", "no"), ("Sí", "si")]


class EnrolScreen(FieldErrors, MemberScreen):
    ENTER_NEXT = "Input"  # Enter moves on (the app does it: cooprogreso_tui/app.py)
    # A refusal is said under its field, which gets the focus (the form scrolls to it): said above the button, it
    # was out of sight once the form had scrolled up to the field.
    FIELD_ERRORS = {key: (f"#{key}", f"#{key}-error")
                    for key in ("id_type", "id_number", *(key for key, _, _ in FIELDS), "pep", "pep_position")}
    FORM_ERROR = ("", "#enrol-error")
    DEFAULT_CSS = """
    EnrolScreen #pep-label { width: 1fr; }  /* the whole question, on two lines at 80×24 */
    """

    def compose_body(self) -> ComposeResult:
        yield Label("Registrar socio", classes="section-title")
        with FormScroll(classes="form", id="enrol-form"):
            yield Label("Tipo de identificación")
            yield Select([(label, key) for key, label in ID_TYPES.items()], id="id_type", value="cedula",
                         allow_blank=False, compact=True)
            yield Static("", id="id_type-error", classes="field-error collapse")
            yield Label("Número de identificación")
            yield TextInput(id="id_number", max_length=13, compact=True)
            yield Static("", id="id_number-error", classes="field-error collapse")
            for key, label, size in FIELDS:
                yield Label(safe_text(label))
                yield TextInput(id=key, max_length=size, compact=True)
                yield Static("", id=f"{key}-error", classes="field-error collapse")
            yield Label("¿Es persona expuesta políticamente (PEP), o familiar o colaborador cercano de una?",
                        id="pep-label")
            yield Select(PEP_CHOICES, id="pep", prompt="Elige Sí o No", compact=True)
            yield Static("", id="pep-error", classes="field-error collapse")
            yield Label("Si es PEP: cargo o función pública")
            yield TextInput(id="pep_position", max_length=80, compact=True)
            yield Static("", id="pep_position-error", classes="field-error collapse")
            yield Static("", id="enrol-error", classes="field-error")
            yield Button("Registrar socio", id="enrol", variant="primary", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#id_number", Input).focus()

    def _form(self) -> dict:
        pep = self.query_one("#pep", Select).value
        form = {"id_type": self.query_one("#id_type", Select).value,
                "id_number": self.query_one("#id_number", Input).value,
                "pep": pep if isinstance(pep, str) else "", "pep_position": self.query_one("#pep_position", Input).value}
        form.update({key: self.query_one(f"#{key}", Input).value for key, _, _ in FIELDS})
        return form

    @on(Button.Pressed, "#enrol")
    def enrol(self) -> None:
        """Check everything first; save only after the confirmation (which starts on «Cancelar»)."""
        self.clear_field_errors()
        self.form = self._form()
        self.call("review", self.coop.backend.backoffice.review_enrolment, self.coop.token, self.form)

    def done_review(self, review: EnrolReview) -> None:
        details = "\n".join(f"{label}: {value}" for label, value in review.lines)
        self.app.push_screen(ConfirmModal(review.title, details, accept="Registrar"),
                             self._confirmed)

    def failed_review(self, error) -> None:
        self.failed_enrol(error)

    def _confirmed(self, yes: bool | None) -> None:
        if yes:
            self.call("enrol", self.coop.backend.backoffice.enrol_member, self.coop.token, self.form)

    def done_enrol(self, enrolled: Enrolled) -> None:
        for key in ["id_number", "pep_position"] + [k for k, _, _ in FIELDS]:
            self.query_one(f"#{key}", Input).value = ""
        self.query_one("#pep", Select).clear()
        if enrolled.opening == "por_aprobar":
            next_step = ("Es PEP: debida diligencia reforzada; el supervisor debe aprobar el registro antes del "
                         "depósito de apertura.")
        else:
            next_step = (f"Siguiente paso: depósito de apertura en caja, en efectivo (mínimo "
                         f"{format_money(enrolled.minimum_deposit)}); con él se abre la cuenta.")
        said = self.query_one("#enrol-error", Static)
        said.update(safe_text(f"Socio registrado: {enrolled.name} · cuenta de ahorros {enrolled.account_number}. "
                              f"{next_step}", style="bold green"))
        said.call_after_refresh(said.scroll_visible, animate=False)  # wherever the form was scrolled to

    def failed_enrol(self, error) -> None:
        self.field_error(error.field, error.message)


class MemberCareScreen(MemberScreen):
    ENTER_SEARCH = "#care-query"  # keys typed after its Enter wait for the rows (cooprogreso_tui/app.py)
    DEFAULT_CSS = """
    MemberCareScreen #care-search, MemberCareScreen #care-actions, MemberCareScreen #mobile-row {
        height: 1; margin: 1 1 0 1; }
    MemberCareScreen #care-query { width: 40; margin-right: 1; }
    MemberCareScreen #care-actions Button { margin-right: 2; }
    MemberCareScreen #care-card { height: auto; margin: 1 1 0 1; }
    MemberCareScreen #new-mobile { width: 14; margin-right: 1; }
    MemberCareScreen #mobile-reason { width: 36; margin-right: 1; }
    MemberCareScreen #care-status { height: auto; margin: 1 1 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.member_id: int | None = None

    def compose_body(self) -> ComposeResult:
        yield Label("Atención al socio", classes="section-title")
        with Horizontal(id="care-search"):
            yield TextInput(id="care-query", placeholder="Cédula o número de cuenta", max_length=80, compact=True)
            yield Button("Buscar", id="care-find", compact=True)
        yield Static("", id="care-card")
        with Horizontal(id="care-actions"):
            yield Button("Desbloquear usuario", id="unlock", compact=True)
            yield Button("Restablecer acceso", id="reset", variant="warning", compact=True)
            yield Button("Ingresos", id="sign-ins", compact=True)
        with Horizontal(id="mobile-row"):
            yield Input(id="new-mobile", placeholder="Nuevo celular", max_length=10, restrict=r"\d*", compact=True)
            yield TextInput(id="mobile-reason", placeholder="Motivo", max_length=120, compact=True)
            yield Button("Pedir cambio", id="change-mobile", compact=True)
        yield Static("", id="care-status")

    def on_mount(self) -> None:
        super().on_mount()
        for selector in ("#care-actions", "#mobile-row"):
            self.query_one(selector).display = False
        self.query_one("#care-query", Input).focus()

    def _status(self, text: str, style: str = "") -> None:
        self.query_one("#care-status", Static).update(safe_text(text, style=style))

    @on(Input.Submitted, "#care-query")
    @on(Button.Pressed, "#care-find")
    def find(self) -> None:
        self.call("find", self.coop.backend.counter.find_member, self.coop.token,
                  self.query_one("#care-query", Input).value, hold_keys=True)

    def done_find(self, cards) -> None:
        if len(cards) != 1:
            self._status("Ningún socio con esos datos." if not cards else "Varios socios: usa la cédula o la cuenta.")
            return
        self.card = cards[0]
        self.member_id = cards[0].member_id
        self.call("access", self.coop.backend.backoffice.online_access, self.coop.token, self.member_id,
                  hold_keys=True)  # the search's keys wait for the member's card, not only the match

    def failed_find(self, error) -> None:
        self._status(error.message, "bold red")

    def done_access(self, access: OnlineAccess) -> None:
        user = access.username or ("acceso restablecido: debe afiliarse de nuevo" if access.reset_pending
                                   else "sin usuario en línea")
        lines = [f"{self.card.name} · {self.card.id_masked}", f"Usuario en línea: {user}"
                 + (" · BLOQUEADO" if access.locked else ""), f"Celular registrado: {access.mobile_masked}"]
        lines += [f"  {q} → {a}" for q, a in self.card.check_questions]
        self.query_one("#care-card", Static).update(safe_text("\n".join(lines)))
        for selector in ("#care-actions", "#mobile-row"):
            self.query_one(selector).display = True

    def failed_access(self, error) -> None:
        self._status(error.message, "bold red")

    @on(Button.Pressed, "#sign-ins")
    def sign_ins(self) -> None:
        if self.member_id is not None:
            self.app.push_screen(SignInsModal(self.member_id, self.card.name))

    @on(Button.Pressed, "#unlock")
    def unlock(self) -> None:
        if self.member_id is not None:
            self.app.push_screen(UnlockModal(self.member_id, self.card.name), self._unlocked)

    def _unlocked(self, done: bool | None) -> None:
        if done:
            self._status("Usuario desbloqueado.", "bold green")
            self.call("access", self.coop.backend.backoffice.online_access, self.coop.token, self.member_id)

    @on(Button.Pressed, "#reset")
    def reset(self) -> None:
        self.app.push_screen(ConfirmModal("¿Restablecer el acceso en línea?",
                                          "El usuario actual deja de funcionar y el socio deberá afiliarse de nuevo "
                                          "con un código enviado a su celular registrado.", accept="Restablecer"),
                             self._reset_confirmed)

    def _reset_confirmed(self, yes: bool | None) -> None:
        if yes:
            self.call("reset", self.coop.backend.backoffice.reset_access, self.coop.token, self.member_id)

    def done_reset(self, _) -> None:
        self._status("Acceso restablecido: el socio debe afiliarse de nuevo.", "bold green")
        self.call("access", self.coop.backend.backoffice.online_access, self.coop.token, self.member_id)

    def failed_reset(self, error) -> None:
        self._status(error.message, "bold red")

    @on(Button.Pressed, "#change-mobile")
    def change_mobile(self) -> None:
        self.call("mobile", self.coop.backend.backoffice.request_mobile_change, self.coop.token, self.member_id,
                  self.query_one("#new-mobile", Input).value, self.query_one("#mobile-reason", Input).value,
                  uuid.uuid4().hex)

    def done_mobile(self, op_id: int) -> None:
        self._status("Cambio de celular enviado al supervisor: se aplica cuando lo apruebe.", "bold green")

    def failed_mobile(self, error) -> None:
        self._status(error.message, "bold red")


class UnlockModal(FieldErrors, ServiceCalls, ModalScreen[bool]):
    """«Desbloquear usuario» asks why: unlocking skips the lockout that stops a guesser, so the audit keeps
    the reason the staff member took the caller's word."""

    HELP = "Escribe el motivo del desbloqueo (queda en la auditoría) y pulsa «Desbloquear»; Escape vuelve."
    BINDINGS = [Binding("escape", "close", "Cancelar", id="unlock.close"),
                Binding("f1", "app.help", "Ayuda", id="unlock.help", tooltip="Ayuda de este diálogo", show=False)]
    FIELD_ERRORS = {"reason": ("#unlock-reason", "#unlock-error")}
    FORM_ERROR = ("", "#unlock-error")

    def __init__(self, member_id: int, name: str) -> None:
        super().__init__()
        self.member_id, self.name_text = member_id, name

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(safe_text(f"Desbloquear el usuario de {self.name_text}"), classes="dialog-title")
            yield Label("Motivo (queda en la auditoría)")
            yield TextInput(id="unlock-reason", max_length=120, compact=True)
            yield Static("", id="unlock-error", classes="field-error")
            with Horizontal(classes="buttons"):
                yield Button("Cancelar", id="unlock-cancel", compact=True)
                yield Button("Desbloquear", id="unlock-ok", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#unlock-reason", Input).focus()

    @on(Input.Submitted, "#unlock-reason")
    @on(Button.Pressed, "#unlock-ok")
    def send(self) -> None:
        self.call("unlock", self.coop.backend.backoffice.unlock_user, self.coop.token, self.member_id,
                  self.query_one("#unlock-reason", Input).value)

    def done_unlock(self, _) -> None:
        self.dismiss(True)

    def failed_unlock(self, error) -> None:
        self.field_error(error.field, error.message)

    @on(Button.Pressed, "#unlock-cancel")
    def action_close(self) -> None:
        self.dismiss(False)


class SignInsModal(ServiceCalls, ModalScreen[None]):
    """A member's sign-ins and failed attempts for the atención staff: when, channel, address and result
    (the member's «Centro de seguridad» shows the same; never a password or a code)."""

    HELP = "Los ingresos e intentos fallidos del socio, con canal y dirección; Escape vuelve."
    DEFAULT_CSS = """
    SignInsModal #staff-sign-ins { height: 14; }
    """
    BINDINGS = [Binding("escape", "close", "Volver", id="sign_ins.close")]

    def __init__(self, member_id: int, name: str) -> None:
        super().__init__()
        self.member_id, self.name_text = member_id, name

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(safe_text(f"Ingresos de {self.name_text}"), classes="dialog-title")
            yield DataTable(id="staff-sign-ins", cursor_type="row", zebra_stripes=True)
            yield Static("", id="staff-sign-ins-none")  # said whole, not in a column 14 wide
            with Horizontal(classes="buttons"):
                yield Button("Volver", id="sign-ins-close", compact=True)

    def on_mount(self) -> None:
        self.query_one(".dialog").styles.width = 78  # the theme's dialogs are 64 wide; four columns need more
        table = self.query_one("#staff-sign-ins", DataTable)
        for name, width in (("Fecha", 16), ("Canal", 14), ("Dirección", 15), ("Resultado", 20)):
            table.add_column(name, width=width)
        table.focus()
        self.call("sign_ins", self.coop.backend.security_center.member_sign_ins, self.coop.token, self.member_id)

    def done_sign_ins(self, items) -> None:
        table = self.query_one("#staff-sign-ins", DataTable)
        for s in items:
            table.add_row(f"{s.at:%d/%m/%Y %H:%M}", safe_text(s.channel), safe_text(s.address or "—"),
                          safe_text(s.result))
        if not items:
            table.display = False
            self.query_one("#staff-sign-ins-none", Static).update("Sin ingresos registrados.")
            self.query_one("#sign-ins-close", Button).focus()

    @on(Button.Pressed, "#sign-ins-close")
    def action_close(self) -> None:
        self.dismiss(None)
