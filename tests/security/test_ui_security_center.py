"""«Centro de seguridad» at 80×24: each action from the member's screen."""

from textual.widgets import Checkbox, DataTable, TabbedContent

from backend.core.errors import SessionExpired
from backend.security.origins import Origin
from screens.security.login import LoginScreen
from screens.security.security_center import NoticeModal, SecurityCenterScreen
from screens.shared.confirm import ConfirmModal
from screens.shared.otp import OtpModal
from screens.shared.receipt import ReceiptModal
from tests.conftest import last_code
from tests.ui import SIZE, login, make_app, screen_text, settle, signed_in, type_into


async def open_center(pilot, tab: str = "") -> None:
    await signed_in(pilot, "seguridad")
    assert isinstance(pilot.app.screen, SecurityCenterScreen)
    if tab:
        pilot.app.screen.query_one("#tabs", TabbedContent).active = tab
        await settle(pilot)


async def test_sign_ins_show_channel_address_and_failures(backend, clock):
    import pytest

    from backend.core.errors import AuthError

    with pytest.raises(AuthError):
        backend.auth.login("demo", "wrong-1234", Origin("ssh", "203.0.113.7"))
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_center(pilot)
        text = screen_text(app)
        assert "Centro de seguridad" in text and "25/11/2026 10:00" in text
        assert "Terminal local" in text and "Ingreso correcto" in text
        assert "SSH" in text and "203.0.113.7" in text and "Contraseña incorrecta" in text


async def test_close_other_sessions_and_the_other_ends_at_its_next_action(backend, clock):
    other = make_app(backend)
    app = make_app(backend)
    async with other.run_test(size=SIZE) as first:
        await login(first)
        await settle(first)
        async with app.run_test(size=SIZE) as pilot:
            await open_center(pilot, "tab-sesiones")
            assert "además de esta" in screen_text(app)
            assert app.screen.query_one("#sessions", DataTable).row_count == 2
            await pilot.press("c")
            await settle(pilot)
            assert isinstance(app.screen, ConfirmModal)
            await pilot.click("#accept")
            await settle(pilot)
            assert app.screen.query_one("#sessions", DataTable).row_count == 1
            assert "No tienes otras sesiones abiertas" in screen_text(app)
        await first.press("1")  # the first session's next action: Productos
        await settle(first)
        assert isinstance(other.screen, LoginScreen)
        assert "otra de tus sesiones" in screen_text(other)


async def test_change_password_with_rules_and_code(backend, clock):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_center(pilot, "tab-clave")
        assert "8 a 128 caracteres" in screen_text(app) and "letras y números" in screen_text(app)
        await type_into(pilot, "#current", "Demo-2026!")
        await type_into(pilot, "#new", "corta1")
        await type_into(pilot, "#repeat", "corta1")
        await pilot.click("#change-password")
        await settle(pilot)
        assert "al menos 8 caracteres" in screen_text(app)
        await type_into(pilot, "#new", "NuevaClave77")
        await type_into(pilot, "#repeat", "NuevaClave77")
        await pilot.click("#change-password")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal) and "Nueva contraseña" in screen_text(app)
        await pilot.click("#accept")
        await settle(pilot)
        assert isinstance(app.screen, OtpModal)
        await type_into(pilot, "#otp-code", last_code(backend))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptModal) and "Cambio de contraseña" in screen_text(app)
    assert backend.auth.login("demo", "NuevaClave77").token


async def test_enter_moves_through_the_password_fields_and_asks_to_change_from_the_last(backend, clock):
    """Enter did nothing in the three password fields; now it moves on as in the affiliation's, also typed fast,
    and from the last one asks to change it, as the button does."""
    from tests.app.test_ui_typeahead import burst

    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_center(pilot, "tab-clave")
        app.screen.query_one("#current").focus()
        await pilot.pause()
        burst(app, *"Demo-2026!", "enter", *"NuevaClave77", "enter", *"NuevaClave77")
        await settle(pilot)
        assert [app.screen.query_one(f"#{name}").value for name in ("current", "new", "repeat")] == \
            ["Demo-2026!", "NuevaClave77", "NuevaClave77"]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal) and "Nueva contraseña" in screen_text(app)


async def test_enter_in_the_alerts_amount_saves_them(backend, clock):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_center(pilot, "tab-alertas")
        await type_into(pilot, "#threshold", "250")
        await pilot.press("enter")
        await settle(pilot)
        assert "Guardado: SMS por movimientos desde $250.00" in screen_text(app)


async def test_alerts_saved(backend, clock):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_center(pilot, "tab-alertas")
        await type_into(pilot, "#threshold", "250")
        app.screen.query_one("#sign-in-sms", Checkbox).value = True
        await pilot.click("#save-alerts")
        await settle(pilot)
        assert "Guardado: SMS por movimientos desde $250.00; SMS en cada ingreso." in screen_text(app)
        await type_into(pilot, "#threshold", "abc")
        await pilot.click("#save-alerts")
        await settle(pilot)
        assert "Guardado" not in screen_text(app)
    row = backend.db.conn.execute("SELECT movement_threshold, sign_in_sms FROM security_alerts").fetchone()
    assert tuple(row) == (250_00, 1)


async def test_not_me_on_a_sign_in_locks_and_explains(backend, clock):
    backend.auth.login("demo", "Demo-2026!", Origin("web", "198.51.100.4"))
    clock.advance(minutes=1)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_center(pilot)
        table = app.screen.query_one("#sign-ins", DataTable)
        table.move_cursor(row=1)  # the browser sign-in, under this one
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal) and "198.51.100.4" in screen_text(app)
        await pilot.click("#accept")
        await settle(pilot)
        assert isinstance(app.screen, NoticeModal)
        text = screen_text(app)
        assert "reclamo N.º C-2026-" in text and "acércate a una agencia" in text and "Qué pasa ahora" in text
        await pilot.click("#notice-ok")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen) and "bloqueado" in screen_text(app)
    case = backend.db.conn.execute("SELECT subject, body FROM contact_cases ORDER BY id DESC LIMIT 1").fetchone()
    assert case[0] == "reclamo" and "198.51.100.4" in case[1]


async def test_not_me_on_a_movement_and_hostile_text_shown_literally(backend, clock):
    from backend.core.ledger import Leg, post
    from tests.transfer_helpers import demo_member, other_member

    lucia = demo_member(backend)
    ana = other_member(backend)
    with backend.db.write() as conn:
        post(conn, kind="transferencia", description="[bold red]Pago[/] \x1b[2J\u202eoculto", posted_at=backend.ctx.now_iso(),
             actor="test", legs=[Leg(lucia.accounts[0], -12_34, "x"), Leg(ana.accounts[0], 12_34, "x")])
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_center(pilot, "tab-movimientos")
        text = screen_text(app)
        assert "-$12.34" in text and "[bold red]Pago[/]" in text and "\x1b" not in text and "\u202e" not in text
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal) and "$12.34" in screen_text(app)
        await pilot.click("#accept")
        await settle(pilot)
        assert isinstance(app.screen, NoticeModal)
    try:
        backend.auth.principal(lucia.token)
        raise AssertionError("the session should have ended")
    except SessionExpired:
        pass


async def test_found_from_the_command_palette(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"no fui yo")
        await settle(pilot)
        assert "Centro de seguridad" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, SecurityCenterScreen)


async def test_atencion_staff_see_a_members_sign_ins_and_unlock_after_not_me(backend, clock):
    from screens.branch.staff_members import SignInsModal
    from tests.branch.test_ui_staff import member_care
    from tests.conftest import demo_cedula
    from tests.staff_helpers import enrol

    token = backend.auth.login("demo", "Demo-2026!", Origin("ssh", "203.0.113.7")).token
    center = backend.security_center
    center.not_me(token, "sign_in", center.sign_ins(token)[0].id)
    aten = enrol(backend, "atencion9", "atencion")
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await member_care(pilot, backend, aten, demo_cedula())
        assert "BLOQUEADO" in screen_text(app)
        await pilot.click("#sign-ins")
        await settle(pilot)
        assert isinstance(app.screen, SignInsModal)
        text = screen_text(app)
        assert "SSH" in text and "203.0.113.7" in text and "Ingreso correcto" in text
        assert "Demo-2026!" not in text
        await pilot.press("escape")
        await settle(pilot)
        await pilot.click("#unlock")
        await settle(pilot)
        app.screen.query_one("#unlock-reason").focus()  # the unlock asks why (issue 21)
        await pilot.press(*"Socio verificado en agencia")
        await pilot.click("#unlock-ok")
        await settle(pilot)
        assert "Usuario desbloqueado." in screen_text(app)
    assert backend.auth.login("demo", "Demo-2026!").token  # unlocked at the agency: in again
    audited = backend.db.conn.execute("SELECT actor FROM audit_log WHERE action = 'ingresos_socio.ver'").fetchall()
    assert [r[0] for r in audited] == ["atencion9"]


async def test_a_member_with_no_sign_ins_is_said_so_whole(backend):
    """The empty list was a row whose text sat in a column 14 wide: «Sin ingresos r»."""
    from screens.branch.staff_members import SignInsModal
    from tests.branch.test_ui_staff import member_care
    from tests.conftest import demo_cedula
    from tests.staff_helpers import enrol

    with backend.db.write() as conn:
        conn.execute("DELETE FROM sign_ins")
    aten = enrol(backend, "atencion9", "atencion")
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await member_care(pilot, backend, aten, demo_cedula())
        await pilot.click("#sign-ins")
        await settle(pilot)
        assert isinstance(app.screen, SignInsModal) and "Sin ingresos registrados." in screen_text(app)
        await pilot.press("enter")  # the focus is on «Volver»
        await settle(pilot)
        assert not isinstance(app.screen, SignInsModal)
