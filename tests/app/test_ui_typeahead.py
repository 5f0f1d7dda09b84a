"""Keys typed ahead: several keys that reach the app in one burst (typed fast, pasted, or sent together by a
slow SSH or browser link) land where a person typing slowly would have put them."""

from __future__ import annotations

from textual import events
from textual.widgets import Input, Select

from screens.security.affiliation import AffiliationScreen
from tests.branch.test_ui_staff import staff_login
from tests.branch.test_ui_staff_depositor import open_deposit
from tests.conftest import add_member, last_code, unaffiliated_cedula
from tests.security.test_ui_affiliation import enter_code, open_wizard
from tests.staff_helpers import enrol
from tests.ui import SIZE, make_app, settle, signed_in


def burst(app, *keys: str) -> None:
    """Hand the keys to the app as its driver does when they arrive in one read: no pause between them
    (Pilot's `press` waits until the app is idle after each key, which hides any race)."""
    for key in keys:
        event = events.Key(key, key if len(key) == 1 else None)
        event.set_sender(app)
        app._driver.send_message(event)


async def test_keys_typed_right_after_tab_land_in_the_next_field_and_after_shift_tab_in_the_previous(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(pilot, "transferencias_propias")
        app.screen.query_one("#amount", Input).focus()
        await pilot.pause()
        burst(app, "5", "0", "0", "tab", "V", "i", "a", "j", "e")
        await settle(pilot)
        assert app.screen.query_one("#amount", Input).value == "500"
        assert app.screen.query_one("#motive", Input).value == "Viaje"
        burst(app, "shift+tab", "7")  # back in the amount, whose text a Tab selects: the 7 replaces it
        await settle(pilot)
        assert app.screen.query_one("#amount", Input).value == "7"
        assert app.screen.query_one("#motive", Input).value == "Viaje"


async def test_keys_typed_right_after_enter_land_in_the_next_field(backend):
    """Enter moves on in the transfer form's fields as Tab does, and with the same race cured the same way."""
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(pilot, "transferencias_propias")
        app.screen.query_one("#amount", Input).focus()
        await pilot.pause()
        burst(app, "5", "0", "0", "enter", "V", "i", "a", "j", "e")
        await settle(pilot)
        assert app.screen.query_one("#amount", Input).value == "500"
        assert app.screen.query_one("#motive", Input).value == "Viaje"
        assert app.focused is app.screen.query_one("#motive", Input)


async def test_sign_in_typed_in_one_burst_never_puts_the_password_in_the_username_field(backend):
    """«demo Enter Demo-2026! Enter» typed fast or pasted: the password went into the username field, shown
    in clear, because the username's Enter moved focus only after the keys behind it had queued there."""
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        burst(app, "d", "e", "m", "o", "enter", *"Demo-2026!")
        await settle(pilot)
        assert app.screen.query_one("#username", Input).value == "demo"
        assert app.screen.query_one("#password", Input).value == "Demo-2026!"
        assert app.focused is app.screen.query_one("#password", Input)


async def test_a_new_user_and_password_typed_in_one_burst_land_in_their_own_fields(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_wizard(pilot, unaffiliated_cedula())
        await enter_code(pilot, last_code(backend))
        assert isinstance(app.screen, AffiliationScreen)
        app.screen.query_one("#new-username", Input).focus()
        await pilot.pause()
        burst(app, *"jorge.luis", "enter", *"Montaña2026", "enter", *"Montaña2026")
        await settle(pilot)
        assert app.screen.query_one("#new-username", Input).value == "jorge.luis"
        assert app.screen.query_one("#new-password", Input).value == "Montaña2026"
        assert app.screen.query_one("#new-password2", Input).value == "Montaña2026"


async def test_a_teller_typing_the_depositor_and_amount_in_one_burst_fills_each_field(backend):
    """«¿Quién deposita?» → Otra persona: cédula Enter names Enter amount, typed fast by a teller."""
    cajero = enrol(backend, "cajero1", "cajero", "Rosa Quispe")
    add_member(backend, cedula="0901112227", first="Ana", last="Prueba Uno", balance=0)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, cajero)
        await pilot.press("1")
        await settle(pilot)
        app.screen.query_one("#opening", Input).value = "100"
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("escape")
        await pilot.press("2")
        await settle(pilot)
        await open_deposit(pilot, "0901112227")
        app.screen.query_one("#depositor", Select).value = "otra"
        await settle(pilot)
        app.screen.query_one("#dep-id", Input).focus()
        await pilot.pause()
        burst(app, *"1701234567", "enter", *"Pedro Quishpe", "enter", *"60")
        await settle(pilot)
        assert app.screen.query_one("#dep-id", Input).value == "1701234567"
        assert app.screen.query_one("#dep-name", Input).value == "Pedro Quishpe"
        assert app.screen.query_one("#amount", Input).value == "60"
        assert app.focused is app.screen.query_one("#amount", Input)
