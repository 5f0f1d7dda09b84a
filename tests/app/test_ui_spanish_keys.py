"""The keys and the command palette speak Spanish at 80×24: no «No matches found», «^p palette» or «space»."""

import pytest

from screens.menu.palette import NO_MATCHES, Palette
from screens.security.affiliation import AffiliationScreen
from tests.transfers.test_ui_beneficiaries import open_screen
from tests.ui import SIZE, login, make_app, screen_text, settle


def footer_text(app) -> str:
    return " ".join(screen_text(app).splitlines()[-8:])  # the bottom rows, where the footer is


@pytest.mark.sqlite_only
async def test_a_search_with_no_match_says_so_in_spanish(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, Palette)
        await pilot.press(*"zzqxw")
        for _ in range(100):  # the palette says it after its own half-second countdown
            if NO_MATCHES in screen_text(app):
                break
            await pilot.pause(0.05)
        text = screen_text(app)
        assert NO_MATCHES in text and "No matches" not in text


@pytest.mark.sqlite_only
async def test_the_affiliation_footer_has_no_english_palette_key(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert isinstance(app.screen, AffiliationScreen)
        assert "palette" not in footer_text(app)


@pytest.mark.sqlite_only
async def test_the_beneficiaries_footer_names_the_space_bar_in_spanish(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_screen(pilot)
        text = footer_text(app)
        assert "espacio Marcar" in text and "space" not in text
