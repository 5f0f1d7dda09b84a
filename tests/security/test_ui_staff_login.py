"""Staff sign in on the members' login screen: password, then the authenticator code, then their menu."""

from screens.menu.menu import MenuScreen
from screens.security.login import LoginScreen
from screens.security.staff_code import StaffCodeModal
from tests.staff_helpers import PASSWORD, code_now, enrol
from tests.ui import SIZE, login, make_app, screen_text, settle


async def test_teller_signs_in_with_a_code_and_sees_only_the_teller_menu(backend, clock):
    cajero = enrol(backend, "cajero1", "cajero", "Rosa Quispe")
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "cajero1", PASSWORD)
        assert isinstance(app.screen, StaffCodeModal)
        app.screen.query_one("#staff-code").value = code_now(backend, cajero)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MenuScreen) and app.screen.audience == "cajero"
        text = screen_text(app)
        assert "Rosa Quispe · Cajero" in text and "2. Depósito en efectivo" in text
        assert "Transferencias" not in text and "Productos" not in text
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)


async def test_wrong_code_stays_and_says_so(backend, clock):
    cajero = enrol(backend, "cajero1", "cajero")
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "cajero1", PASSWORD)
        good = code_now(backend, cajero)
        app.screen.query_one("#staff-code").value = f"{(int(good) + 1) % 1_000_000:06d}"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, StaffCodeModal)
        assert "Código incorrecto" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)


async def test_staff_idle_limit_applies(backend, clock):
    cajero = enrol(backend, "cajero1", "cajero")
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "cajero1", PASSWORD)
        app.screen.query_one("#staff-code").value = code_now(backend, cajero)
        await pilot.press("enter")
        await settle(pilot)
        app._last_input -= backend.settings.staff_idle_seconds + 1
        app._tick()
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        assert "inactividad" in screen_text(app)
