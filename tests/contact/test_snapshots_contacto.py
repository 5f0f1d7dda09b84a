"""Snapshots at 80×24 of 6. Contacto and 8. Ayuda (refresh with --snapshot-update, then look at them)."""

from textual.widgets import OptionList

from screens.help.help import About
from tests.conftest import without_demo_cases
from tests.ui import SIZE, login, make_app, settle


def opened(key, *keys):
    async def run_before(pilot):
        await login(pilot)
        menu = pilot.app.screen.query_one("#menu", OptionList)
        menu.highlighted = menu.get_option_index(key)
        await pilot.press("enter")
        await settle(pilot)
        for k in keys:
            await pilot.press(k)
            await settle(pilot)
    return run_before


def test_contact_channels_and_agencies(snap_compare, backend):
    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=opened("contacto"))


def test_write_to_us(snap_compare, backend):
    async def run_before(pilot):
        await opened("contacto", "e")(pilot)
        pilot.app.screen.query_one("#subject").value = "reclamo"
        pilot.app.screen.query_one("#text").text = "Me cobraron dos veces la planilla de agua de octubre."
        await settle(pilot)

    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=run_before)


def test_my_messages(snap_compare, backend):
    without_demo_cases(backend)
    token = backend.auth.login("demo", "Demo-2026!").token
    backend.contact.write(token, "reclamo", "Me cobraron dos veces la planilla de agua de octubre.")
    backend.contact.write(token, "sugerencia", "Abran una agencia en Tabacundo, por favor.")
    with backend.db.write() as conn:
        conn.execute("INSERT INTO contact_replies (case_id, author, body, created_at)"
                     " VALUES (2, 'cajero1', 'Gracias, lo estudiaremos.', '2026-11-25 11:00:00')")
        conn.execute("UPDATE contact_cases SET state = 'Respondido' WHERE id = 2")
    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=opened("contacto", "m"))


def test_faq(snap_compare, backend):
    async def run_before(pilot):
        await opened("ayuda")(pilot)
        await pilot.press(*"codigo")
        await pilot.pause()

    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=run_before)


def test_about(snap_compare, backend):
    app = make_app(backend)
    app.about = lambda: About("0.1.0", "/home/socio/.config/cooprogreso/config.toml",
                              "/home/socio/.local/state/cooprogreso/log/cooprogreso.log",
                              "/home/socio/.local/share/cooprogreso/cooprogreso.sqlite3",
                              "/home/socio/.local/share/cooprogreso/exportaciones")
    assert snap_compare(app, terminal_size=SIZE, run_before=opened("ayuda", "f2"))


def test_help_modal(snap_compare, backend):
    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=opened("contacto", "f1"))
