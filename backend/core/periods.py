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
