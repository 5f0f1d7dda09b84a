"""Comprobantes: one generic receipt for every kind of operation.

A receipt is a title, ordered label/value lines, a reference and a timestamp. Its text carries a code
computed over every character of it with the co-op's secret, so a printed or saved receipt of any
kind can be checked with the same `verify` (`cooprogreso verify-receipt FILE`).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

from backend.core.text import visible

CODE_LABEL = "Código de verificación: "
HEADER = "COOPROGRESO · Cooperativa de Ahorro y Crédito"
LABEL_WIDTH = 18  # the values' column; a receipt with a longer label moves it right for all its rows
MAX_LABEL_WIDTH = 30  # and no further: the value still fits the 64-column dialog at 80×24


@dataclass(frozen=True)
class Receipt:
    kind: str  # the operation kind that produced it, e.g. "transferencia"
    title: str  # «Transferencia Cooprogreso», «Pago de Servicios»
    lines: tuple[tuple[str, str], ...]  # (label, value), in the order printed
    reference: str
    created_at: datetime
    result_id: int  # the id of what the operation created (transfer, payment…), for re-reading
    text: str  # the whole comprobante, verification code included

    @property
    def verification(self) -> str:
        return self.text.rsplit(CODE_LABEL, 1)[1].strip()

    def get(self, label: str, default: str | None = None) -> str | None:
        """The value printed beside `label`."""
        return next((value for key, value in self.lines if key == label), default)

    @property
    def file_stem(self) -> str:
        return f"comprobante-{self.kind}-{self.reference}"


def make(secret: bytes, *, kind: str, title: str, lines: list[tuple[str, str]] | tuple[tuple[str, str], ...],
         reference: str, created_at: datetime, result_id: int) -> Receipt:
    """Build and sign a receipt. Values are printed as given: callers mask what must be masked.
    (No helper call per row: every confirmation builds one right after its commit.)"""
    # each value on one line, any control or invisible character shown as «\u…»: a receipt is read with cat too
    lines = tuple([(str(label), visible(" ".join(str(value).split()))) for label, value in lines])
    width = min(MAX_LABEL_WIDTH, max([LABEL_WIDTH, *[len(label) + 1 for label, _ in lines]]))
    c = created_at  # as f"{created_at:%d/%m/%Y %H:%M:%S}", without strftime
    body = [HEADER, f"Comprobante de {title}", "", _row("Referencia", reference, width),
            _row("Fecha y hora", f"{c.day:02d}/{c.month:02d}/{c.year} {c.hour:02d}:{c.minute:02d}:{c.second:02d}",
                 width)]
    body += [f"{(label + ':').ljust(width)} {value}" for label, value in lines]
    return Receipt(kind=kind, title=title, lines=lines, reference=reference, created_at=created_at,
                   result_id=result_id, text=render(secret, body))


def _row(label: str, value: str, width: int = LABEL_WIDTH) -> str:
    """One row, its value in the receipt's column (every value starts at the same place)."""
    return f"{(label + ':').ljust(width)} {value}"


def sign(secret: bytes, body: str) -> str:
    digest = hmac.digest(secret, body.encode("utf-8"), "sha256").hex()[:20].upper()  # as hmac.new(…).hexdigest()
    return "-".join(digest[i:i + 5] for i in range(0, 20, 5))


def render(secret: bytes, lines: list[str]) -> str:
    body = "\n".join(lines) + "\n"
    return f"{body}\n{CODE_LABEL}{sign(secret, body)}\n"


def verify(secret: bytes, text: str) -> bool:
    """True only if not one character of the receipt was changed."""
    if not text.endswith("\n") or "\n" not in text[:-1]:
        return False
    body, last = text[:-1].rsplit("\n", 1)
    if not last.startswith(CODE_LABEL):
        return False
    return hmac.compare_digest(sign(secret, body), last[len(CODE_LABEL):])
