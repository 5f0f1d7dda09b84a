"""Pago de Servicios through the screens at 80×24: Registro, Pagar, Programar, Consultar, Historial."""

import os

import pytest
from textual.widgets import Button, Input, Select

from screens.bill_payments.service_history import PaymentHistoryScreen
from screens.bill_payments.service_pay import PayScreen
from screens.bill_payments.service_schedules import ConsultarScreen, ProgramarScreen
from screens.bill_payments.services import RegisterModal, ServicesScreen
from screens.shared.confirm import ConfirmModal
from screens.shared.otp import OtpModal
from screens.shared.receipt import ReceiptModal
from tests.conftest import last_code
from tests.services_helpers import loaded, savings_of
from tests.transfer_helpers import balance_of, demo_member
from tests.ui import SIZE, login, make_app, screen_text, settle, signed_in, type_into


@pytest.fixture
def backend(make_backend):
    return loaded(make_backend(session_idle_seconds=10**7))


async def open_section(pilot, key: str, kind) -> None:
    await signed_in(pilot, key)
    assert isinstance(pilot.app.screen, kind)


async def confirm_with_code(pilot, backend) -> None:
    assert isinstance(pilot.app.screen, ConfirmModal)
    await pilot.click("#accept")
    await settle(pilot)
    assert isinstance(pilot.app.screen, OtpModal)
    await type_into(pilot, "#otp-code", last_code(backend))
    await pilot.press("enter")
    await settle(pilot)


async def press_button(pilot, selector: str) -> None:
    """Focus (which scrolls it into view) and press: forms taller than 24 rows scroll."""
    pilot.app.screen.query_one(selector).focus()
    await pilot.pause()
    await pilot.press("enter")
    await settle(pilot)


async def choose(pilot, selector: str, value) -> None:
    pilot.app.screen.query_one(selector, Select).value = value
    await settle(pilot)


async def test_registro_lists_registers_with_a_code_and_deletes_after_confirming(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "servicios_registro", ServicesScreen)
        text = screen_text(app)
        assert "Teléfono casa" in text and "Luz departamento" in text
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, RegisterModal)
        await choose(pilot, "#category", "Agua")
        await choose(pilot, "#biller", "INTERAGUA")
        assert "Número de cuenta" in screen_text(app)
        app.screen.query_one("#identifier", Input).value = "12-34"
        app.screen.query_one("#alias", Input).value = "Agua [b]mamá[/b]"
        await pilot.click("#confirm")
        await settle(pilot)
        assert "de 6 a 10 dígitos" in screen_text(app)  # the entity's own hint, nothing sent
        # issue 21: the one way errors show (screens/shared/field_errors.py): beside the field, focused, cleared
        assert "de 6 a 10 dígitos" in str(app.screen.query_one("#identifier-error").render())
        assert app.focused is app.screen.query_one("#identifier", Input)
        await pilot.press("backspace")
        await settle(pilot)
        assert "de 6 a 10 dígitos" not in screen_text(app)
        app.screen.query_one("#identifier", Input).value = "4000122"
        await pilot.click("#confirm")
        await settle(pilot)
        assert "Confirma el registro del servicio" in screen_text(app)
        await confirm_with_code(pilot, backend)
        assert isinstance(app.screen, ReceiptModal) and "Registro de Servicio" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ServicesScreen) and "Agua [b]mamá[/b]" in screen_text(app)
        await pilot.press("d")
        await settle(pilot)
        assert "¿Está seguro que desea eliminar el servicio?" in screen_text(app)
        await pilot.click("#accept")
        await settle(pilot)
    who = demo_member(backend)
    assert len(backend.services.services(who.token)) == 2


async def test_pagar_consults_shows_the_quota_and_pays_with_a_code(backend):
    who = demo_member(backend)
    account = savings_of(backend, who.member_id)[0]
    before = balance_of(backend, account)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "servicios_pagar", PayScreen)
        await press_button(pilot, "#consult")
        text = screen_text(app)
        assert "Cupo disponible hoy: $1,500.00" in text and "Titular" in text and "Octubre 2026" in text
        await press_button(pilot, "#pay")
        assert "Confirma el pago del servicio" in screen_text(app)
        await confirm_with_code(pilot, backend)
        assert isinstance(app.screen, ReceiptModal)
        assert "Estado:" in screen_text(app) and "Pagado" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert "Cupo disponible hoy: $1,500.00" not in screen_text(app)
    assert balance_of(backend, account) < before
    assert backend.check() == []


async def test_programar_with_a_code_then_consultar_pauses_after_confirming(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "servicios_programar", ProgramarScreen)
        await choose(pilot, "#category", "Telefonía móvil")
        await choose(pilot, "#biller", "CLARO")
        app.screen.query_one("#identifier", Input).value = "0991234561"
        await choose(pilot, "#day", 10)
        app.screen.query_one("#max-amount", Input).value = "45"
        app.screen.query_one("#count", Input).value = "6"
        await press_button(pilot, "#schedule")
        text = screen_text(app)
        assert "Confirma el pago programado" in text and "Primer débito" in text and "10/12/2026" in text
        await confirm_with_code(pilot, backend)
        assert isinstance(app.screen, ReceiptModal) and "Pago Programado" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        app.pop_screen()
        app.screen.open_section("servicios_programados")
        await settle(pilot)
        assert isinstance(app.screen, ConsultarScreen)
        text = screen_text(app)
        assert "Claro (pago de plan)" in text and "Día 10" in text and "Activo" in text
        await pilot.press("r")  # an active one cannot be resumed: said at once, no «¿Está seguro…?» first
        await settle(pilot)
        said = [n.message for n in app._notifications]
        assert not isinstance(app.screen, ConfirmModal) and any("no se puede reanudar" in m for m in said), said
        await pilot.press("p")
        await settle(pilot)
        assert "¿Está seguro que desea pausar el pago programado?" in screen_text(app)
        await pilot.click("#accept")
        await settle(pilot)
        assert "Pausado" in screen_text(app)
    who = demo_member(backend)
    assert {s.state for s in backend.scheduled.schedules(who.token)} == {"activo", "pausado"}


async def test_historial_filters_opens_the_receipt_and_exports(backend, tmp_path):
    from tests.bill_payments.test_services import pay

    who = demo_member(backend)
    pay(backend, who)
    pay(backend, who, "CLARO-REC", "0991234561", bills=[], amount=5_00)
    app = make_app(backend, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "servicios_historial", PaymentHistoryScreen)
        text = screen_text(app)
        assert app.screen.query_one("#pay-history").row_count == 2
        assert "Claro (recarga)" in text and "Pagado" in text and "Ref. PS" in text
        await choose(pilot, "#origin", "automatico")
        app.screen.query_one("#apply", Button).press()  # not a click: an SMS toast may sit over the filters
        await settle(pilot)
        assert "No hay pagos para este filtro" in screen_text(app)
        app.screen.query_one("#origin", Select).clear()
        app.screen.query_one("#apply", Button).press()  # not a click: an SMS toast may sit over the filters
        await settle(pilot)
        table = app.screen.query_one("#pay-history")
        for _ in range(100):  # the unfiltered list is back (a loaded machine may take a few rounds)
            if table.row_count == 2:
                break
            await settle(pilot)
        table.focus()
        await pilot.pause()  # the focus lands before the key
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptModal) and "Pago de Servicios" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
    (export,) = [p for p in tmp_path.iterdir() if p.name.startswith("pagos-servicios")]
    assert os.stat(export).st_mode & 0o777 == 0o600


@pytest.mark.parametrize("key", ["servicios_registro", "servicios_pagar", "servicios_programar",
                                 "servicios_programados", "servicios_historial"])
def test_snapshot(snap_compare, backend, key):
    if key == "servicios_historial":
        from tests.bill_payments.test_services import pay

        pay(backend, demo_member(backend))

    async def run_before(pilot):
        await login(pilot)
        pilot.app.screen.open_section(key)
        await settle(pilot)
        if key == "servicios_pagar":
            await pilot.click("#consult")
            await settle(pilot)

    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=run_before)


async def test_the_three_forms_choose_the_entity_the_same_way(backend):
    """Registro, Pagar and Programar share one Categoría → Entidad choice (screens/bill_payments/biller_choice.py):
    the entity list follows the category, the identifier's label the entity, and each form adds its own."""
    from screens.bill_payments.biller_choice import BillerChoice

    assert all(issubclass(kind, BillerChoice) for kind in (RegisterModal, PayScreen, ProgramarScreen))
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "servicios_pagar", PayScreen)
        await choose(pilot, "#service", -1)  # «Otro servicio»
        await choose(pilot, "#category", "Impuestos y matrícula")
        assert set(app.screen.billers) >= {"SRI-MAT", "ANT-MULTAS"}
        await choose(pilot, "#biller", "SRI-MAT")
        assert "Placa o RAMV" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        await login_free_open(pilot, "servicios_programar", ProgramarScreen)
        await choose(pilot, "#category", "Telefonía móvil")
        await choose(pilot, "#biller", "CLARO-REC")
        text = screen_text(app)
        assert "Número de celular" in text and "Monto de cada recarga" in text
        await choose(pilot, "#biller", "CLARO")
        assert "Monto máximo (USD)" in screen_text(app)


async def login_free_open(pilot, key: str, kind) -> None:
    pilot.app.screen.open_section(key)
    await settle(pilot)
    assert isinstance(pilot.app.screen, kind)


async def test_consultar_cursor_follows_the_schedule_it_paused_and_the_cancel_dialog_names_the_action(backend):
    """Pausing or resuming re-sorts the list: the next key must act on the same schedule, not its old row."""
    from tests.services_helpers import add_schedule

    who = demo_member(backend)
    for identifier, day in (("022345601", 5), ("022345602", 10), ("022345603", 20)):
        add_schedule(backend, who, identifier=identifier, day=day)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "servicios_programados", ConsultarScreen)
        table = app.screen.query_one("#schedules")
        assert app.screen._current().identifier == "022345601"
        for key, state in (("p", "Pausado"), ("r", "Activo")):
            await pilot.press(key)
            await settle(pilot)
            await pilot.click("#accept")
            await settle(pilot)
            current = app.screen._current()
            assert (current.identifier, current.state_label) == ("022345601", state)
            assert table.cursor_row == [s.identifier for s in app.screen.items].index("022345601")
        await pilot.press("down")
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        await pilot.click("#accept")
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        text = screen_text(app)
        assert "022345602" in text and "022345601" not in text.split("cancelar el pago programado?")[1]
        assert str(app.screen.query_one("#accept").label) == "Cancelar el pago"
        assert str(app.screen.query_one("#cancel").label) == "Volver"
        await pilot.click("#accept")
        await settle(pilot)
    states = {s.identifier: s.state for s in backend.scheduled.schedules(who.token)}
    assert [states[i] for i in ("022345601", "022345602", "022345603")] == ["activo", "cancelado", "activo"]


async def test_registro_dialog_shows_each_dropdown_whole_at_80x24(backend):
    """Its own width (70, as the beneficiary dialog's) was a default rule the dialog's 64 beat: the dropdowns,
    60 wide, were cut by the form's edge and lost their ▼ (nothing said they were lists)."""
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "servicios_registro", ServicesScreen)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, RegisterModal)
        form = app.screen.query_one(".form")
        for select in app.screen.query(Select):
            assert select.region.right <= form.scrollable_content_region.right, select.id
        assert screen_text(app).count("▼") == 3  # Categoría, Entidad, Cuenta de débito


async def test_programar_moves_on_with_enter_and_asks_from_the_last_field(backend):
    """Enter did nothing in Programar Pago's fields; now it moves on as in the other forms (the start date's
    text, selected on arrival, is replaced by what is typed) and the number of payments' Enter programs."""
    from tests.app.test_ui_typeahead import burst

    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "servicios_programar", ProgramarScreen)
        await choose(pilot, "#category", "Telefonía móvil")
        await choose(pilot, "#biller", "CLARO")
        app.screen.query_one("#max-amount", Input).focus()
        await pilot.pause()
        burst(app, "4", "5", "enter", *"01/12/2026", "enter", "enter", "6")
        await settle(pilot)
        assert [app.screen.query_one(f"#{name}", Input).value for name in ("max-amount", "start", "end", "count")] \
            == ["45", "01/12/2026", "", "6"]
        app.screen.query_one("#identifier", Input).focus()
        await pilot.pause()
        burst(app, *"0991234561", "enter")
        await settle(pilot)
        assert app.screen.query_one("#identifier", Input).value == "0991234561"
        assert app.focused is app.screen.query_one("#day", Select)
        app.screen.query_one("#count", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert "Confirma el pago programado" in screen_text(app)


@pytest.mark.parametrize("typed", ["0", "000", "٠"])
async def test_zero_payments_typed_is_refused_at_its_field_not_programmed_without_limit(backend, typed):
    """«Número de pagos: 0» was sent as «no limit» (what an empty field means): a plan that never ends."""
    who = demo_member(backend)
    before = backend.scheduled.schedules(who.token)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "servicios_programar", ProgramarScreen)
        await choose(pilot, "#category", "Telefonía móvil")
        await choose(pilot, "#biller", "CLARO")
        app.screen.query_one("#identifier", Input).value = "0991234561"
        await choose(pilot, "#day", 10)
        app.screen.query_one("#max-amount", Input).value = "45"
        app.screen.query_one("#count", Input).focus()
        await pilot.press(*typed)
        assert app.screen.query_one("#count", Input).value == typed
        await press_button(pilot, "#schedule")
        assert isinstance(app.screen, ProgramarScreen)
        assert "El número de pagos va de 1 a 600" in str(app.screen.query_one("#count-error").render())
    assert backend.scheduled.schedules(who.token) == before


async def test_pagar_keeps_the_chosen_debit_account_over_a_reload_and_says_when_it_is_gone(backend):
    """After a payment the form reloads its accounts: it used to go back to the first one every time. It keeps the
    member's account, and when a teller blocked it meanwhile it leaves none chosen, says which, and does not pay."""
    from tests.transfer_helpers import gone_note, offered, withdraw
    from tests.ui import refused_until_chosen

    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "servicios_pagar", PayScreen)
        screen = app.screen
        await press_button(pilot, "#consult")
        account = screen.query_one("#account", Select)
        first, second = offered(account)[:2]
        account.value = second
        await pilot.pause()
        screen.call("origins", backend.services.origins, app.token)  # what the screen asks after a payment
        await settle(pilot)
        assert account.value == second
        withdraw(backend, second, "bloqueada")
        screen.call("origins", backend.services.origins, app.token)
        await settle(pilot)
        gone = gone_note(backend, second) + "; elige otra cuenta."
        assert account.selection is None and offered(account) == [first] and gone in screen_text(app)
        await refused_until_chosen(pilot, account, first, gone, lambda: press_button(pilot, "#pay"))


@pytest.mark.parametrize("key,kind,refuse", [("servicios_pagar", PayScreen, "#pay"),
                                              ("servicios_programar", ProgramarScreen, "#schedule")])
async def test_a_registered_service_whose_account_is_gone_chooses_no_account(backend, key, kind, refuse):
    """A registered service debits its own account: closed or blocked since, Pagar kept the account shown (the
    first) and Programar failed on a value its list did not have; now neither chooses one, and both say which."""
    from tests.transfer_helpers import gone_note, withdraw

    who = demo_member(backend)
    service = backend.services.services(who.token)[0]
    withdraw(backend, service.account_id, "bloqueada")
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, key, kind)
        screen = app.screen
        await choose(pilot, "#service", service.id)
        gone = gone_note(backend, service.account_id)
        assert screen.query_one("#account", Select).selection is None and gone in screen_text(app)
        if kind is PayScreen:
            await press_button(pilot, "#consult")
            await settle(pilot)
            assert gone in screen_text(app)  # «Consultar» clears the form's errors, not what is said of the account
        await press_button(pilot, refuse)
        assert app.screen is screen and gone in screen_text(app)
