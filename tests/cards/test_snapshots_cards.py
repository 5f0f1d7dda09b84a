"""Snapshots of 4. Pago de Tarjetas and 5. Diferido at 80×24 (refresh with --snapshot-update, then look)."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, RadioButton, Select

from screens.menu.registry import screen_for
from backend.cards.requests import CardPaymentRequest

from tests.ui import SIZE, login, make_app, settle


def quiet(backend):
    """Not a demo database: the simulated phone would show a random code."""
    backend.db.conn.execute("UPDATE meta SET value = '0' WHERE key = 'demo'")


async def open_section(pilot, key):
    await login(pilot)
    pilot.app.push_screen(screen_for(key))
    await settle(pilot)


@pytest.mark.parametrize("option", ["minimo", "total", "otro"])
def test_card_payment_amount_options(snap_compare, backend, option):
    async def run_before(pilot):
        await open_section(pilot, "tarjetas_cooprogreso")
        pilot.app.screen.query_one(f"#opt-{option}", RadioButton).value = True
        if option == "otro":
            pilot.app.screen.query_one("#other-amount").value = "45.60"
        await settle(pilot)

    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=run_before)


def test_card_registration_bad_luhn(snap_compare, backend):
    async def run_before(pilot):
        await open_section(pilot, "tarjetas_otros")
        await pilot.click("#add-card")
        await settle(pilot)
        modal = pilot.app.screen
        modal.query_one("#institution", Select).value = "0010"
        modal.query_one("#numero").value = "4111 1111 1111 1112"
        modal.query_one("#holder-name").value = "Lucía Guamán"
        modal.query_one("#id-number").value = "1709543210"
        await pilot.click("#register")
        await settle(pilot)

    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=run_before)


async def _select_manual(pilot):
    await open_section(pilot, "diferido_transacciones")
    table = pilot.app.screen.query_one("#purchases", DataTable)
    for index in range(table.row_count):
        if str(table.get_row_at(index)[1]) in ("Consumo Comida", "Consumo Vivienda"):
            table.move_cursor(row=index)
            await pilot.press("space")
    await settle(pilot)


def test_deferral_purchase_table_with_selection(snap_compare, backend):
    from tests.card_helpers import buy, demo_card

    # a merchant naming its own promotion: the table still fits 80 columns, «sin intereses» said once
    buy(backend, demo_card(backend), 1234_56, "2026-11-21 10:00:00",
        memo="Consumo Almacenes Juan Eljuri (3 meses sin intereses)", promo=3)
    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=_select_manual)


def test_deferral_simulation(snap_compare, backend):
    async def run_before(pilot):
        await _select_manual(pilot)
        await pilot.click("#simulate")
        await settle(pilot)

    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=run_before)


def test_deferral_success(snap_compare, backend):
    quiet(backend)

    async def run_before(pilot):
        from tests.conftest import last_code
        from tests.ui import type_into

        await _select_manual(pilot)
        await pilot.click("#simulate")
        await settle(pilot)
        await pilot.click("#confirmar")
        await settle(pilot)
        await pilot.click("#accept")
        await settle(pilot)
        await type_into(pilot, "#otp-code", last_code(pilot.app.backend))
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=run_before)


def test_card_payment_after_the_minimum_is_paid(snap_compare, backend):
    """«Pago mínimo: cubierto» instead of $0.00; the total still owed on the statement is offered."""
    from tests.card_helpers import demo_card
    from tests.conftest import last_code
    from tests.transfer_helpers import demo_member

    quiet(backend)
    lucia = demo_member(backend)
    pending = backend.cards.prepare_payment(lucia.token, CardPaymentRequest(card=f"propia:{demo_card(backend)}", option="minimo",
                                                                            origin_id=lucia.accounts[0]))
    backend.ops.request_code(lucia.token, pending.id)
    backend.ops.authorise(lucia.token, pending.id, last_code(backend))

    async def run_before(pilot):
        await open_section(pilot, "tarjetas_cooprogreso")

    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=run_before)
