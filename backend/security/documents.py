"""Documents on paper and in files: statements and receipts as PDF and CSV, tamper-evident like receipts.

A `Document` is what any area wants printed: a title, label/value lines, and optionally a table. It is
rendered as a PDF (fpdf2: pure Python, maintained, writes real text a screen reader and `pdftotext` read
back, with the PDF standard fonts, so no font file is needed) or as CSV.

Tamper evidence:
- CSV: the receipts' scheme (`receipts.render`): the last line carries a code over every character before it.
- PDF: one code over every page's drawing (its decompressed content stream, with the code itself blanked),
  printed in every page's footer beside «Página n de m». `verify_pdf` re-reads the file, refuses anything our
  renderer never writes (annotations, images, other fonts, an incremental update, a page box of its own,
  more than one stream per page) and recomputes the code: one figure changed, one page dropped or moved fails.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backend.core.context import Context
from backend.core.errors import ValidationError
from backend.core.settings import Settings
from backend.core.text import csv_cell
from backend.security import receipts

CODE_LABEL = receipts.CODE_LABEL  # «Código de verificación: »
_PLACEHOLDER = "00000-00000-00000-00000"
# The code only where the footer draws it: a switch to the footer's 7-point font, the code as a whole string,
# then «Página n de m» on the same baseline. Typed text lies inside a string whose parentheses fpdf2 escapes, so
# it can never produce «Td (» or «) Tj ET»: a motive that reads like a code is drawing like any other.
_FOOTER_RE = re.compile(rb"\nBT /F[0-9]+ 7\.00 Tf ET\nBT [0-9.]+ (?P<y>[0-9.]+) Td \("
                        + re.escape(CODE_LABEL.encode("latin-1"))
                        + rb"(?P<code>[0-9A-F]{5}(?:-[0-9A-F]{5}){3})\) Tj ET\nBT [0-9.]+ (?P=y) Td \("
                        + re.escape("Página ".encode("latin-1")))
_PDF_DOMAIN = b"cooprogreso-pdf-v1\n"
PDF_MIME = "application/pdf"
CSV_MIME = "text/csv"
MAX_DOCUMENT_BYTES = 32 * 2**20  # what `verify` reads: a 5,000-movement statement is far below


@dataclass(frozen=True)
class Document:
    """What a document says, in printing order; every value already formatted (money with `format_money`)."""

    title: str  # «Estado de cuenta — Cuenta de Ahorros»
    stem: str  # file name without suffix
    issued_at: datetime  # the co-op's wall-clock time
    coop_name: str
    coop_ruc: str
    header: tuple[tuple[str, str], ...]  # repeated on every page (socio, cuenta, período)
    summary: tuple[tuple[str, str], ...] = ()  # once, before the table
    columns: tuple[str, ...] = ()
    widths: tuple[int, ...] = ()  # in mm, one per column (A4 body is 182 mm)
    aligns: tuple[str, ...] = ()  # "L" or "R" per column
    rows: tuple[tuple[str, ...], ...] = ()
    notes: tuple[str, ...] = field(default=())  # after everything


@dataclass(frozen=True)
class Paper:
    """A rendered document: what to save, download or print, and what to preview on a screen."""

    document: Document
    data: bytes
    suffix: str
    mime_type: str

    @property
    def file_name(self) -> str:
        return f"{self.document.stem}{self.suffix}"


FORMATS = {"pdf": (".pdf", PDF_MIME), "csv": (".csv", CSV_MIME)}


def render_paper(ctx: Context, doc: Document, fmt: str) -> Paper:
    """`doc` as PDF or CSV, signed with the co-op's receipt key."""
    if fmt not in FORMATS:
        raise ValidationError("Formato no válido: elige PDF o CSV.", field="formato")
    secret = ctx.secret("receipt_secret")
    data = render_pdf(secret, doc) if fmt == "pdf" else render_csv(secret, doc)
    return Paper(doc, data, *FORMATS[fmt])


def coop_identity(settings: Settings) -> tuple[str, str]:
    """The co-op's name and RUC as printed. The RUC is the deployment's setting (checked at load): none is invented
    here, and while it is unset ("") papers print no RUC line rather than a placeholder a member would read."""
    return settings.coop_name, settings.coop_ruc


# -- CSV -------------------------------------------------------------------------------------------

def render_csv(secret: bytes, doc: Document) -> bytes:
    """The document as CSV, signed on its last line (checked by `receipts.verify`, or `verify`)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([csv_cell(doc.coop_name)])
    if doc.coop_ruc:
        writer.writerow(["RUC", csv_cell(doc.coop_ruc)])
    writer.writerow(["Documento", csv_cell(doc.title)])
    writer.writerow(["Emitido", f"{doc.issued_at:%d/%m/%Y %H:%M:%S}"])
    for label, value in doc.header + doc.summary:
        writer.writerow([csv_cell(label), csv_cell(value)])
    if doc.columns:
        writer.writerow([])
        writer.writerow(list(doc.columns))
        writer.writerows([csv_cell(v) for v in row] for row in doc.rows)
    for note in doc.notes:
        writer.writerow([csv_cell(note)])
    lines = buffer.getvalue().split("\n")[:-1]
    return receipts.render(secret, lines).encode("utf-8")


# -- PDF -------------------------------------------------------------------------------------------

def render_pdf(secret: bytes, doc: Document) -> bytes:
    """Two passes: the first with a blank code gives the drawing the code covers, the second prints it."""
    draft = _draw(doc, _PLACEHOLDER)
    code = _pdf_code(secret, _pages(draft))
    data = _draw(doc, code)
    if _pdf_code(secret, _pages(data)) != code:  # the renderer is not deterministic: never hand out a bad code
        raise RuntimeError("PDF rendering is not deterministic")
    return data


def _draw(doc: Document, code: str) -> bytes:
    from fpdf import FPDF

    class _Pdf(FPDF):
        def header(self) -> None:
            self.set_font("Helvetica", "B", 11)
            self.cell(0, 5, _latin(doc.coop_name), new_x="LMARGIN", new_y="NEXT")
            self.set_font("Helvetica", "", 8)
            if doc.coop_ruc:
                self.cell(0, 4, _latin(f"RUC: {doc.coop_ruc}"), new_x="LMARGIN", new_y="NEXT")
            self.set_font("Helvetica", "B", 10)
            self.cell(0, 6, _latin(doc.title), new_x="LMARGIN", new_y="NEXT")
            self.set_font("Helvetica", "", 8)
            for label, value in doc.header:
                self.cell(38, 4, _latin(f"{label}:"))
                self.cell(0, 4, _fit(self, value, 144), new_x="LMARGIN", new_y="NEXT")
            self.ln(2)

        def footer(self) -> None:
            self.set_y(-14)
            self.set_font("Helvetica", "", 7)
            self.cell(120, 4, _latin(f"{CODE_LABEL}{code}"))
            self.cell(0, 4, _latin(f"Página {self.page_no()} de {{nb}}"), align="R", new_x="LMARGIN", new_y="NEXT")
            self.cell(0, 3, _latin(f"Emitido el {doc.issued_at:%d/%m/%Y %H:%M:%S} (hora del Ecuador). Verifique este "
                                   "documento en la cooperativa: cualquier cambio invalida el código."))

    pdf = _Pdf(format="A4")
    pdf.allow_images_transparency = False  # a transparency group makes CUPS' pdftops print the page as an image
    pdf.set_creation_date(doc.issued_at)
    pdf.set_title(_latin(doc.title))
    pdf.set_author(_latin(doc.coop_name))
    pdf.set_lang("es")
    pdf.set_margins(14, 12, 14)
    pdf.set_auto_page_break(True, margin=18)
    pdf.alias_nb_pages()
    pdf.add_page()
    if doc.summary:
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(0, 5, "Resumen", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 9)
        for label, value in doc.summary:
            pdf.cell(60, 5, _fit(pdf, label, 59))
            pdf.cell(0, 5, _fit(pdf, value, 120), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    if doc.columns:
        _table(pdf, doc)
    pdf.set_font("Helvetica", "", 8)
    for note in doc.notes:
        pdf.multi_cell(0, 4, _latin(note), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _table(pdf: Any, doc: Document) -> None:
    def head() -> None:
        pdf.set_font("Helvetica", "B", 8)
        for name, width, align in zip(doc.columns, doc.widths, doc.aligns, strict=True):
            pdf.cell(width, 5, _latin(name), border="B", align=align)
        pdf.ln()
        pdf.set_font("Helvetica", "", 8)

    head()
    if not doc.rows:
        pdf.cell(0, 5, "Sin movimientos en el período.", new_x="LMARGIN", new_y="NEXT")
    bottom = pdf.h - pdf.b_margin
    for row in doc.rows:
        if pdf.get_y() + 4.5 > bottom:
            pdf.add_page()
            head()
        for value, width, align in zip(row, doc.widths, doc.aligns, strict=True):
            pdf.cell(width, 4.5, _fit(pdf, value, width - 1), align=align)
        pdf.ln()


# Stand-ins for what has no Latin-1 form and no decomposition to one: letters with a stroke, typographic marks.
_STAND_INS = str.maketrans({"—": "-", "–": "-", "−": "-", "‘": "'", "’": "'", "‚": ",", "“": '"', "”": '"', "„": '"',
                            "…": "...", "•": "*", "€": "EUR", "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ŧ": "T",
                            "ŧ": "t", "Ħ": "H", "ħ": "h", "Œ": "OE", "œ": "oe", "ı": "i"})


def _latin(text: str) -> str:
    """The PDF standard fonts print Latin-1: accents and «ñ» stay; anything else becomes a readable stand-in
    («ř» r, «Ł» L, «“» ", «…» ...) or «?» (an emoji, another script), never a crash. A control character, which
    the font would draw as the Windows glyph of its byte (\x80 as «€»), is «?» too.

    Not an embedded Unicode font (issue 22, left on purpose): no maintained package on the registry ships DejaVu
    Sans by itself (matplotlib carries it, far too heavy for a font), and an embedded font decides what each
    character looks like: its glyphs could be swapped («1» drawn as «7») without touching the drawing the code
    covers. Doing it means a `cooprogreso-pdf-v2` code over the font objects too (FontFile2, ToUnicode, widths)
    and `_pages` accepting exactly those; the CSV and the text receipt keep every character meanwhile."""
    if text.isprintable():
        try:
            text.encode("latin-1")
            return text
        except UnicodeEncodeError:
            pass
    out = []
    for ch in unicodedata.normalize("NFC", text).translate(_STAND_INS):  # NFC: «e» + accent is «é», kept
        if (ch.isprintable() and ord(ch) < 0x100) or ch == "\n":  # a note's line break stays one
            out.append(ch)
        elif unicodedata.combining(ch):
            continue  # an accent NFC could not put on its letter: the letter alone reads
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
            out.append(base if base and all(c.isprintable() and ord(c) < 0x100 for c in base) else "?")
    return "".join(out)


def _fit(pdf: Any, text: str, width: float) -> str:
    text = _latin(text)
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "...") > width:
        text = text[:-1]
    return text + "..."


# -- reading our own PDFs back ----------------------------------------------------------------------

_OBJ_RE = re.compile(rb"(?<![0-9])([0-9]+) 0 obj\b")
_A4 = rb"/MediaBox [0 0 595.28 841.89]"
_FONTS = {b"/Helvetica", b"/Helvetica-Bold"}


class NotOurs(ValueError):
    """The file is not a PDF our renderer wrote, untouched in its structure."""


def _objects(data: bytes) -> tuple[dict[int, tuple[bytes, bytes | None]], dict[int, int]]:
    """Object number → (dictionary, stream or None), and where each starts, refusing a number defined twice (an
    incremental update) and a stream whose /Length does not end exactly at «endstream» (a reader would read on)."""
    out: dict[int, tuple[bytes, bytes | None]] = {}
    starts: dict[int, int] = {}
    pos = 0
    while True:
        m = _OBJ_RE.search(data, pos)
        if m is None:
            return out, starts
        number = int(m.group(1))
        if number in out:
            raise NotOurs("object defined twice")
        starts[number] = m.start()
        start = m.end()
        s = data.find(b"stream", start)
        e = data.find(b"endobj", start)
        if e < 0:
            raise NotOurs("unterminated object")
        if 0 <= s < e:
            head = data[start:s]
            length = re.fullmatch(rb"\s*<<\n/Filter /FlateDecode\n/Length ([0-9]+)\n>>\n", head)
            if length is None or data[s:s + 7] != b"stream\n":
                raise NotOurs("a stream our renderer does not write")
            body_start = s + 7
            body_end = body_start + int(length.group(1))
            if data[body_end:body_end + 17] != b"\nendstream\nendobj":
                raise NotOurs("stream length")
            inflate = zlib.decompressobj()
            try:
                body = inflate.decompress(data[body_start:body_end]) + inflate.flush()
            except zlib.error as exc:
                raise NotOurs("bad stream") from exc
            if not inflate.eof or inflate.unused_data:
                raise NotOurs("bad stream")
            out[number] = (head, body)
            pos = body_end + 17
        else:
            out[number] = (data[start:e], None)
            pos = e + 6


def _check_xref(data: bytes, starts: dict[int, int]) -> None:
    """A reader finds objects through the cross-reference table, not in file order: it must point at exactly the
    objects read here (one section from 0, as our renderer writes it), or what is shown is not what is checked."""
    tail = re.search(rb"startxref\n([0-9]+)\n%%EOF\n?\Z", data)
    if tail is None:
        raise NotOurs("startxref")
    at = int(tail.group(1))
    section = re.compile(rb"xref\n0 ([0-9]+)\n0000000000 65535 f \n").match(data, at)
    if section is None:
        raise NotOurs("xref")
    size, pos = int(section.group(1)), section.end()
    entry = re.compile(rb"([0-9]{10}) 00000 n \n")
    pointed: dict[int, int] = {}
    for number in range(1, size):
        m = entry.match(data, pos)
        if m is None:
            raise NotOurs("xref entry")
        pointed[number], pos = int(m.group(1)), m.end()
    if pointed != starts or not data.startswith(b"trailer", pos) or data.rfind(b"trailer") != pos \
            or max(starts.values(), default=0) >= at:
        raise NotOurs("xref does not point at the objects")


def _ref(head: bytes, key: bytes) -> int:
    m = re.search(rb"/" + key + rb" ([0-9]+) 0 R", head)
    if m is None:
        raise NotOurs(f"no {key!r}")
    return int(m.group(1))


def _keys(head: bytes) -> set[bytes]:
    """The top-level keys of a dictionary as our renderer writes it (one key per line; nested values blanked)."""
    inner = head.strip()
    if not (inner.startswith(b"<<") and inner.endswith(b">>")):
        raise NotOurs("not a dictionary")
    inner = inner[2:-2]
    while True:
        flat = re.sub(rb"<<[^<>]*>>|\[[^\[\]]*\]", b"0", inner)
        if flat == inner:
            break
        inner = flat
    return set(re.findall(rb"^/([A-Za-z]+)", inner, re.M))


def _pages(data: bytes) -> list[bytes]:
    """Each page's drawing, in reading order, checked to be all there is on the page."""
    if not data.startswith(b"%PDF-") or data.count(b"%%EOF") != 1 or data.count(b"startxref") != 1:
        raise NotOurs("not a single-revision PDF")
    objects, starts = _objects(data)
    _check_xref(data, starts)
    trailer = data[data.rfind(b"trailer"):]
    root = objects.get(_ref(trailer, b"Root"))
    if root is None:
        raise NotOurs("no catalog")
    if not _keys(root[0]) <= {b"Lang", b"OpenAction", b"PageLayout", b"Pages", b"Type"}:
        raise NotOurs("catalog has more")
    tree = objects.get(_ref(root[0], b"Pages"))
    if tree is None or _A4 not in tree[0] or not _keys(tree[0]) <= {b"Count", b"Kids", b"MediaBox", b"Type"}:
        raise NotOurs("page tree")
    kids = re.search(rb"/Kids \[([0-9 R\s]*)\]", tree[0])
    if kids is None:
        raise NotOurs("no pages")
    numbers = [int(n) for n in re.findall(rb"([0-9]+) 0 R", kids.group(1))]
    pages = []
    for n in numbers:
        page = objects.get(n)
        if page is None or not _keys(page[0]) <= {b"Contents", b"Group", b"Parent", b"Resources", b"Type"}:
            raise NotOurs("page has more")
        resources = objects.get(_ref(page[0], b"Resources"))
        if resources is None or not _keys(resources[0]) <= {b"Font", b"ProcSet"}:
            raise NotOurs("resources")
        for font in re.findall(rb"([0-9]+) 0 R", resources[0]):
            f = objects.get(int(font))
            base = re.search(rb"/BaseFont (/[A-Za-z-]+)", f[0]) if f else None
            if f is None or base is None or base.group(1) not in _FONTS or f[1] is not None \
                    or not _keys(f[0]) <= {b"BaseFont", b"Encoding", b"Subtype", b"Type"} \
                    or b"/Encoding /WinAnsiEncoding" not in f[0]:
                raise NotOurs("font")
        contents = objects.get(_ref(page[0], b"Contents"))
        if contents is None or contents[1] is None:
            raise NotOurs("contents")
        pages.append(contents[1])
    if not pages:
        raise NotOurs("no pages")
    return pages


def _pdf_code(secret: bytes, pages: Sequence[bytes]) -> str:
    """The code over every page's drawing, the printed code blanked; every page must print the same code once."""
    codes = set()
    digest = hmac.new(secret, _PDF_DOMAIN, hashlib.sha256)
    for page in pages:
        found = list(_FOOTER_RE.finditer(page))
        if len(found) != 1:
            raise NotOurs("a page without exactly one code")
        codes.add(found[0]["code"])
        start, end = found[0].span("code")
        blank = page[:start] + _PLACEHOLDER.encode() + page[end:]
        digest.update(len(blank).to_bytes(8, "big") + blank)
    if len(codes) != 1:
        raise NotOurs("pages with different codes")
    mac = digest.hexdigest()[:20].upper()
    return "-".join(mac[i:i + 5] for i in range(0, 20, 5))


def printed_code(data: bytes) -> str | None:
    """The code a PDF of ours prints, or None."""
    m = _FOOTER_RE.search(_pages(data)[0]) if data.startswith(b"%PDF-") else None
    return m["code"].decode() if m else None


def verify_pdf(secret: bytes, data: bytes) -> bool:
    """True only if the PDF is as the co-op wrote it: every page's drawing under the code it prints."""
    try:
        pages = _pages(data)
        printed = _FOOTER_RE.search(pages[0])
        if printed is None:
            return False
        return hmac.compare_digest(_pdf_code(secret, pages).encode(), printed["code"])
    except NotOurs:
        return False


def verify(secrets: Sequence[bytes], data: bytes) -> bool:
    """Any document of ours: a PDF, a signed CSV or a receipt's text, under any of the co-op's keys."""
    if data.startswith(b"%PDF-"):
        return any(verify_pdf(s, data) for s in secrets)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return any(receipts.verify(s, text) for s in secrets)


def receipt_document(receipt: receipts.Receipt, *, coop_name: str, coop_ruc: str) -> Document:
    """A receipt on paper: its signed text's lines, plus its own code, under the PDF's code."""
    lines = tuple((label, value) for label, value in
                  [("Referencia", receipt.reference), ("Fecha y hora", f"{receipt.created_at:%d/%m/%Y %H:%M:%S}"),
                   *receipt.lines, ("Código del comprobante", receipt.verification)])
    return Document(title=f"Comprobante de {receipt.title}", stem=receipt.file_stem, issued_at=receipt.created_at,
                    coop_name=coop_name, coop_ruc=coop_ruc, header=(), summary=lines)
