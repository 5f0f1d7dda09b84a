"""Keys a teller types before a search's results arrive (issue 21): the cédula, Enter, then at once the amount,
or ↓ Enter for a result of a list. They used to land in the search field (and a second Enter searched again);
now they wait for the rows and go where a teller typing slowly would have put them."""

from __future__ import annotations

from textual.widgets import Input, OptionList

from screens.branch.staff_cash import CashScreen
from screens.branch.staff_members import MemberCareScreen
from tests.app.test_ui_typeahead import burst
from tests.branch.test_ui_staff import CEDULA, staff_login
from tests.conftest import add_member
from tests.staff_helpers import enrol
from tests.ui import SIZE, make_app, settle


async def open_cash(pilot, backend, app) -> CashScreen:
    await staff_login(pilot, backend, enrol(backend, "cajero1", "cajero", "Rosa Quispe"))
    app.push_screen(CashScreen("deposito"))
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, CashScreen) and app.focused is screen.query_one("#search", Input)
    return screen


async def test_the_amount_typed_right_after_a_cedula_search_lands_in_the_amount(backend, clock):
    add_member(backend, cedula=CEDULA, first="Ana María", last="Prueba Uno", balance=100_00)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_cash(pilot, backend, app)
        burst(app, *CEDULA, "enter", "4", "5")
        await settle(pilot)
        assert screen.query_one("#search", Input).value == CEDULA
        assert screen.card is not None and screen.card.name == "Ana María Prueba Uno"
        assert screen.query_one("#amount", Input).value == "45"
        assert app.focused is screen.query_one("#amount", Input)


async def test_arrows_and_enter_typed_before_the_rows_arrive_choose_from_the_list(backend, clock):
    add_member(backend, cedula=CEDULA, first="Ana María", last="Prueba Uno", balance=100_00)
    add_member(backend, cedula="0926687856", first="Ana Lucía", last="Prueba Dos", balance=100_00)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_cash(pilot, backend, app)
        burst(app, *"Prueba", "enter", "down", "down", "enter")
        await settle(pilot)
        assert screen.query_one("#search", Input).value == "Prueba"  # no second search with the Enter
        found = screen.query_one("#found", OptionList)
        assert found.option_count == 2
        # as a teller typing slowly: the list has the focus on its first row, ↓ ↓ stops on the last, Enter
        assert screen.card is not None and screen.card.member_id == int(found.get_option_at_index(1).id or 0)
        assert app.focused is screen.query_one("#amount", Input)


async def test_the_member_care_search_keeps_what_is_typed_after_enter(backend, clock):
    add_member(backend, cedula=CEDULA, first="Ana María", last="Prueba Uno", balance=100_00)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, enrol(backend, "cajero1", "cajero", "Rosa Quispe"))
        app.push_screen(MemberCareScreen())
        await settle(pilot)
        screen = app.screen
        burst(app, *CEDULA, "enter", "x")
        await settle(pilot)
        assert screen.query_one("#care-query", Input).value == CEDULA + "x"  # the x after the rows, as typed
        assert screen.member_id is not None


async def test_keys_held_for_a_search_that_hangs_go_on_as_typed_after_the_hold_limit(backend, clock, monkeypatch):
    """A search that never answers (a database stuck behind a lock) must not freeze the keyboard: after
    HOLD_SECONDS on the app's clock the keys go on where they were typed. The clock is the test's: no waiting."""
    import threading

    from cooprogreso_tui.app import HOLD_SECONDS
    from tests.ui import FakeMonotonic

    add_member(backend, cedula=CEDULA, first="Ana María", last="Prueba Uno", balance=100_00)
    gate, find = threading.Event(), backend.counter.find_member

    def stuck(*args):  # the search waits for the database, as a query behind another's lock would
        gate.wait(30)
        return find(*args)

    monkeypatch.setattr(backend.counter, "find_member", stuck)
    now = FakeMonotonic()
    app = make_app(backend, monotonic=now)
    async with app.run_test(size=SIZE) as pilot:
        try:
            screen = await open_cash(pilot, backend, app)
            search = screen.query_one("#search", Input)
            burst(app, *CEDULA, "enter", "4", "5")
            for _ in range(3):
                await pilot.pause()
            now.advance(HOLD_SECONDS - 0.5)
            app._tick()
            await pilot.pause()
            assert search.value == CEDULA and screen.card is None  # still waiting for the rows
            now.advance(0.5)
            app._tick()
            for _ in range(3):
                await pilot.pause()
            assert search.value == CEDULA + "45" and app.focused is search  # as typed, not lost
            burst(app, "backspace")
            await pilot.pause()
            assert search.value == CEDULA + "4"  # and the keyboard answers at once
        finally:
            gate.set()
        await settle(pilot)


async def test_keys_typed_after_the_declarations_enter_wait_for_its_check(backend, clock):
    """The teller ends the declaration with the ID and Enter, then Escape at once: it waits for the check and
    leaves the confirmation that follows, not the declaration (which stays with the deposit, not typed again)."""
    from screens.branch.staff_declaration import DeclarationModal
    from screens.shared.confirm import ConfirmModal
    from tests.branch.test_ui_staff_counterqa import _large_deposit, _teller_with_member, balance

    cajero, account = _teller_with_member(backend, clock)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await _large_deposit(pilot, backend, cajero)
        dialog = app.screen
        assert isinstance(dialog, DeclarationModal)
        dialog.query_one("#dec-origin", Input).value = "Venta de un vehículo"
        dialog.query_one("#dec-name", Input).value = "Pedro Quishpe"
        dialog.query_one("#dec-id", Input).focus()
        await pilot.pause()
        burst(app, *"1104680135", "enter", "escape")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CashScreen) and not isinstance(screen, (ConfirmModal, DeclarationModal))
        assert screen.declaration is not None and screen.declaration["id_number"] == "1104680135"
    assert balance(backend, account) == 100_00
