"""A statement PDF altered where the verifier does not look: what a PDF reader shows must be what is checked.

A reader finds objects through the file's cross-reference table and reads a stream until «endstream»; the
verifier read objects in file order and trusted /Length. Each forgery here is shown to fool pdftotext first
(so the test can fail for the right reason), then must be refused.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zlib
from datetime import datetime

import pytest

from backend.security import documents

SECRET = b"k" * 32
DOC = documents.Document(
    title="Estado de cuenta - Cuenta de Ahorros", stem="estado", issued_at=datetime(2026, 11, 25, 10, 0),
    coop_name="Cooprogreso", coop_ruc="1790000000001", header=(("Socio", "Ana Paz"),),
    summary=(("Saldo final", "$1,000.00"),), columns=("Fecha", "Saldo"), widths=(50, 50), aligns=("L", "R"),
    rows=(("25/11/2026 10:00", "$1,000.00"),))
_CONTENTS = re.compile(rb"/Filter /FlateDecode\n/Length ([0-9]+)\n>>\nstream\n")


def shown(data: bytes, tmp_path) -> str:
    path = tmp_path / "forged.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=False).stdout


def new_xref(out: bytes, moved: dict[int, int] | None = None) -> bytes:
    """The cross-reference table rebuilt for `out` (each object where it starts, unless `moved` says otherwise)."""
    size = int(re.search(rb"/Size ([0-9]+)", out).group(1))
    at = {n: out.index(b"\n%d 0 obj\n" % n) + 1 for n in range(1, size)} | (moved or {})
    x = out.index(b"xref\n")
    table = b"xref\n0 %d\n0000000000 65535 f \n" % size + b"".join(b"%010d 00000 n \n" % at[n] for n in range(1, size))
    trailer = out[out.index(b"trailer"):out.index(b"startxref")]
    return out[:x] + table + trailer + b"startxref\n%d\n%%%%EOF\n" % x


def hidden_object(data: bytes) -> bytes:
    """A second page drawing with a changed balance, hidden in an unreferenced stream; the xref points at it."""
    m = _CONTENTS.search(data)
    drawing = zlib.decompress(data[m.end():m.end() + int(m.group(1))])
    body = zlib.compress(drawing.replace(b"$1,000.00", b"$9,000.00"))
    fake = b"4 0 obj\n<<\n/Filter /FlateDecode\n/Length %d\n>>\nstream\n" % len(body) + body + b"\nendstream\nendobj\n"
    head = b"9 0 obj\n<<\n/Length %d\n>>\nstream\n" % len(fake)
    x = data.index(b"xref\n")
    out = data[:x] + head + fake + b"\nendstream\nendobj\n" + data[x:]
    out = out.replace(b"/Size 9", b"/Size 10")
    return new_xref(out, {4: x + len(head), 9: x})


def stream_past_its_length(data: bytes) -> bytes:
    """The drawing left as it is, /Length covering exactly it, and more drawing before «endstream»."""
    m = _CONTENTS.search(data)
    length = int(m.group(1))
    drawing = zlib.decompress(data[m.end():m.end() + length])
    extra = b"\nBT /F2 30 Tf 100 300 Td (Saldo final $9,999.00) Tj ET\n"
    out = data[:m.start()] + b"/Length %d\n>>\nstream\n" % len(drawing) + drawing + extra + data[m.end() + length:]
    return new_xref(out)


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) missing")
@pytest.mark.parametrize("forge, seen", [(hidden_object, "$9,000.00"), (stream_past_its_length, "$9,999.00")])
def test_a_pdf_a_reader_shows_otherwise_than_verified_is_refused(forge, seen, tmp_path):
    data = documents.render_pdf(SECRET, DOC)
    assert documents.verify([SECRET], data)
    forged = forge(data)
    assert seen in shown(forged, tmp_path)  # the reader shows the forgery
    assert not documents.verify([SECRET], forged)


def test_the_cross_reference_table_must_point_at_each_object():
    data = documents.render_pdf(SECRET, DOC)
    assert documents.verify([SECRET], new_xref(data))  # rebuilt the same: still ours
    x = data.index(b"xref\n")
    entries = data[x:]
    shifted = entries.replace(b"0000000015 00000 n", b"0000000016 00000 n", 1)
    assert shifted != entries
    assert not documents.verify([SECRET], data[:x] + shifted)
    assert not documents.verify([SECRET], data.replace(b"/Filter /FlateDecode\n/Length", b"/Filter /FlateDecode\n"
                                                       b"/DecodeParms <</Predictor 2>>\n/Length", 1))
