"""A refusal is read whole at 80×24: message lines wrap inside their layout instead of losing their end."""

from screens.shared.confirm import ConfirmModal
from screens.transfers.beneficiaries import BeneficiaryModal
from tests.transfer_helpers import number_of
from tests.transfers.test_ui_beneficiaries import open_screen, save_form
from tests.ui import SIZE, make_app, screen_text, settle, type_into


def joined(app) -> str:
    """The screen's words in order, with the dialog's side borders taken out of wrapped lines."""
    return " ".join(screen_text(app).replace("│", " ").replace("▎", " ").split())


async def test_add_beneficiary_shows_the_whole_refusal(backend, ana):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_screen(pilot)
        await pilot.press("a")
        await pilot.pause()
        await type_into(pilot, "#name", "Ana Prueba")
        await type_into(pilot, "#id-number", "0926687856")
        await type_into(pilot, "#account", number_of(backend, ana.accounts[0]))  # not in that person's name
        await save_form(pilot)
        assert isinstance(app.screen, BeneficiaryModal)
        message = str(app.screen.query_one("#account-error").render())  # beside the account it is about
        assert message.startswith("No encontramos una cuenta de ahorros Cooprogreso activa")
        assert " ".join(message.split()) in joined(app)


async def test_the_staff_request_queue_shows_a_long_refusal_whole(backend, clock):
    from screens.branch.staff_requests import StaffRequestsScreen
    from tests.branch.test_ui_staff import staff_login
    from tests.branch.test_ui_staff_queues import select_row
    from tests.staff_helpers import enrol

    received = backend.db.conn.execute("SELECT id FROM product_requests WHERE state = 'Recibida' ORDER BY id LIMIT 1"
                                       ).fetchone()[0]
    aten = enrol(backend, "atencion9", "atencion", "Marta Vélez")
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, aten)
        await pilot.press("4")
        await settle(pilot)
        assert isinstance(app.screen, StaffRequestsScreen)
        select_row(app, "#requests", str(received))
        await settle(pilot)
        await pilot.press("f2")  # into review: F4 rejects
        await settle(pilot)
        select_row(app, "#requests", str(received))
        await settle(pilot)
        app.screen.query_one("#request-reason").value = "Ingresos \u202eno justificados"
        await pilot.press("f4")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)  # rejecting is confirmed first; the service refuses after
        text = screen_text(app)
        assert "\\u202e" in text and "\u202e" not in text  # the typed override is shown, never obeyed
        if isinstance(app.screen, ConfirmModal):
            await pilot.click("#accept")
            await settle(pilot)
        message = str(app.screen.query_one("#requests-status").render())
        assert "contiene caracteres no permitidos (de control o invisibles)." in message and len(message) > 78
        assert " ".join(message.split()) in joined(app)
