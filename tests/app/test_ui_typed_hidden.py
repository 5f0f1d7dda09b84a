"""Invisible characters typed (not pasted) into a free-text field are refused, never silently dropped.

Textual's plain Input drops a typed U+202E, so «Juan ‮Perez» reached the service as «Juan Perez» and was
stored for a report to the UAFE; every free-text field is a `TextInput`, so `clean_text` refuses it.
"""

import ast
import pathlib

from screens.branch.staff_declaration import DeclarationModal
from screens.transfers.transfers import TransferScreen
from tests.branch.test_ui_staff_counterqa import _large_deposit, _teller_with_member, balance
from tests.products.test_ui_product_requests import type_as_a_terminal
from tests.transfers.test_ui_transfers import open_transfer
from tests.ui import SIZE, make_app, screen_text, settle, type_into

SCREENS = pathlib.Path(__file__).resolve().parents[2] / "screens"


def test_every_free_text_field_keeps_what_was_typed():
    """A plain `Input` is only for fields whose `restrict` or password mode already decides what gets in."""
    plain = []
    for path in SCREENS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Input":
                keys = {k.arg for k in node.keywords}
                if not keys & {"restrict", "password"}:
                    plain.append(f"{path.name}:{node.lineno}")
    assert plain == []


async def focus(pilot, selector):
    pilot.app.screen.query_one(selector).focus()
    await pilot.pause()


async def test_a_typed_direction_override_in_the_transfer_motive_is_refused(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_transfer(pilot, "propia")
        await type_into(pilot, "#amount", "10")
        await type_into(pilot, "#motive", "")
        await type_as_a_terminal(pilot, "Cena \u202eodot")
        assert app.screen.query_one("#motive").value == "Cena \u202eodot"
        drawn = app.export_screenshot()  # kept for the service to refuse, but never sent to the terminal as itself
        assert "\u202e" not in drawn and "Cena \ufffdodot" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TransferScreen)
        assert "El motivo contiene caracteres no permitidos" in " ".join(screen_text(app).split())


async def test_a_typed_direction_override_in_the_funds_declaration_is_refused(backend, clock):
    cajero, account = _teller_with_member(backend, clock)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await _large_deposit(pilot, backend, cajero)
        assert isinstance(app.screen, DeclarationModal)
        app.screen.query_one("#dec-origin").value = "Venta de un vehículo"
        app.screen.query_one("#dec-id").value = "1104680135"
        await focus(pilot, "#dec-name")
        await type_as_a_terminal(pilot, "Juan \u202ePerez")
        assert app.screen.query_one("#dec-name").value == "Juan \u202ePerez"
        await pilot.click("#dec-go")
        await settle(pilot)
        assert isinstance(app.screen, DeclarationModal)
        assert "El nombre de quien deposita contiene caracteres no permitidos" in str(
            app.screen.query_one("#dec-error").render())
    assert balance(backend, account) == 100_00


async def test_a_typed_override_in_a_message_is_drawn_visibly_not_sent_to_the_terminal(backend):
    from tests.ui import signed_in

    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(pilot, "contacto_escribenos")
        await focus(pilot, "#text")
        await type_as_a_terminal(pilot, "Hola \u202eodot")
        assert app.screen.query_one("#text").text == "Hola \u202eodot"
        assert "\u202e" not in app.export_screenshot() and "Hola \ufffdodot" in screen_text(app)
