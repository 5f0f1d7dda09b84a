"""Atención al socio (and supervisors): the queue of members' messages from «Contacto», answered here."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Label, Select, Static, TextArea

from backend.contact.contact import MAX_TEXT, SUBJECTS
from backend.contact.contact_staff import FILTERS, StaffCase
from backend.core.errors import ServiceError
from screens.contact.contact import stamp_text
from screens.shared.base import MemberScreen
from screens.shared.cells import date_text
from screens.shared.confirm import ConfirmModal
from screens.shared.safe_text import SafeText, safe_text
from screens.shared.scroll import FormScroll
from screens.shared.text_area_entry import TextEntry

ALL = "todos"


def deadline(case: StaffCase) -> str:
    if case.due_on is None:
        return ""
    if case.days_left is None:
        return date_text(case.due_on)
    if case.days_left < 0:
        return f"vencido {-case.days_left} d"
    return f"{case.days_left} d"


class StaffContactScreen(MemberScreen):
    HELP = ("Los reclamos, consultas y sugerencias que los socios envían desde «Contacto». Los reclamos van "
            "primero, por su plazo legal; tu respuesta la lee el socio en «Mis mensajes» y le llega un SMS.")
    HELP_KEYS = [("↑ ↓", "Recorrer los casos; abajo se ve el mensaje y sus respuestas")]
    BINDINGS = [Binding("f2", "answer", "Responder", id="staff_contact.answer", tooltip="Enviar la respuesta"),
                Binding("f3", "close_case", "Cerrar caso", id="staff_contact.close", tooltip="Cerrar el caso"),
                Binding("f5", "reload", "Actualizar", id="staff_contact.reload", tooltip="Volver a leer la cola")]
    DEFAULT_CSS = """
    StaffContactScreen #contact-filters { height: 1; margin: 0 1; }
    StaffContactScreen #contact-filters Select { width: 24; margin-right: 2; }
    StaffContactScreen #staff-cases { height: 7; margin: 0 1; }
    StaffContactScreen #staff-case-scroll { height: 1fr; margin: 0 1; }
    StaffContactScreen #staff-answer { height: 3; margin: 0 1; }
    StaffContactScreen #staff-contact-status { height: 1; margin: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.cases: dict[str, StaffCase] = {}
        self.current: StaffCase | None = None
        self.message = ""  # the outcome of the last answer or close, kept above the reloaded queue's count
        self.requested: tuple[str, str] | None = None  # the filters of the last reading of the queue

    def compose_body(self) -> ComposeResult:
        yield Label("Mensajes de socios", classes="section-title")
        with Horizontal(id="contact-filters"):
            yield Select([(label, key) for key, label in FILTERS.items()], id="state", value="abiertos",
                         allow_blank=False, compact=True)
            yield Select([("Todos los asuntos", ALL)] + [(label, key) for key, label in SUBJECTS.items()],
                         id="subject", value=ALL, allow_blank=False, compact=True)
        yield DataTable(id="staff-cases", cursor_type="row", zebra_stripes=True)
        with FormScroll(id="staff-case-scroll"):
            yield Static("", id="staff-case-detail")
        yield TextEntry(id="staff-answer", compact=True, placeholder="Respuesta para el socio (F2 la envía)")
        yield Static("", id="staff-contact-status")

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one("#staff-cases", DataTable)
        table.add_column("Caso", width=13)
        table.add_column("Socio", width=22)
        table.add_column("Asunto", width=10)
        table.add_column("Estado", width=11)
        table.add_column("Plazo", width=10)
        table.focus()
        self.action_reload()

    def _filters(self) -> tuple[str, str]:
        state = self.query_one("#state", Select).value
        subject = self.query_one("#subject", Select).value
        return str(state), "" if subject == ALL else str(subject)

    @on(Select.Changed)
    def filter_changed(self) -> None:
        if self._filters() != self.requested:  # not each Select's own Changed as it is mounted: read once
            self.action_reload()

    def action_reload(self) -> None:
        state, subject = self.requested = self._filters()
        self.call("cases", self.coop.backend.contact_staff.cases, self.coop.token, state, subject,
                  hold_keys=True)  # ↓ typed before the rows are there moves in them

    def done_cases(self, cases: list[StaffCase]) -> None:
        self.cases = {str(c.id): c for c in cases}
        table = self.query_one("#staff-cases", DataTable)
        table.clear()
        for c in cases:
            table.add_row(safe_text(c.number), safe_text(c.member_name), safe_text(c.subject_label),
                          safe_text(c.queue_state, style="bold red" if c.overdue else ""),
                          safe_text(deadline(c)), key=str(c.id))
        if self.current is not None and str(self.current.id) in self.cases:  # stay on the case just worked
            table.move_cursor(row=table.get_row_index(str(self.current.id)))
        overdue = sum(c.overdue for c in cases)
        status = f"Casos: {len(cases)}" + (f" · reclamos vencidos: {overdue}" if overdue else "")
        if not cases:
            status = "No hay casos con ese filtro."
        self.query_one("#staff-contact-status", Static).update(
            safe_text(f"{self.message} · {status}" if self.message else status))
        self.message = ""
        if not cases:
            self.current = None
            self.query_one("#staff-case-detail", Static).update("")

    @on(DataTable.RowHighlighted, "#staff-cases")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        case = self.cases.get(str(event.row_key.value))
        if case is not None:
            self.call("case", self.coop.backend.contact_staff.case, self.coop.token, case.id)

    def done_case(self, case: StaffCase) -> None:
        self.current = case
        text = SafeText()
        text.append(f"{case.subject_label} {case.number} · {case.member_name} · {stamp_text(case.created_at)}\n",
                    style="bold")
        text.append(case.body + "\n")
        if case.due_on:
            text.append(f"Plazo legal de respuesta: {case.due_on:%d/%m/%Y}\n", style="bold red" if case.overdue
                        else "dim")
        for reply in case.replies:
            if reply.from_member:  # the member wrote back: the case reopened
                text.append(f"\nEl socio respondió · {stamp_text(reply.created_at)}\n", style="bold yellow")
            else:
                text.append(f"\nRespuesta de {reply.author} · {stamp_text(reply.created_at)}\n", style="bold green")
            text.append(reply.body + "\n")
        if case.closed_at:
            text.append(f"\nCerrado por {case.closed_by} · {stamp_text(case.closed_at)}", style="dim")
        self.query_one("#staff-case-detail", Static).update(safe_text(text))

    def action_answer(self) -> None:
        """The member reads the answer at once and gets an SMS: asked once before it goes."""
        case = self.current
        if case is None:
            return
        body = self.query_one("#staff-answer", TextArea).text
        if len(body) > MAX_TEXT:
            self._say(f"La respuesta admite hasta {MAX_TEXT:,} caracteres.", error=True)
            return
        if not body.strip():
            self._say("Escribe la respuesta para el socio.", error=True)
            self.query_one("#staff-answer", TextArea).focus()
            return
        preview = body if len(body) <= 300 else body[:300] + "…"
        self.app.push_screen(
            # The case number first: after a long member name it was cut off the dialog's one-line title.
            ConfirmModal(f"¿Enviar la respuesta del caso {case.number}?", f"Para: {case.member_name}\n\n{preview}",
                         accept="Enviar"),
            lambda yes: self._send(case, body) if yes else None)

    def _send(self, case: StaffCase, body: str) -> None:
        self.call("answer", self.coop.backend.contact_staff.answer, self.coop.token, case.id, body)

    def done_answer(self, case: StaffCase) -> None:
        self.query_one("#staff-answer", TextArea).text = ""
        self.message = f"Respuesta enviada al socio ({case.number})."
        self.done_case(case)
        self.action_reload()

    def failed_answer(self, error: ServiceError) -> None:
        self._say(error.message, error=True)
        self.query_one("#staff-answer", TextArea).focus()

    def action_close_case(self) -> None:
        """Closing ends the case: the member can no longer write back in it. Asked once, as an answer is."""
        case = self.current
        if case is None:
            return

        def close(yes: bool | None) -> None:
            if yes:
                self.call("close", self.coop.backend.contact_staff.close, self.coop.token, case.id)

        self.app.push_screen(
            ConfirmModal(f"¿Cerrar el caso {case.number}?", f"Socio: {case.member_name}\n\nEl socio ya no podrá responder en "
                         "este caso.", accept="Cerrar caso"), close)

    def done_close(self, case: StaffCase) -> None:
        self.message = f"Caso {case.number} cerrado."
        self.done_case(case)
        self.action_reload()

    def failed_close(self, error: ServiceError) -> None:
        self._say(error.message, error=True)

    def _say(self, message: str, error: bool = False) -> None:
        self.query_one("#staff-contact-status", Static).update(safe_text(message, style="bold red" if error else "bold"))
