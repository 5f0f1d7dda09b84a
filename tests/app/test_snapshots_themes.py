"""Each section of the member's menu at 80×24 in the high-contrast theme (issue #21): what a member with low
vision sees. The theme is the member's stored choice, as after choosing it once from the palette."""

import pytest
from textual.widgets import OptionList

from tests.ui import SIZE, login, make_app, settle

# the menu itself, then each of the eight sections (the first entry of those with several)
OPENED = [None, "productos", "transferencias_propias", "servicios_pagar", "tarjetas_cooprogreso",
          "diferido_transacciones", "contacto", "solicitudes", "ayuda"]


@pytest.mark.parametrize("key", OPENED)
def test_high_contrast(snap_compare, backend, key):
    backend.auth.set_theme(backend.auth.login("demo", "Demo-2026!").token, "alto-contraste")

    async def run_before(pilot):
        await login(pilot)
        if key is not None:
            menu = pilot.app.screen.query_one("#menu", OptionList)
            menu.highlighted = menu.get_option_index(key)
            await pilot.press("enter")
            await settle(pilot)
        assert pilot.app.theme == "alto-contraste"

    assert snap_compare(make_app(backend), terminal_size=SIZE, run_before=run_before)
