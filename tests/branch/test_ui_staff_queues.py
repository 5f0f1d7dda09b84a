"""The back-office queues at 80×24: answering a member's reclamo, and reviewing, approving and rejecting
product requests (four eyes above the threshold), with a snapshot of each queue."""

from __future__ import annotations

from textual.widgets import DataTable, Input, Select, TextArea

from screens.branch.staff_contact import StaffContactScreen
from screens.branch.staff_requests import StaffRequestsScreen
from screens.shared.confirm import ConfirmModal
from tests.branch.test_ui_staff import staff_login
from tests.request_helpers import new_request
from tests.staff_helpers import enrol, sign_in
from tests.transfer_helpers import balance_of, demo_member, other_member
from tests.ui import SIZE, make_app, screen_text, settle


def select_row(app, table_id: str, key: str) -> None:
    table = app.screen.query_one(table_id, DataTable)
    table.move_cursor(row=table.get_row_index(key))


async def test_atencion_answers_a_reclamo_the_member_reads_it(backend, clock):
    lucia = demo_member(backend)
    case = backend.contact.write(lucia.token, "reclamo", "[bold]Cobro[/] duplicado de la planilla de luz.")
    aten = enrol(backend, "atencion9", "atencion", "Marta Vélez")
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, aten)
        await pilot.press("3")
        await settle(pilot)
        assert isinstance(app.screen, StaffContactScreen)
        select_row(app, "#staff-cases", str(case.id))
        await settle(pilot)
        text = screen_text(app)
        assert case.number in text and "[bold]Cobro[/] duplicado" in text  # literal, never markup
        app.screen.query_one("#staff-answer", TextArea).text = "corto"
        await pilot.press("f2")
        await settle(pilot)
        await pilot.click("#accept")
        await settle(pilot)
        assert "al menos" in screen_text(app) or "mínimo" in screen_text(app)
        app.screen.query_one("#staff-answer", TextArea).text = "Devolvimos el valor duplicado a tu cuenta."
        await pilot.press("f2")  # the member reads it at once: asked first, and «Cancelar» sends nothing
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal) and "Devolvimos el valor" in screen_text(app)
        # issue 21 (staff): the case number was cut off the title after the member's long name
        assert case.number in screen_text(app) and "Lucía Estefanía Guamán Torres" in screen_text(app)
        assert app.focused.id == "cancel"  # it sends: a stray Enter must not
        await pilot.press("enter")
        await settle(pilot)
        assert backend.contact.case(lucia.token, case.id).replies == ()
        assert app.screen.query_one("#staff-answer", TextArea).text.startswith("Devolvimos")
        await pilot.press("f2")
        await settle(pilot)
        await pilot.click("#accept")
        await settle(pilot)
        assert f"Respuesta enviada al socio ({case.number})" in screen_text(app)
        await pilot.press("f3")  # closing ends the member's case: asked first, and «Cancelar» closes nothing
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal) and f"¿Cerrar el caso {case.number}?" in screen_text(app)
        assert app.focused.id == "cancel"
        await pilot.press("enter")
        await settle(pilot)
        seen = backend.contact.case(lucia.token, case.id)
        assert seen.state == "Respondido" and seen.replies[-1].body == "Devolvimos el valor duplicado a tu cuenta."
        await pilot.press("f3")
        await settle(pilot)
        await pilot.click("#accept")
        await settle(pilot)
        assert f"Caso {case.number} cerrado." in screen_text(app)
    closed = backend.contact.case(lucia.token, case.id)
    assert closed.closed and not closed.can_reply


async def test_review_reject_and_approve_with_four_eyes(make_backend, clock):
    backend = make_backend(backoffice_approval_threshold=1500_00)
    ana = other_member(backend, balance=500_00)
    small = new_request(backend, ana, "consumo", amount=1000_00, term=12)
    aten = enrol(backend, "atencion9", "atencion", "Marta Vélez")
    sup = enrol(backend, "supervisor9", "supervisor", "Hugo Torres")
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, aten)
        await pilot.press("4")
        await settle(pilot)
        assert isinstance(app.screen, StaffRequestsScreen)
        select_row(app, "#requests", str(small))
        await settle(pilot)
        await pilot.press("f4")  # reject without a reason: refused
        await settle(pilot)
        assert "motivo" in screen_text(app).lower()
        await pilot.press("f2")
        await settle(pilot)
        assert "en revisión" in screen_text(app)
        select_row(app, "#requests", str(small))
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal) and "$1,000.00" in screen_text(app)
        await pilot.click("#accept")
        await settle(pilot)
        assert "aprobada" in screen_text(app)
    assert balance_of(backend, ana.accounts[0]) == 1500_00 and backend.check() == []
    big = new_request(backend, ana, "consumo", amount=2000_00, term=24)
    sign_in(backend, aten, clock)
    backend.product_approvals.take(aten.token, big)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        clock.advance(seconds=30)
        await staff_login(pilot, backend, aten)
        await pilot.press("4")
        await settle(pilot)
        select_row(app, "#requests", str(big))
        await pilot.press("f3")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmModal)  # four eyes said before any confirmation
        status = next(line for line in screen_text(app).splitlines() if "persona distinta" in line)
        assert "$1,500.00" in status and len(status.rstrip()) <= 80
    assert backend.db.conn.execute("SELECT state FROM product_requests WHERE id = ?", (big,)).fetchone()[0] == \
        "En revisión"
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        clock.advance(seconds=30)
        await staff_login(pilot, backend, sup)
        await pilot.press("5")
        await settle(pilot)
        select_row(app, "#requests", str(big))
        app.screen.query_one("#request-reason", Input).value = "Garante insuficiente"
        await pilot.press("f4")  # asked first, with the reason the member will read
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal) and "Motivo: Garante insuficiente" in screen_text(app)
        await pilot.click("#accept")
        await settle(pilot)
        assert "rechazada" in screen_text(app)
    assert backend.product_approvals.request(aten.token, big).reason == "Garante insuficiente"
    assert balance_of(backend, ana.accounts[0]) == 1500_00 and backend.check() == []


def test_snapshot_contact_queue(snap_compare, backend, clock):
    aten = enrol(backend, "atencion9", "atencion", "Marta Vélez")

    async def run_before(pilot):
        await staff_login(pilot, backend, aten)
        await pilot.press("3")
        await settle(pilot)

    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=run_before)


def test_snapshot_requests_queue(snap_compare, backend, clock):
    sup = enrol(backend, "supervisor9", "supervisor", "Hugo Torres")

    async def run_before(pilot):
        await staff_login(pilot, backend, sup)
        await pilot.press("5")
        await settle(pilot)

    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=run_before)


async def test_approve_says_a_received_request_needs_review_before_any_confirmation(backend, clock):
    received = backend.db.conn.execute("SELECT id, amount FROM product_requests WHERE state = 'Recibida'"
                                       " ORDER BY id LIMIT 1").fetchone()
    aten = enrol(backend, "atencion9", "atencion", "Marta Vélez")
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, aten)
        await pilot.press("4")
        await settle(pilot)
        select_row(app, "#requests", str(received["id"]))
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmModal)
        assert "Primero toma la solicitud en revisión" in screen_text(app)
        await pilot.press("f2")
        await settle(pilot)
        status = next(line for line in screen_text(app).splitlines() if "en revisión." in line)
        assert "Solicitudes: 3 · ² aprueba otra persona: 1" in status  # one whole line at 80 columns
        assert len(status.rstrip()) <= 80
        await pilot.press("f3")  # now in review: the confirmation comes
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
    assert backend.db.conn.execute("SELECT state FROM product_requests WHERE id = ?",
                                   (received["id"],)).fetchone()[0] == "En revisión"


async def test_a_members_reply_reopens_the_case_in_the_queue(backend, clock):
    lucia = demo_member(backend)
    case = backend.contact.write(lucia.token, "consulta", "¿Qué horario tiene la agencia de Cayambe?")
    aten = enrol(backend, "atencion9", "atencion", "Marta Vélez")
    sign_in(backend, aten, clock)
    backend.contact_staff.answer(aten.token, case.id, "De lunes a viernes de 08:30 a 17:00.")
    backend.contact.reply(lucia.token, case.id, "[bold]¿Y los sábados?[/] abren también?")
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        clock.advance(seconds=30)
        await staff_login(pilot, backend, aten)
        await pilot.press("3")
        await settle(pilot)
        select_row(app, "#staff-cases", str(case.id))
        await settle(pilot)
        app.screen.query_one("#staff-case-scroll").scroll_end(animate=False)
        await settle(pilot)
        text = screen_text(app)
        assert "El socio respondió" in text and "[bold]¿Y los sábados?[/] abren" in text  # literal, not markup
        row = app.screen.query_one("#staff-cases", DataTable).get_row(str(case.id))
        assert str(row[3]) == "Recibido"


def footer_line(app) -> str:
    return next(line for line in screen_text(app).splitlines() if "Actualizar" in line)


async def test_after_a_decision_the_highlight_stays_on_its_position_and_keys_follow_the_state(backend, clock):
    ana = other_member(backend, balance=500_00)
    new_request(backend, ana, "consumo", amount=1000_00, term=12)  # with the demo's pending ones
    sup = enrol(backend, "supervisor9", "supervisor", "Hugo Torres")
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, sup)
        await pilot.press("5")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, StaffRequestsScreen)
        table = screen.query_one("#requests", DataTable)
        assert table.row_count >= 4
        table.move_cursor(row=1)
        await settle(pilot)
        decided = screen.current
        following = str(table.coordinate_to_cell_key((2, 0)).row_key.value)
        assert decided is not None and decided.state in ("Recibida", "En revisión")
        assert "Rechazar" in footer_line(app)
        screen.query_one("#request-reason", Input).value = "Ingresos insuficientes"
        await pilot.press("f4")
        await settle(pilot)
        await pilot.click("#accept")
        await settle(pilot)
        assert "rechazada" in screen_text(app)
        assert str(decided.id) not in screen.items  # gone from the pending ones
        assert table.cursor_row == 1 and screen.current is not None and str(screen.current.id) == following
        assert "Rechazar" in footer_line(app)
        screen.query_one("#request-state", Select).value = "Rechazada"  # decided ones: nothing to do but look
        await settle(pilot)
        assert screen.current is not None and screen.current.state == "Rechazada"
        footer = footer_line(app)
        assert not any(word in footer for word in ("Revisar", "Aprobar", "Rechazar"))
        await pilot.press("f4")  # not offered, and not run either
        await settle(pilot)
        assert "ya fue" not in screen_text(app)
        screen.query_one("#request-state", Select).value = "En revisión"  # taken: F2 dimmed, F3 and F4 offered
        await settle(pilot)
        assert screen.current is not None and screen.current.state == "En revisión"
        assert screen.check_action("take", ()) is None and screen.check_action("approve", ()) is True
        assert "Aprobar" in footer_line(app)


async def test_the_message_queue_is_read_once_as_it_opens_and_again_when_a_filter_changes(backend, clock, monkeypatch):
    """Each filter's Select says Changed as it is mounted: the queue was read three times to show it once."""
    aten = enrol(backend, "atencion9", "atencion", "Marta Vélez")
    reads: list[tuple] = []
    cases = backend.contact_staff.cases
    monkeypatch.setattr(backend.contact_staff, "cases", lambda *args: reads.append(args[1:]) or cases(*args))
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, aten)
        await pilot.press("3")
        await settle(pilot)
        assert isinstance(app.screen, StaffContactScreen) and reads == [("abiertos", "")]
        app.screen.query_one("#state", Select).value = "cerrados"
        await settle(pilot)
        assert reads == [("abiertos", ""), ("cerrados", "")]
