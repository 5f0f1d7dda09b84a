"""«Registrar socio» at 80×24, whole: the form, its confirmation (a stray Enter cancels), then the teller's
cash opening deposit that opens the account (issue #19, know your member)."""

from __future__ import annotations

from textual.widgets import Select

from screens.branch.staff_cash import CashScreen
from screens.branch.staff_members import EnrolScreen
from screens.shared.confirm import ConfirmModal
from screens.shared.receipt import ReceiptModal
from tests.branch.test_ui_staff import deposit, staff_login
from tests.staff_helpers import enrol, sign_in
from tests.ui import SIZE, make_app, screen_text, settle

CEDULA = "1104680135"
FORM = {"id_number": CEDULA, "first_names": "Carmen Rosa", "last_names": "Tipán Cando", "birth_date": "14/03/1988",
        "mobile": "0987001122", "email": "carmen.tipan@correo.ec", "address": "Av. Amazonas N34-12, Quito",
        "occupation": "[b]Comerciante[/b]", "monthly_income": "1,250.50"}


def member(backend):
    return backend.db.conn.execute("SELECT status, opening, occupation, monthly_income, opening_entry_id FROM members"
                                   " WHERE id_number = ?", (CEDULA,)).fetchone()


async def filled_form(pilot, backend, aten, **changes: str) -> None:
    """Signed in as atención, «Registrar socio» open with FORM (and `changes`) typed in."""
    await staff_login(pilot, backend, aten)
    await pilot.press("1")
    await settle(pilot)
    assert isinstance(pilot.app.screen, EnrolScreen)
    for key, value in {**FORM, **changes}.items():
        pilot.app.screen.query_one(f"#{key}").value = value


async def test_a_refused_field_is_said_beside_it_in_sight(backend):
    """The form scrolls to the field the service refused: the reason is said under that field, on screen (said above
    the button at the form's end, it was out of sight, and the officer saw only the form jump). The PEP question is
    read whole at 80×24."""
    aten = enrol(backend, "atencion9", "atencion", "Marta Vélez", "0903456788")
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await filled_form(pilot, backend, aten, id_number="1104680136")  # a wrong check digit
        app.screen.query_one("#pep", Select).value = "no"
        app.screen.query_one("#enrol").focus()  # the form scrolled to its end, as after typing every field
        await pilot.press("enter")
        await settle(pilot)
        await pilot.wait_for_scheduled_animations()  # the form's scroll to the field, ended
        for _ in range(20):  # scrolled into view after a refresh: on a busy machine, a few frames
            if "dígito verificador" in screen_text(app):
                break
            await pilot.pause(0.05)
        text = screen_text(app)
        assert "dígito verificador" in text and app.screen.query_one("#id_number").has_focus, text
        assert "1104680136" in text, text  # the field and its reason, both in sight
        assert not isinstance(app.screen, ConfirmModal) and member(backend) is None
        app.screen.query_one("#id_number").value = CEDULA  # changed: the refusal goes
        await settle(pilot)
        assert "dígito verificador" not in screen_text(app)
        app.screen.query_one("#pep").scroll_visible(animate=False)
        await settle(pilot)
        text = screen_text(app)  # on two lines: it was cut at «cercano d»
        assert "familiar o colaborador cercano" in text and "de una?" in text, text


async def test_registration_with_confirmation_then_the_opening_deposit(backend, clock):
    aten = enrol(backend, "atencion9", "atencion", "Marta Vélez", "0903456788")
    cajero = enrol(backend, "cajero9", "cajero", "Rosa Quispe", "0901234567")
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await filled_form(pilot, backend, aten)
        app.screen.query_one("#enrol").press()  # the PEP question unanswered: said, nothing saved
        await settle(pilot)
        for _ in range(20):  # the message is scrolled into view after a refresh: on a busy machine, a few frames
            if "persona expuesta" in screen_text(app):
                break
            await pilot.pause(0.05)
        assert not isinstance(app.screen, ConfirmModal) and "persona expuesta" in screen_text(app)
        app.screen.query_one("#pep", Select).value = "no"
        app.screen.query_one("#enrol").press()
        await settle(pilot)
        text = screen_text(app)
        assert isinstance(app.screen, ConfirmModal) and "¿Registrar al socio?" in text
        assert "Ocupación: [b]Comerciante[/b]" in text and "Ingreso mensual: $1,250.50" in text  # literal
        await pilot.press("enter")  # the dialog starts on «Cancelar»: a stray Enter saves nothing
        await settle(pilot)
        assert isinstance(app.screen, EnrolScreen) and member(backend) is None
        app.screen.query_one("#enrol").press()
        await settle(pilot)
        await pilot.click("#accept")
        await settle(pilot)
        text = screen_text(app)
        assert "Socio registrado: Carmen Rosa Tipán Cando" in text and "depósito de apertura" in text
        assert tuple(member(backend))[:4] == ("inactivo", "deposito_pendiente", "[b]Comerciante[/b]", 1250_50)
    sign_in(backend, cajero, clock)
    backend.tills.open_till(cajero.token, "500")
    clock.advance(seconds=30)  # a fresh authenticator code for the screen's sign-in
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, cajero)
        await pilot.press("2")
        await settle(pilot)
        assert isinstance(app.screen, CashScreen)
        await deposit(pilot, "10")
        assert "Pendiente del depósito de apertura" in screen_text(app)
        assert "mínimo es $20.00" in screen_text(app) and member(backend)[0] == "inactivo"
        app.screen.query_one("#amount").value = "25"
        app.screen.query_one("#amount").focus()
        await pilot.press("enter")
        await settle(pilot)
        text = screen_text(app)
        assert isinstance(app.screen, ConfirmModal) and "Confirma el depósito de apertura" in text
        await pilot.click("#accept")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptModal) and "$25.00" in screen_text(app)
    status, opening, _, _, entry = member(backend)
    assert (status, opening) == ("activo", None) and entry is not None
    assert backend.check() == []
