"""Typed text that looks like a document's code: a motive «Código de verificación: 00000-00000-00000-00000» must
neither break its receipt's or statement's PDF nor be taken for the code; an altered copy still fails."""

from __future__ import annotations

import re
import zlib

import pytest

from backend.security import documents
from backend.transfers.transfers import TransferRequest
from tests.transfer_helpers import transfer

SECRET = b"k" * 32
IMITATION = f"{documents.CODE_LABEL}00000-00000-00000-00000"


def _altered(data: bytes, old: bytes, new: bytes) -> bytes:
    for m in re.finditer(rb"/Filter /FlateDecode\n/Length ([0-9]+)\n>>\nstream\n", data):
        start, length = m.end(), int(m.group(1))
        body = zlib.decompress(data[start:start + length])
        if old in body:
            packed = zlib.compress(body.replace(old, new, 1))
            head = m.group(0).replace(m.group(1), str(len(packed)).encode())
            return data[:m.start()] + head + packed + data[start + length:]
    raise AssertionError(f"{old!r} not drawn")


def test_a_receipt_whose_motive_imitates_the_code_renders_verifies_and_catches_a_change(clock):
    lines = (("Monto", "$5.00"), ("Motivo", IMITATION))  # a receipt on paper shows the motive as typed
    doc = documents.Document(title="Comprobante de transferencia", stem="c", issued_at=clock.now(),
                             coop_name="Cooprogreso", coop_ruc="1790000000001", header=(), summary=lines)
    data = documents.render_pdf(SECRET, doc)
    assert documents.verify([SECRET], data)
    code = documents.printed_code(data)
    assert code and code != "00000-00000-00000-00000"
    assert not documents.verify([SECRET], _altered(data, b"$5.00", b"$9.00"))
    # the typed imitation given the real code is text like any other: changing it fails too
    assert not documents.verify([SECRET], _altered(data, b": 00000-00000-00000-00000)", f": {code})".encode()))


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_the_members_own_receipt_pdf_with_such_a_motive_is_handed_over_and_verifies(backend, lucia):
    a, b = lucia.accounts[:2]
    done = transfer(backend, lucia, TransferRequest("propia", a, 5_00, IMITATION, dest_account_id=b))
    paper = backend.ops.receipt_pdf(lucia.token, done.kind, done.result_id)
    secrets = backend.ctx.receipt_secrets()
    assert documents.verify(secrets, paper.data)
    assert documents.printed_code(paper.data) != "00000-00000-00000-00000"
    assert not documents.verify(secrets, _altered(paper.data, b"$5.00", b"$9.00"))


def test_a_typed_code_is_never_taken_for_the_documents_own(clock):
    """A motive carrying another document's valid code, drawn before the footer, is not what is checked."""
    other = documents.Document(title="Otro", stem="o", issued_at=clock.now(), coop_name="C", coop_ruc="1",
                               header=(), summary=(("Monto", "$1.00"),))
    real = documents.printed_code(documents.render_pdf(SECRET, other))
    doc = documents.Document(title="Comprobante", stem="c", issued_at=clock.now(), coop_name="C", coop_ruc="1",
                             header=(), summary=(("Motivo", f"{documents.CODE_LABEL}{real}"),))
    data = documents.render_pdf(SECRET, doc)
    assert documents.printed_code(data) != real and documents.verify([SECRET], data)


def test_a_statement_whose_movement_imitates_the_code_renders_and_verifies(backend, lucia):
    a, b = lucia.accounts[:2]
    transfer(backend, lucia, TransferRequest("propia", a, 5_00, IMITATION, dest_account_id=b))
    memos = [r[0] for r in backend.db.conn.execute("SELECT memo FROM postings WHERE account_id = ?", (a,))]
    assert any("00000-00000-00000-00000" in m for m in memos), memos
    secrets = backend.ctx.receipt_secrets()
    for fmt in ("pdf", "csv"):
        paper = backend.account_statements.statement(lucia.token, a, "2026-11", fmt)
        assert documents.verify(secrets, paper.data), fmt
    pdf = backend.account_statements.statement(lucia.token, a, "2026-11", "pdf").data
    assert not documents.verify(secrets, _altered(pdf, b"$5.00", b"$9.00"))


def test_a_statement_row_that_imitates_the_code_renders_and_verifies(clock):
    """The description column drawn whole: the imitation on a table row (any page) is drawing, not the code."""
    rows = tuple(("25/11/2026", IMITATION if n % 40 == 0 else f"Movimiento {n}", "$1.00") for n in range(90))
    doc = documents.Document(title="Estado de cuenta", stem="e", issued_at=clock.now(), coop_name="C",
                             coop_ruc="1", header=(("Socio", IMITATION),), columns=("Fecha", "Descripción", "Monto"),
                             widths=(28, 120, 30), aligns=("L", "L", "R"), rows=rows)
    data = documents.render_pdf(SECRET, doc)
    assert documents.verify([SECRET], data)
    assert not documents.verify([SECRET], _altered(data, b"Movimiento 7)", b"Movimiento 8)"))
