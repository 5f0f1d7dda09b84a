"""Sign-in, lockout, SALIR and idle sign-out, driven through the real screens."""


import sqlite3

from screens.menu.menu import MenuScreen
from screens.security.login import LoginScreen
from tests.ui import SIZE, FakeMonotonic, login, make_app, screen_text, settle, type_into


async def test_sign_in_shows_the_member_header_and_menu(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        assert isinstance(app.screen, MenuScreen)
        text = screen_text(app)
        assert "Lucía Estefanía Guamán Torres" in text
        assert "Última conexión: 20H25 / 23.11.2026" in text
        for entry in ("1. Productos", "Transferencias Interbancarias", "Administración de Beneficiarios",
                      "3. Pago de Servicios", "SALIR"):
            assert entry in text
        menu = app.screen.query_one("#menu")
        titles = [str(menu.get_option_at_index(i).prompt) for i in range(menu.option_count)]
        assert any("5. Diferido Tarjetas Cooprogreso" in t for t in titles) and any("8. Ayuda" in t for t in titles)


async def test_wrong_password_is_generic_and_lockout_is_said(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "nadie", "Clave2026x")
        assert "Usuario o contraseña incorrectos." in screen_text(app)
        for _ in range(4):
            await login(pilot, "demo", "Mala-clave1")
            assert isinstance(app.screen, LoginScreen)
        await login(pilot, "demo", "Mala-clave1")
        assert "bloquea 15 minutos" in screen_text(app)
        await login(pilot, "demo", "Demo-2026!")  # locked: the right password is answered like a wrong one
        assert isinstance(app.screen, LoginScreen)
        assert "Usuario o contraseña incorrectos." in screen_text(app) and "bloquea 15 minutos" in screen_text(app)


async def test_salir_ends_the_session(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        token = app.token
        await pilot.press("1")
        await settle(pilot)
        await pilot.click("#salir")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen) and len(app.screen_stack) == 1
        assert "Cerraste tu sesión" in screen_text(app)
        ended = backend.db.conn.execute("SELECT end_reason FROM sessions ORDER BY id DESC LIMIT 1").fetchone()[0]
        assert ended == "salir" and app.signed_in is None and token


async def test_idle_session_warns_then_signs_out(make_backend):
    backend = make_backend(session_idle_seconds=300, idle_warning_seconds=60)
    clock = FakeMonotonic()
    app = make_app(backend, monotonic=clock)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        await pilot.press("1")
        await settle(pilot)
        clock.advance(250)
        app._tick()
        await pilot.pause()
        assert "se cerrará por inactividad" in screen_text(app)
        clock.advance(51)
        app._tick()
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        assert "inactividad" in screen_text(app)
        reason = backend.db.conn.execute("SELECT end_reason FROM sessions ORDER BY id DESC LIMIT 1").fetchone()[0]
        assert reason == "inactividad"


async def test_activity_keeps_the_session(make_backend):
    backend = make_backend(session_idle_seconds=300, idle_warning_seconds=60)
    clock = FakeMonotonic()
    app = make_app(backend, monotonic=clock)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        for _ in range(4):
            clock.advance(200)
            await pilot.press("down")
            app._tick()
        await pilot.pause()
        assert isinstance(app.screen, MenuScreen)
        clock.advance(301)
        app._tick()
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)


async def test_sections_not_built_say_so(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        from screens.menu.registry import Section
        from screens.menu.sections import NotAvailableScreen

        app.push_screen(NotAvailableScreen(Section("futura", "9. Sección futura", 9)))
        await pilot.pause()
        assert "«Sección futura» todavía no está disponible" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MenuScreen)


async def test_tab_never_reaches_salir_and_sign_out_clears_the_fields(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        assert isinstance(app.screen, MenuScreen)
        for _ in range(6):  # Tab around the menu screen, never onto SALIR
            await pilot.press("tab")
            assert app.focused is None or app.focused.id != "salir"
        await pilot.press("enter")
        await settle(pilot)
        assert app.signed_in is not None
        await pilot.press("ctrl+s")  # the keyboard way out still works
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen) and app.signed_in is None
        assert app.screen.query_one("#username").value == ""
        assert app.screen.query_one("#password").value == ""
        assert app.focused is app.screen.query_one("#username")


# -- sessions that end (issue 20): nobody at the keys, the app itself ends --------------------------------------

async def test_nobody_at_the_login_screen_the_app_exits_after_the_idle_limit_and_grace(make_backend):
    backend = make_backend(session_idle_seconds=300, idle_warning_seconds=60, idle_exit_grace_seconds=60)
    clock = FakeMonotonic()
    app = make_app(backend, monotonic=clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d")  # someone typed: the count starts again from here
        clock.advance(359)
        app._tick()
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, LoginScreen)
        clock.advance(1)
        app._tick()
        await pilot.pause()
        assert app.return_code == 0 and not app.is_running


async def test_an_idle_session_ends_then_the_app_exits(make_backend):
    backend = make_backend(session_idle_seconds=300, idle_warning_seconds=60, idle_exit_grace_seconds=30)
    clock = FakeMonotonic()
    app = make_app(backend, monotonic=clock)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        clock.advance(301)
        app._tick()
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen) and app.is_running  # signed out, as before
        clock.advance(28)
        app._tick()
        await pilot.pause()
        assert app.is_running
        clock.advance(1)
        app._tick()
        await pilot.pause()
        assert not app.is_running
    reason = backend.db.conn.execute("SELECT end_reason FROM sessions ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert reason == "inactividad"


async def test_the_cursor_does_not_blink(backend):
    """A blink is output twice a second for ever: it kept a frozen SSH client's session open for minutes."""
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for _ in range(2):  # the field focused first, then the next one
            field = app.focused
            assert field is not None and field.cursor_blink is False
            assert not field._blink_timer._active.is_set() and field._cursor_visible  # steady and shown
            await pilot.press("tab")
            await pilot.pause()


async def test_sign_in_footer_tells_f1_and_ctrl_q_asks_before_closing(backend):
    """Issue 21 point 12: F1 was missing from the sign-in footer and Ctrl+Q quit at once."""
    from screens.help.help import HelpModal
    from screens.shared.confirm import ConfirmModal

    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        assert "f1 Ayuda" in screen_text(app) and "^q Salir" in screen_text(app)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpModal)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("a", "n", "a")
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal) and "¿Cerrar Cooprogreso en Línea?" in screen_text(app)
        await pilot.press("enter")  # the dialog starts on «Seguir aquí»: a stray Enter keeps the app
        await settle(pilot)
        assert app.is_running and isinstance(app.screen, LoginScreen)
        assert app.screen.query_one("#username").value == "ana"
        await pilot.press("ctrl+q")
        await settle(pilot)
        await pilot.click("#accept")
        await pilot.pause()
    assert app.return_code == 0


async def test_one_sign_in_at_a_time_and_keys_typed_meanwhile_go_nowhere(backend, db_path):
    """While «Verificando…» shows, a second Enter started a second sign-in (a second password hash, a second
    failed attempt counted), and the keys typed behind it went on into the password or, after Tab, into the
    user field in clear. The sign-in waits here on another writer holding the database, as on a busy co-op."""
    def count(sql: str) -> int:
        return backend.db.conn.execute(sql).fetchone()[0]

    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await type_into(pilot, "#username", "demo")
        await type_into(pilot, "#password", "Mala-clave1")
        attempts = (count("SELECT COUNT(*) FROM sign_ins"), count("SELECT COUNT(*) FROM audit_log WHERE action = 'login'"))
        blocker = sqlite3.connect(db_path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            await pilot.press("enter")
            await pilot.pause()
            assert "Verificando…" in screen_text(app)
            await pilot.press(*"Otra-clave2", "enter", "tab", *"Otra-clave3", "enter", "shift+tab", "x", "enter")
            await pilot.pause()
            assert "Verificando…" in screen_text(app)
            assert app.screen.query_one("#username").value == "demo"
        finally:
            blocker.rollback()
            blocker.close()
        await settle(pilot)
        assert (count("SELECT COUNT(*) FROM sign_ins"),
                count("SELECT COUNT(*) FROM audit_log WHERE action = 'login'")) == (attempts[0] + 1, attempts[1] + 1)
        assert isinstance(app.screen, LoginScreen) and "Usuario o contraseña incorrectos." in screen_text(app)
        assert app.screen.query_one("#username").value == "demo"
        assert app.screen.query_one("#password").value == "" and app.focused is app.screen.query_one("#password")
        await type_into(pilot, "#password", "Demo-2026!")  # the form works again
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MenuScreen)


async def test_keys_typed_right_after_the_password_enter_are_not_part_of_it(backend):
    """Typed ahead (fast, pasted, or one burst over SSH), the keys behind the password's Enter queued in the field
    before its Submitted was read: «Demo-2026!» Enter «xyz» signed in with «Demo-2026!xyz», a failed attempt
    counted against the member. The Enter is read as the app reads it; what follows reaches no field."""
    from tests.app.test_ui_typeahead import burst

    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await type_into(pilot, "#username", "demo")
        app.screen.query_one("#password").focus()
        await pilot.pause()
        burst(app, *"Demo-2026!", "enter", *"xyz", "tab", *"abc")
        await settle(pilot)
        assert isinstance(app.screen, MenuScreen)
        failed = backend.db.conn.execute("SELECT COUNT(*) FROM sign_ins WHERE result <> 'ok'").fetchone()[0]
        assert failed == 0
