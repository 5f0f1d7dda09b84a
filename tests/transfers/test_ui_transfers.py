"""Transferencias through the screens: form → confirmation → OTP → receipt, and each refusal."""

from textual.widgets import Select, Static

from backend.core import accounts

from screens.shared.account_select import AccountSelect
from screens.shared.confirm import ConfirmModal
from screens.shared.otp import OtpModal
from screens.shared.receipt import ReceiptModal
from screens.transfers.transfer_history import TransferHistoryScreen
from screens.transfers.transfers import TransferScreen
from tests.conftest import last_code
from tests.transfer_helpers import balance_of, gone_note, number_of, offered, withdraw
from tests.ui import SIZE, make_app, screen_text, settle, signed_in, type_into

SECTIONS = {"propia": "transferencias_propias", "terceros": "transferencias_cooprogreso",
            "interbancaria": "transferencias_interbancarias"}


async def open_transfer(pilot, kind, username="demo", password="Demo-2026!"):
    await signed_in(pilot, SECTIONS[kind], username, password)
    assert isinstance(pilot.app.screen, TransferScreen) and pilot.app.screen.kind == kind


async def fill_and_continue(pilot, amount, motive="Cena familiar"):
    await type_into(pilot, "#amount", amount)
    await type_into(pilot, "#motive", motive)
    await pilot.press("enter")
    await settle(pilot)


async def confirm_and_code(pilot, code=None):
    assert isinstance(pilot.app.screen, ConfirmModal)
    await pilot.click("#accept")
    await settle(pilot)
    assert isinstance(pilot.app.screen, OtpModal)
    await type_into(pilot, "#otp-code", code or last_code(pilot.app.backend))
    await pilot.press("enter")
    await settle(pilot)


async def test_own_accounts_happy_path(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_transfer(pilot, "propia")
        origin = app.screen.query_one("#origin", Select).value
        dest = app.screen.query_one("#dest-own", Select).value
        before = balance_of(backend, origin), balance_of(backend, dest)
        assert "Cupo disponible hoy: $20,000.00" in screen_text(app)
        await fill_and_continue(pilot, "150.25", "Ahorro")
        assert "$150.25" in screen_text(app)
        await confirm_and_code(pilot)
        assert isinstance(app.screen, ReceiptModal)
        assert "Acreditada" in screen_text(app) and "Código de verificación" in screen_text(app)
    assert (balance_of(backend, origin), balance_of(backend, dest)) == (before[0] - 150_25, before[1] + 150_25)


async def test_cooprogreso_shows_payee_and_saves_receipt(backend, ana, tmp_path):
    app = make_app(backend, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_transfer(pilot, "terceros")
        await type_into(pilot, "#account", number_of(backend, ana.accounts[0]))
        await fill_and_continue(pilot, "40")
        assert "Ana P**** · C.I. ******0135" in screen_text(app)
        await confirm_and_code(pilot)
        assert isinstance(app.screen, ReceiptModal)
        await pilot.click("#save")
        await settle(pilot)
        saved = list(tmp_path.glob("comprobante-*.txt"))
        assert len(saved) == 1 and "Ana P****" in saved[0].read_text(encoding="utf-8")
    assert balance_of(backend, ana.accounts[0]) == 340_00


async def test_interbank_happy_path_with_fee(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_transfer(pilot, "interbancaria")
        screen = app.screen
        screen.query_one("#institution", Select).value = "0017"
        screen.query_one("#account-type", Select).value = "corriente"
        await type_into(pilot, "#account", "0012345678")
        await type_into(pilot, "#holder-name", "Pedro Andrade")
        await type_into(pilot, "#holder-id", "1104680135")
        await fill_and_continue(pilot, "100", "Pago proveedor")
        text = screen_text(app)
        assert "Banco de Guayaquil S.A." in text and "Comisión:     $0.30" in text and "$100.30" in text
        await confirm_and_code(pilot)
        assert "Estado:            Enviada" in screen_text(app)
        await pilot.press("escape")
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, TransferHistoryScreen)
        assert "Enviada" in screen_text(app) and "Pedro Andrade" in screen_text(app)


async def test_limits_are_said_at_the_amount(backend, ana):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_transfer(pilot, "terceros")
        await type_into(pilot, "#account", number_of(backend, ana.accounts[0]))
        await fill_and_continue(pilot, "2000.01")
        assert "máximo por transacción ($2,000.00)" in screen_text(app)
        for _ in range(2):
            await fill_and_continue(pilot, "2000")
            await confirm_and_code(pilot)
            await pilot.press("escape")
            await settle(pilot)
        assert "Cupo disponible hoy: $1,000.00" in screen_text(app)
        await fill_and_continue(pilot, "1000.01")
        assert "supera tu cupo disponible hoy ($1,000.00)" in screen_text(app)
        assert isinstance(app.screen, TransferScreen)


async def test_insufficient_funds_is_said_at_the_amount(backend, ana):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_transfer(pilot, "terceros", "ana.prueba", "Clave2026x")
        await type_into(pilot, "#account", "4100000019")
        await fill_and_continue(pilot, "300.01")
        assert "Saldo insuficiente: tu disponible es $300.00" in screen_text(app)
        assert not isinstance(app.screen, ConfirmModal)
    assert balance_of(backend, ana.accounts[0]) == 300_00


async def test_wrong_code_then_right_code(backend, ana):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_transfer(pilot, "terceros")
        await type_into(pilot, "#account", number_of(backend, ana.accounts[0]))
        await fill_and_continue(pilot, "10")
        await pilot.click("#accept")
        await settle(pilot)
        code = last_code(backend)
        wrong = "000000" if code != "000000" else "111111"
        await type_into(pilot, "#otp-code", wrong)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, OtpModal) and "Te quedan 2 intentos" in screen_text(app)
        assert balance_of(backend, ana.accounts[0]) == 300_00
        await type_into(pilot, "#otp-code", code)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptModal)
    assert balance_of(backend, ana.accounts[0]) == 310_00


async def test_the_transfer_confirmation_starts_on_cancelar(backend, ana):
    """It moves money: a stray Enter on the confirmation asks for no code and books nothing."""
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_transfer(pilot, "terceros")
        await type_into(pilot, "#account", number_of(backend, ana.accounts[0]))
        await fill_and_continue(pilot, "10")
        assert isinstance(app.screen, ConfirmModal) and app.focused.id == "cancel"
        sms = "SELECT COUNT(*) FROM outbox"
        sent = backend.db.conn.execute(sms).fetchone()[0]
        await pilot.press("enter")
        await pilot.pause()
        await pilot.pause()
        assert not isinstance(app.screen, (ConfirmModal, OtpModal)) and sent == backend.db.conn.execute(sms).fetchone()[0]
    assert balance_of(backend, ana.accounts[0]) == 300_00


async def test_three_wrong_codes_then_a_new_code_books_it(backend, ana):
    """No dead end: once the code is spent, «Reenviar código» sends a new one at once."""
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_transfer(pilot, "terceros")
        await type_into(pilot, "#account", number_of(backend, ana.accounts[0]))
        await fill_and_continue(pilot, "10")
        await pilot.click("#accept")
        await settle(pilot)
        first = last_code(backend)
        for _ in range(3):
            await type_into(pilot, "#otp-code", "000000" if first != "000000" else "111111")
            await pilot.press("enter")
            await settle(pilot)
        modal = app.screen
        assert isinstance(modal, OtpModal) and "Solicita uno nuevo" in screen_text(app)
        resend = modal.query_one("#otp-resend")
        assert not resend.disabled and "Reenviar código" in str(resend.label)
        await pilot.click("#otp-resend")
        await settle(pilot)
        assert "Te enviamos un nuevo código" in screen_text(app) and "Intentos restantes: 3" in screen_text(app)
        second = last_code(backend)
        await type_into(pilot, "#otp-code", first)  # the spent code stays spent
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, OtpModal) and balance_of(backend, ana.accounts[0]) == 300_00
        await type_into(pilot, "#otp-code", second)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptModal)
    assert balance_of(backend, ana.accounts[0]) == 310_00


async def test_changing_the_amount_after_the_code_voids_it(backend, ana):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_transfer(pilot, "terceros")
        await type_into(pilot, "#account", number_of(backend, ana.accounts[0]))
        await fill_and_continue(pilot, "10")
        await pilot.click("#accept")
        await settle(pilot)
        first_code = last_code(backend)
        await pilot.press("escape")  # the member backs out of the code and raises the amount
        await settle(pilot)
        await fill_and_continue(pilot, "99")
        await pilot.click("#accept")
        await settle(pilot)
        second_code = last_code(backend)
        if first_code != second_code:
            await type_into(pilot, "#otp-code", first_code)
            await pilot.press("enter")
            await settle(pilot)
            assert "Código incorrecto" in screen_text(app)
        await type_into(pilot, "#otp-code", second_code)
        await pilot.press("enter")
        await settle(pilot)
        assert "$99.00" in screen_text(app)
    assert balance_of(backend, ana.accounts[0]) == 399_00
    assert len(backend.transfers.history(backend.auth.login("demo", "Demo-2026!").token)) == 1


async def test_own_destination_list_never_offers_the_origin(backend, lucia):
    """Issue 21 point 12: the destination list offered the origin account itself. Taking the destination as origin
    swaps the two (it used to put the first other account as destination, one she had not chosen)."""
    with backend.db.write() as tx:  # a third account: the first other one is then not always the old origin
        accounts.open_savings(tx, lucia.member_id, "2026-01-01")
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_transfer(pilot, "propia")
        origin = app.screen.query_one("#origin", Select)
        dest = app.screen.query_one("#dest-own", Select)
        accounts_offered = [value for _, value in origin._options if isinstance(value, int)]
        assert len(accounts_offered) >= 3
        offered = [value for _, value in dest._options if isinstance(value, int)]
        assert origin.value not in offered and dest.value in offered
        origin.value = accounts_offered[1]  # the second account as origin, the third as destination
        await settle(pilot)
        dest.value = accounts_offered[2]
        await settle(pilot)
        was_origin = origin.value
        origin.value = dest.value  # the person picks as origin the account that was the destination
        await settle(pilot)
        offered = [value for _, value in dest._options if isinstance(value, int)]
        assert origin.value not in offered and dest.value != origin.value and dest.value in accounts_offered
        assert dest.value == was_origin  # the two swapped: no account she did not have on the screen


async def test_a_reload_landing_late_keeps_the_persons_account_and_focus(backend):
    """After a transfer the form starts over at its first account at once; the balances it reloads can land
    late on a busy server, when the person has already picked another account and is typing the amount: they
    bring the new balances, never the focus back to the top nor the first account again."""
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_transfer(pilot, "propia")
        screen = app.screen
        origin = screen.query_one("#origin", Select)
        first, second = [value for _, value in origin._options if isinstance(value, int)][:2]
        await fill_and_continue(pilot, "5.00")
        await confirm_and_code(pilot)
        assert isinstance(app.screen, ReceiptModal)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen and origin.value == first and app.focused is origin  # started over
        origin.value = second
        await type_into(pilot, "#amount", "7")
        late = backend.transfers.origins(app.token)  # the reload's answer, as its worker hands it over
        screen.done_origins(late)
        await pilot.pause()
        assert origin.value == second and app.focused is screen.query_one("#amount")
        assert {value for _, value in origin._options if isinstance(value, int)} == {o.account_id for o in late}



async def test_an_origin_closed_meanwhile_is_not_replaced_by_another_account(backend, ana):
    """The member chose her second account; a teller blocks it; the form reloads its accounts (as after a transfer):
    the picker is left without a choice (it used to move to the first account), says which account is gone,
    masked, and «Continuar» refuses until she chooses another one."""
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_transfer(pilot, "terceros")
        screen = app.screen
        origin = screen.query_one("#origin", Select)
        first, second = offered(origin)[:2]
        origin.focus()
        origin.value = second
        await pilot.pause()
        withdraw(backend, second, "bloqueada")
        screen.call("origins", backend.transfers.origins, app.token)  # the reload a transfer or a return makes
        await settle(pilot)
        masked = "******" + number_of(backend, second)[-4:]
        gone = gone_note(backend, second) + "; elige otra cuenta."
        assert origin.selection is None and offered(origin) == [first]
        assert gone in screen_text(app) and "Selecciona la cuenta de origen" in screen_text(app)
        await type_into(pilot, "#account", number_of(backend, ana.accounts[0]))
        await fill_and_continue(pilot, "10")
        note = screen.query_one("#origin-error", Static)
        assert app.screen is screen and origin.selection is None  # refused: no confirmation
        assert str(note.content) == gone and app.focused is origin and gone in screen_text(app)  # scrolled to it
        origin.value = first  # she chooses: the note goes, and the form goes on to the confirmation
        await pilot.pause()
        assert "ya no está disponible" not in screen_text(app) and not note.display
        screen.query_one("#continue").focus()  # the form is scrolled up to the refusal: «Continuar» is below
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal) and masked not in screen_text(app)
    assert balance_of(backend, ana.accounts[0]) == 300_00


async def test_an_own_destination_closed_meanwhile_is_not_replaced_either(backend, lucia):
    """Between her own accounts the destination is hers too: a reload without it leaves the destination empty
    and says so; the origin she kept stays chosen."""
    with backend.db.write() as tx:  # a third account, so that one is left to choose
        accounts.open_savings(tx, lucia.member_id, "2026-01-01")
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_transfer(pilot, "propia")
        screen = app.screen
        origin, dest = screen.query_one("#origin", Select), screen.query_one("#dest-own", Select)
        chosen_origin, chosen_dest = origin.value, dest.value
        withdraw(backend, chosen_dest, "cerrada")
        screen.call("origins", backend.transfers.origins, app.token)
        await settle(pilot)
        gone = f"La cuenta de ahorros ******{number_of(backend, chosen_dest)[-4:]} ya no está disponible"
        assert origin.value == chosen_origin and dest.selection is None and chosen_dest not in offered(dest)
        assert gone in screen_text(app)
        await fill_and_continue(pilot, "5")
        assert app.screen is screen and dest.selection is None and gone in screen_text(app)


async def test_an_account_unblocked_again_is_no_longer_said_gone(backend):
    """Blocked while chosen, then unblocked before she chose another: the next reload offers it again, and the
    form no longer says it is unavailable (she still chooses: nothing is picked for her)."""
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_transfer(pilot, "terceros")
        screen = app.screen
        origin = screen.query_one("#origin", Select)
        second = offered(origin)[1]
        origin.value = second
        await pilot.pause()
        status = backend.db.conn.execute("SELECT status FROM accounts WHERE id = ?", (second,)).fetchone()[0]
        withdraw(backend, second, "bloqueada")
        screen.call("origins", backend.transfers.origins, app.token)
        await settle(pilot)
        assert "ya no está disponible" in screen_text(app)
        withdraw(backend, second, status)
        screen.call("origins", backend.transfers.origins, app.token)
        await settle(pilot)
        assert second in offered(origin) and origin.selection is None
        assert "ya no está disponible" not in screen_text(app) and not screen.query_one("#origin", AccountSelect).unchosen
