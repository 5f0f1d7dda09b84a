"""The transfers' invariant for `cooprogreso check` (registered in backend/core/invariants.py): the daily cupo
kept per user, kind and day (`transfer_usage`) equals what was transferred that day and not returned."""

from __future__ import annotations

from typing import Any

from backend.core import invariants
from backend.core.clock import date_text
from backend.core.invariants import Since
from backend.core.money import format_money

_USAGE = ("SELECT u.user_id, u.kind, u.day, u.amount, COALESCE(SUM(t.amount), 0) FROM {keys}transfer_usage u{on}"
          " LEFT JOIN transfers t ON t.user_id = u.user_id AND t.kind = u.kind"
          " AND substr(t.created_at, 1, 10) = u.day AND t.state != 'Devuelta'"
          " GROUP BY u.user_id, u.kind, u.day, u.amount HAVING u.amount != COALESCE(SUM(t.amount), 0)")
# The days touched since a checkpoint: from its day on, and the days of transfers settled or returned since.
_TOUCHED = ("(SELECT user_id, kind, day FROM transfer_usage WHERE day >= ?"
            " UNION SELECT user_id, kind, substr(created_at, 1, 10) FROM transfers WHERE settle_entry_id > ?) AS k"
            " JOIN ")


def check(conn: Any) -> list[str]:
    return _lines(conn.execute(_USAGE.format(keys="", on="")))


def check_since(conn: Any, since: Since) -> list[str]:
    return _lines(conn.execute(
        _USAGE.format(keys=_TOUCHED, on=" ON u.user_id = k.user_id AND u.kind = k.kind AND u.day = k.day"),
        (since.day, since.entry_id)))


def _lines(rows: Any) -> list[str]:
    return [f"cupo diario del usuario {user_id} ({kind}, {date_text(day)}): {format_money(kept)} usado"
            f" ≠ {format_money(derived)} transferido" for user_id, kind, day, kept, derived in rows]


invariants.register("transferencias", check, check_since)
