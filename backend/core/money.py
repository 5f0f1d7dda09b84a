"""Money at the edges: integer cents inside, text outside. Never a float."""

from __future__ import annotations

import re
import unicodedata

from backend.core.errors import ValidationError

MAX_CENTS = 100_000_000_00  # $100,000,000.00: anything larger is a typo, not a payment

_GROUPED = re.compile(r"[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?")
_PLAIN = re.compile(r"[0-9]+(\.[0-9]+)?")


def parse_money(text: str, *, allow_zero: bool = False, max_cents: int = MAX_CENTS) -> int:
    """Parse what a member typed (`15`, `15.5`, `1,234.56`, `$20`) into cents."""
    if not isinstance(text, str):
        raise ValidationError("El monto debe escribirse como texto, por ejemplo 15.50.", field="monto")
    # Look-alike digits (fullwidth, Arabic-Indic, …) are folded to ASCII; every other non-ASCII
    # character, control or invisible one is refused by the patterns below.
    raw = "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text.strip().replace(" ", ""))
    if raw.startswith("$"):
        raw = raw[1:]
    if not raw:
        raise ValidationError("Ingresa un monto.", field="monto")
    if raw.startswith("-"):
        raise ValidationError("El monto no puede ser negativo.", field="monto")
    if not (_PLAIN.fullmatch(raw) or _GROUPED.fullmatch(raw)):
        raise ValidationError(
            "Monto no válido: usa solo números y punto decimal, por ejemplo 1,234.56.", field="monto"
        )
    whole, _, frac = raw.replace(",", "").partition(".")
    if len(frac) > 2:
        raise ValidationError("El monto admite como máximo dos decimales.", field="monto")
    if len(whole) > 12:
        raise ValidationError("El monto es demasiado grande.", field="monto")
    cents = int(whole) * 100 + int((frac + "00")[:2])
    if cents == 0 and not allow_zero:
        raise ValidationError("El monto debe ser mayor que cero.", field="monto")
    if cents > max_cents:
        raise ValidationError(f"El monto no puede superar {format_money(max_cents)}.", field="monto")
    return cents


def format_money(cents: int) -> str:
    """`123456` → `$1,234.56`; negatives as `-$1,234.56`."""
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise TypeError(f"money must be int cents, got {type(cents).__name__}")
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}${whole:,}.{frac:02d}"


def format_plain(cents: int) -> str:
    """Cents as a plain decimal for files (`1234.56`, `-5.00`): no symbol, no grouping."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole}.{frac:02d}"
