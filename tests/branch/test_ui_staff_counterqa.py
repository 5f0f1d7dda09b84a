"""Teller screens at 80×24 after the second QA probe: no till opened by an empty Enter, look-alike
digits in the amount shown in the one confirmation before anything is booked, held withdrawals."""

from __future__ import annotations

from screens.branch.staff_till import TillScreen
from screens.shared.confirm import ConfirmModal
from tests.branch.test_ui_staff import CEDULA, balance, searched, staff_login
from tests.conftest import add_member
from tests.staff_helpers import enrol, sign_in
from tests.ui import SIZE, make_app, screen_text, settle, type_keys


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


async def _search(pilot, backend, cajero, query: str) -> None:
    await searched(pilot, backend, cajero, "#search", query)


def _namesakes(backend, clock, count: int):
    from backend.demo.coop import cedula

    cajero = enrol(backend, "cajero1", "cajero", "Rosa Quispe")
    for n in range(count):
        add_member(backend, cedula=cedula(f"17{n + 300:07d}"), first=f"Socio {chr(65 + n)}", last="Núñez Toapanta")
    sign_in(backend, cajero, clock)
    backend.tills.open_till(cajero.token, "500")
    clock.advance(seconds=30)
    return cajero


async def test_teller_search_shows_every_listed_member_at_80x24_with_the_count(backend, clock):
    cajero = _namesakes(backend, clock, 12)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await _search(pilot, backend, cajero, "núñez")
        text = screen_text(app)
        assert "Se muestran 10 de 12; afina la búsqueda." in text
        assert all(f"Socio {chr(65 + n)} Núñez Toapanta" in text for n in range(10))
        app.screen.query_one("#found").highlighted = 9
        await pilot.press("enter")  # choosing one gives the room back to the identity checks and the amount
        await settle(pilot)
        assert "Verifica su identidad" in screen_text(app) and app.screen.query_one("#amount").region.bottom <= 24


async def test_a_short_list_says_how_many_matched(backend, clock):
    cajero = _namesakes(backend, clock, 3)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await _search(pilot, backend, cajero, "núñez")
        assert "Se muestran 3 de 3." in screen_text(app)


def test_snapshot_teller_search_list(snap_compare, backend, clock):
    cajero = _namesakes(backend, clock, 12)

    async def run_before(pilot):
        await _search(pilot, backend, cajero, "núñez")

    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=run_before)


async def test_a_withdrawal_sent_to_the_supervisor_lowers_the_available_shown(backend, clock):
    cajero = enrol(backend, "cajero1", "cajero", "Rosa Quispe")
    add_member(backend, cedula=CEDULA, balance=9000_00)
    sign_in(backend, cajero, clock)
    backend.tills.open_till(cajero.token, "8000")
    clock.advance(seconds=30)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, cajero)
        await pilot.press("3")
        await settle(pilot)
        app.screen.query_one("#search").value = CEDULA
        await pilot.press("enter")
        await settle(pilot)
        assert "Disponible $9,000.00" in screen_text(app)
        app.screen.query_one("#amount").value = "2500"
        app.screen.query_one("#amount").focus()
        await pilot.press("enter")
        await settle(pilot)
        await pilot.click("#accept")
        await settle(pilot)
        assert "enviado al supervisor" in screen_text(app) and "Disponible $6,500.00" in screen_text(app)


async def _large_deposit(pilot, backend, cajero) -> None:
    await staff_login(pilot, backend, cajero)
    await pilot.press("2")
    await settle(pilot)
    pilot.app.screen.query_one("#search").value = CEDULA
    await pilot.press("enter")
    await settle(pilot)
    pilot.app.screen.query_one("#amount").value = "12000"
    pilot.app.screen.query_one("#amount").focus()
    await pilot.press("enter")
    await settle(pilot)


def _teller_with_member(backend, clock):
    cajero = enrol(backend, "cajero1", "cajero", "Rosa Quispe")
    _, account = add_member(backend, cedula=CEDULA, first="Ana María", last="Prueba Uno", balance=100_00)
    sign_in(backend, cajero, clock)
    backend.tills.open_till(cajero.token, "500")
    clock.advance(seconds=30)
    return cajero, account


async def test_a_large_cash_deposit_asks_for_the_origin_of_funds_then_confirms_and_prints_it(backend, clock):
    from screens.branch.staff_declaration import DeclarationModal
    from screens.shared.receipt import ReceiptModal

    cajero, account = _teller_with_member(backend, clock)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await _large_deposit(pilot, backend, cajero)
        assert isinstance(app.screen, DeclarationModal) and "licitud de fondos" in screen_text(app)
        app.screen.query_one("#dec-origin").value = "Venta de un vehículo"
        app.screen.query_one("#dec-name").value = "Pedro"
        app.screen.query_one("#dec-id").value = "1104680135"
        await pilot.click("#dec-go")
        await settle(pilot)
        assert isinstance(app.screen, DeclarationModal) and "nombres y apellidos" in screen_text(app)
        app.screen.query_one("#dec-name").value = "Pedro Quishpe"
        await pilot.click("#dec-go")
        await settle(pilot)
        text = screen_text(app)
        assert isinstance(app.screen, ConfirmModal) and "Origen de los fondos: Venta de un vehículo" in text
        assert balance(backend, account) == 100_00
        await pilot.click("#accept")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptModal) and "Venta de un vehículo" in screen_text(app)
    assert balance(backend, account) == 12100_00


async def test_the_declaration_moves_on_with_enter_and_continues_from_the_identification(backend, clock):
    """Enter did nothing in the origin and the name: a teller typing «origin Enter names Enter» fast put the
    names in the origin. Now they move on as the app reads it; the identification's Enter continues."""
    from screens.branch.staff_declaration import DeclarationModal
    from tests.app.test_ui_typeahead import burst

    cajero, account = _teller_with_member(backend, clock)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await _large_deposit(pilot, backend, cajero)
        modal = app.screen
        assert isinstance(modal, DeclarationModal) and modal.query_one("#dec-origin").has_focus
        burst(app, *"Venta de ganado", "enter", *"Pedro Quishpe", "enter")
        await settle(pilot)
        assert modal.query_one("#dec-origin").value == "Venta de ganado"
        assert modal.query_one("#dec-name").value == "Pedro Quishpe"
        assert modal.query_one("#dec-id-type").has_focus
        await pilot.press("tab")
        burst(app, *"1104680135", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal) and "Origen de los fondos: Venta de ganado" in screen_text(app)
    assert balance(backend, account) == 100_00


def test_snapshot_cash_declaration(snap_compare, backend, clock):
    cajero, _ = _teller_with_member(backend, clock)

    async def run_before(pilot):
        await _large_deposit(pilot, backend, cajero)
        pilot.app.screen.query_one("#dec-origin").value = "Ahorros de la cosecha de cacao"
        pilot.app.screen.query_one("#dec-name").value = "Pedro"
        pilot.app.screen.query_one("#dec-id").value = "1104680135"
        await pilot.click("#dec-go")
        await settle(pilot)

    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=run_before)


def test_snapshot_withdrawal_decision_shows_available_and_till_cash(snap_compare, backend, clock):
    import uuid

    cajero = enrol(backend, "cajero1", "cajero", "Rosa Quispe")
    supervisor = enrol(backend, "supervisor1", "supervisor", "Hugo Torres")
    _, account = add_member(backend, cedula=CEDULA, first="Ana María", last="Prueba Uno", balance=9000_00)
    sign_in(backend, cajero, clock)
    backend.tills.open_till(cajero.token, "8000")
    backend.counter.cash(cajero.token, "retiro", account, "2500", uuid.uuid4().hex)
    clock.advance(seconds=30)

    async def run_before(pilot):
        await staff_login(pilot, backend, supervisor)
        await pilot.press("1")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=run_before)
