"""Display themes: chosen from the command palette, kept per member, never passed to the next person (issue #21)."""

from __future__ import annotations

import pytest

from backend.core.errors import ValidationError
from tests.conftest import add_member, affiliate
from tests.ui import SIZE, login, make_app, settle


async def choose_from_palette(pilot, words: str) -> None:
    await pilot.press("ctrl+p")
    await settle(pilot)
    await pilot.press(*words)
    await settle(pilot)
    await pilot.pause(0.3)  # the palette searches after a short pause
    await pilot.press("enter")
    await settle(pilot)


async def test_a_theme_chosen_from_the_palette_is_kept_for_that_member_only(backend):
    add_member(backend, cedula="1104680135", balance=5_00)
    affiliate(backend, "1104680135", "ana.prueba")
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        assert app.theme == "cooprogreso"
        await choose_from_palette(pilot, "tema alto")
        assert app.theme == "alto-contraste"
        await pilot.press("ctrl+s")  # SALIR
        await settle(pilot)
        assert app.theme == "cooprogreso"  # the login screen is the co-op's again
        await login(pilot, "ana.prueba", "Clave2026x")
        assert app.theme == "cooprogreso"  # another member: not Lucía's choice
        await choose_from_palette(pilot, "tema claro")
        assert app.theme == "claro"
        await pilot.press("ctrl+s")
        await settle(pilot)
        await login(pilot)
        assert app.theme == "alto-contraste"
        assert backend.auth.login("ana.prueba", "Clave2026x").theme == "claro"


def test_only_a_known_theme_is_stored(backend):
    token = backend.auth.login("demo", "Demo-2026!").token
    with pytest.raises(ValidationError):
        backend.auth.set_theme(token, "\x1b]0;hola\x07")
    backend.auth.set_theme(token, "claro")
    assert backend.auth.login("demo", "Demo-2026!").theme == "claro"


async def test_a_staff_user_keeps_their_theme_and_the_next_person_starts_from_the_coops(backend, clock):
    """Staff too (migration 38): a teller's choice is back at their next sign-in, and only theirs."""
    from tests.branch.test_ui_staff import staff_login_through_screens as staff_login
    from tests.staff_helpers import enrol

    cajero = enrol(backend, "cajero1", "cajero")
    supervisor = enrol(backend, "super1", "supervisor")
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await staff_login(pilot, backend, cajero)
        assert app.signed_in is not None and app.signed_in.role == "cajero" and app.theme == "cooprogreso"
        await choose_from_palette(pilot, "tema alto")
        assert app.theme == "alto-contraste"
        await app.workers.wait_for_complete()  # the choice is saved in a thread
        await pilot.press("ctrl+s")  # SALIR
        await settle(pilot)
        assert app.theme == "cooprogreso"  # the login screen is the co-op's again
        clock.advance(seconds=30)  # a new authenticator code
        await staff_login(pilot, backend, supervisor)
        assert app.signed_in is not None and app.signed_in.role == "supervisor"
        assert app.theme == "cooprogreso"  # another staff user: not the teller's choice
        await pilot.press("ctrl+s")
        await settle(pilot)
        clock.advance(seconds=30)
        await staff_login(pilot, backend, cajero)
        assert app.signed_in is not None and app.signed_in.role == "cajero"
        assert app.theme == "alto-contraste"

