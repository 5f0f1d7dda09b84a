"""6. Contacto through the screens at 80×24: agencies by city, «Escríbenos», «Mis mensajes»."""

from textual.widgets import DataTable, Select, TextArea

from screens.contact.contact import ContactScreen, MessagesScreen, WriteScreen
from tests.conftest import without_demo_cases
from tests.ui import SIZE, make_app, screen_text, settle, signed_in


async def test_agencies_filter_by_city_and_the_demo_set_says_so(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(pilot, "contacto")
        screen = app.screen
        assert isinstance(screen, ContactScreen)
        assert "Datos de demostración" in screen_text(app) and "Call Center" in screen_text(app)
        table = screen.query_one("#agencies", DataTable)
        everywhere = table.row_count
        screen.query_one("#city", Select).value = "Otavalo"
        await settle(pilot)
        assert table.row_count == 1 < everywhere
        assert "Otavalo" in screen_text(app) and "Cayambe" not in screen_text(app)


async def test_write_a_reclamo_get_a_case_number_and_follow_it(backend):
    without_demo_cases(backend)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(pilot, "contacto")
        await pilot.press("e")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, WriteScreen)
        await pilot.press("f2")  # nothing chosen yet: said at the subject, nothing sent
        await settle(pilot)
        assert "Elige el asunto: reclamo, consulta o sugerencia." in screen_text(app)  # the refusal, not the prompt
        screen.query_one("#subject", Select).value = "reclamo"
        await pilot.pause()
        assert "plazo máximo de 15 días" in screen_text(app)
        screen.query_one("#text", TextArea).text = "[bold red]Cobro[/] duplicado \x1b[2J"
        await pilot.press("f2")
        await settle(pilot)
        assert "caracteres no permitidos" in screen_text(app)
        assert backend.db.conn.execute("SELECT COUNT(*) FROM contact_cases").fetchone()[0] == 0
        screen.query_one("#text", TextArea).text = "[bold red]Cobro[/] duplicado de la planilla de agua."
        await pilot.pause()
        assert "52 / 1,000" in screen_text(app)
        await pilot.press("f2")
        await settle(pilot)
        assert "Tu número de caso es C-2026-000001" in screen_text(app)
        assert "10/12/2026" in screen_text(app)
        with backend.db.write() as conn:
            conn.execute("INSERT INTO contact_replies (case_id, author, body, created_at)"
                         " VALUES (1, 'cajero1', 'Revisamos y reversamos el cobro.', '2026-11-25 11:00:00')")
            conn.execute("UPDATE contact_cases SET state = 'Respondido' WHERE id = 1")
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, MessagesScreen)
        text = screen_text(app)
        assert "C-2026-000001" in text and "Respondido" in text
        assert "[bold red]Cobro[/] duplicado" in text  # the member's text shown literally, never as markup
        assert "Revisamos y reversamos el cobro." in text
        # the member writes back on the answered case: it goes back to the co-op's queue
        app.screen.query_one("#reply", TextArea).text = "Solo reversaron uno de los dos cobros."
        await pilot.press("f2")
        await settle(pilot)
        text = screen_text(app)
        assert "Enviamos tu respuesta" in text and "Tu respuesta" in text and "Solo reversaron uno" in text
        assert backend.db.conn.execute("SELECT state FROM contact_cases WHERE id = 1").fetchone()[0] == "Recibido"
        app.screen.query_one("#reply", TextArea).text = "Y otra cosa más que olvidé decir."
        await pilot.press("f2")  # not answered since: nothing to reply to yet
        await settle(pilot)
        assert "cuando te hayamos respondido" in screen_text(app)
        assert backend.db.conn.execute("SELECT COUNT(*) FROM contact_replies WHERE case_id = 1").fetchone()[0] == 2


async def test_a_long_answer_shows_whole_in_mis_mensajes_at_80x24(backend):
    """Issue 21 point 12: a reply in «Mis mensajes» was cut at 80×24."""
    from tests.transfer_helpers import demo_member

    case = backend.contact.write(demo_member(backend).token, "consulta", "¿Cómo activo mi tarjeta?")
    answer = ("Para activar tu tarjeta acércate a cualquier agencia con tu cédula. " * 5) + "FIN-DE-LA-RESPUESTA."
    with backend.db.write() as conn:
        conn.execute("INSERT INTO contact_replies (case_id, author, body, created_at) VALUES (?, 'atencion1', ?,"
                     " '2026-11-25 11:00:00')", (case.id, answer))
        conn.execute("UPDATE contact_cases SET state = 'Respondido' WHERE id = ?", (case.id,))
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(pilot, "contacto")
        await pilot.press("m")
        await settle(pilot)
        table = app.screen.query_one("#cases", DataTable)
        table.move_cursor(row=table.get_row_index(str(case.id)))
        await settle(pilot)
        text = screen_text(app)  # the whole answer in sight, from its heading to its last word
        assert "Respuesta de Cooprogreso" in text and "Para activar tu tarjeta" in text and "FIN-DE-LA-RESPUESTA." in text
