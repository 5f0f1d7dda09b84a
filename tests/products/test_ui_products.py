"""Productos: position, movements with paging and filters, CSV export, literal user data."""

import csv

from textual.widgets import DataTable, Input

from backend.core import accounts
from backend.core.ledger import Leg, post
from screens.products.position import MovementsScreen, ProductsScreen
from tests.app.test_ui_typeahead import burst
from tests.conftest import add_member, affiliate
from tests.ui import SIZE, login, make_app, screen_text, settle, signed_in, type_into, type_keys


async def open_products(pilot):
    await signed_in(pilot, "productos")
    assert isinstance(pilot.app.screen, ProductsScreen)


async def test_position_lists_every_product(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_products(pilot)
        text = screen_text(app)
        for label in ("Ahorros", "Plazo Fijo", "Crédito Consumo", "Tarjeta Crédito", "3261 XXXX XXXX"):
            assert label in text
        first = backend.products.position(app.token)[0]
        assert f"Saldo disponible ${first.available / 100:,.2f}" in text
        await pilot.press("down", "down")
        await pilot.pause()
        assert "Tasa" in screen_text(app) and "Vence" in screen_text(app)


async def test_movements_page_through_history_and_back(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_products(pilot)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MovementsScreen)
        table = screen.query_one("#movements", DataTable)
        first_page = [table.get_row_at(i)[1].plain for i in range(table.row_count)]
        assert table.row_count == 50 and "Página 1" in screen_text(app)
        pages = 1
        while screen.next_cursor:
            await pilot.press("n")
            await settle(pilot)
            pages += 1
        total = backend.db.conn.execute("SELECT COUNT(*) FROM postings WHERE account_id = ?",
                                        (screen.product.account_id,)).fetchone()[0]
        assert pages == -(-total // 50) and "fin del historial" in screen_text(app)
        for _ in range(pages - 1):
            await pilot.press("p")
            await settle(pilot)
        assert [table.get_row_at(i)[1].plain for i in range(table.row_count)] == first_page


async def test_filter_and_export_csv(backend, tmp_path):
    app = make_app(backend, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_products(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await type_into(pilot, "#desde", "40/10/2026")
        await pilot.press("enter")
        await settle(pilot)
        assert "Fecha no válida" in screen_text(app)
        await type_into(pilot, "#desde", "01/10/2026")
        await type_into(pilot, "#hasta", "31/10/2026")
        await type_into(pilot, "#texto", "sueldo")
        await pilot.press("enter")
        await settle(pilot)
        table = app.screen.query_one("#movements", DataTable)
        shown = table.row_count
        assert 0 < shown < 5
        assert all(table.get_row_at(i)[0].endswith("/10/2026") for i in range(shown))
        await pilot.press("e")
        await settle(pilot)
        files = list(tmp_path.glob("movimientos-*.csv"))
        assert len(files) == 1
        assert str(files[0]) in str(app.screen.query_one("#page-status").content)  # the path is shown
        rows = list(csv.reader(files[0].open(encoding="utf-8")))
        assert len(rows) == shown + 1 and all("sueldo" in r[2].lower() for r in rows[1:])


async def test_keys_typed_right_after_the_filters_enter_land_in_the_list(backend):
    """Enter in a filter field applies it and moves to the list; the move came after the keys typed behind it
    had queued in the field («sueldo» Enter x became «sueldox»). A wrong date keeps the focus on the filters."""
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_products(pilot)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        texto, table = screen.query_one("#texto", Input), screen.query_one("#movements", DataTable)
        texto.focus()
        await pilot.pause()
        burst(app, *"sueldo", "enter", "x", "y")
        await settle(pilot)
        assert texto.value == "sueldo" and app.focused is table
        assert 0 < table.row_count < 50 and all(table.get_row_at(i)[1].plain.startswith("Acreditación de sueld")
                                                 for i in range(table.row_count))
        desde = screen.query_one("#desde", Input)
        desde.focus()
        await pilot.pause()
        burst(app, *"40/10/2026", "enter")
        await settle(pilot)
        assert "Fecha no válida" in screen_text(app) and app.focused is desde and texto.value == "sueldo"


async def test_look_alike_digits_typed_in_a_date_are_shown_as_the_digits_used(backend):
    """Fullwidth digits are two cells wide: kept as typed, `０１/１１/２０２６` scrolled its first digit out of
    the field. Typed (and Arabic-Indic ones too), they show as the ASCII digits the filter uses."""
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_products(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await type_keys(pilot, "#desde", "０１/１１/２０２６")
        await type_keys(pilot, "#hasta", "٣٠/١١/٢٠٢٦")
        desde, hasta = (app.screen.query_one(s, Input) for s in ("#desde", "#hasta"))
        assert (desde.value, hasta.value) == ("01/11/2026", "30/11/2026")
        text = screen_text(app)
        assert "01/11/2026" in text and "30/11/2026" in text
        await type_keys(pilot, "#desde", "０1/x1/2026")  # only digits are folded: a wrong character stays wrong
        assert desde.value == "01/x1/2026"


async def test_user_data_is_shown_literally(backend):
    _, acc = add_member(backend, cedula="1104680135", first="[bold]Ana[/]", last="[red]Prueba", balance=5_00)
    with backend.db.write() as conn:
        caja = accounts.internal_account(conn, "caja")
        post(conn, kind="x", description="x", posted_at="2026-11-20 10:00:00", actor="t",
             legs=[Leg(acc, 1_00, "Pago [bold]falso[/bold]"), Leg(caja, -1_00, "x")])
    affiliate(backend, "1104680135", "ana.prueba")
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "ana.prueba", "Clave2026x")
        assert "[bold]Ana[/] [red]Prueba" in screen_text(app)
        await pilot.press("1")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert "Pago [bold]falso[/bold]" in screen_text(app)


async def test_loan_schedule_from_products(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_products(pilot)
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, ProductsScreen)  # a savings account is highlighted
        table = app.screen.query_one("#position", DataTable)
        loan_row = next(i for i, p in enumerate(app.screen.products) if p.kind == "prestamo")
        table.move_cursor(row=loan_row)
        await pilot.press("t")
        await settle(pilot)
        text = screen_text(app)
        assert "Tabla de amortización" in text and "Pagada" in text and "Pendiente" in text


async def test_footer_fits_80_columns(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_products(pilot)
        footer = next(line for line in screen_text(app).splitlines() if "Volver" in line)
        for key in ("Volver", "SALIR", "Movimientos", "Amortización", "r Actualizar"):
            assert key in footer


async def test_one_movement_is_counted_in_the_singular(backend):
    """«Página 1 · 1 movimiento», never «1 movimientos» (issue 21 point 12)."""
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_products(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await type_into(pilot, "#desde", "22/11/2026")
        await type_into(pilot, "#hasta", "22/11/2026")
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.query_one("#movements", DataTable).row_count == 1
        status = str(app.screen.query_one("#page-status").content)
        assert "· 1 movimiento ·" in status and "movimientos" not in status
