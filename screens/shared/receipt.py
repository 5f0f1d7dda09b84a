"""The one receipt view: a comprobante of any kind as it will be printed or saved, with «Guardar» and, for a
member's own, «PDF» (the signed paper a teller prints, downloaded or saved like a statement)."""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from backend.security.receipts import Receipt
from screens.shared.calls import ServiceCalls
from screens.shared.downloads import hand_over
from screens.shared.safe_text import safe_text
from screens.shared.scroll import FormScroll
from screens.shared.styled import StyledWhenShown


class ReceiptModal(StyledWhenShown, ServiceCalls, ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "close", "Cerrar", id="receipt.close", tooltip="Cerrar el comprobante"),
        Binding("g", "save", "Guardar", id="receipt.save", tooltip="Guardar el comprobante como archivo de texto"),
        Binding("i", "print", "Imprimir", id="receipt.print", tooltip="Imprimir el comprobante en la agencia"),
        Binding("p", "pdf", "PDF", id="receipt.pdf", tooltip="Descargar el comprobante en PDF"),
    ]

    def __init__(self, receipt: Receipt, save: Callable[[str], str] | None = None,
                 print_: Callable[[], str] | None = None) -> None:
        """`save(directory) -> path` stores the comprobante (default: the signed-in person's receipt);
        `print_() -> what to say` prints it at the branch (tellers: their agency's printer)."""
        super().__init__()
        self.receipt = receipt
        self.save = save
        self.print_ = print_

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="receipt-box"):
            with FormScroll(id="receipt-scroll"):
                yield Static(safe_text(self.receipt.text), id="receipt-text")
            yield Static("", id="receipt-saved")  # shown once saved
            with Horizontal(classes="buttons"):
                yield Button("Guardar comprobante", id="save", variant="primary", compact=True)
                if self.save is None:  # a member's own: the PDF a teller would print
                    yield Button("PDF", id="pdf", compact=True)
                if self.print_ is not None:
                    yield Button("Imprimir", id="print", compact=True)
                yield Button("Cerrar", id="close", compact=True)

    def on_mount(self) -> None:
        self.query_one("#receipt-saved").display = False
        self.query_one("#close", Button).focus()

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        if self.save is not None:
            save = self.save
            self.call("save", lambda directory: f"Guardado en {save(directory)}", self.coop.export_dir)
            return
        self.call("save", self._save, self.receipt.kind, self.receipt.result_id)

    def _save(self, kind: str, result_id: int) -> str:
        """A member's comprobante: a download in the browser, a private file in a terminal."""
        ops, token = self.coop.backend.ops, self.coop.token
        if self.app.is_web:
            receipt = ops.download_receipt(token, kind, result_id)
            return hand_over(self.app, receipt.file_stem, ".txt", receipt.text.encode("utf-8"), "text/plain")
        return f"Guardado en {ops.save_receipt(token, kind, result_id, self.coop.export_dir)}"

    @on(Button.Pressed, "#pdf")
    def action_pdf(self) -> None:
        if self.save is None:
            self.call("pdf", self._pdf, self.receipt.kind, self.receipt.result_id, on_done=self.done_save)

    def _pdf(self, kind: str, result_id: int) -> str:
        """The signed PDF: a download in the browser, a private file in a terminal (local or SSH, as a statement)."""
        paper = self.coop.backend.ops.receipt_pdf(self.coop.token, kind, result_id)
        return hand_over(self.app, paper.document.stem, paper.suffix, paper.data, paper.mime_type)

    @on(Button.Pressed, "#print")
    def action_print(self) -> None:
        if self.print_ is not None:
            self.call("print", self.print_, on_done=self.done_save)  # said where «Guardado en …» is

    def done_save(self, said: str) -> None:
        saved = self.query_one("#receipt-saved", Static)
        saved.update(safe_text(said))
        saved.display = True
        self.query_one("#receipt-box").add_class("saved")

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)
