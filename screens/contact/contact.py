"""Section 6, Contacto: channels and agencies (filter by city), «Escríbenos» and «Mis mensajes»."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, DataTable, Label, Select, Static, TextArea

from backend.contact.contact import MAX_TEXT, SUBJECTS, Agency, Case, Channel
from backend.core.errors import ServiceError
from screens.menu.registry import screen_for as open_entry
from screens.shared.base import MemberScreen
from screens.shared.safe_text import SafeText, safe_text
from screens.shared.scroll import FormScroll
from screens.shared.text_area_entry import TextEntry

DEMO_NOTE = "Datos de demostración: teléfonos, correos y direcciones ficticios."
ALL = "__todas__"


class ContactScreen(MemberScreen):
    HELP = "Los canales de atención de Cooprogreso y sus agencias; filtra las agencias por ciudad."
    HELP_KEYS = [("↑ ↓", "Recorrer las agencias; abajo se ven sus horarios")]
    BINDINGS = [Binding("e", "write", "Escríbenos", id="contact.write", tooltip="Envíanos un reclamo, consulta o sugerencia"),
                Binding("m", "messages", "Mis mensajes", id="contact.messages", tooltip="Tus mensajes y nuestras respuestas"),
                Binding("c", "focus_city", "Ciudad", id="contact.city", tooltip="Filtrar las agencias por ciudad")]

    def __init__(self) -> None:
        super().__init__()
        self.agencies: list[Agency] = []
        self.city: str | None = None  # the city of the agencies last asked for (None: all)

    def compose_body(self) -> ComposeResult:
        yield Label("Contacto · Canales y agencias", classes="section-title")
        yield Static("", id="demo-note")
        yield Static("", id="channels")
        with Horizontal(id="city-row"):
            yield Label("Ciudad ")
            yield Select([("Todas", ALL)], id="city", value=ALL, allow_blank=False, compact=True)
        yield DataTable(id="agencies", cursor_type="row", zebra_stripes=True)
        yield Static("", id="agency-detail")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#demo-note").display = False
        table = self.query_one("#agencies", DataTable)
        table.add_column("Agencia", width=20)
        table.add_column("Ciudad", width=10)
        table.add_column("Dirección", width=23)
        table.add_column("Teléfono", width=13)
        table.focus()
        backend, token = self.coop.backend, self.coop.token
        self.call("channels", backend.contact.channels, token)
        self.call("cities", backend.contact.cities, token)
        self.call("agencies", backend.contact.agencies, token, None, hold_keys=True)  # ↓ typed meanwhile: in the rows

    def done_channels(self, channels: list[Channel]) -> None:
        text = SafeText()
        for c in channels:
            text.append(f"{c.label}: ", style="bold")
            text.append(f"{c.value} · ")
            text.append(f"{c.hours}\n", style="dim")
        self.query_one("#channels", Static).update(safe_text(text))
        self._demo(any(c.demo for c in channels))

    def done_cities(self, cities: list[str]) -> None:
        self.query_one("#city", Select).set_options([("Todas", ALL)] + [(safe_text(c), c) for c in cities])

    def done_agencies(self, agencies: list[Agency]) -> None:
        self.agencies = agencies
        table = self.query_one("#agencies", DataTable)
        table.clear()
        for a in agencies:
            table.add_row(safe_text(a.name), safe_text(a.city), safe_text(a.address), safe_text(a.phone), key=a.code)
        self._demo(any(a.demo for a in agencies))
        if not agencies:
            self.query_one("#agency-detail", Static).update("No hay agencias en esa ciudad.")

    def _demo(self, demo: bool) -> None:
        if demo:
            note = self.query_one("#demo-note", Static)
            note.update(DEMO_NOTE)
            note.display = True

    @on(Select.Changed, "#city")
    def city_changed(self, event: Select.Changed) -> None:
        city = None if event.value in (ALL, Select.NULL) else str(event.value)
        if city == self.city:  # the Select's own Changed as it is mounted: all agencies are being read already
            return
        self.city = city
        self.call("agencies", self.coop.backend.contact.agencies, self.coop.token, city, hold_keys=True)

    @on(DataTable.RowHighlighted, "#agencies")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        agency = next((a for a in self.agencies if a.code == event.row_key.value), None)
        if agency:
            self.query_one("#agency-detail", Static).update(
                safe_text(f"Agencia {agency.name} · {agency.address}, {agency.city} · Tel. {agency.phone} · {agency.hours}"))

    def action_focus_city(self) -> None:
        self.query_one("#city", Select).focus()

    def action_write(self) -> None:
        self.app.push_screen(open_entry("contacto_escribenos"))

    def action_messages(self) -> None:
        self.app.push_screen(open_entry("contacto_mensajes"))


class WriteScreen(MemberScreen):
    HELP = ("Escríbenos un reclamo, una consulta o una sugerencia (hasta 1,000 caracteres). Recibes un número "
            "de caso y ves nuestra respuesta en «Mis mensajes».")
    BINDINGS = [Binding("f2", "send", "Enviar", id="write.send", tooltip="Enviar el mensaje"),
                Binding("f3", "messages", "Mis mensajes", id="write.messages", tooltip="Ver tus mensajes")]

    def compose_body(self) -> ComposeResult:
        yield Label("Contacto · Escríbenos", classes="section-title")
        with FormScroll(classes="form", id="write-form"):
            yield Label("Asunto")
            yield Select([(label, key) for key, label in SUBJECTS.items()], id="subject",
                         prompt="Elige el asunto", compact=True)
            yield Static("", id="subject-note")
            yield Label("Mensaje")
            yield TextEntry(id="text", compact=True, placeholder="Cuéntanos con detalle (mínimo 10 caracteres)")
            yield Static(f"0 / {MAX_TEXT:,} caracteres", id="counter")
            yield Static("", id="write-error", classes="field-error")
            yield Button("Enviar", id="send", variant="primary", compact=True)
            yield Static("", id="write-done")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#subject", Select).focus()

    @on(Select.Changed, "#subject")
    def subject_changed(self, event: Select.Changed) -> None:
        days = self.coop.backend.settings.reclamo_response_days
        note = (f"Respondemos los reclamos en un plazo máximo de {days} días, como exige el ente de control."
                if event.value == "reclamo" else "")
        self.query_one("#subject-note", Static).update(safe_text(note))

    @on(TextArea.Changed, "#text")
    def count(self, event: TextArea.Changed) -> None:
        length = len(event.text_area.text)
        counter = self.query_one("#counter", Static)
        counter.update(safe_text(f"{length:,} / {MAX_TEXT:,} caracteres", style="bold red" if length > MAX_TEXT else ""))

    @on(Button.Pressed, "#send")
    def action_send(self) -> None:
        subject = self.query_one("#subject", Select).value
        self.query_one("#write-error", Static).update("")
        self.query_one("#send", Button).disabled = True
        self.call("send", self.coop.backend.contact.write, self.coop.token,
                  "" if subject == Select.NULL else subject, self.query_one("#text", TextArea).text)

    def failed_send(self, error: ServiceError) -> None:
        self.query_one("#send", Button).disabled = False
        self.query_one("#write-error", Static).update(safe_text(error.message))
        target = {"subject": "#subject", "text": "#text"}.get(error.field or "")
        if target:
            self.query_one(target).focus()

    def done_send(self, case: Case) -> None:
        self.query_one("#send", Button).disabled = False
        self.query_one("#text", TextArea).text = ""
        done = f"Recibimos tu {case.subject_label.lower()}. Tu número de caso es {case.number}."
        if case.due_on:
            done += f" Te responderemos hasta el {case.due_on:%d/%m/%Y}."
        self.query_one("#write-done", Static).update(safe_text(done + " Síguelo en «Mis mensajes» (F3).", style="bold"))
        self.coop.show_demo_phone()

    def action_messages(self) -> None:
        self.app.push_screen(open_entry("contacto_mensajes"))


def stamp_text(stamp: str) -> str:
    """«2026-11-25 11:00:00» → «25/11/2026 11:00»."""
    return f"{stamp[8:10]}/{stamp[5:7]}/{stamp[:4]} {stamp[11:16]}"


def due_text(case: Case) -> str:
    if case.due_on is None:
        return ""
    if case.days_left is None:
        return f"{case.due_on:%d/%m/%Y}"
    if case.days_left < 0:
        return f"vencido {-case.days_left} d"
    return f"{case.days_left} d ({case.due_on:%d/%m})"


class MessagesScreen(MemberScreen):
    HELP = ("Tus mensajes a la cooperativa con su estado y nuestras respuestas. Los reclamos muestran el plazo "
            "que tenemos para responder.")
    HELP_KEYS = [("↑ ↓", "Recorrer los mensajes; abajo se ve el texto y la respuesta")]
    BINDINGS = [Binding("f2", "reply", "Responder", id="messages.reply",
                        tooltip="Responder a nuestra respuesta (el caso vuelve a revisión)"),
                Binding("r", "reload", "Actualizar", id="messages.reload", tooltip="Volver a consultar")]
    DEFAULT_CSS = """
    MessagesScreen #reply { height: 3; margin: 0 1; }
    MessagesScreen #reply-status { height: 1; margin: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.cases: list[Case] = []
        self.current: Case | None = None

    def compose_body(self) -> ComposeResult:
        yield Label("Contacto · Mis mensajes", classes="section-title")
        yield DataTable(id="cases", cursor_type="row", zebra_stripes=True)
        with FormScroll(id="case-scroll"):
            yield Static("", id="case-detail")
        yield TextEntry(id="reply", compact=True, placeholder="Tu respuesta a un caso respondido (F2 la envía)")
        yield Static("", id="reply-status")

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one("#cases", DataTable)
        table.add_column("Caso", width=13)
        table.add_column("Fecha", width=10)
        table.add_column("Asunto", width=10)
        table.add_column("Estado", width=24)
        table.add_column("Plazo", width=12)
        table.focus()
        self.action_reload()

    def action_reload(self) -> None:
        self.call("cases", self.coop.backend.contact.cases, self.coop.token)

    def action_reply(self) -> None:
        case = self.current
        if case is None:
            return
        if not case.can_reply:
            self._say("Ese caso está cerrado: escríbenos un mensaje nuevo." if case.closed else
                      "Podrás responder cuando te hayamos respondido.", error=True)
            return
        self.call("reply", self.coop.backend.contact.reply, self.coop.token, case.id,
                  self.query_one("#reply", TextArea).text)

    def done_reply(self, case: Case) -> None:
        self.query_one("#reply", TextArea).text = ""
        self._say(f"Enviamos tu respuesta; el caso {case.number} vuelve a revisión.")
        self.current = case
        self.action_reload()

    def failed_reply(self, error: ServiceError) -> None:
        self._say(error.message, error=True)
        self.query_one("#reply", TextArea).focus()

    def _say(self, message: str, error: bool = False) -> None:
        self.query_one("#reply-status", Static).update(safe_text(message, style="bold red" if error else "bold"))

    def done_cases(self, cases: list[Case]) -> None:
        self.cases = cases
        table = self.query_one("#cases", DataTable)
        table.clear()
        for c in cases:
            table.add_row(safe_text(c.number), safe_text(stamp_text(c.created_at)[:10]), safe_text(c.subject_label),
                          safe_text(c.state_label), safe_text(due_text(c)), key=str(c.id))
        keep = next((c for c in cases if self.current is not None and c.id == self.current.id), None)
        if keep is not None:  # stay on the case just replied to, shown as it is now
            table.move_cursor(row=table.get_row_index(str(keep.id)))
            self.show(keep)
        if not cases:
            self.query_one("#case-detail", Static).update("Aún no nos has escrito. Usa «Escríbenos».")

    @on(DataTable.RowHighlighted, "#cases")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        case = next((c for c in self.cases if str(c.id) == event.row_key.value), None)
        if case is not None:
            self.show(case)

    def show(self, case: Case) -> None:
        self.current = case
        text = SafeText()
        text.append(f"{case.subject_label} {case.number} · {case.state_label}\n", style="bold")
        text.append(case.body + "\n")
        if case.due_on and case.days_left is not None:
            text.append(f"Plazo de respuesta: hasta el {case.due_on:%d/%m/%Y}\n", style="dim")
        for reply in case.replies:
            if reply.from_member:
                text.append(f"\nTu respuesta · {stamp_text(reply.created_at)}\n", style="bold")
            else:
                text.append(f"\nRespuesta de Cooprogreso · {stamp_text(reply.created_at)}\n", style="bold green")
            text.append(reply.body + "\n")
        if not case.replies:
            text.append("\nAún sin respuesta.", style="dim")
        elif case.can_reply:
            text.append("\n¿Algo más? Escribe abajo y envía con F2: el caso vuelve a revisión.", style="dim")
        self.query_one("#case-detail", Static).update(safe_text(text))
        # The newest answer is the part to read: at 80×24 a long one was cut below the view, so the view ends there
        scroll = self.query_one("#case-scroll", VerticalScroll)
        scroll.call_after_refresh(scroll.scroll_end, animate=False)
