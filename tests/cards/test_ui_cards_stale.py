"""Pago de Tarjetas at 80×24: what is said about one card choice never outlives it."""

from __future__ import annotations

from textual.widgets import Select

from tests.cards.test_ui_cards import open_section
from tests.ui import SIZE, make_app, screen_text, settle


async def test_clearing_or_choosing_the_card_drops_stale_figures_and_errors(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "tarjetas_cooprogreso")
        select = app.screen.query_one("#card", Select)
        card = select.value
        assert "Fecha máxima de pago" in screen_text(app)
        select.clear()
        await settle(pilot)
        text = screen_text(app)
        assert "Fecha máxima de pago" not in text and "Deuda actual" not in text
        await pilot.click("#continue")
        await settle(pilot)
        assert "Selecciona la tarjeta que vas a cancelar." in screen_text(app)
        select.value = card
        await settle(pilot)
        text = screen_text(app)
        assert "Selecciona la tarjeta que vas a cancelar." not in text and "Fecha máxima de pago" in text
