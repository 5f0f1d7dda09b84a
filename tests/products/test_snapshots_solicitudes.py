"""Snapshots at 80×24 of 7. Solicita tus Productos (refresh with --snapshot-update, then look at them)."""

from tests.contact.test_snapshots_contacto import opened
from tests.ui import SIZE, make_app, settle


def test_loan_simulation(snap_compare, backend):
    async def run_before(pilot):
        await opened("solicitudes")(pilot)
        screen = pilot.app.screen
        screen.query_one("#amount").value = "1000"
        screen.query_one("#term").value = 12
        await pilot.press("f2")
        await settle(pilot)

    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=run_before)


def test_plazo_fijo_simulation(snap_compare, backend):
    async def run_before(pilot):
        await opened("solicitudes")(pilot)
        screen = pilot.app.screen
        screen.query_one("#product").value = "plazo_fijo"
        await pilot.pause()
        screen.query_one("#amount").value = "10000"
        screen.query_one("#term").value = 180
        await pilot.press("f2")
        await settle(pilot)

    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=run_before)


def test_my_requests(snap_compare, backend):
    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=opened("solicitudes", "f3"))


def test_german_loan_simulation(snap_compare, backend):
    """The German cuota falls every month: its first and last are named, not one «Cuota»."""
    async def run_before(pilot):
        await opened("solicitudes")(pilot)
        screen = pilot.app.screen
        screen.query_one("#amount").value = "4500"
        screen.query_one("#term").value = 12
        screen.query_one("#method").value = "aleman"
        await pilot.press("f2")
        await settle(pilot)

    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=run_before)


def test_plazo_fijo_confirmation(snap_compare, backend):
    """What the member confirms for a plazo fijo: interest, maturity, debit account, no income asked."""
    async def run_before(pilot):
        from textual.widgets import Input

        await opened("solicitudes")(pilot)
        screen = pilot.app.screen
        screen.query_one("#product").value = "plazo_fijo"
        await pilot.pause()
        screen.query_one("#amount").value = "1000"
        screen.query_one("#term").value = 180
        await pilot.press("f2")
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        pilot.app.screen.query_one("#purpose", Input).value = "Ahorro para estudios"
        await pilot.press("f2")
        await settle(pilot)

    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=run_before)
