"""Teller screens at 80×24 after the second QA probe: no till opened by an empty Enter, look-alike
digits in the amount shown in the one confirmation before anything is booked, held withdrawals."""

from __future__ import annotations

from screens.confirm import ConfirmModal
from screens.staff_till import TillScreen

from .conftest import add_member
from .staff_helpers import enrol, sign_in
from .test_ui_staff import CEDULA, balance, staff_login
from .ui import SIZE, make_app, screen_text, settle, type_keys


async def test_enter_on_an_empty_opening_amount_opens_nothing(backend, clock):
    cajero = enrol(backend, "cajero1", "cajero", "Rosa Quispe")
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, cajero)
        await pilot.press("1")
        await settle(pilot)
        assert isinstance(app.screen, TillScreen)
        app.screen.query_one("#opening").focus()
        await pilot.press("enter")
        await settle(pilot)
        assert "si abres la caja sin efectivo, escribe 0" in screen_text(app)
        assert "Caja abierta" not in screen_text(app)
    assert backend.tills.my_till(sign_in(backend, cajero, clock).token) is None


async def test_arabic_indic_amount_is_confirmed_before_booking_and_a_stray_enter_books_nothing(backend, clock):
    cajero = enrol(backend, "cajero1", "cajero", "Rosa Quispe")
    _, account = add_member(backend, cedula=CEDULA, first="Ana María", last="Prueba Uno", balance=100_00)
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
        await type_keys(pilot, "#amount", "٥٠٠")
        await pilot.press("enter")
        await settle(pilot)
        text = screen_text(app)
        assert isinstance(app.screen, ConfirmModal)
        assert "Ana María Prueba Uno" in text and "$500.00" in text and "Cuenta" in text
        assert balance(backend, account) == 100_00  # Enter on the amount only asks
        await pilot.press("enter")  # a stray second Enter lands on «Cancelar»
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmModal)
    assert balance(backend, account) == 100_00
