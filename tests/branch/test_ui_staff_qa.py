"""Staff screens at 80×24 after the QA probe: money typed whole (never a character dropped), the day's
report in words, dates as dd/mm/aaaa, tables that fit, the supervisor's note kept after an error."""

from __future__ import annotations

import uuid

from screens.branch.staff_till import TillCloseScreen, TillScreen
from tests.branch.test_ui_staff import CEDULA, balance, staff_login
from tests.conftest import add_member
from tests.staff_helpers import enrol, sign_in
from tests.ui import SIZE, make_app, screen_text, settle, type_keys


async def test_opening_amount_typed_with_a_letter_is_refused_not_shortened(backend, clock):
    cajero = enrol(backend, "cajero1", "cajero", "Rosa Quispe")
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, cajero)
        await pilot.press("1")
        await settle(pilot)
        assert isinstance(app.screen, TillScreen)
        await type_keys(pilot, "#opening", "1e9")
        assert app.screen.query_one("#opening").value == "1e9"
        await pilot.press("enter")
        await settle(pilot)
        assert "solo admite dígitos" in screen_text(app) and "Caja abierta" not in screen_text(app)
    assert backend.tills.my_till(sign_in(backend, cajero, clock).token) is None


async def test_deposit_amount_typed_with_a_letter_is_refused(backend, clock):
    cajero = enrol(backend, "cajero1", "cajero", "Rosa Quispe")
    _, account = add_member(backend, cedula=CEDULA, balance=100_00)
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
        await type_keys(pilot, "#amount", "4O.5")  # a letter O for a zero
        await pilot.press("enter")
        await settle(pilot)
        assert "solo admite dígitos" in screen_text(app)
    assert balance(backend, account) == 100_00


async def test_a_denomination_count_with_a_letter_is_refused(backend, clock):
    cajero = enrol(backend, "cajero1", "cajero")
    sign_in(backend, cajero, clock)
    backend.tills.open_till(cajero.token, "120")
    clock.advance(seconds=30)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, cajero)
        await pilot.press("4")
        await settle(pilot)
        assert isinstance(app.screen, TillCloseScreen)
        await type_keys(pilot, "#d10000", "1O")
        assert app.screen.query_one("#d10000").value == "1O"
        assert "Cantidad no válida" in screen_text(app)
        await pilot.click("#close-till")
        await settle(pilot)
        assert isinstance(app.screen, TillCloseScreen) and "Cantidad no válida" in screen_text(app)
    assert backend.tills.my_till(cajero.token).status == "abierta"


async def test_teller_search_says_when_not_every_match_is_shown(backend, clock):
    from backend.demo.coop import cedula

    cajero = enrol(backend, "cajero1", "cajero", "Rosa Quispe")
    for n in range(12):
        add_member(backend, cedula=cedula(f"17{n + 300:07d}"), first=f"Socio {chr(65 + n)}", last="Núñez Toapanta")
    sign_in(backend, cajero, clock)
    backend.tills.open_till(cajero.token, "500")
    clock.advance(seconds=30)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, cajero)
        await pilot.press("2")
        await settle(pilot)
        app.screen.query_one("#search").value = "NUÑEZ toapanta"
        await pilot.press("enter")
        await settle(pilot)
        assert "Se muestran 10 de 12; afina la búsqueda." in screen_text(app)
        assert app.screen.query_one("#found").option_count == 10


async def test_the_decision_dialog_keeps_the_note_and_buttons_after_an_error_at_80x24(backend, clock):
    """However many detail lines and however long the error, the note box and the buttons stay on screen."""
    from backend.branch.approvals import Approval
    from backend.core.errors import ValidationError
    from screens.branch.staff_approvals import DecisionModal

    supervisor = enrol(backend, "supervisor1", "supervisor", "Hugo Torres")
    lines = tuple((f"Detalle {n}", "Un dato largo de la operación que el supervisor revisa " * 2) for n in range(14))
    approval = Approval(1, "cierre_caja", "Cierre de caja con diferencia", "cajero1", "-", 100_00, "", lines)

    def refuse(*_):
        raise ValidationError("La nota es obligatoria para rechazar: escribe por qué se rechaza esta operación "
                              "para que el cajero y la auditoría lo sepan.", field="nota")

    backend.approvals.reject = refuse
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, supervisor)
        app.push_screen(DecisionModal(approval))
        await settle(pilot)
        await pilot.click("#reject")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, DecisionModal) and "La nota es obligatoria" in screen_text(app)
        dialog = modal.query_one(".dialog")
        assert dialog.outer_size.height <= SIZE[1]
        for selector in ("#decision-note", "#decision-error", "#approve", "#reject", "#cancel"):
            widget = modal.query_one(selector)
            assert widget.region.height >= 1 and dialog.region.contains_region(widget.region), selector
        assert modal.query_one("#decision-note").has_focus or modal.focused is not None
        modal.query_one("#decision-note").value = "Faltante reconocido"
        assert "Detalle 0" in screen_text(app)


def _busy_day(backend, clock):
    """Two tellers, long member names, a pending withdrawal and a close with a difference."""
    people = {"cajero": enrol(backend, "cajero1", "cajero", "Rosa Quispe"),
              "cajero2": enrol(backend, "ventanilla2", "cajero", "Pablo Andrade"),
              "supervisor": enrol(backend, "supervisor1", "supervisor", "Hugo Torres"),
              "auditor": enrol(backend, "auditor1", "auditor", "Ana Ruiz")}
    _, account = add_member(backend, cedula=CEDULA, first="María Fernanda de los Ángeles",
                            last="Guamán Quishpe Villavicencio", balance=900_000_00)
    for staff in people.values():
        sign_in(backend, staff, clock)
    backend.tills.open_till(people["cajero"].token, "8000")
    backend.tills.open_till(people["cajero2"].token, "100")
    backend.counter.cash(people["cajero"].token, "deposito", account, "12345.67", uuid.uuid4().hex,
                         {"origin": "Venta de ganado", "name": "Luis Guamán", "id_type": "cedula",
                          "id_number": CEDULA})  # licitud de fondos from $10,000.00
    backend.counter.cash(people["cajero"].token, "retiro", account, "2500", uuid.uuid4().hex)
    backend.tills.close_till(people["cajero2"].token, {1000: 1}, "Faltó un billete")
    return people


async def _check_screen(backend, clock, staff, key: str, then=None) -> str:
    from textual.widgets import DataTable

    from screens.shared.cells import fits

    clock.advance(seconds=60)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, staff)
        await pilot.press(key)
        await settle(pilot)
        if then:
            await then(pilot)
            await settle(pilot)  # a search runs two workers in a row (the member, then their movements)
        tables = [t for t in app.screen.query(DataTable) if t.display]
        assert tables and all(t.row_count for t in tables), key
        for table in tables:
            assert fits(table), f"{type(app.screen).__name__} #{table.id}: {table.virtual_size.width} columns"
        text = screen_text(app)
        assert "2026-11-25" not in text and "2026-01-02" not in text
        return text


async def test_every_staff_table_fits_80_columns_with_dates_as_dd_mm_aaaa(backend, clock):
    people = _busy_day(backend, clock)
    text = await _check_screen(backend, clock, people["cajero"], "1")
    assert "día 25/11/2026" in text and "Por aprobar" in text
    text = await _check_screen(backend, clock, people["supervisor"], "1")
    assert "Solicitó" in text and "ventanilla2" in text
    text = await _check_screen(backend, clock, people["supervisor"], "2")
    assert "Pend." in text and "25/11/2026" in text
    await _check_screen(backend, clock, people["auditor"], "1")

    async def find(pilot):
        pilot.app.screen.query_one("#moves-query").value = CEDULA
        await pilot.press("enter")
        await settle(pilot)
        for _ in range(40):  # the search runs in a worker: on a busy machine its rows take a few more frames
            if "$900,000.00" in screen_text(pilot.app):
                break
            await pilot.pause(0.05)

    text = await _check_screen(backend, clock, people["auditor"], "2", find)
    assert "02/01/2026" in text and "Saldo" in text and "$900,000.00" in text


async def test_end_of_day_screen_shows_kinds_in_words_and_dates_as_dd_mm_aaaa(backend, clock):
    cajero = enrol(backend, "cajero1", "cajero")
    supervisor = enrol(backend, "supervisor1", "supervisor", "Hugo Torres")
    _, account = add_member(backend, cedula=CEDULA, balance=100_00)
    sign_in(backend, cajero, clock)
    backend.tills.open_till(cajero.token, "100")
    backend.counter.cash(cajero.token, "deposito", account, "20", uuid.uuid4().hex)
    backend.tills.close_till(cajero.token, {2000: 6})

    async def close(pilot):
        await pilot.click("#run-eod")
        await settle(pilot)
        await pilot.click("#accept")
        await settle(pilot)

    text = await _check_screen(backend, clock, supervisor, "3", close)
    assert "Día 25/11/2026 cerrado. Nuevo día de negocio: 26/11/2026." in text
    assert "Depósito en ventanilla" in text and "Apertura de caja" in text
    assert "deposito_ventanilla" not in text and "revisadas" in text


async def test_end_of_day_screen_says_which_supervisor_closed_the_day_first(make_backend, clock):
    """Two supervisors on the Cierre del día screen: the second is told who closed it and when, the screen then
    shows the new business day, and nothing else is closed in the 25th's place."""
    backend, other = make_backend(), make_backend()
    supervisor = enrol(backend, "supervisor1", "supervisor", "Hugo Torres")
    colleague = enrol(backend, "supervisor2", "supervisor", "Inés Mora")
    clock.advance(seconds=60)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, supervisor)
        await pilot.press("3")
        await settle(pilot)
        assert "Día de negocio: 25/11/2026" in screen_text(app)
        other.end_of_day.close_day(sign_in(other, colleague, clock).token)  # from her own screen, on another server
        await pilot.click("#run-eod")
        await settle(pilot)
        await pilot.click("#accept")
        await settle(pilot)
        text = " ".join(screen_text(app).split())  # the message wraps at 80 columns
        assert f"El día 25/11/2026 ya lo cerró Inés Mora (supervisor2) el 25/11/2026 a las {clock.now():%H:%M}." in text
        assert "Día de negocio: 26/11/2026" in text and "intenta de nuevo" not in text
    assert backend.db.conn.execute("SELECT COUNT(*) FROM business_days").fetchone()[0] == 1


def test_snapshot_my_till_with_long_names(snap_compare, backend, clock):
    people = _busy_day(backend, clock)
    clock.advance(seconds=60)

    async def run_before(pilot):
        await staff_login(pilot, backend, people["cajero"])
        await pilot.press("1")
        await settle(pilot)

    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=run_before)


def test_snapshot_decision_dialog_after_an_error(snap_compare, backend, clock):
    people = _busy_day(backend, clock)
    clock.advance(seconds=60)

    async def run_before(pilot):
        await staff_login(pilot, backend, people["supervisor"])
        await pilot.press("1")
        await settle(pilot)
        await pilot.press("down", "enter")  # the close with a difference: the longest details
        await settle(pilot)
        await pilot.click("#reject")
        await settle(pilot)
        pilot.app.screen.query_one("#decision-note").cursor_blink = False  # a steady cursor in the picture
        await pilot.pause()

    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=run_before)


async def test_cajas_del_dia_shows_a_closed_tills_counted_cash(backend, clock):
    """Issue 21 (staff): a till closed with $14,350.00 counted showed «Efectivo $0.00» (its cash is in the vault)."""
    from textual.widgets import DataTable

    cajero = enrol(backend, "cajero1", "cajero", "Rosa Quispe")
    supervisor = enrol(backend, "supervisor1", "supervisor", "Hugo Torres")
    sign_in(backend, cajero, clock)
    backend.tills.open_till(cajero.token, "14350")
    assert backend.tills.close_till(cajero.token, {10000: 143, 5000: 1}).state == "cerrada"
    clock.advance(seconds=60)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, supervisor)
        await pilot.press("2")
        await settle(pilot)
        row = [str(cell) for cell in app.screen.query_one("#tills", DataTable).get_row_at(0)]
        assert "Cerrada" in row and "$14,350.00" in row, row


async def test_staff_header_keeps_the_role_beside_the_last_sign_in(backend, clock):
    """Issue 21 (staff): once «Última conexión» showed, a long name pushed the role off the header."""
    aten = enrol(backend, "atencion1", "atencion", "María Fernanda de los Ángeles Guamán Quishpe")
    sign_in(backend, aten, clock)  # a previous sign-in: the header now says when
    clock.advance(seconds=3600)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, aten)
        line = screen_text(app).splitlines()
        header = next(row for row in line if "Última conexión" in row)
        assert "Oficial de atención al socio" in header and "María Fe" in header and "…" in header, header
