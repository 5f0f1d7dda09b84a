"""An open dropdown list is closed by its own edge in every theme (issue 21 point 12): compact, it had none,
so the text beside it on screen read as part of its rows («Cayambe» over the agencies showed
«Cayamberección»)."""

import pytest
from textual.widgets import Select

from screens.shared.themes import THEMES
from tests.ui import SIZE, make_app, screen_text, settle, signed_in


@pytest.mark.parametrize("theme", list(THEMES))
def test_an_open_list_has_its_own_edge(snap_compare, backend, theme):
    backend.auth.set_theme(backend.auth.login("demo", "Demo-2026!").token, theme)

    async def run_before(pilot):
        await signed_in(pilot, "contacto")
        city = pilot.app.screen.query_one("#city", Select)
        city.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert city.expanded
        text = screen_text(pilot.app)
        # each city in the list starts at the list's own edge, not right after the agencies' names beneath
        for name in ("Todas", "Cayambe", "Ibarra", "Sangolquí"):
            assert f"│{name}" in text, name

    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=run_before)
