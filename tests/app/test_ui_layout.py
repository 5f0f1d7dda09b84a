"""The menu fits 80×24 (issue #21)."""

from __future__ import annotations

from textual.widgets import OptionList

from screens.menu.registry import menu_for
from tests.ui import SIZE, login, make_app, screen_text, settle


async def test_every_section_of_the_menu_shows_at_80x24_without_scrolling(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        menu = app.screen.query_one("#menu", OptionList)
        text = screen_text(app)
        for section in menu_for("socio"):
            assert section.title in text, section.title
        assert menu.max_scroll_y == 0 and menu.split < menu.option_count


async def test_the_two_columns_keep_keys_numbers_and_clicks(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        menu = app.screen.query_one("#menu", OptionList)
        menu.highlighted = menu.get_option_index("servicios_historial")  # foot of the first column
        await pilot.press("down")
        assert menu.highlighted_option.id == "tarjetas_cooprogreso"  # the heading is skipped, as before
        await pilot.press("left")
        assert menu.highlighted_option.id == "transferencias_propias"  # the row beside it
        await pilot.press("right")
        assert menu.highlighted_option.id == "tarjetas_otros"  # beside «Transferencias a mis Cuentas»
        await pilot.press("left", "down", "down")
        assert menu.highlighted_option.id == "transferencias_interbancarias"
        await pilot.press("6")
        await settle(pilot)
        assert app.screen.section_key == "contacto"
        await pilot.press("escape")
        await settle(pilot)
        # a click on «8. Ayuda», in the second column, opens it
        row = menu.get_option_index("ayuda") - menu.split
        top = menu.content_region.y - menu.region.y  # the list's border
        await pilot.click("#menu", offset=(menu.size.width * 3 // 4, top + row))
        await settle(pilot)
        assert app.screen.section_key == "ayuda"
