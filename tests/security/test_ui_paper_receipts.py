"""«Imprimir» on a teller's receipt at 80×24: the receipt goes to the agency's CUPS printer and the dialog says
where; a member's receipt has no «Imprimir» (no branch printer at home)."""

from __future__ import annotations

from textual.widgets import Button

from screens.shared.receipt import ReceiptModal
from tests.branch.test_ui_staff import deposit, staff_login
from tests.conftest import add_member
from tests.cups_helpers import printed
from tests.security.test_paper_receipts import assign
from tests.staff_helpers import enrol, sign_in
from tests.ui import SIZE, make_app, screen_text, settle


async def test_the_teller_prints_the_deposit_receipt_at_the_branch(backend, clock, cups, monkeypatch):
    monkeypatch.setenv("CUPS_SERVER", cups.server)
    cajero = enrol(backend, "cajero1", "cajero", "Rosa Quispe")
    add_member(backend, cedula="1104680135", first="Ana María", last="Prueba Uno", balance=100_00)
    backend.tills.open_till(sign_in(backend, cajero, clock).token, "500")
    clock.advance(seconds=30)  # the next authenticator code
    assign(backend, "cajero1", cups.queue)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, cajero)
        await pilot.press("2")
        await settle(pilot)
        await deposit(pilot, "45.50")
        await pilot.click("#accept")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptModal) and app.screen.query_one("#print", Button)
        reference, code = app.screen.receipt.reference, app.screen.receipt.verification
        await pilot.press("i")
        await settle(pilot)
        for _ in range(100):
            if "enviado a la impresora" in screen_text(app):
                break
            await pilot.pause(0.1)
        text = screen_text(app)
        assert f"impresora {cups.queue}" in text and "MATRIZ" in text
    job = text.split("trabajo ", 1)[1].split(")", 1)[0]
    paper = printed(cups, job, code)  # the code is this database's own; references repeat across tests
    assert "$45.50" in paper and reference in paper


async def test_a_members_receipt_has_no_print_button(backend):
    from datetime import datetime

    from backend.security import receipts

    receipt = receipts.make(b"k" * 32, kind="transferencia", title="Transferencia", lines=[("Monto", "$1.00")],
                            reference="T-1", created_at=datetime(2026, 11, 25, 10, 0), result_id=1)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(ReceiptModal(receipt))
        await settle(pilot)
        assert not app.screen.query("#print")
