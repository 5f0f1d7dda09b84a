"""Staff screens at 80×24 after the QA probe: money typed whole (never a character dropped), the day's
report in words, dates as dd/mm/aaaa, tables that fit, the supervisor's note kept after an error."""

from __future__ import annotations


from screens.staff_till import TillCloseScreen, TillScreen

from .conftest import add_member
from .staff_helpers import enrol, sign_in
from .test_ui_staff import CEDULA, balance, staff_login
from .ui import SIZE, make_app, screen_text, settle, type_keys


async def test_opening_amount_typed_with_a_letter_is_refused_not_shortened(backend, clock):
    cajero = enrol(backend, "cajero1", "cajero", "Rosa Quispe")
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, cajero)
        await pilot.press("1")
        await settle(pilot)
        assert isinstance(app.screen, TillScreen)
        await type_keys(pilot, "#opening", "1e9")
        assert app.screen.query_one("#opening").value == "1e9"
        await pilot.press("enter")
        await settle(pilot)
        assert "solo admite dígitos" in screen_text(app) and "Caja abierta" not in screen_text(app)
    assert backend.tills.my_till(sign_in(backend, cajero, clock).token) is None


async def test_deposit_amount_typed_with_a_letter_is_refused(backend, clock):
    cajero = enrol(backend, "cajero1", "cajero", "Rosa Quispe")
    _, account = add_member(backend, cedula=CEDULA, balance=100_00)
    sign_in(backend, cajero, clock)
    backend.tills.open_till(cajero.token, "500")
    clock.advance(seconds=30)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, cajero)
        await pilot.press("2")
        await settle(pilot)
        app.screen.query_one("#search").value = CEDULA
        await pilot.press("enter")
        await settle(pilot)
        await type_keys(pilot, "#amount", "4O.5")  # a letter O for a zero
        await pilot.press("enter")
        await settle(pilot)
        assert "solo admite dígitos" in screen_text(app)
    assert balance(backend, account) == 100_00


async def test_a_denomination_count_with_a_letter_is_refused(backend, clock):
    cajero = enrol(backend, "cajero1", "cajero")
    sign_in(backend, cajero, clock)
    backend.tills.open_till(cajero.token, "120")
    clock.advance(seconds=30)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, cajero)
        await pilot.press("4")
        await settle(pilot)
        assert isinstance(app.screen, TillCloseScreen)
        await type_keys(pilot, "#d10000", "1O")
        assert app.screen.query_one("#d10000").value == "1O"
        assert "Cantidad no válida" in screen_text(app)
        await pilot.click("#close-till")
        await settle(pilot)
        assert isinstance(app.screen, TillCloseScreen) and "Cantidad no válida" in screen_text(app)
    assert backend.tills.my_till(cajero.token).status == "abierta"


async def test_teller_search_says_when_not_every_match_is_shown(backend, clock):
    from backend.demo import cedula

    cajero = enrol(backend, "cajero1", "cajero", "Rosa Quispe")
    for n in range(12):
        add_member(backend, cedula=cedula(f"17{n + 300:07d}"), first=f"Socio {chr(65 + n)}", last="Núñez Toapanta")
    sign_in(backend, cajero, clock)
    backend.tills.open_till(cajero.token, "500")
    clock.advance(seconds=30)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, cajero)
        await pilot.press("2")
        await settle(pilot)
        app.screen.query_one("#search").value = "NUÑEZ toapanta"
        await pilot.press("enter")
        await settle(pilot)
        assert "Se muestran 10 de 12; afina la búsqueda." in screen_text(app)
        assert app.screen.query_one("#found").option_count == 10
