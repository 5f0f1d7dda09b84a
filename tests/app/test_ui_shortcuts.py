"""Digits act only on the menu (README: a section's number opens it if it is one screen, and moves to its
first option if it has several, where the member chooses as the manual says): an amount typed on a form
whose field lost focus never opens another section."""

from __future__ import annotations

from screens.menu.menu import MenuScreen
from screens.transfers.transfers import TransferScreen
from screens.menu.registry import menu_for
from tests.ui import SIZE, login, make_app, screen_text, settle, signed_in


async def test_digits_on_a_form_without_focus_open_nothing_and_on_the_menu_they_do(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(pilot, "transferencias_propias")
        app.screen.set_focus(None)  # the amount field lost focus
        await pilot.press("5", "0", "1")
        await settle(pilot)
        assert isinstance(app.screen, TransferScreen) and len(app.screen_stack) == 3
        await pilot.press("escape")  # «Esc vuelve» to the menu, where the digits are its shortcuts
        await settle(pilot)
        assert isinstance(app.screen, MenuScreen)
        await pilot.press("1")
        await settle(pilot)
        assert not isinstance(app.screen, MenuScreen)


async def test_a_number_opens_a_one_screen_section_and_moves_to_the_first_option_of_one_with_several(backend):
    from textual.widgets import OptionList

    from screens.contact.contact import ContactScreen
    from screens.help.help import HelpModal

    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        menu = app.screen.query_one("#menu", OptionList)
        for number, first in (("2", "transferencias_propias"), ("3", "servicios_pagar"),
                              ("4", "tarjetas_cooprogreso"), ("5", "diferido_transacciones")):
            await pilot.press(number)
            await settle(pilot)
            assert isinstance(app.screen, MenuScreen)  # several options: the member chooses («Selecciona la opción»)
            option = menu.get_option_at_index(menu.highlighted or 0)
            assert option.id == first and app.screen.focused is menu
        await pilot.press("enter")  # and Enter opens that first option
        await settle(pilot)
        assert not isinstance(app.screen, MenuScreen) and app.screen.section_key == "diferido_transacciones"
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("6")  # one screen: the number opens it
        await settle(pilot)
        assert isinstance(app.screen, ContactScreen)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("f1")  # the menu's help says the same as the README
        await settle(pilot)
        assert isinstance(app.screen, HelpModal)
        assert "Abrir la sección, o ir a su primera opción si hay varias" in screen_text(app)
        numbers = [s.number for s in menu_for("socio") if s.number]  # this menu's numbers, not a fixed range
        assert f"1–{max(numbers)} " in screen_text(app) and max(numbers) == 9


async def test_a_staff_menus_help_names_its_own_numbers(backend):
    """F1 on a teller's menu of four said «1–8», the members' old range."""
    from screens.help.help import HelpModal
    from tests.branch.test_ui_staff import staff_login
    from tests.staff_helpers import enrol

    cajero = enrol(backend, "cajero1", "cajero", "Rosa Quispe")
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, cajero)
        numbers = [s.number for s in app.screen.sections if s.number]
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpModal)
        assert f"1–{max(numbers)} " in screen_text(app) and "1–8" not in screen_text(app) and max(numbers) == 4
