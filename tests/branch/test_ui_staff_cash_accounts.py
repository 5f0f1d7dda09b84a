"""Teller cash at 80×24 after the third QA probe: the account searched is the account booked, a
declaration first needed at booking time opens its dialog at once, the available figure follows."""

from __future__ import annotations

import uuid

from textual.widgets import Select

from backend.core import accounts
from screens.branch.staff_declaration import DeclarationModal
from screens.shared.confirm import ConfirmModal
from screens.shared.receipt import ReceiptModal
from tests.branch.test_ui_staff import CEDULA, balance, deposit, staff_login
from tests.conftest import add_member
from tests.staff_helpers import enrol, sign_in
from tests.ui import SIZE, make_app, screen_text, settle


def _member_with_two_accounts(backend, clock):
    cajero = enrol(backend, "cajero1", "cajero", "Rosa Quispe")
    member, first = add_member(backend, cedula=CEDULA, first="Ana María", last="Prueba Uno", balance=100_00)
    with backend.db.write() as conn:
        second = accounts.open_savings(conn, member, "2026-01-01")
    sign_in(backend, cajero, clock)
    backend.tills.open_till(cajero.token, "500")
    clock.advance(seconds=30)
    return cajero, first, second


def _number(backend, account: int) -> str:
    return backend.db.conn.execute("SELECT number FROM accounts WHERE id = ?", (account,)).fetchone()[0]


async def test_searching_by_the_second_account_number_deposits_into_that_account(backend, clock):
    cajero, first, second = _member_with_two_accounts(backend, clock)
    number = _number(backend, second)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, cajero)
        await pilot.press("2")
        await settle(pilot)
        await deposit(pilot, "30", search=f"{number[:4]}-{number[4:]}")  # as a teller may type it
        assert isinstance(app.screen, ConfirmModal) and number in screen_text(app)
        assert _number(backend, first) not in screen_text(app)
        await pilot.click("#accept")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptModal)
    assert balance(backend, second) == 30_00 and balance(backend, first) == 100_00


async def test_searching_by_cedula_preselects_the_first_account(backend, clock):
    cajero, first, _ = _member_with_two_accounts(backend, clock)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, cajero)
        await pilot.press("2")
        await settle(pilot)
        app.screen.query_one("#search").value = CEDULA
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.query_one("#account", Select).value == first


async def test_a_declaration_needed_only_at_booking_opens_its_dialog_and_the_available_follows(backend, clock):
    cajero, first, _ = _member_with_two_accounts(backend, clock)
    other = enrol(backend, "ventanilla2", "cajero", "Pablo Andrade")
    sign_in(backend, other, clock)
    backend.tills.open_till(other.token, "0")
    clock.advance(seconds=30)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, cajero)
        await pilot.press("2")
        await settle(pilot)
        await deposit(pilot, "6000")  # under the threshold when quoted
        assert isinstance(app.screen, ConfirmModal) and "Origen de los fondos" not in screen_text(app)
        # Meanwhile another till takes a deposit for the same member: now the day's cash reaches it.
        backend.counter.cash(other.token, "deposito", first, "5000", uuid.uuid4().hex)
        await pilot.click("#accept")
        await settle(pilot)
        assert isinstance(app.screen, DeclarationModal)  # asked at once, not a message and a second press
        assert balance(backend, first) == 5100_00
        await pilot.press("escape")  # back on the form: the other till's deposit is in the figure shown
        await settle(pilot)
        assert "Disponible $5,100.00" in screen_text(app)
        app.screen.query_one("#amount").focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DeclarationModal)
        app.screen.query_one("#dec-origin").value = "Venta de ganado"
        app.screen.query_one("#dec-name").value = "Pedro Quishpe"
        app.screen.query_one("#dec-id").value = "1104680135"
        await pilot.click("#dec-go")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal) and "Venta de ganado" in screen_text(app)
        await pilot.click("#accept")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptModal) and "Venta de ganado" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert "Disponible $11,100.00" in screen_text(app)
    assert balance(backend, first) == 11100_00 and backend.check() == []
