"""Append-only audit log: who, when, what, outcome. Secrets never go in.

A `member_id` detail is also kept in its own column, so the auditors can list a member's entries.
What a person typed may reach an entry (a name, a motive): the actor is stored as `visible()` shows
it, and any control or invisible character in the details as a JSON escape, so nothing stored can
steer the terminal of the auditor who reads it, and `json.loads` still gives back the exact text.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from backend.core.text import is_refused, visible

if TYPE_CHECKING:
    from backend.core.db import Connection

_FORBIDDEN = {"password", "contrasena", "code", "codigo", "otp", "token", "secret"}


def record(conn: Connection, *, at: str, actor: str, action: str, outcome: str, **details: object) -> None:
    conn.execute(*_row(at, actor, action, outcome, details))


def record_later(conn: Connection, *, at: str, actor: str, action: str, outcome: str, **details: object) -> None:
    """`record`, the row sent with the transaction's next statement or its COMMIT (`conn.send`), not in a round
    trip of its own: for a booking whose last row it is."""
    conn.send(*_row(at, actor, action, outcome, details))


def _row(at: str, actor: str, action: str, outcome: str, details: dict[str, object]) -> tuple[str, tuple[object, ...]]:
    leaked = _FORBIDDEN & {key.lower() for key in details}
    if leaked:
        raise ValueError(f"audit details must not carry secrets: {sorted(leaked)}")
    member = details.get("member_id")
    return (
        "INSERT INTO audit_log (at, actor, action, outcome, details, member_id) VALUES (?, ?, ?, ?, ?, ?)",
        (at, visible(actor), action, outcome, _json(details),
         member if isinstance(member, int) and not isinstance(member, bool) else None),
    )


# One encoder for every entry: json.dumps with options builds a new one per call (every booking audits once).
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str)


def _json(details: dict) -> str:
    text = _ENCODER.encode(details)
    if text.isprintable():
        return text
    return "".join(json.dumps(ch)[1:-1] if is_refused(ch) or not ch.isprintable() else ch for ch in text)
