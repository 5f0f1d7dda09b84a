"""The compliance officer's menu at 80×24: «Reporte RESU (UAFE)» lists the month's reported cash with full IDs
(the look is audited); the auditor's menu has no such entry and its service call is refused."""

from __future__ import annotations

import uuid

import pytest

from backend.core.errors import Forbidden
from screens.branch.staff_uafe import ResuScreen
from tests.branch.test_ui_staff import staff_login
from tests.conftest import add_member
from tests.staff_helpers import enrol
from tests.ui import SIZE, make_app, screen_text, settle

DECLARED = {"name": "Pedro Pablo Quishpe Toapanta", "id_type": "cedula", "id_number": "1701234567",
            "origin": "Venta de ganado en la feria"}


async def test_the_compliance_officer_sees_the_months_resu_with_full_ids(backend, clock):
    cajero = enrol(backend, "cajero1", "cajero", "Rosa Quispe")
    oficial = enrol(backend, "cumplimiento1", "cumplimiento", "Nora Salazar", "0907891238")
    auditor = enrol(backend, "auditor1", "auditor", "Ana Ruiz", "0906789128")
    from tests.staff_helpers import sign_in

    sign_in(backend, cajero, clock)
    backend.tills.open_till(cajero.token, "100")
    _, account = add_member(backend, cedula="0901112227", first="Ana", balance=0)
    backend.counter.cash(cajero.token, "deposito", account, "12000", uuid.uuid4().hex, declaration=DECLARED)
    clock.advance(seconds=30)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, oficial)
        assert "Reporte RESU (UAFE)" in screen_text(app)
        await pilot.press("1")
        await settle(pilot)
        assert isinstance(app.screen, ResuScreen)
        app.screen.query_one("#resu-month").value = "2026-11"
        await pilot.press("enter")
        await settle(pilot)
        text = screen_text(app)
        assert "1701234567" in text and "12000.00" in text and "1 operaciones de 1 depositantes" in text
        app.screen.query_one("#resu-month").value = "2026-13"
        await pilot.press("enter")
        await settle(pilot)
        assert "AAAA-MM" in screen_text(app)
    audit = [e for e in backend.audit_log(last=5) if e.action == "uafe.resu_consultar"]
    assert audit and audit[-1].actor == "cumplimiento1"
    clock.advance(seconds=30)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, auditor)
        assert "Bitácora de auditoría" in screen_text(app) and "RESU" not in screen_text(app)
    sign_in(backend, auditor, clock)
    with pytest.raises(Forbidden):
        backend.uafe.resu(auditor.token, "2026-11")
