"""4. Pago de Tarjetas and 5. Diferido through the screens, at 80×24."""

from __future__ import annotations

from textual.widgets import DataTable, RadioButton, Select

from screens.cards.cards import CardPaymentScreen, CardRegistrationModal
from screens.cards.deferrals import DeferralScreen, DeferralSuccessModal, MyDeferralsScreen, SimulationScreen
from screens.menu.registry import screen_for
from screens.shared.card_debt import debt_text
from screens.shared.receipt import ReceiptModal
from tests.card_helpers import demo_card
from tests.transfer_helpers import balance_of
from tests.transfers.test_ui_transfers import confirm_and_code
from tests.ui import SIZE, login, make_app, screen_text, settle, signed_in


async def open_section(pilot, key: str) -> None:
    await signed_in(pilot, key)


async def choose(pilot, option: str) -> None:
    pilot.app.screen.query_one(f"#opt-{option}", RadioButton).value = True
    await pilot.pause()


async def test_menu_4_leads_to_tarjetas_cooprogreso(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        await pilot.press("4", "enter")
        await settle(pilot)
        assert isinstance(app.screen, CardPaymentScreen) and app.screen.group == "cooprogreso"
        text = screen_text(app)
        assert "3261 XXXX XXXX 6989" in text and "Fecha máxima de pago" in text


async def test_pay_the_minimum_of_the_own_card(backend, lucia):
    card = demo_card(backend)
    minimum = backend.cards.payment_options(lucia.token, f"propia:{card}").minimum
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "tarjetas_cooprogreso")
        before = balance_of(backend, card)
        await choose(pilot, "minimo")
        await pilot.click("#continue")
        await settle(pilot)
        assert "Pago mínimo" in screen_text(app)
        await confirm_and_code(pilot)
        assert isinstance(app.screen, ReceiptModal) and "Pago de Tarjetas" in screen_text(app)
    assert balance_of(backend, card) == before + minimum


async def test_after_paying_the_minimum_the_figures_are_refreshed_and_the_minimum_is_covered(backend, lucia):
    """The debit account's Disponible and the card's figures are today's after the receipt, and a
    mínimo already paid is said to be covered instead of offering $0.00 (which the backend refuses)."""
    from backend.core.money import format_money

    card = demo_card(backend)
    before = backend.cards.payment_options(lucia.token, f"propia:{card}")
    assert before.minimum and before.total > before.minimum
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "tarjetas_cooprogreso")
        origin = app.screen.query_one("#origin", Select).value
        available = balance_of(backend, origin)
        await choose(pilot, "minimo")
        await pilot.click("#continue")
        await settle(pilot)
        await confirm_and_code(pilot)
        assert isinstance(app.screen, ReceiptModal)
        await pilot.press("escape")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CardPaymentScreen)
        assert screen.query_one("#origin", Select).value == origin
        text = screen_text(app)
        assert f"Disponible {format_money(available - before.minimum)}" in text
        assert f"Disponible {format_money(available)}" not in text
        minimo = screen.query_one("#opt-minimo", RadioButton)
        assert "cubierto" in str(minimo.label) and minimo.disabled and not minimo.value
        assert "$0.00" not in text
        total = screen.query_one("#opt-total", RadioButton)
        assert total.value and format_money(before.total - before.minimum) in str(total.label)
        assert debt_text(before.owed - before.minimum, before.diferidos) in text


async def test_other_value_too_large_is_said_at_the_amount(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "tarjetas_cooprogreso")
        await choose(pilot, "otro")
        app.screen.query_one("#other-amount").value = "99999"
        await pilot.click("#continue")
        await settle(pilot)
        assert isinstance(app.screen, CardPaymentScreen)
        assert "supera" in str(app.screen.query_one("#monto-error").render())


async def test_registering_a_card_with_a_bad_check_digit_is_refused_at_the_number(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "tarjetas_otros")
        await pilot.click("#add-card")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, CardRegistrationModal)
        modal.query_one("#institution", Select).value = "0010"
        modal.query_one("#numero").value = "4111 1111 1111 1112"
        modal.query_one("#holder-name").value = "Lucía Guamán"
        modal.query_one("#id-number").value = "1709543210"
        await pilot.click("#register")
        await settle(pilot)
        assert isinstance(app.screen, CardRegistrationModal)
        assert "dígito verificador" in str(app.screen.query_one("#numero-error").render())


async def test_the_card_registration_dialog_is_as_wide_as_its_rule_says(backend):
    """Its 70 columns (the cédula row beside its type) lost to the shared `.dialog` width: a screen's DEFAULT_CSS
    always yields to the app's stylesheet, whatever its specificity."""
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "tarjetas_otros")
        await pilot.click("#add-card")
        await settle(pilot)
        assert isinstance(app.screen, CardRegistrationModal)
        assert app.screen.query_one(".dialog").outer_size.width == 70


async def test_register_and_pay_another_institutions_card(backend):
    from tests.conftest import demo_cedula

    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "tarjetas_otros")
        await pilot.click("#add-card")
        await settle(pilot)
        modal = app.screen
        modal.query_one("#institution", Select).value = "0010"
        modal.query_one("#numero").value = "4111 1111 1111 1111"
        modal.query_one("#holder-name").value = "Lucía Guamán"
        modal.query_one("#id-number").value = demo_cedula()
        await pilot.click("#register")
        await settle(pilot)
        await confirm_and_code(pilot)
        assert isinstance(app.screen, CardPaymentScreen)
        assert "4111 XXXX XXXX 1111" in screen_text(app)
        app.screen.query_one("#other-amount").value = "25"
        await pilot.click("#continue")
        await settle(pilot)
        assert "$0.30" in screen_text(app)  # the interbank fee is confirmed too
        await confirm_and_code(pilot)
        assert isinstance(app.screen, ReceiptModal) and "Enviada" in screen_text(app)


async def test_the_card_registration_moves_on_with_enter_and_registers_from_the_last_field(backend):
    """Enter did nothing in «Añadir tarjeta»: the number and the holder's name move on (also typed fast), the
    identification's Enter registers, as the button does; a Cooprogreso card's only field registers."""
    from screens.shared.confirm import ConfirmModal
    from tests.app.test_ui_typeahead import burst
    from tests.conftest import demo_cedula

    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "tarjetas_otros")
        await pilot.click("#add-card")
        await settle(pilot)
        modal = app.screen
        modal.query_one("#institution", Select).value = "0010"
        assert modal.query_one("#numero").has_focus
        burst(app, *"4111 1111 1111 1111", "enter", *"Lucía Guamán", "enter")
        await settle(pilot)
        assert modal.query_one("#numero").value == "4111 1111 1111 1111"
        assert modal.query_one("#holder-name").value == "Lucía Guamán"
        assert modal.query_one("#id-type").has_focus
        await pilot.press("tab")
        burst(app, *demo_cedula(), "enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal) and "4111" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        app.pop_screen()
        app.push_screen(screen_for("tarjetas_cooprogreso"))
        await settle(pilot)
        await pilot.click("#add-card")
        await settle(pilot)
        assert isinstance(app.screen, CardRegistrationModal)
        burst(app, *"3261 0000 0000 0001", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal) or str(app.screen.query_one("#numero-error").render()).strip()


async def select_manual_purchases(pilot) -> None:
    table = pilot.app.screen.query_one("#purchases", DataTable)
    table.focus()
    for index in range(table.row_count):
        description = str(table.get_row_at(index)[1])
        if description in ("Consumo Comida", "Consumo Vivienda"):
            table.move_cursor(row=index)
            await pilot.press("space")
    await pilot.pause()


async def test_defer_the_manuals_two_purchases(backend, lucia):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "diferido_transacciones")
        assert isinstance(app.screen, DeferralScreen)
        assert "Titular: Lucía Estefanía Guamán Torres" in screen_text(app)
        await select_manual_purchases(pilot)
        assert "Monto Total: $40.00" in screen_text(app)
        await pilot.click("#simulate")
        await settle(pilot)
        assert isinstance(app.screen, SimulationScreen)
        text = screen_text(app)
        assert "Total Monto a Diferir" in text and "$40.00" in text and "Valor Cuota" in text
        await pilot.click("#confirmar")
        await settle(pilot)
        await confirm_and_code(pilot)
        assert isinstance(app.screen, DeferralSuccessModal)
        assert "Diferido exitoso" in screen_text(app) and "Crédito · Transacciones" in screen_text(app)
        assert "se suma a tus diferidos anteriores" in screen_text(app)
        await pilot.click("#accept")
        await settle(pilot)
        assert isinstance(app.screen, DeferralScreen) and "Consumo Comida" not in screen_text(app)
    assert backend.deferrals.mine(lucia.token)[0].principal == 40_00


async def test_limpiar_clears_the_selection(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "diferido_transacciones")
        await select_manual_purchases(pilot)
        await pilot.click("#simulate")
        await settle(pilot)
        await pilot.click("#limpiar")
        await settle(pilot)
        assert isinstance(app.screen, DeferralScreen) and "Monto Total: $0.00" in screen_text(app)


async def test_mis_diferidos_lists_the_demo_deferrals(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "diferido_transacciones")
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, MyDeferralsScreen)
        assert app.screen.query_one("#mine", DataTable).row_count >= 1


async def test_rotativo_shows_the_balance_to_defer(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "diferido_rotativo")
        assert "Saldo rotativo a diferir" in screen_text(app)
        await pilot.click("#simulate")
        await settle(pilot)
        assert isinstance(app.screen, SimulationScreen)
        await pilot.click("#confirmar")
        await settle(pilot)
        await confirm_and_code(pilot)
        assert isinstance(app.screen, DeferralSuccessModal)
        text = screen_text(app)  # issue 21 point 12: the rotativo's success said «Transacciones»
        assert "Diferido exitoso" in text and "Crédito · Saldo Actual Rotativo" in text and "Transacciones" not in text


async def test_estado_de_cuenta_shows_the_last_cut(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "tarjetas_cooprogreso")
        await pilot.press("f2")
        await settle(pilot)
        text = screen_text(app)
        assert "Fecha de corte 15/11/2026" in text and "Pago mínimo" in text
        assert app.screen.query_one("#statements", DataTable).row_count >= 11


async def test_purchase_table_fits_80_columns_with_a_long_promotion(backend):
    """A merchant that names its promotion («… (3 meses sin intereses)») must not push Valor and
    Seleccionar off an 80-column terminal, and «sin intereses» is said once."""
    from tests.card_helpers import buy

    buy(backend, demo_card(backend), 1234_56, "2026-11-24 10:00:00",
        memo="Consumo Almacenes Juan Eljuri (3 meses sin intereses)", promo=3)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "diferido_transacciones")
        table = app.screen.query_one("#purchases", DataTable)
        assert table.virtual_size.width <= table.scrollable_content_region.width
        table.move_cursor(row=table.row_count - 1)
        await pilot.pause()
        text = screen_text(app)
        assert "Valor" in text and "Seleccionar" in text and "$1,234.56" in text
        row = [str(cell) for cell in table.get_row_at(table.row_count - 1)]
        assert row[1].count("sin intereses") == 1 and row[1].startswith("Consumo Almac")
        await pilot.press("space")
        assert "Monto Total: $1,234.56" in screen_text(app)


async def test_the_card_debt_reads_the_same_on_productos_movements_statement_and_payment(backend, lucia):
    """Consumos, diferidos pendientes and their total, side by side, wherever a card's debt appears."""
    from backend.core.money import format_money
    from screens.cards.card_statement import StatementScreen
    from screens.products.position import MovementsScreen, ProductsScreen

    card = demo_card(backend)
    info = backend.cards.card(lucia.token, card)
    assert info.revolving > 0 and info.installments > 0  # the demo card has both: the figures that used to disagree
    line = debt_text(info.revolving, info.installments)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "productos")
        assert isinstance(app.screen, ProductsScreen)
        table = app.screen.query_one("#position", DataTable)
        table.move_cursor(row=next(i for i, p in enumerate(app.screen.products) if p.account_id == card))
        await settle(pilot)
        assert line in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MovementsScreen) and line in screen_text(app)
        newest = app.screen.page.movements[0]
        assert -newest.balance_after == info.revolving  # the running balance is the consumos, read as owed
        assert format_money(info.revolving) in screen_text(app).split("Consumos", 2)[-1]
        app.push_screen(screen_for("tarjetas_cooprogreso"))
        await settle(pilot)
        assert line in screen_text(app)
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, StatementScreen) and line in screen_text(app)


async def test_the_card_statement_shows_the_minimum_at_80x24_without_scrolling_sideways(backend, lucia):
    """Issue 21 point 12: «Mínimo» was past the right edge of the statement table at 80 columns. The row under
    the cursor shows that cut in full above, so the columns left out (Pagos, Cuotas) are one ↓ away."""
    from backend.core.money import format_money
    from screens.cards.card_statement import StatementScreen

    card = demo_card(backend)
    statements = backend.cards.statements(lucia.token, card)
    assert statements
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "tarjetas_cooprogreso")
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, StatementScreen)
        table = app.screen.query_one("#statements", DataTable)
        assert table.row_count == len(statements)
        assert table.max_scroll_x == 0 and table.region.right <= SIZE[0]  # nothing to scroll to
        assert table.get_row_at(0)[-1] == format_money(statements[0].minimum_due)  # «Mínimo» is the last column
        text = screen_text(app)
        table_text = text.split("Pago hasta", 1)[1]
        assert "Mínimo" in text and format_money(statements[0].minimum_due) in table_text
        assert len(statements) > 1  # the demo card has earlier cuts
        table.focus()
        await pilot.press("down")
        await settle(pilot)
        older = statements[1]
        assert f"Fecha de corte {older.cut_date:%d/%m/%Y}" in screen_text(app)
        assert f"Pagos {format_money(older.payments)}" in screen_text(app)
        # an earlier cut is no longer «por pagar»: paid, or what passed to the next statement
        said = f"Pasó al siguiente corte {format_money(older.total_left)}" if older.total_left else "Pagado"
        assert said in screen_text(app) and "Por pagar" not in screen_text(app)


async def test_a_debit_account_blocked_meanwhile_is_not_replaced_on_the_refresh(backend):
    """The refresh after a payment keeps the member's debit account; blocked meanwhile (a teller, another
    session), it leaves none chosen and says which, and «Continuar» refuses until she chooses (it used to take
    the first account)."""
    from tests.transfer_helpers import gone_note, offered, withdraw
    from tests.ui import refused_until_chosen

    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "tarjetas_cooprogreso")
        screen = app.screen
        origin = screen.query_one("#origin", Select)
        first, second = offered(origin)[:2]
        origin.value = second
        await pilot.pause()
        withdraw(backend, second, "bloqueada")
        screen.call("origins", backend.cards.origins, app.token)  # what the screen asks after a payment
        await settle(pilot)
        gone = gone_note(backend, second)
        assert origin.selection is None and offered(origin) == [first] and gone in screen_text(app)
        await choose(pilot, "minimo")

        async def send() -> None:
            await pilot.click("#continue")
            await settle(pilot)

        await refused_until_chosen(pilot, origin, first, gone, send)


async def test_the_statement_paper_key_says_why_when_there_is_no_card(backend, ana):
    """A member with no Cooprogreso card: the footer's «e PDF/CSV» did nothing at all."""
    from screens.cards.card_statement import StatementScreen
    from tests.ui import signed_in

    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(pilot, username="ana.prueba", password="Clave2026x")
        app.push_screen(StatementScreen())
        await settle(pilot)
        assert "No tienes tarjetas de crédito Cooprogreso." in screen_text(app)
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, StatementScreen)
        said = [n.message for n in app._notifications]
        assert any("No tienes una tarjeta de crédito Cooprogreso" in m for m in said), said
