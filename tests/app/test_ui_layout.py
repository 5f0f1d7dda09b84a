"""The menu fits 80×24, a smaller terminal is told the minimum, and a wider one gets the width (issue #21)."""

from __future__ import annotations

from textual.widgets import DataTable, OptionList

from backend.core import accounts
from backend.core.ledger import Leg, post
from screens.menu.menu import MenuScreen
from screens.menu.registry import menu_for
from screens.products.position import MovementsScreen
from cooprogreso_tui.app import MIN_SIZE
from screens.shared.size import MIN_HEIGHT, MIN_WIDTH, TooSmallScreen
from tests.conftest import add_member, affiliate
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


def test_the_app_skips_the_size_check_only_at_the_notice_s_own_minimum():
    """The app does not import the notice's module while the terminal is large enough (start-up time)."""
    assert MIN_SIZE == (MIN_WIDTH, MIN_HEIGHT)


async def test_a_small_terminal_is_told_the_minimum_until_it_grows(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        await pilot.resize_terminal(60, 20)
        await settle(pilot)
        assert isinstance(app.screen, TooSmallScreen)
        text = screen_text(app)
        assert "60×20" in text and "al menos 80×24" in text
        await pilot.press("2")  # keys go nowhere while the screen cannot be seen
        await settle(pilot)
        await pilot.resize_terminal(79, 30)
        await settle(pilot)
        assert "79×30" in screen_text(app)
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert isinstance(app.screen, MenuScreen) and "al menos" not in screen_text(app)
        assert app.screen.query_one("#menu", OptionList).highlighted == 0


async def test_a_size_check_after_the_last_screen_has_gone_does_nothing(backend):
    """The once-a-second tick can come while the app closes, its screens gone: once the notice's module was
    imported (another app in the process was small), the check looked at a screen that was not there."""
    import screens.shared.size  # noqa: F401  (as after a small terminal anywhere in this process)

    app = make_app(backend)
    async with app.run_test(size=SIZE):
        pass
    assert not app.screen_stack
    app._check_size()


async def test_the_movement_description_uses_a_wide_terminal_and_says_when_it_is_cut(backend):
    long = "Pago de arriendo del departamento de la calle Olmedo, Cuenca, noviembre"
    _, acc = add_member(backend, cedula="1104680135", balance=5_00)
    with backend.db.write() as conn:
        caja = accounts.internal_account(conn, "caja")
        post(conn, kind="x", description="x", posted_at="2026-11-20 10:00:00", actor="t",
             legs=[Leg(acc, 1_00, long), Leg(caja, -1_00, "x")])
    affiliate(backend, "1104680135", "ana.prueba")
    app = make_app(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "ana.prueba", "Clave2026x")
        await pilot.press("1")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MovementsScreen)
        table = app.screen.query_one("#movements", DataTable)
        assert next(c for c in table.columns.values() if c.key.value == "descripcion").width == 62
        assert long[:61] + "…" in screen_text(app)
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert next(c for c in table.columns.values() if c.key.value == "descripcion").width == 22
        assert long[:21] + "…" in screen_text(app)
