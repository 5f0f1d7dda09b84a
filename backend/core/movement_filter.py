"""A filter of an account's movements (dates dd/mm/aaaa, words), parsed from what a person typed: the member's
Productos and the auditor's views of a member filter the same way, so it lives in the core."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from backend.core.errors import ValidationError
from backend.core.text import clean_text


@dataclass(frozen=True)
class MovementFilter:
    date_from: date | None = None
    date_to: date | None = None
    text: str = ""


def parse_filter(date_from: str, date_to: str, text: str) -> MovementFilter:
    """Build a filter from what the member typed (dd/mm/aaaa), with Spanish errors per field."""
    start = _parse_date(date_from, "desde")
    end = _parse_date(date_to, "hasta")
    if start and end and start > end:
        raise ValidationError("La fecha «Desde» no puede ser posterior a «Hasta».", field="desde")
    words = clean_text("" if text is None else text, field="texto", label="El texto a buscar", max_len=60)
    return MovementFilter(start, end, words)


def _parse_date(text: str, field: str) -> date | None:
    if not isinstance(text, str):
        text = ""
    # Look-alike digits are folded to ASCII; anything else but ASCII digits and «/» fails the pattern.
    text = "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text.strip())
    if not text:
        return None
    match = re.fullmatch(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})", text)
    try:
        if not match:
            raise ValueError
        day, month, year = map(int, match.groups())
        return date(year, month, day)
    except ValueError:
        raise ValidationError(f"Fecha no válida en «{field.capitalize()}»: usa dd/mm/aaaa.", field=field) from None
