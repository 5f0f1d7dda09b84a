"""«PDF» on a member's receipt at 80×24 (issue 22): a transfer's and a service payment's comprobante saved as the
signed PDF, 0600, in the export folder (local or SSH: the member is not at a branch), its amount, reference and
code read back by `pdftotext`; in the browser it is a download and nothing is left on the server; a teller's
receipt keeps «Imprimir» and has no «PDF»."""

from __future__ import annotations

import os
import stat

from textual.widgets import Button

from backend.security import documents
from screens.bill_payments.service_pay import PayScreen
from screens.shared.receipt import ReceiptModal
from tests.bill_payments.test_ui_services import confirm_with_code, open_section, press_button
from tests.products.test_account_statement import alter_figure, needs_poppler, pdftotext
from tests.services_helpers import loaded
from tests.transfer_helpers import number_of
from tests.transfers.test_ui_transfers import confirm_and_code, fill_and_continue, open_transfer
from tests.ui import SIZE, make_app, screen_text, settle, type_into


async def said(pilot, words: str) -> str:
    """What the dialog says once the file is out (a worker thread renders it: a busy machine takes a few frames)."""
    for _ in range(100):
        if words in screen_text(pilot.app):
            break
        await pilot.pause(0.1)
    return screen_text(pilot.app)


def saved_pdf(tmp_path, receipt) -> bytes:
    files = list(tmp_path.glob("comprobante-*.pdf"))
    assert len(files) == 1 and files[0].name.startswith(receipt.file_stem)  # write_private never overwrites
    assert stat.S_IMODE(os.stat(files[0]).st_mode) == 0o600
    return files[0].read_bytes()


@needs_poppler
async def test_a_transfer_receipt_saved_as_pdf(backend, ana, tmp_path):
    app = make_app(backend, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_transfer(pilot, "terceros")
        await type_into(pilot, "#account", number_of(backend, ana.accounts[0]))
        await fill_and_continue(pilot, "40.25")
        await confirm_and_code(pilot)
        assert isinstance(app.screen, ReceiptModal) and app.screen.query_one("#pdf", Button).region.width
        receipt = app.screen.receipt
        await pilot.press("p")
        assert "Guardado en" in await said(pilot, "Guardado en")
        assert isinstance(app.screen, ReceiptModal)  # still there to «Guardar» or close
    data = saved_pdf(tmp_path, receipt)
    text = pdftotext(data, tmp_path)
    assert "$40.25" in text and receipt.reference in text and "Comprobante de Transferencia" in text
    assert f"Código de verificación: {documents.printed_code(data)}" in text and receipt.verification in text
    secrets = backend.ctx.receipt_secrets()
    assert documents.verify(secrets, data) and not documents.verify(secrets, alter_figure(data, b"$40.25", b"$49.25"))


@needs_poppler
async def test_a_service_payment_receipt_saved_as_pdf(make_backend, tmp_path):
    backend = loaded(make_backend(session_idle_seconds=10**7))
    app = make_app(backend, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "servicios_pagar", PayScreen)
        await press_button(pilot, "#consult")
        await press_button(pilot, "#pay")
        await confirm_with_code(pilot, backend)
        assert isinstance(app.screen, ReceiptModal) and app.screen.receipt.title == "Pago de Servicios"
        receipt = app.screen.receipt
        await pilot.click("#pdf")
        await said(pilot, "Guardado en")
    data = saved_pdf(tmp_path, receipt)
    text = pdftotext(data, tmp_path)
    amount, total = receipt.get("Monto"), receipt.get("Total debitado")
    assert amount and amount != "$0.00" and amount in text and total in text
    assert receipt.reference in text and "Pago de Servicios" in text and receipt.get("Entidad") in text
    assert f"Código de verificación: {documents.printed_code(data)}" in text
    assert documents.verify(backend.ctx.receipt_secrets(), data)


@needs_poppler
async def test_in_the_browser_the_pdf_is_a_download_and_nothing_stays_on_the_server(backend, ana, tmp_path,
                                                                                    monkeypatch):
    from cooprogreso_tui.app import CooprogresoApp

    app = make_app(backend, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_transfer(pilot, "terceros")
        await type_into(pilot, "#account", number_of(backend, ana.accounts[0]))
        await fill_and_continue(pilot, "12")
        await confirm_and_code(pilot)
        receipt = app.screen.receipt
        delivered: list[tuple[bytes, str, str]] = []
        monkeypatch.setattr(CooprogresoApp, "is_web", property(lambda self: True))  # Textual's, not ours
        monkeypatch.setattr(app, "deliver_binary", lambda data, *, save_filename, mime_type:
                            delivered.append((data.read(), save_filename, mime_type)))
        await pilot.press("p")
        await said(pilot, "Se descargó")
        told = str(app.screen.query_one("#receipt-saved").render())
    assert told == f"Se descargó {receipt.file_stem}.pdf en tu navegador."
    [(data, name, mime)] = delivered
    assert name == f"{receipt.file_stem}.pdf" and mime == "application/pdf"
    assert documents.verify(backend.ctx.receipt_secrets(), data) and "$12.00" in pdftotext(data, tmp_path)
    assert not list(tmp_path.glob("comprobante-*"))


async def test_a_tellers_receipt_has_no_pdf_button(backend):
    from datetime import datetime

    from backend.security import receipts

    receipt = receipts.make(b"k" * 32, kind="deposito", title="Depósito", lines=[("Monto", "$1.00")],
                            reference="V-1", created_at=datetime(2026, 11, 25, 10, 0), result_id=1)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(ReceiptModal(receipt, save=lambda directory: directory, print_=lambda: "impreso"))
        await settle(pilot)
        assert not app.screen.query("#pdf") and app.screen.query("#print")
        await pilot.press("p")  # the key does nothing on a teller's receipt
        await settle(pilot)
        assert "Guardado" not in screen_text(app)
