"""Administración de Beneficiarios through the screens: add, edit, delete (one and several)."""

from textual.widgets import DataTable, Select

from backend.transfers.beneficiaries import BeneficiaryForm
from screens.shared.confirm import ConfirmModal
from screens.shared.otp import OtpModal
from screens.shared.receipt import ReceiptModal
from screens.transfers.beneficiaries import BeneficiariesScreen, BeneficiaryModal
from tests.conftest import last_code
from tests.transfer_helpers import number_of, save_beneficiary
from tests.ui import SIZE, make_app, screen_text, settle, signed_in, type_into


def seed(backend, *forms):
    token = backend.auth.login("demo", "Demo-2026!").token
    for form in forms:
        save_beneficiary(backend, token, form)


def pichincha(name, account):
    return BeneficiaryForm("interbancaria", name, "cedula", "0926687856", account, "0010", "ahorros")


async def open_screen(pilot):
    await signed_in(pilot, "beneficiarios")
    assert isinstance(pilot.app.screen, BeneficiariesScreen)


def names(backend):
    return [b.name for b in backend.beneficiaries.list(backend.auth.login("demo", "Demo-2026!").token)]


async def save_form(pilot):
    await pilot.click("#save")
    await settle(pilot)


async def test_add_with_code(backend, ana):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_screen(pilot)
        assert "No tienes beneficiarios registrados" in screen_text(app)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, BeneficiaryModal)
        await type_into(pilot, "#name", "Ana Prueba")
        await type_into(pilot, "#id-number", "1104680135")
        await type_into(pilot, "#account", number_of(backend, ana.accounts[0]))
        await save_form(pilot)
        assert isinstance(app.screen, ConfirmModal) and "Confirma el nuevo beneficiario" in screen_text(app)
        await pilot.click("#accept")
        await settle(pilot)
        assert isinstance(app.screen, OtpModal)
        await type_into(pilot, "#otp-code", last_code(backend))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptModal) and "Registro de Beneficiario" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, BeneficiariesScreen)
        assert "Ana Prueba" in screen_text(app) and "Terceros" in screen_text(app)
    assert names(backend) == ["Ana Prueba"]


async def test_bad_id_and_duplicate_are_refused_in_the_form(backend, ana):
    seed(backend, pichincha("Pedro Andrade", "2200123456"))
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_screen(pilot)
        await pilot.press("a")
        await pilot.pause()
        await type_into(pilot, "#name", "Ana Prueba")
        await type_into(pilot, "#id-number", "1104680136")
        await type_into(pilot, "#account", number_of(backend, ana.accounts[0]))
        await save_form(pilot)
        assert "dígito verificador" in screen_text(app)
        modal = app.screen
        modal.query_one("#service", Select).value = "interbancaria"
        await pilot.pause()
        modal.query_one("#institution", Select).value = "0010"
        await type_into(pilot, "#id-number", "0926687856")
        await type_into(pilot, "#account", "2200123456")
        await save_form(pilot)
        assert "Ya tienes registrada esa cuenta como «Pedro Andrade»" in screen_text(app)
        assert isinstance(app.screen, BeneficiaryModal)
        await pilot.press("escape")
        await pilot.pause()
    assert names(backend) == ["Pedro Andrade"]


async def test_rename_needs_no_code_and_account_change_does(backend):
    seed(backend, pichincha("Pedro Andrade", "2200123456"))
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_screen(pilot)
        await pilot.press("e")
        await settle(pilot)
        await type_into(pilot, "#name", "Pedro A. (proveedor)")
        await save_form(pilot)
        assert isinstance(app.screen, BeneficiariesScreen)  # saved at once, no code
        await settle(pilot)
        assert "Pedro A. (proveedor)" in screen_text(app)
        await pilot.press("e")
        await settle(pilot)
        await type_into(pilot, "#account", "2200999999")
        await save_form(pilot)
        assert isinstance(app.screen, ConfirmModal) and "******9999" in screen_text(app)
        await pilot.click("#accept")
        await settle(pilot)
        assert isinstance(app.screen, OtpModal)
        await pilot.press("escape")
        await settle(pilot)
        assert "falta confirmar con el código" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
    token = backend.auth.login("demo", "Demo-2026!").token
    assert [b.account_number for b in backend.beneficiaries.list(token)] == ["2200123456"]


async def test_delete_cancel_then_accept(backend):
    seed(backend, pichincha("Pedro Andrade", "2200123456"), pichincha("Rosa Vega", "2200555555"))
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_screen(pilot)
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        assert "¿Está seguro que desea eliminar el beneficiario?" in screen_text(app)
        await pilot.click("#cancel")
        await settle(pilot)
        assert names(backend) == ["Pedro Andrade", "Rosa Vega"]
        await pilot.press("d")
        await pilot.pause()
        await pilot.click("#accept")
        await settle(pilot)
        assert names(backend) == ["Rosa Vega"]
        assert app.screen.query_one("#beneficiaries", DataTable).row_count == 1


async def test_space_d_enter_deletes_nothing(backend):
    """The delete dialog starts on «Cancelar»: a stray Enter after `d` keeps the beneficiary."""
    seed(backend, pichincha("Pedro Andrade", "2200123456"))
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_screen(pilot)
        await pilot.press("space", "d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal) and app.focused.id == "cancel"
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmModal)
    assert names(backend) == ["Pedro Andrade"]


async def test_multi_delete(backend):
    seed(backend, pichincha("Pedro Andrade", "2200123456"), pichincha("Rosa Vega", "2200555555"),
         pichincha("Tomás Yánez", "2200777777"))
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_screen(pilot)
        await pilot.press("space", "down", "down", "space")
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        assert "eliminar los 2 beneficiarios marcados" in screen_text(app)
        await pilot.click("#accept")
        await settle(pilot)
    assert names(backend) == ["Rosa Vega"]


async def test_every_column_header_fits_80_columns(backend):
    seed(backend, pichincha("María José Quishpe Andrango", "2200112233"))
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_screen(pilot)
        text = screen_text(app)
        for header in ("Servicio", "Beneficiario", "Identificación", "Institución", "Cuenta"):
            assert header in text
        assert "María José Quishpe Andrango" in text  # the detail line names the whole beneficiary
        table = app.screen.query_one("#beneficiaries", DataTable)
        assert table.virtual_size.width <= table.size.width  # nothing hides past the right edge


async def test_enter_moves_through_the_form_and_saves_from_the_account(backend, ana):
    """Typed as in every other form: name Enter, identification Enter, account Enter saves (Enter did
    nothing in any of the dialog's fields), and keys typed fast after an Enter land in the next field."""
    from tests.app.test_ui_typeahead import burst

    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_screen(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, BeneficiaryModal) and app.screen.query_one("#name").has_focus
        burst(app, *"Ana Prueba", "enter")
        await settle(pilot)
        assert app.screen.query_one("#name").value == "Ana Prueba"
        assert app.screen.query_one("#id-type").has_focus  # the type of identification, then its number
        await pilot.press("tab")
        burst(app, *"1104680135", "enter", *number_of(backend, ana.accounts[0]), "enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal) and "Confirma el nuevo beneficiario" in screen_text(app)
        assert "1104680135" in screen_text(app)
