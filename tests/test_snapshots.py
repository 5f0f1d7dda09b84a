"""Snapshot tests of the main screens at 80×24 (refresh with --snapshot-update after a deliberate change)."""

from .ui import SIZE, login, make_app, settle


def test_login_screen(snap_compare, backend):
    assert snap_compare(make_app(backend), terminal_size=SIZE)


def test_menu_screen(snap_compare, backend):
    async def run_before(pilot):
        await login(pilot)

    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=run_before)


def test_products_screen(snap_compare, backend):
    async def run_before(pilot):
        await login(pilot)
        await pilot.press("1")
        await settle(pilot)

    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=run_before)


def test_otp_modal(snap_compare, backend):
    # Not a demo database here: the simulated phone would show a random code.
    backend.db.conn.execute("UPDATE meta SET value = '0' WHERE key = 'demo'")

    async def run_before(pilot):
        from .conftest import unaffiliated_cedula
        from .ui import type_into

        await pilot.pause()
        await pilot.press("ctrl+r")
        await pilot.pause()
        await type_into(pilot, "#id-number", unaffiliated_cedula())
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=run_before)
