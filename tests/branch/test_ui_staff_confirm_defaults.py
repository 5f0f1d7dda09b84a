"""Irreversible staff actions at 80×24: each confirmation opens on «Cancelar», so a stray Enter
closes the day, a till, approves or rejects nothing; the action needs «Aceptar» chosen."""

from __future__ import annotations

import uuid

from textual.widgets import Button, DataTable, Input

from screens.shared.confirm import ConfirmModal
from tests.branch.test_ui_staff import CEDULA, staff_login
from tests.conftest import add_member
from tests.request_helpers import insert_request, new_request
from tests.staff_helpers import enrol, sign_in
from tests.transfer_helpers import other_member
from tests.ui import SIZE, make_app, screen_text, settle


async def _stray_enter(pilot) -> None:
    """The dialog is up with «Cancelar» focused; Enter answers no."""
    app = pilot.app
    assert isinstance(app.screen, ConfirmModal)
    assert isinstance(app.focused, Button) and app.focused.id == "cancel"
    await pilot.press("enter")
    await settle(pilot)
    assert not isinstance(app.screen, ConfirmModal)


async def test_closing_the_till_starts_on_cancelar(backend, clock):
    cajero = enrol(backend, "cajero1", "cajero")
    sign_in(backend, cajero, clock)
    backend.tills.open_till(cajero.token, "120")
    clock.advance(seconds=30)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, cajero)
        await pilot.press("4")
        await settle(pilot)
        app.screen.query_one("#d10000").value = "1"
        await pilot.click("#close-till")
        await settle(pilot)
        assert "¿Cerrar tu caja con $100.00 contados?" in screen_text(app)
        await _stray_enter(pilot)
    assert backend.tills.my_till(sign_in(backend, cajero, clock).token).status == "abierta"


async def test_closing_the_day_starts_on_cancelar(backend, clock):
    cajero = enrol(backend, "cajero1", "cajero")
    supervisor = enrol(backend, "supervisor1", "supervisor", "Hugo Torres")
    _, account = add_member(backend, cedula=CEDULA, balance=100_00)
    sign_in(backend, cajero, clock)
    backend.tills.open_till(cajero.token, "100")
    backend.counter.cash(cajero.token, "deposito", account, "20", uuid.uuid4().hex)
    backend.tills.close_till(cajero.token, {2000: 6})
    day = backend.db.conn.execute("SELECT value FROM meta WHERE key = 'business_date'").fetchone()
    clock.advance(seconds=60)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, supervisor)
        await pilot.press("3")
        await settle(pilot)
        await pilot.click("#run-eod")
        await settle(pilot)
        assert "¿Cerrar el día" in screen_text(app)
        await _stray_enter(pilot)
        assert "cerrado. Nuevo día" not in screen_text(app)
    assert backend.db.conn.execute("SELECT value FROM meta WHERE key = 'business_date'").fetchone() == day


def _row(app, key: str) -> None:
    table = app.screen.query_one("#requests", DataTable)
    table.move_cursor(row=table.get_row_index(key))


async def test_approving_and_rejecting_a_request_start_on_cancelar(backend, clock):
    ana = other_member(backend, balance=500_00)
    first = new_request(backend, ana, "consumo", amount=1000_00, term=12)
    second = insert_request(backend, ana.member_id, "consumo", amount=800_00)
    aten = enrol(backend, "atencion9", "atencion", "Marta Vélez")
    sign_in(backend, aten, clock)
    backend.product_approvals.take(aten.token, first)
    clock.advance(seconds=30)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, aten)
        await pilot.press("4")
        await settle(pilot)
        _row(app, str(first))
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        assert "¿Aprobar la solicitud" in screen_text(app)
        await _stray_enter(pilot)
        _row(app, str(second))
        await settle(pilot)
        await pilot.press("f4")  # no reason: said, and no dialog
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmModal) and "motivo del rechazo" in screen_text(app)
        app.screen.query_one("#request-reason", Input).value = "[red]Ingresos[/] sin respaldo"
        await pilot.press("f4")
        await settle(pilot)
        assert "¿Rechazar la solicitud" in screen_text(app)
        assert "Motivo: [red]Ingresos[/] sin respaldo" in screen_text(app)  # literal, never markup
        await _stray_enter(pilot)
    states = {r: backend.product_approvals.request(aten.token, r).state for r in (first, second)}
    assert states == {first: "En revisión", second: "Recibida"}
