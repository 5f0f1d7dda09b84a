"""Snapshot tests of the main screens at 80×24 (refresh with --snapshot-update after a deliberate change)."""

from tests.transfer_helpers import save_beneficiary
from tests.ui import SIZE, login, make_app, settle


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
        from tests.conftest import unaffiliated_cedula
        from tests.ui import type_into

        await pilot.pause()
        await pilot.press("ctrl+r")
        await pilot.pause()
        await type_into(pilot, "#id-number", unaffiliated_cedula())
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=run_before)


def test_transfer_form(snap_compare, backend):
    async def run_before(pilot):
        await login(pilot)
        pilot.app.screen.query_one("#menu").highlighted = 3  # Transferencias Cooprogreso
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=run_before)


def test_beneficiaries_table(snap_compare, backend):
    from backend.transfers.beneficiaries import BeneficiaryForm


    token = backend.auth.login("demo", "Demo-2026!").token
    for name, account in (("Pedro Andrade", "2200123456"), ("[bold]Rosa[/] Vega", "2200555555")):
        form = BeneficiaryForm("interbancaria", name, "cedula", "0926687856", account, "0010", "ahorros")
        save_beneficiary(backend, token, form)

    async def run_before(pilot):
        await login(pilot)
        pilot.app.screen.query_one("#menu").highlighted = 5  # Administración de Beneficiarios
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("space")
        await pilot.pause()

    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=run_before)
