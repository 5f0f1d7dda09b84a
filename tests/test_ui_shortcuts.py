"""Digits open sections only on the menu (README: «los números 1–8 abren las secciones del menú»):
an amount typed on a form whose field lost focus never opens another section."""

from __future__ import annotations

from screens.menu import MenuScreen
from screens.registry import screen_for
from screens.transfers import TransferScreen

from .ui import SIZE, login, make_app, settle


async def test_digits_on_a_form_without_focus_open_nothing_and_on_the_menu_they_do(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        app.push_screen(screen_for("transferencias_propias"))
        await settle(pilot)
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
