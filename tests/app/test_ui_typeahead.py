"""Keys typed ahead: several keys that reach the app in one burst (typed fast, pasted, or sent together by a
slow SSH or browser link) land where a person typing slowly would have put them."""

from __future__ import annotations

from textual import events
from textual.widgets import Input

from screens.menu.registry import screen_for
from tests.ui import SIZE, login, make_app, settle


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
        await login(pilot)
        app.push_screen(screen_for("transferencias_propias"))
        await settle(pilot)
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
        await login(pilot)
        app.push_screen(screen_for("transferencias_propias"))
        await settle(pilot)
        app.screen.query_one("#amount", Input).focus()
        await pilot.pause()
        burst(app, "5", "0", "0", "enter", "V", "i", "a", "j", "e")
        await settle(pilot)
        assert app.screen.query_one("#amount", Input).value == "500"
        assert app.screen.query_one("#motive", Input).value == "Viaje"
        assert app.focused is app.screen.query_one("#motive", Input)
