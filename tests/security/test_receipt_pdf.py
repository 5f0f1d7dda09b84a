"""A member's receipt as PDF (issue 22): the same signed paper a teller prints, with the receipt's figures, its
reference and the verification code read back by `pdftotext`; one altered figure fails `cooprogreso verify`; only
the owner gets it, and every copy is audited."""

from __future__ import annotations

import unicodedata

import pytest

from backend.core.errors import ServiceError
from backend.security import documents
from backend.transfers.transfers import TransferRequest
from tests.products.test_account_statement import alter_figure, needs_poppler, pdftotext
from tests.transfer_helpers import number_of, transfer


def pay_ana(backend, lucia, ana, amount: int = 40_25):
    return transfer(backend, lucia, TransferRequest(kind="terceros", origin_id=lucia.accounts[0], amount=amount,
                                                    motive="Cena familiar",
                                                    account_number=number_of(backend, ana.accounts[0])))


@needs_poppler
def test_the_pdf_holds_the_amount_reference_and_both_codes(backend, lucia, ana, tmp_path):
    receipt = pay_ana(backend, lucia, ana)
    paper = backend.ops.receipt_pdf(lucia.token, receipt.kind, receipt.result_id)
    assert paper.mime_type == "application/pdf" and paper.file_name == f"{receipt.file_stem}.pdf"
    text = pdftotext(paper.data, tmp_path)
    code = documents.printed_code(paper.data)
    assert "$40.25" in text and receipt.reference in text and "Ana P****" in text
    assert f"Código de verificación: {code}" in text and "Página 1 de 1" in text
    assert receipt.verification in text  # the text receipt's own code, under the PDF's
    assert documents.verify(backend.ctx.receipt_secrets(), paper.data)
    row = backend.db.conn.execute("SELECT actor, outcome, details FROM audit_log WHERE action = 'comprobante.emitir'"
                                  " ORDER BY id DESC").fetchone()
    assert row[0] == "demo" and row[1] == "ok" and receipt.reference in row[2] and "pdf" in row[2]


@pytest.mark.sqlite_only(covered=True)
def test_an_altered_amount_fails_verification(backend, lucia, ana):
    receipt = pay_ana(backend, lucia, ana)
    data = backend.ops.receipt_pdf(lucia.token, receipt.kind, receipt.result_id).data
    secrets = backend.ctx.receipt_secrets()
    assert documents.verify(secrets, data)
    assert not documents.verify(secrets, alter_figure(data, b"$40.25", b"$90.25"))
    assert not documents.verify(secrets, alter_figure(data, receipt.reference.encode(),
                                                      receipt.reference[:-1].encode() + b"X"))


@pytest.mark.sqlite_only(covered=True)
def test_only_the_owner_gets_the_pdf_and_a_stranger_learns_nothing(backend, lucia, ana):
    receipt = pay_ana(backend, lucia, ana)
    for token, kind, result_id in ((ana.token, receipt.kind, receipt.result_id),  # the payee is not the owner
                                   (lucia.token, "no_such_kind", receipt.result_id),
                                   (lucia.token, receipt.kind, receipt.result_id + 999),
                                   (lucia.token, receipt.kind, "1 OR 1=1"),
                                   ("not-a-token", receipt.kind, receipt.result_id)):
        with pytest.raises(ServiceError) as err:
            backend.ops.receipt_pdf(token, kind, result_id)
        assert receipt.reference not in err.value.message
    assert backend.db.conn.execute("SELECT COUNT(*) FROM audit_log WHERE action = 'comprobante.emitir'"
                                   ).fetchone()[0] == 0


@pytest.mark.sqlite_only  # the command line the co-op verifies with, over the database's own key
def test_cooprogreso_verify_tells_an_intact_pdf_from_an_altered_one(backend, lucia, ana, db_path, tmp_path,
                                                                    capsys):
    from cooprogreso_tui import cli

    receipt = pay_ana(backend, lucia, ana)
    paper = backend.ops.receipt_pdf(lucia.token, receipt.kind, receipt.result_id)
    intact, altered = tmp_path / "intacto.pdf", tmp_path / "alterado.pdf"
    intact.write_bytes(paper.data)
    altered.write_bytes(alter_figure(paper.data, b"$40.25", b"$40.26"))
    assert cli.main(["verify", str(intact), "--db", str(db_path)]) == 0
    assert "auténtico" in capsys.readouterr().out
    assert cli.main(["verify", str(altered), "--db", str(db_path)]) == 1
    assert "ALTERADO" in capsys.readouterr().out


@needs_poppler
def test_characters_beyond_latin_1_print_legibly_and_the_paper_still_verifies(backend, lucia, ana, tmp_path):
    """The PDF's standard fonts print Latin-1 only. A motive or a name with «ř», «Ŧ», an emoji, a ligature or
    another script renders (a readable stand-in, «?» where there is none), never crashes, and keeps its code;
    the text receipt and the CSV keep every character."""
    motive = "Viaje Plzeň ř Ŧ 🎉 ﬁesta Łódź “ok” …fin € Жж"
    receipt = transfer(backend, lucia, TransferRequest(kind="terceros", origin_id=lucia.accounts[0], amount=7_00,
                                                       motive=motive,
                                                       account_number=number_of(backend, ana.accounts[0])))
    assert unicodedata.normalize("NFKC", motive) in receipt.text  # stored and signed as typed (NFKC: «ﬁ» is «fi»)
    paper = backend.ops.receipt_pdf(lucia.token, receipt.kind, receipt.result_id)
    text = pdftotext(paper.data, tmp_path)
    assert 'Viaje Plzen r T ? fiesta Lódz "ok" ...fin EUR ??' in text, text
    assert documents.verify(backend.ctx.receipt_secrets(), paper.data)
    assert not documents.verify(backend.ctx.receipt_secrets(), alter_figure(paper.data, b"$7.00", b"$9.00"))
    # stored names are not always normalised (a bulk load): a decomposed accent stays on its letter, and a control
    # character is never drawn as the Windows glyph its byte would be («\x80» as «€»)
    doc = documents.Document(title="Estado de cuenta", stem="e", issued_at=backend.now(), coop_name="Cooprogreso",
                             coop_ruc="", header=(("Socio", "Jose\u0301 Pe\u0301rez\x80\x93"),), summary=())
    data = documents.render_pdf(backend.ctx.secret("receipt_secret"), doc)
    shown = pdftotext(data, tmp_path)
    assert "José Pérez??" in shown and "€" not in shown and "“" not in shown, shown
    assert documents.verify(backend.ctx.receipt_secrets(), data)
