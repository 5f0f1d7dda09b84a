"""«¿Quién deposita?» at the till, 80×24: a third person bringing the cash is named (cédula with its check digit,
names) and their cash adds up across members' accounts; the declaration is asked, of that same person, when
their sum reaches the threshold — a deposit under it by the owner would not have been."""

from __future__ import annotations

from screens.branch.staff_cash import CashScreen
from screens.branch.staff_declaration import DeclarationModal
from screens.shared.confirm import ConfirmModal
from screens.shared.receipt import ReceiptModal
from tests.branch.test_ui_staff import balance, staff_login
from tests.conftest import add_member
from tests.staff_helpers import enrol
from tests.ui import SIZE, make_app, screen_text, settle

PEDRO_ID, PEDRO = "1701234567", "Pedro Pablo Quishpe Toapanta"


async def open_deposit(pilot, cedula: str) -> None:
    screen = pilot.app.screen
    assert isinstance(screen, CashScreen)
    screen.query_one("#search").value = cedula
    screen.query_one("#search").focus()
    await pilot.press("enter")
    await settle(pilot)


async def third_person(pilot, id_number: str, name: str) -> None:
    screen = pilot.app.screen
    screen.query_one("#depositor").value = "otra"
    await settle(pilot)
    assert screen.query_one("#third-row").display
    screen.query_one("#dep-id").value = id_number
    screen.query_one("#dep-name").value = name


async def submit(pilot, amount: str) -> None:
    amount_input = pilot.app.screen.query_one("#amount")
    amount_input.value = amount
    amount_input.focus()
    await pilot.press("enter")
    await settle(pilot)


async def test_a_third_person_depositing_into_two_members_accounts_is_asked_to_declare(backend, clock):
    cajero = enrol(backend, "cajero1", "cajero", "Rosa Quispe")
    _, ana = add_member(backend, cedula="0901112227", first="Ana", last="Prueba Uno", balance=0)
    _, luis = add_member(backend, cedula="1102223334", first="Luis", last="Prueba Dos", balance=0)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, cajero)
        await pilot.press("1")
        await settle(pilot)
        app.screen.query_one("#opening").value = "100"
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("escape")
        await pilot.press("2")
        await settle(pilot)
        await open_deposit(pilot, "0901112227")
        text = screen_text(app)
        assert "¿Quién deposita?" in text and "El titular" in text and "Depositar" in text  # all of it at 80×24
        assert not app.screen.query_one("#third-row").display  # the owner brings it unless the teller says not
        # a cédula whose check digit is wrong is refused, naming the field; nothing is booked
        await third_person(pilot, "1701234568", PEDRO)
        await submit(pilot, "6000")
        assert isinstance(app.screen, CashScreen) and "dula" in screen_text(app)
        assert app.screen.query_one("#dep-id").has_focus and balance(backend, ana) == 0
        await third_person(pilot, PEDRO_ID, PEDRO)
        await submit(pilot, "6000")
        assert isinstance(app.screen, ConfirmModal)
        await pilot.click("#accept")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptModal) and balance(backend, ana) == 6000_00
        text = screen_text(app)  # the paper says who brought the cash, as the audit log does
        assert "Depositado por" in text and PEDRO in text and PEDRO_ID not in text
        await pilot.press("escape")
        await settle(pilot)
        # the next deposit is the owner's again: Pedro is not carried over to whoever comes next
        form = app.screen
        assert form.query_one("#depositor").value == "titular" and not form.query_one("#third-row").display
        assert form.query_one("#dep-id").value == "" and form.query_one("#dep-name").value == ""
        # the same person brings $4,000 for Luis: $10,000 in 30 days, so the declaration is asked — of Pedro
        await open_deposit(pilot, "1102223334")
        assert "Luis Prueba Dos" in screen_text(app)
        await third_person(pilot, PEDRO_ID, PEDRO)
        await submit(pilot, "4000")
        assert isinstance(app.screen, DeclarationModal)
        text = screen_text(app)
        assert "$6,000.00" in text and "licitud de fondos" in text
        assert app.screen.query_one("#dec-name").value == PEDRO and app.screen.query_one("#dec-id").value == PEDRO_ID
        app.screen.query_one("#dec-origin").value = "Venta de ganado en la feria"
        await pilot.click("#dec-go")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.click("#accept")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptModal) and balance(backend, luis) == 4000_00
    row = backend.db.conn.execute("SELECT depositor_id, depositor_name FROM counter_ops WHERE account_id = ?",
                                  (luis,)).fetchone()
    assert tuple(row) == (PEDRO_ID, PEDRO)
    assert backend.check() == []
