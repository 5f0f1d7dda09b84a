"""Append-only audit log: who, when, what, outcome. Secrets never go in.

A `member_id` detail is also kept in its own column, so the auditors can list a member's entries.
"""

from __future__ import annotations

import json
import sqlite3

_FORBIDDEN = {"password", "contrasena", "code", "codigo", "otp", "token", "secret"}


def record(conn: sqlite3.Connection, *, at: str, actor: str, action: str, outcome: str, **details) -> None:
    leaked = _FORBIDDEN & {key.lower() for key in details}
    if leaked:
        raise ValueError(f"audit details must not carry secrets: {sorted(leaked)}")
    member = details.get("member_id")
    conn.execute(
        "INSERT INTO audit_log (at, actor, action, outcome, details, member_id) VALUES (?, ?, ?, ?, ?, ?)",
        (at, actor, action, outcome, json.dumps(details, ensure_ascii=False, sort_keys=True, default=str),
         member if isinstance(member, int) and not isinstance(member, bool) else None),
    )
