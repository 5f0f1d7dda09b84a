"""«Contains», ignoring case and Spanish accents, on both engines: for free text a person searches (a movement's
description).

SQLite's LIKE ignores the case of ASCII letters only and PostgreSQL's LIKE ignores none, so both sides are folded:
the column in SQL (lower(), then the accented letters of Spanish replaced, a chain SQLite's parser takes) and the
text typed in Python, by the same table. Member names have their own folded copy (backend/core/name_search.py)."""

from __future__ import annotations

import string

SPANISH = {"á": "a", "é": "e", "í": "i", "ó": "o", "ú": "u", "ü": "u", "ñ": "n",
           "Á": "a", "É": "e", "Í": "i", "Ó": "o", "Ú": "u", "Ü": "u", "Ñ": "n"}
_TABLE = str.maketrans({**{u: u.lower() for u in string.ascii_uppercase}, **SPANISH})


def fold(text: str) -> str:
    """«Acreditación SUELDO» → «acreditacion sueldo», as `folded` spells it in SQL."""
    return text.translate(_TABLE)


def folded(column: str) -> str:
    expression = f"lower({column})"
    for accented, plain in SPANISH.items():
        expression = f"replace({expression}, '{accented}', '{plain}')"
    return expression


def contains(column: str, text: str) -> tuple[str, str]:
    """(SQL condition, its parameter): `column` contains `text`, whatever the case and accents of either."""
    escaped = fold(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{folded(column)} LIKE ? ESCAPE '\\'", f"%{escaped}%"
