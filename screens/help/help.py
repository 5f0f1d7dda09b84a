"""Help for every screen (F1) and the help topics the command palette reaches.

A screen says what it is for with a `HELP` class attribute (or through its row in the section
registry), and its keys are read from its own BINDINGS, so the help cannot drift from what the keys
do. `HELP_KEYS` adds keys a screen handles without a binding (Enter on a table, say).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from backend.help.faq import Faq, faqs, search
from screens.menu.registry import SECTIONS, Section, by_key
from screens.shared.base import MemberScreen
from screens.shared.safe_text import SafeText, safe_text
from screens.shared.text_entry import TextInput

# What the screens built before this module say about themselves (new screens declare HELP).
KNOWN: dict[str, tuple[str, str]] = {
    "LoginScreen": ("Ingreso", "Ingresa con tu usuario y contraseña de Cooprogreso en Línea. Si aún no tienes "
                               "usuario, afíliate con «Regístrate aquí»."),
    "AffiliationScreen": ("Regístrate aquí", "Afíliate a Cooprogreso en Línea: validamos tu identidad con un "
                                             "código enviado a tu celular registrado y creas tu usuario y contraseña."),
    "MenuScreen": ("Menú de opciones", "Elige una sección con las flechas y Enter, o con su número."),
    "MovementsScreen": ("Detalle de Movimientos", "Los movimientos del producto: filtra por fechas o texto, pasa "
                                                  "de página y exporta a CSV lo filtrado."),
    "LoanScheduleScreen": ("Tabla de amortización", "Cada cuota de tu crédito con su capital, interés y estado."),
    "BeneficiaryModal": ("Beneficiario", "Registra o edita un beneficiario; se autoriza con un código de "
                                         "seguridad."),
    "ConfirmModal": ("Confirmación", "Revisa los datos antes de continuar: Aceptar sigue, Cancelar (Esc) no hace "
                                     "nada."),
    "OtpModal": ("Código de seguridad", "Escribe el código de 6 dígitos que llegó por SMS a tu celular. La "
                                        "cooperativa nunca te lo pide por teléfono ni por mensaje."),
    "ReceiptModal": ("Comprobante", "Tu comprobante, con su código de verificación; puedes guardarlo como archivo "
                                    "de texto."),
    "StaffCodeModal": ("Código de la aplicación autenticadora", "El personal confirma su ingreso con el código "
                                                                "de 6 dígitos de su aplicación autenticadora."),
    "DecisionModal": ("Aprobar o rechazar", "Una operación que espera tu aprobación: revisa sus datos, escribe una "
                                            "nota y apruébala o recházala."),
    "StatementScreen": ("Estado de cuenta", "El estado de cuenta de tu tarjeta: corte, pago mínimo, pago total, "
                                            "fecha máxima de pago y sus movimientos."),
    "CardRegistrationModal": ("Añadir una tarjeta", "Registra una tarjeta para pagarla; se confirma con un código "
                                                    "de seguridad."),
    "SimulationScreen": ("Simulación Diferido", "La cuota, el interés y la tabla de amortización del diferido, y "
                                                "cada plazo comparado; Confirmar lo autoriza con tu código."),
    "DeferralSuccessModal": ("Diferido exitoso", "Tu diferido quedó registrado con sus cuotas."),
    "MyDeferralsScreen": ("Mis diferidos", "Cada diferido de tu tarjeta con las cuotas que le quedan."),
    "RegisterModal": ("Registro de Servicio", "Registra un servicio: categoría y entidad, cuenta de débito, "
                                              "identificador y alias; se confirma con un código de seguridad."),
    "AliasModal": ("Alias del servicio", "Cambia el nombre con el que reconoces este servicio registrado."),
    "NotAvailableScreen": ("Sección no disponible", "Esta sección aún no está disponible en la edición terminal."),
}
KNOWN_KEYS: dict[str, list[tuple[str, str]]] = {
    "MovementsScreen": [("Enter", "Aplicar el filtro escrito")],
}
# Keys every screen answers to (the App's own bindings).
GLOBAL_KEYS = [("F1", "Ayuda de esta pantalla"), ("Ctrl+P", "Buscar una sección o un tema de ayuda")]
OURS = ("screens", "cooprogreso_tui")
KEY_NAMES = {"escape": "Esc", "enter": "Enter", "space": "Espacio", "delete": "Supr", "tab": "Tab",
             "up": "↑", "down": "↓", "left": "←", "right": "→"}


@dataclass(frozen=True)
class HelpTopic:
    title: str
    body: str
    keys: tuple[tuple[str, str], ...] = ()


def key_name(key: str) -> str:
    """«ctrl+s» → «Ctrl+S», «escape» → «Esc», «f3» → «F3»."""
    parts = key.split("+")
    out = []
    for part in parts:
        if part in KEY_NAMES:
            out.append(KEY_NAMES[part])
        elif part in ("ctrl", "shift", "alt"):
            out.append(part.capitalize())
        elif len(part) > 1 and part[0] == "f" and part[1:].isdigit():
            out.append(part.upper())
        else:
            out.append(part.upper() if len(parts) > 1 else part)
    return "+".join(out)


def screen_keys(screen: Screen) -> list[tuple[str, str]]:
    """(key, what it does) for every described binding of the screen's class and its bases."""
    chosen: dict[str, tuple[str, str]] = {}
    for cls in reversed(type(screen).__mro__):
        if cls.__module__.split(".")[0] not in OURS:
            continue  # Textual's own (Tab, Ctrl+C) are the same everywhere and not the co-op's to explain
        for binding in Binding.make_bindings(cls.__dict__.get("BINDINGS", [])):
            text = binding.description or binding.tooltip
            if binding.description and binding.tooltip and binding.tooltip != binding.description:
                text = f"{binding.description}: {binding.tooltip[0].lower()}{binding.tooltip[1:]}"
            if text:
                chosen[binding.key] = (key_name(binding.key), text)
    extra = list(getattr(screen, "HELP_KEYS", ())) or KNOWN_KEYS.get(type(screen).__name__, [])
    return list(chosen.values()) + extra


def screen_purpose(screen: Screen) -> tuple[str, str]:
    """(title, what the screen is for)."""
    section_key = getattr(screen, "section_key", None)
    if section_key:
        section = by_key(section_key)
        if section.help:
            return section.plain_title, section.help
    cls = type(screen)
    own = cls.__dict__.get("HELP")
    title = getattr(screen, "HELP_TITLE", "") or ""
    if own:
        return title or _section_title(cls) or "Ayuda", own
    path = f"{cls.__module__}:{cls.__name__}"
    for section in SECTIONS:
        if section.screen == path and section.help:
            return section.plain_title, section.help
    known_title, known = KNOWN.get(cls.__name__, ("", ""))
    return title or known_title or "Ayuda", known


def _section_title(cls: type) -> str:
    path = f"{cls.__module__}:{cls.__name__}"
    return next((s.plain_title for s in SECTIONS if s.screen == path), "")


def screen_help(screen: Screen) -> HelpTopic:
    title, purpose = screen_purpose(screen)
    return HelpTopic(f"Ayuda · {title}", purpose, tuple(screen_keys(screen)) + tuple(GLOBAL_KEYS))


def section_topics(audience: str = "socio") -> list[tuple[Section, HelpTopic]]:
    """One help topic per menu entry that opens something."""
    return [(s, HelpTopic(f"Ayuda · {s.plain_title}", s.help)) for s in SECTIONS
            if s.help and s.screen and s.audience == audience]


class HelpModal(ModalScreen[None]):
    """One help topic: what it is for and its keys. Esc or F1 closes it."""

    HELP = "Esta ventana de ayuda. Ciérrala para volver a donde estabas."
    BINDINGS = [Binding("escape", "close", "Cerrar", id="help.close", tooltip="Cerrar la ayuda"),
                Binding("f1", "close", show=False, id="help.close_f1")]

    def __init__(self, topic: HelpTopic) -> None:
        super().__init__()
        self.topic = topic

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="help-box"):
            yield Label(safe_text(self.topic.title), classes="dialog-title")
            with VerticalScroll(id="help-scroll"):
                yield Static(safe_text(self.topic.body or "Esta pantalla no tiene ayuda propia."), id="help-body")
                if self.topic.keys:
                    keys = safe_text("\nTeclas\n", style="bold")
                    for key, what in self.topic.keys:
                        keys.append(f"{key:>8}", style="bold")
                        keys.append(f"  {what}\n")
                    yield Static(safe_text(keys), id="help-keys")
            yield Static("Esc: cerrar · Ctrl+P: buscar otro tema", id="help-hint")

    def on_mount(self) -> None:
        self.query_one("#help-scroll").focus()

    def action_close(self) -> None:
        self.dismiss(None)


# -- «8. Ayuda» ------------------------------------------------------------------------------------


class FaqScreen(MemberScreen):
    HELP = ("Preguntas frecuentes: escribe una palabra y la lista se filtra mientras escribes; busca en las "
            "preguntas y en las respuestas.")
    HELP_KEYS = [("↑ ↓", "Recorrer las preguntas; abajo se ve la respuesta")]
    BINDINGS = [Binding("ctrl+f", "focus_search", "Buscar", id="faq.search", tooltip="Escribir qué buscas"),
                Binding("f2", "about", "Acerca de", id="faq.about", tooltip="Versión, contacto y archivos"),
                Binding("f3", "holidays", "Feriados", id="faq.holidays",
                        tooltip="Los feriados del año y su fuente: lo que vence en uno se paga el siguiente día hábil"),
                Binding("f4", "rates", "Tasas máximas", id="faq.rates",
                        tooltip="Las tasas de interés máximas vigentes por segmento, con su fuente")]

    def __init__(self, select: str | None = None) -> None:
        super().__init__()
        self.select = select
        self.entries: list[Faq] = []
        self.shown: list[Faq] = []

    def compose_body(self) -> ComposeResult:
        yield Label("Ayuda · Preguntas frecuentes", classes="section-title")
        yield TextInput(placeholder="Buscar: código, bloqueo, cupo, reclamo…", id="faq-search", max_length=60,
                    compact=True)
        yield OptionList(id="faq-list")
        with VerticalScroll(id="faq-scroll"):
            yield Static("", id="faq-answer")

    def on_mount(self) -> None:
        super().on_mount()
        self.entries = faqs(self.coop.backend.settings)
        self.show(self.entries)
        if self.select:
            ids = [e.id for e in self.shown]
            if self.select in ids:
                self.query_one("#faq-list", OptionList).highlighted = ids.index(self.select)
                self.query_one("#faq-list", OptionList).focus()
                return
        self.query_one("#faq-search", Input).focus()

    def show(self, entries: list[Faq]) -> None:
        self.shown = entries
        options = self.query_one("#faq-list", OptionList)
        options.clear_options()
        options.add_options([Option(safe_text(e.question), id=e.id) for e in entries])
        if entries:
            options.highlighted = 0
        else:
            self.query_one("#faq-answer", Static).update(
                "No encontramos esa palabra. Prueba con otra o escríbenos en «6. Contacto».")

    @on(Input.Changed, "#faq-search")
    def filter(self, event: Input.Changed) -> None:
        self.show(search(self.entries, event.value))

    @on(Input.Submitted, "#faq-search")
    def to_list(self) -> None:
        self.query_one("#faq-list", OptionList).focus()

    @on(OptionList.OptionHighlighted, "#faq-list")
    def highlighted(self, event: OptionList.OptionHighlighted) -> None:
        entry = next((e for e in self.shown if e.id == event.option.id), None)
        if entry:
            text = safe_text(f"{entry.question}\n", style="bold")
            text.append(entry.answer, style="not bold")
            self.query_one("#faq-answer", Static).update(safe_text(text))
            self.query_one("#faq-scroll", VerticalScroll).scroll_home(animate=False)

    def action_focus_search(self) -> None:
        self.query_one("#faq-search", Input).focus()

    def action_about(self) -> None:
        from screens.menu.registry import screen_for

        self.app.push_screen(screen_for("ayuda_acerca"))

    def action_holidays(self) -> None:
        from screens.menu.registry import screen_for

        self.app.push_screen(screen_for("ayuda_feriados"))

    def action_rates(self) -> None:
        from screens.menu.registry import screen_for

        self.app.push_screen(screen_for("ayuda_tasas"))


@dataclass(frozen=True)
class About:
    version: str
    config_file: str
    log_file: str
    db_path: str
    export_dir: str


class AboutScreen(MemberScreen):
    HELP = "Acerca de: la versión de la aplicación, cómo contactar a la cooperativa y dónde guarda sus archivos."

    def compose_body(self) -> ComposeResult:
        yield Label("Ayuda · Acerca de", classes="section-title")
        with VerticalScroll(id="about-scroll"):
            yield Static("", id="about")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#about-scroll").focus()
        self.call("channels", self.coop.backend.contact.channels, self.coop.token)

    def done_channels(self, channels) -> None:
        about: About = self.coop.about()
        text = SafeText()
        text.append("Cooprogreso en Línea · edición terminal\n", style="bold")
        text.append(f"Versión {about.version}\nCooperativa de Ahorro y Crédito Cooprogreso\n\n")
        text.append("Contacto\n", style="bold")
        for c in channels:
            text.append(f"  {c.label}: {c.value}\n")
        if any(c.demo for c in channels):
            text.append("  (datos de demostración)\n", style="dim")
        text.append("\nArchivos\n", style="bold")
        for label, path in (("Configuración", about.config_file), ("Registro (log)", about.log_file),
                            ("Base de datos", about.db_path), ("Exportaciones", about.export_dir)):
            text.append(f"  {label}: ", style="bold")
            text.append(f"{path}\n")
        self.query_one("#about", Static).update(safe_text(text))


class HolidaysScreen(MemberScreen):
    """The co-op calendar in force (backend/core/business_days.py): why a due date moved, and where the dates come from."""

    HELP = ("Feriados: los días no hábiles del año y su fuente. Lo que vence en sábado, domingo o feriado (fecha "
            "máxima de pago, cuotas, plazo fijo, pagos programados) se paga el siguiente día hábil.")
    BINDINGS = [Binding("left", "year(-1)", "Año anterior", id="holidays.prev", show=False, priority=True),
                Binding("right", "year(1)", "Año siguiente", id="holidays.next", show=False, priority=True)]

    def __init__(self) -> None:
        super().__init__()
        self.year: int | None = None

    def compose_body(self) -> ComposeResult:
        yield Label("Ayuda · Feriados", classes="section-title", id="holidays-title")
        with VerticalScroll(id="holidays-scroll"):
            yield Static("", id="holidays")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#holidays-scroll").focus()
        self.call("year", self.coop.backend.calendar.year, self.coop.token, self.year)

    def action_year(self, step: int) -> None:
        if self.year is not None:
            self.call("year", self.coop.backend.calendar.year, self.coop.token, self.year + step)

    def done_year(self, view) -> None:
        self.year = view.year
        self.query_one("#holidays-title", Label).update(safe_text(f"Ayuda · Feriados {view.year}"))
        text = SafeText()
        if not view.holidays:
            text.append("  Sin feriados registrados: solo sábados y domingos son días no hábiles.\n")
        for h in view.holidays:
            text.append(f"  {h.day:%d/%m/%Y}  ", style="bold")
            text.append(f"{WEEKDAYS[h.day.weekday()]:<9} {h.name}")
            if h.kind != "feriado":
                text.append(" · trasladado" if h.kind == "traslado" else " · puente decretado", style="dim")
            if not h.verified:
                text.append(" · sin verificar", style="dim")
            text.append("\n")
        text.append("\nLo que vence en sábado, domingo o feriado se paga el siguiente día hábil.\n")
        text.append("Fuente: ", style="bold")
        text.append(f"{view.source}\n")
        for warning in view.warnings:
            text.append(f"\n{warning}\n", style="dim")
        text.append("\n← → año anterior o siguiente", style="dim")
        self.query_one("#holidays", Static).update(safe_text(text))


class RatesScreen(MemberScreen):
    """The legal rate caps in force (backend/core/rates.py): the most the co-op may charge, and where it comes from."""

    HELP = ("Tasas máximas: la tasa de interés efectiva anual más alta que la ley permite cobrar en cada segmento "
            "de crédito, con su fuente. Ningún crédito ni diferido de la cooperativa la supera.")

    def compose_body(self) -> ComposeResult:
        yield Label("Ayuda · Tasas máximas", classes="section-title", id="rates-title")
        with VerticalScroll(id="rates-scroll"):
            yield Static("", id="rates")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#rates-scroll").focus()
        self.call("caps", self.coop.backend.rates.in_force, self.coop.token)

    def done_caps(self, view) -> None:
        text = SafeText()
        text.append(f"Tasas máximas vigentes al {view.on:%d/%m/%Y}\n", style="bold")
        text.append("Tasa efectiva anual; fija la Junta de Política y Regulación Financiera, publica el Banco "
                    "Central del Ecuador.\n\n")
        sources: list[str] = []
        for cap in view.caps:
            if cap.source not in sources:
                sources.append(cap.source)
            mark = f" [{sources.index(cap.source) + 1}]" + ("*" if not cap.verified else "")
            text.append(f"  {cap.label:<37}", style="bold")
            text.append(f"{cap.max_effective * 100:>6.2f}%  desde {cap.valid_from:%d/%m/%Y}{mark}\n")
        if any(not cap.verified for cap in view.caps):
            text.append("  * sin verificar contra la tabla publicada de esa fecha\n", style="dim")
        text.append("\nFuente\n", style="bold")
        for n, source in enumerate(sources, start=1):
            text.append(f"  [{n}] {source}\n")
        if view.stale:
            text.append("\nEl BCE publica estas tasas cada mes y la cooperativa aún no carga la tabla más reciente.\n",
                        style="dim")
        self.query_one("#rates", Static).update(safe_text(text))


WEEKDAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
