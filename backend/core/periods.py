"""Date ranges chosen by people (whole days, both ends included) as SQL over timestamps stored as ISO text.

One place for the rule every history, statement and audit filter follows: «hasta el 25» includes all of
the 25th, so the upper bound is the start of the next day, exclusive.
"""

from __future__ import annotations

from datetime import date, timedelta


def within_days(column: str, date_from: date | None, date_to: date | None) -> tuple[str, list[str]]:
    """An SQL condition to append (« AND …», empty when both ends are open) and its parameters."""
    sql, params = "", []
    if date_from:
        sql += f" AND {column} >= ?"
        params.append(date_from.isoformat())
    if date_to:
        sql += f" AND {column} < ?"
        params.append((date_to + timedelta(days=1)).isoformat())
    return sql, params


MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
          "noviembre", "diciembre")


def parse_month(text: object, today: date) -> tuple[date, date]:
    """A statement's month `AAAA-MM` as (first day, last day), refused when malformed or still to come."""
    import re

    from backend.core.errors import ValidationError

    match = re.fullmatch(r"([0-9]{4})-([0-9]{2})", text.strip()) if isinstance(text, str) else None
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1900:
        raise ValidationError("Mes no válido: usa AAAA-MM, por ejemplo 2026-11.", field="mes")
    first = date(int(match.group(1)), int(match.group(2)), 1)
    if first > today:
        raise ValidationError("Ese mes aún no empieza: elige un mes hasta el actual.", field="mes")
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return first, last


def month_label(first: date) -> str:
    """`noviembre de 2026`."""
    return f"{MONTHS[first.month - 1]} de {first.year}"
