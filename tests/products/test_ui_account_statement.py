"""«Estado de cuenta» at 80×24: from Productos (savings account) and from the card's statement in Pago de
Tarjetas — month picker, preview on screen, the PDF saved 0600 in the export folder, verifiable."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from backend.security import documents
from screens.shared.paper import PaperScreen
from tests.products.test_ui_products import open_products
from tests.ui import SIZE, login, make_app, screen_text, settle


async def wait_for(pilot, text: str) -> str:
    for _ in range(150):
        shown = screen_text(pilot.app)
        if text in shown:
            return shown
        await pilot.pause(0.1)
    raise AssertionError(f"«{text}» never shown:\n{screen_text(pilot.app)}")


async def test_savings_statement_preview_and_pdf_download(backend, tmp_path):
    app = make_app(backend, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_products(pilot)
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, PaperScreen)
        shown = await wait_for(pilot, "Saldo inicial")
        assert "Noviembre de 2026" in shown and "Saldo final" in shown and "(mes en curso)" in shown
        assert "Descargar PDF" in shown and "Descargar CSV" in shown  # the buttons stay on the 80×24 screen
        await pilot.press("p")
        said = await wait_for(pilot, "Guardado en")
    files = list(Path(tmp_path).glob("estado-de-cuenta-*-2026-11-*.pdf"))
    assert len(files) == 1 and stat.S_IMODE(os.stat(files[0]).st_mode) == 0o600, said
    assert documents.verify(backend.ctx.receipt_secrets(), files[0].read_bytes())


async def test_card_statement_from_pago_de_tarjetas_downloads_csv(backend, tmp_path):
    from screens.cards.card_statement import StatementScreen

    app = make_app(backend, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        app.push_screen(StatementScreen())
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, PaperScreen)
        await wait_for(pilot, "Estado de cuenta · Tarjeta 3261 XXXX XXXX 6989")
        await pilot.press("c")
        await wait_for(pilot, "Guardado en")
    files = list(Path(tmp_path).glob("estado-de-cuenta-tarjeta-6989-2026-11-*.csv"))
    assert len(files) == 1  # the demo card has a cut in November
    assert documents.verify(backend.ctx.receipt_secrets(), files[0].read_bytes())


async def test_card_statement_opens_on_the_latest_month_with_a_cut(backend, tmp_path, clock):
    """Early in a month the card has not been cut yet: the screen opened on that month and only said there was
    no statement. It opens on the month of the latest cut (the demo's card: November)."""
    from screens.cards.card_statement import StatementScreen

    clock.advance(days=7)  # 2 December 2026: December's cut is still ahead
    app = make_app(backend, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        app.push_screen(StatementScreen())
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, PaperScreen)
        shown = await wait_for(pilot, "Fecha de corte")
        assert "Noviembre de 2026" in shown and "no tiene estado de cuenta" not in shown
        assert app.screen.query_one("#paper-month").value == "2026-11"
