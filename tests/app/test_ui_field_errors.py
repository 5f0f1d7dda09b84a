"""Every form says a refusal the same way (screens/shared/field_errors.py): the message on the line beside the
field, the focus on that field, and the line cleared as soon as the person fixes the field."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Select, Static

from screens.bill_payments.service_schedules import ProgramarScreen
from screens.cards.cards import CardRegistrationModal
from screens.transfers.beneficiaries import BeneficiaryModal
from tests.bill_payments.test_ui_services import choose, open_section, press_button
from tests.cards.test_ui_cards import open_section as open_cards
from tests.services_helpers import loaded
from tests.transfers.test_ui_beneficiaries import open_screen as open_beneficiaries
from tests.transfers.test_ui_transfers import open_transfer
from tests.ui import SIZE, make_app, settle, type_into


def said(screen, line: str) -> str:
    return str(screen.query_one(line, Static).render())


async def fix(pilot, selector: str, text: str) -> None:
    """The person retypes the field the form pointed at (it has the focus)."""
    assert pilot.app.screen.focused is pilot.app.screen.query_one(selector)
    await pilot.press("end", *["backspace"] * len(pilot.app.screen.focused.value), *text)
    await settle(pilot)


@pytest.fixture
def loaded_backend(make_backend):
    return loaded(make_backend(session_idle_seconds=10**7))


async def test_programar_pago_says_the_amount_error_beside_the_amount_and_clears_it_when_fixed(loaded_backend):
    app = make_app(loaded_backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "servicios_programar", ProgramarScreen)
        await choose(pilot, "#category", "Telefonía móvil")
        await choose(pilot, "#biller", "CLARO")
        app.screen.query_one("#identifier", Input).value = "0991234561"
        app.screen.query_one("#max-amount", Input).value = "4x5"
        await press_button(pilot, "#schedule")
        screen = app.screen
        assert said(screen, "#max-amount-error") and not said(screen, "#schedule-error")  # not above the button
        assert screen.focused is screen.query_one("#max-amount")
        await fix(pilot, "#max-amount", "45")
        assert not said(screen, "#max-amount-error")


async def test_the_beneficiary_dialog_focuses_the_refused_field_and_clears_its_message_when_fixed(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_beneficiaries(pilot)
        await pilot.press("a")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, BeneficiaryModal)
        await type_into(pilot, "#name", "Ana Prueba")
        await type_into(pilot, "#id-number", "1104680136")  # wrong check digit
        await type_into(pilot, "#account", "4100000027")
        modal.query_one("#name").focus()
        await pilot.click("#save")
        await settle(pilot)
        assert "dígito verificador" in said(modal, "#id-error") and not said(modal, "#form-error")
        assert modal.focused is modal.query_one("#id-number")
        await pilot.press("backspace")
        await settle(pilot)
        assert not said(modal, "#id-error")


async def test_the_card_registration_focuses_the_refused_number_and_clears_its_message_when_fixed(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_cards(pilot, "tarjetas_otros")
        await pilot.click("#add-card")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, CardRegistrationModal)
        modal.query_one("#institution", Select).value = "0010"
        modal.query_one("#numero", Input).value = "4111 1111 1111 1112"
        modal.query_one("#holder-name", Input).value = "Lucía Guamán"
        modal.query_one("#id-number", Input).value = "1709543210"
        modal.query_one("#register").focus()
        await pilot.press("enter")
        await settle(pilot)
        assert "dígito verificador" in said(modal, "#numero-error")
        assert modal.focused is modal.query_one("#numero")
        await pilot.press("backspace")
        await settle(pilot)
        assert not said(modal, "#numero-error")


async def test_a_transfer_refusal_is_cleared_when_its_field_is_fixed(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_transfer(pilot, "propia")
        await type_into(pilot, "#amount", "1e9")
        await pilot.click("#continue")
        await settle(pilot)
        screen = app.screen
        assert said(screen, "#amount-error") and screen.focused is screen.query_one("#amount")
        await fix(pilot, "#amount", "12")
        assert not said(screen, "#amount-error")


async def test_a_note_the_screen_writes_itself_is_not_cleared_by_the_fields_it_fills(backend, ana):
    """Only a refusal said with `field_error` goes when a field changes: the own-transfer form's note for a
    member with one savings account stays while the form fills and focuses its fields."""
    from screens.menu.registry import screen_for
    from tests.ui import login

    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "ana.prueba", "Clave2026x")
        app.push_screen(screen_for("transferencias_propias"))
        await settle(pilot)
        assert "Necesitas al menos dos cuentas" in said(app.screen, "#dest-error")
