"""«Estado de cuenta» on paper: pick a month, see it at 80×24, download it as PDF or CSV.

One screen for a savings account (Productos) and a card (Pago de Tarjetas): `fetch(month, fmt)` is the area's
service call. The file goes out through `downloads.hand_over`: a download in the browser, a private (0600)
file in the export folder in a terminal.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, Label, Select, Static

from backend.core.periods import month_label
from backend.security.documents import Paper
from screens.shared.base import MemberScreen
from screens.shared.downloads import hand_over
from screens.shared.safe_text import safe_text
from screens.shared.scroll import FormScroll

PREVIEW_ROWS = 40


def recent_months(today: date, count: int = 12) -> list[tuple[str, str]]:
    """(label, AAAA-MM) of this month and the `count - 1` before it, newest first."""
    out, year, month = [], today.year, today.month
    for _ in range(count):
        first = date(year, month, 1)
        out.append((month_label(first).capitalize(), f"{first:%Y-%m}"))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out


def preview(paper: Paper) -> str:
    doc = paper.document
    lines = [doc.title] + [f"{label}: {value}" for label, value in doc.header] + [""]
    lines += [f"{label:<24} {value}" for label, value in doc.summary]
    if doc.columns:
        when, what, *money = doc.columns
        lines += ["", f"{when:<11}  {what:<26}" + "".join(f"{m:>11}" for m in money)]
        for row in doc.rows[:PREVIEW_ROWS]:
            when, what, *money = row
            lines.append(f"{when[:5]} {when[-5:]}  {what[:26]:<26}" + "".join(f"{m:>11}" for m in money))
        if len(doc.rows) > PREVIEW_ROWS:
            lines.append(f"… y {len(doc.rows) - PREVIEW_ROWS} movimientos más en el PDF o CSV.")
        if not doc.rows:
            lines.append("Sin movimientos en el período.")
    return "\n".join(lines)


class PaperScreen(MemberScreen):
    HELP = ("Estado de cuenta mensual: elige el mes, revisa la vista previa y descárgalo en PDF o CSV. "
            "Cada página lleva un código de verificación para comprobar que no fue alterado.")
    BINDINGS = [Binding("p", "download('pdf')", "PDF", id="paper.pdf", tooltip="Descargar el estado de cuenta en PDF"),
                Binding("c", "download('csv')", "CSV", id="paper.csv", tooltip="Descargar el estado de cuenta en CSV")]
    DEFAULT_CSS = """
    PaperScreen #paper-month { margin: 0 1; width: 30; }
    PaperScreen #paper-scroll { margin: 0 1; height: 1fr; }
    PaperScreen #paper-buttons { height: 1; margin: 0 1; }
    PaperScreen #paper-said { margin: 0 1; height: auto; }
    """

    def __init__(self, title: str, fetch: Callable[[str, str], Paper],
                 latest: Callable[[], str | None] | None = None) -> None:
        """`latest()`, where given, names the month with the newest statement (AAAA-MM) the screen opens on: a
        card's this month has none until its cut. Without it, or when it names none, the screen opens on this month."""
        super().__init__()
        self.title_text = title
        self.fetch = fetch
        self.latest = latest

    def compose_body(self) -> ComposeResult:
        yield Label(safe_text(f"Estado de cuenta · {self.title_text}"), classes="section-title")
        months = recent_months(self.coop.backend.now().date())
        yield Select(months, id="paper-month", value=months[0][1], allow_blank=False, compact=True)
        with FormScroll(id="paper-scroll"):
            yield Static("", id="paper-preview")
        yield Static("", id="paper-said")
        with Horizontal(id="paper-buttons"):
            yield Button("Descargar PDF", id="pdf", variant="primary", compact=True)
            yield Button("Descargar CSV", id="csv", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        if self.latest is None:
            self._load()
        else:
            self.query_one("#paper-preview", Static).update("Preparando el estado de cuenta…")
            self.call("latest", self.latest)

    def done_latest(self, month: str | None) -> None:
        select = self.query_one("#paper-month", Select)
        if month and month != select.value and any(month == value for _, value in recent_months(
                self.coop.backend.now().date())):
            select.value = month  # its Changed loads it
        else:
            self._load()

    def failed_latest(self, error) -> None:
        self._load()  # this month's, which says what is wrong if it is that

    @on(Select.Changed, "#paper-month")
    def _load(self) -> None:
        month = str(self.query_one("#paper-month", Select).value)
        self.query_one("#paper-preview", Static).update("Preparando el estado de cuenta…")
        self.call("preview", self.fetch, month, "csv")  # the same document: the CSV is quicker to make

    def done_preview(self, paper: Paper) -> None:
        self.query_one("#paper-preview", Static).update(safe_text(preview(paper)))

    def failed_preview(self, error) -> None:
        self.query_one("#paper-preview", Static).update(safe_text(error.message))

    @on(Button.Pressed, "#pdf")
    def _pdf(self) -> None:
        self.action_download("pdf")

    @on(Button.Pressed, "#csv")
    def _csv(self) -> None:
        self.action_download("csv")

    def action_download(self, fmt: str) -> None:
        month = str(self.query_one("#paper-month", Select).value)
        self.query_one("#paper-said", Static).update("Preparando el archivo…")
        self.call("download", self._download, month, fmt)

    def _download(self, month: str, fmt: str) -> str:
        paper = self.fetch(month, fmt)
        return hand_over(self.app, paper.document.stem, paper.suffix, paper.data, paper.mime_type)

    def done_download(self, said: str) -> None:
        self.query_one("#paper-said", Static).update(safe_text(said))

    def failed_download(self, error) -> None:
        self.query_one("#paper-said", Static).update(safe_text(error.message))
