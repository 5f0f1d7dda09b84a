"""7. Solicita tus Productos through the screens at 80×24: simulate, ask with a code, follow the request."""

from textual.widgets import DataTable, Input, OptionList, Select

from screens.products.my_requests import MyRequestsScreen
from screens.products.product_requests import ProductRequestsScreen, RequestFormScreen
from screens.shared.receipt import ReceiptModal
from tests.transfers.test_ui_transfers import confirm_and_code
from tests.ui import SIZE, make_app, screen_text, settle, signed_in, type_keys


async def open_section(pilot, key="solicitudes"):
    await signed_in(pilot, key)


async def type_as_a_terminal(pilot, text: str) -> None:
    """Keys as the terminal driver sends them: each with its character (Pilot's press drops an invisible one's)."""
    from textual import events
    from textual.keys import _character_to_key

    for ch in text:
        pilot.app.post_message(events.Key(_character_to_key(ch), ch))
        await pilot.pause()


async def simulate(pilot, product, amount, term, method=None):
    screen = pilot.app.screen
    screen.query_one("#product", Select).value = product
    await pilot.pause()
    screen.query_one("#amount", Input).value = amount
    screen.query_one("#term", Select).value = term
    if method:
        screen.query_one("#method", Select).value = method
    await pilot.press("f2")
    await settle(pilot)


async def loan_form(pilot) -> None:
    """A consumer loan of $1,000 over 12 months simulated, then its request form (F4)."""
    await simulate(pilot, "consumo", "1000", 12, "frances")
    await pilot.press("f4")
    await settle(pilot)


async def test_simulate_a_loan_then_ask_for_it_with_a_code(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot)
        screen = app.screen
        assert isinstance(screen, ProductRequestsScreen)
        await simulate(pilot, "consumo", "1000", 12, "frances")
        text = screen_text(app)
        assert "Cuota $90.06" in text and "Interés total $80.76" in text and "15.60%" in text and "16.77%" in text
        table = screen.query_one("#table", DataTable)
        assert table.display and table.row_count == 12
        screen.query_one("#method", Select).value = "aleman"  # changed after simulating: simulate again first
        await pilot.press("f4")
        await settle(pilot)
        assert "Simula primero" in screen_text(app)
        await pilot.press("f2")
        await settle(pilot)
        text = screen_text(app)
        assert "Primera cuota $95.49 · Última cuota $84.34" in text and "Interés total $79.00" in text
        assert "Cuota $95.49" not in text.replace("Primera cuota", "")  # never the first alone as «the» cuota
        await pilot.press("f4")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, RequestFormScreen)
        form.query_one("#income", Input).value = "800"
        form.query_one("#purpose", Input).value = "[bold red]Techo[/] nuevo"
        await pilot.press("f2")
        await settle(pilot)
        text = " ".join(screen_text(app).split())
        assert "La cuota máxima es $77.92" in text  # 30% of $800 less her loan's $162.08, explained
        form.query_one("#income", Input).value = "1500"
        await pilot.press("f2")
        await settle(pilot)
        assert "[bold red]Techo[/] nuevo" in screen_text(app)  # the member's text, literally, in the confirmation
        await confirm_and_code(pilot)
        assert isinstance(app.screen, ReceiptModal)
        assert "Solicitud de Producto" in screen_text(app) and "S-2026-" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, MyRequestsScreen)
        text = screen_text(app)
        assert "S-2026-" in text and "Recibida" in text and "$1,000.00" in text
    row = backend.db.conn.execute("SELECT product, method, state, purpose FROM product_requests"
                                 " WHERE idempotency_key NOT LIKE 'demo-%'").fetchone()
    assert tuple(row) == ("consumo", "aleman", "Recibida", "[bold red]Techo[/] nuevo")


async def test_plazo_fijo_shows_interest_at_maturity_and_the_insurance_note(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot)
        await simulate(pilot, "plazo_fijo", "10000", 90)
        text = screen_text(app)
        assert "Interés $137.50" in text and "Monto al vencimiento $10,137.50" in text
        assert "61–90 días" in text and "COSEDE" in text
        table = app.screen.query_one("#table", DataTable)
        assert table.display and table.row_count == 6 and table.cursor_row == 1  # the chosen band, of six
        assert not app.screen.query_one("#method").display


async def test_a_rate_above_the_legal_cap_is_said_and_a_rejection_shows_its_reason(backend):
    from datetime import date
    from decimal import Decimal

    from backend.core.rates import LegalCap, Offer, RateBook

    token = backend.auth.login("demo", "Demo-2026!").token
    backend.product_requests.book = RateBook(
        [LegalCap("consumo", date(2026, 1, 1), Decimal("0.1677"))],
        [Offer("credito_consumo", "consumo", 1, 60, Decimal("0.18"), date(2026, 1, 1))])
    with backend.db.write() as conn:
        member = backend.auth.principal(token)
        conn.execute("INSERT INTO product_requests (user_id, member_id, product, amount, term, method, rate_bp,"
                     " installment, income, purpose, account_id, state, reason, idempotency_key, created_at)"
                     " VALUES (?, ?, 'tarjeta', 200000, 0, '', 1677, 0, 90000, 'Compras', NULL, 'Rechazada',"
                     " ?, 'k1', '2026-11-20 09:00:00')",
                     (member.user_id, member.member_id, "[red]Ingresos[/] insuficientes \x1b[2J"))
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot)
        await simulate(pilot, "consumo", "1000", 12, "frances")
        assert "supera la tasa máxima legal" in screen_text(app)
        assert not app.screen.query_one("#table").display
        await pilot.press("f3")
        await settle(pilot)
        text = screen_text(app)
        assert "Rechazada" in text and "Tarjeta de crédito" in text
        assert "Motivo: [red]Ingresos[/] insuficientes" in text


async def test_input_refused_before_the_backend_clears_the_last_result(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot)
        for bad in ("1,0.0.0", "300.005"):
            await simulate(pilot, "consumo", "1000", 12, "frances")
            assert "Cuota $90.06" in screen_text(app) and app.screen.query_one("#table").display
            app.screen.query_one("#amount", Input).value = bad
            await pilot.press("f2")
            await settle(pilot)
            text = screen_text(app)
            assert "Cuota $90.06" not in text and not app.screen.query_one("#table").display, bad
            await pilot.press("f4")  # nothing simulated stands for what is typed now
            await settle(pilot)
            assert not isinstance(app.screen, RequestFormScreen)
        await simulate(pilot, "consumo", "1000", 12, "frances")
        await simulate(pilot, "consumo", "9999999999", 12, "frances")  # over the maximum: said by the backend
        assert "Cuota $90.06" not in screen_text(app) and not app.screen.query_one("#table").display


async def test_typed_invisible_characters_in_the_destination_are_refused_not_dropped(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot)
        await loan_form(pilot)
        form = app.screen
        assert isinstance(form, RequestFormScreen)
        form.query_one("#income", Input).value = "1500"
        form.query_one("#purpose", Input).focus()
        await type_as_a_terminal(pilot, "ahorro\u200b\u202eozil x")
        assert form.query_one("#purpose", Input).value == "ahorro\u200b\u202eozil x"  # kept as typed
        await pilot.press("f2")
        await settle(pilot)
        assert app.screen is form and "caracteres no permitidos" in screen_text(app)
    assert backend.db.conn.execute("SELECT COUNT(*) FROM product_requests WHERE idempotency_key NOT LIKE 'demo-%'"
                                   ).fetchone()[0] == 0


async def test_a_request_already_in_tramite_is_said_on_the_form_before_any_code(backend):
    from tests.request_helpers import new_request
    from tests.transfer_helpers import demo_member

    new_request(backend, demo_member(backend), "microcredito", amount=1000_00, term=12)
    sent = len(backend.outbox())
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot)
        await simulate(pilot, "microcredito", "1000", 12, "frances")
        await pilot.press("f4")
        await settle(pilot)
        form = app.screen
        form.query_one("#income", Input).value = "1500"
        form.query_one("#purpose", Input).value = "Capital de trabajo"
        await pilot.press("f2")
        await settle(pilot)
        assert app.screen is form  # no confirmation, no code: said where the other refusals are
        assert "en trámite" in str(form.query_one("#ask-error").render())
    assert len(backend.outbox()) == sent


async def test_the_plazo_fijo_confirmation_leaves_out_the_income_not_asked(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot)
        await simulate(pilot, "plazo_fijo", "100", 90)
        await pilot.press("f4")
        await settle(pilot)
        app.screen.query_one("#purpose", Input).value = "Ahorro para estudios"
        await pilot.press("f2")
        await settle(pilot)
        text = screen_text(app)
        assert "Al vencimiento" in text and "$101.38" in text and "Ingreso mensual" not in text


async def test_a_card_cupo_beyond_her_cards_is_said_with_what_is_still_available(backend):
    """Lucía's card has a $3,000.00 cupo; $2,000.00 a month allows $6,000.00 in all: $3,000.00 is left."""
    sent = len(backend.outbox())
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot)
        screen = app.screen
        screen.query_one("#product", Select).value = "tarjeta"
        await pilot.pause()
        screen.query_one("#amount", Input).value = "3500"
        await pilot.press("f2")
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, RequestFormScreen)
        form.query_one("#income", Input).value = "2000"
        form.query_one("#purpose", Input).value = "Compras del hogar"
        await pilot.press("f2")
        await settle(pilot)
        assert app.screen is form  # no confirmation, no code
        text = " ".join(screen_text(app).split())
        assert "ya suman un cupo de $3,000.00" in text and "el cupo máximo que aún puedes solicitar es $3,000.00" in text
    assert len(backend.outbox()) == sent


async def test_what_she_typed_on_the_form_is_there_again_for_the_same_product_while_in_the_section(backend):
    """Esc and F4 again used to show an empty form. What she typed stays for that product (only on screen,
    stored nowhere) until she leaves the section or sends the request."""
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot)
        section = app.screen
        assert isinstance(section, ProductRequestsScreen)
        await loan_form(pilot)
        await type_keys(pilot, "#income", "1500")
        await type_keys(pilot, "#purpose", "Techo nuevo")
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is section
        await pilot.press("f4")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, RequestFormScreen)
        assert (form.query_one("#income", Input).value, form.query_one("#purpose", Input).value) == \
            ("1500", "Techo nuevo")
        assert "Techo nuevo" in screen_text(app) and "1500" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        section.query_one("#product", Select).value = "tarjeta"  # another product: its own, empty form
        await pilot.pause()
        section.query_one("#amount", Input).value = "500"
        await pilot.press("f4")
        await settle(pilot)
        assert app.screen.query_one("#income", Input).value == "" and app.screen.query_one("#purpose", Input).value == ""
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("escape")  # out of the section: nothing typed is kept
        await settle(pilot)
        assert not isinstance(app.screen, ProductRequestsScreen)
        menu = app.screen.query_one("#menu", OptionList)
        menu.highlighted = menu.get_option_index("solicitudes")
        await pilot.press("enter")
        await settle(pilot)
        await loan_form(pilot)
        assert app.screen.query_one("#income", Input).value == "" and app.screen.query_one("#purpose", Input).value == ""


async def test_the_request_form_moves_on_with_enter_and_asks_from_the_destination(backend):
    """Enter did nothing in the request's fields: the income's moves on (also typed fast) and the
    destination's asks for confirmation, as F2 and the button do."""
    from screens.shared.confirm import ConfirmModal
    from tests.app.test_ui_typeahead import burst

    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot)
        await loan_form(pilot)
        form = app.screen
        assert isinstance(form, RequestFormScreen) and form.query_one("#income", Input).has_focus
        burst(app, *"1500", "enter", *"Techo nuevo")
        await settle(pilot)
        assert form.query_one("#income", Input).value == "1500"
        assert form.query_one("#purpose", Input).value == "Techo nuevo"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal) and "Techo nuevo" in screen_text(app)


async def test_the_account_she_chose_closed_while_she_was_away_is_not_replaced_by_another(backend):
    """Back on the form (Esc, then F4), the account she had chosen is chosen again; closed or blocked meanwhile, the
    form chooses none, says which is gone and does not send until she chooses (it used to take the first one)."""
    from tests.transfer_helpers import gone_note, offered, withdraw
    from tests.ui import refused_until_chosen

    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot)
        await loan_form(pilot)
        account = app.screen.query_one("#account", Select)
        first, second = offered(account)[:2]
        account.value = second
        await type_keys(pilot, "#income", "1500")
        await type_keys(pilot, "#purpose", "Techo nuevo")
        await pilot.press("escape")
        await settle(pilot)
        withdraw(backend, second, "bloqueada")
        await pilot.press("f4")
        await settle(pilot)
        form = app.screen
        account = form.query_one("#account", Select)
        gone = gone_note(backend, second) + "; elige otra cuenta."
        assert isinstance(form, RequestFormScreen) and account.selection is None and offered(account) == [first]
        assert gone in screen_text(app)

        async def send() -> None:
            await pilot.press("f2")
            await settle(pilot)

        await refused_until_chosen(pilot, account, first, gone, send)
