"""«Regístrate aquí» through the wizard and the shared OTP modal, and each way it refuses."""

from textual.widgets import ContentSwitcher

from screens.security.affiliation import AffiliationScreen
from screens.security.login import LoginScreen
from screens.shared.otp import OtpModal
from tests.conftest import demo_cedula, last_code, unaffiliated_cedula
from tests.ui import SIZE, make_app, screen_text, settle, type_into


async def open_wizard(pilot, number: str):
    await pilot.press("ctrl+r")
    await pilot.pause()
    assert isinstance(pilot.app.screen, AffiliationScreen)
    await type_into(pilot, "#id-number", number)
    await pilot.press("enter")
    await settle(pilot)


async def enter_code(pilot, code: str):
    await type_into(pilot, "#otp-code", code)
    await pilot.press("enter")
    await settle(pilot)


async def test_affiliation_happy_path_then_sign_in(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await type_into(pilot, "#username", "maria.previa")  # someone typed a name before registering
        await open_wizard(pilot, unaffiliated_cedula())
        assert isinstance(app.screen, OtpModal)
        text = screen_text(app)
        assert "09*****" in text and "Intentos restantes: 3" in text and "Vence en 5:00" in text
        await enter_code(pilot, last_code(backend))
        wizard = app.screen
        assert isinstance(wizard, AffiliationScreen)
        assert wizard.query_one(ContentSwitcher).current == "step-user"
        assert "Hola, Jorge" in screen_text(app)
        await type_into(pilot, "#new-username", "jorge.luis")
        await type_into(pilot, "#new-password", "Montaña2026")
        await type_into(pilot, "#new-password2", "Montaña2026")
        await pilot.press("enter")
        await settle(pilot)
        assert wizard.query_one(ContentSwitcher).current == "step-done"
        assert "afiliación a Cooprogreso en Línea fue exitosa" in screen_text(app)
        await pilot.click("#finish")
        await pilot.pause()
        assert isinstance(app.screen, LoginScreen)
        # issue 21 point 12: the sign-in kept the name typed before; now it holds the user just made
        assert app.screen.query_one("#username").value == "jorge.luis"
        assert app.focused is app.screen.query_one("#password")
        await type_into(pilot, "#password", "Montaña2026")
        await pilot.press("enter")
        await settle(pilot)
        assert "Jorge Luis Chicaiza Vega" in screen_text(app)


async def test_bad_check_digit_unknown_and_already_affiliated(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_wizard(pilot, "1710034066")
        assert "dígito verificador" in screen_text(app)
        await type_into(pilot, "#id-number", "1104680135")
        await pilot.press("enter")
        await settle(pilot)
        assert "No podemos afiliarte en línea" in screen_text(app)
        await type_into(pilot, "#id-number", demo_cedula())
        await pilot.press("enter")
        await settle(pilot)
        assert "No podemos afiliarte en línea" in screen_text(app)
        assert isinstance(app.screen, AffiliationScreen)
    assert backend.db.conn.execute("SELECT COUNT(*) FROM otp_challenges").fetchone()[0] == 0


def users_of(backend, cedula: str) -> int:
    """Users enrolled for the person with this cédula (the demo co-op has users of its own)."""
    return backend.db.conn.execute("SELECT COUNT(*) FROM users u JOIN members m ON m.id = u.member_id"
                                   " WHERE m.id_number = ?", (cedula,)).fetchone()[0]


async def test_three_wrong_codes_void_it(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_wizard(pilot, unaffiliated_cedula())
        wrong = "000000" if last_code(backend) != "000000" else "111111"
        await enter_code(pilot, wrong)
        assert "Te quedan 2 intentos" in screen_text(app)
        await enter_code(pilot, wrong)
        assert "Te queda 1 intento" in screen_text(app)
        await enter_code(pilot, wrong)
        assert "Agotaste los intentos" in screen_text(app)
        assert app.screen.query_one("#otp-code").disabled
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, AffiliationScreen)
        assert "No se completó la verificación" in screen_text(app)
    assert users_of(backend, unaffiliated_cedula()) == 0


async def test_expired_code_is_refused(backend, clock):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_wizard(pilot, unaffiliated_cedula())
        code = last_code(backend)
        clock.advance(minutes=5, seconds=1)
        await pilot.pause(1.2)
        assert "El código expiró" in screen_text(app)
        assert app.screen.query_one("#otp-confirm").disabled
        # Even if submitted anyway, the backend refuses it.
        await enter_code(pilot, code)
    assert users_of(backend, unaffiliated_cedula()) == 0


async def test_weak_password_and_mismatch_are_explained(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_wizard(pilot, unaffiliated_cedula())
        await enter_code(pilot, last_code(backend))
        await type_into(pilot, "#new-username", "jorge.luis")
        for first, second, message in (("solamenteletras", "solamenteletras", "letras y números"),
                                       ("corta1", "corta1", "al menos 8"),
                                       ("Montaña2026", "Montaña2027", "no coinciden")):
            await type_into(pilot, "#new-password", first)
            await type_into(pilot, "#new-password2", second)
            await pilot.press("enter")
            await settle(pilot)
            assert message in screen_text(app)
    assert users_of(backend, unaffiliated_cedula()) == 0


async def test_an_open_select_list_speaks_spanish_in_the_footer(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+r")
        await pilot.pause()
        app.screen.query_one("#id-type").focus()
        await pilot.press("enter")  # opens the list of identification types
        await pilot.pause()
        assert app.screen.query_one("#id-type").expanded
        text = screen_text(app)
        assert "Cerrar lista" in text and "Dismiss" not in text
        await pilot.press("escape")
        await pilot.pause()
        assert not app.screen.query_one("#id-type").expanded and isinstance(app.screen, AffiliationScreen)


async def test_phone_sms_and_warnings_leave_the_otp_dialog_readable(backend):
    from textual.widgets._toast import Toast

    assert backend.is_demo  # the simulated phone shows the SMS as a notification
    app = make_app(backend)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_wizard(pilot, unaffiliated_cedula())
        await enter_code(pilot, "000000" if last_code(backend) != "000000" else "111111")
        for n in range(3):  # a pile of notifications on top of the SMS
            app.notify(f"Aviso {n}: no se pudieron enviar avisos SMS a los socios; se reintentará.",
                       title="Aviso del sistema", severity="warning")
        await settle(pilot)
        await pilot.pause(0.2)
        dialog = app.screen.query_one("#otp-box").region
        # What shows of each (the oldest scroll out of the notices' rows once they fill them)
        toasts = [app.screen.find_widget(toast).visible_region for toast in app.screen.query(Toast)]
        assert len(toasts) == 4 and not any(region.height and region.overlaps(dialog) for region in toasts)
        text = screen_text(app)
        assert "Intentos restantes: 2" in text and "Código incorrecto" in text
