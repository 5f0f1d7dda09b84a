"""A card's estado de cuenta on paper: the stored statement's figures (the same the screens show), its cycle's
movements, read back by `pdftotext`; only the holder's card; a month without a cut says when the cut is."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from backend.core.errors import NotFound
from backend.core.money import format_money
from backend.security import documents
from tests.card_helpers import demo_card



@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) missing")
def test_the_card_pdf_prints_the_statements_figures_and_verifies(backend, lucia, tmp_path):
    card = demo_card(backend)
    st = backend.cards.statements(lucia.token, card, limit=1)[0]
    paper = backend.card_statements.statement(lucia.token, card, f"{st.cut_date:%Y-%m}", "pdf")
    path = tmp_path / "tarjeta.pdf"
    path.write_bytes(paper.data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    for label, cents in (("Pago mínimo", st.minimum_due), ("Pago total", st.total_due), ("Intereses", st.interest),
                         ("Interés de mora", st.late_interest), ("Valor vencido", st.overdue),
                         ("Diferidos pendientes", st.installment_balance), ("Consumos", st.purchases)):
        assert f"{label}" in text and format_money(cents) in text
    assert f"{st.cut_date:%d/%m/%Y}" in text and f"{st.due_date:%d/%m/%Y}" in text
    assert "3261 XXXX XXXX 6989" in text and "Página 1 de" in text
    assert documents.verify(backend.ctx.receipt_secrets(), paper.data)
    csv = backend.card_statements.statement(lucia.token, card, f"{st.cut_date:%Y-%m}", "csv").data.decode()
    assert f"Pago mínimo,{format_money(st.minimum_due)}" in csv.replace('"', "")


@pytest.mark.sqlite_only(covered=True)
def test_only_the_holder_and_a_month_with_a_cut(backend, lucia, ana):
    card = demo_card(backend)
    with pytest.raises(NotFound):
        backend.card_statements.statement(ana.token, card, "2026-10")
    with pytest.raises(NotFound, match="su corte es el día"):
        backend.card_statements.statement(lucia.token, card, "2020-01")


@pytest.mark.sqlite_only(covered=True)
def test_the_latest_month_with_a_cut_is_the_holders_only(backend, lucia, ana):
    card = demo_card(backend)
    newest = backend.cards.statements(lucia.token, card, limit=1)[0].cut_date
    assert backend.card_statements.latest_month(lucia.token, card) == f"{newest:%Y-%m}"
    with pytest.raises(NotFound):
        backend.card_statements.latest_month(ana.token, card)
