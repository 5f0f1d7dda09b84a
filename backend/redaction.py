"""Codes at rest: the outbox keeps a security code only while it can still be used.

With the embedded outbox channel the SMS text (code included) is a row in the database. Once the code
expired, or was used, the row's body is rewritten with the code masked, so a copy of the database
taken later holds no live or dead code. A watermark in `meta` (the outbox id up to which nothing live
remains) keeps each sweep to the newest rows.
"""

from __future__ import annotations

import re

OTP_PREFIX = "Cooprogreso: tu código de seguridad"
MASK = "******"
_CODE = re.compile(r"\b[0-9]{6}\b")
_WATERMARK = "outbox_redacted_through"


def sweep(conn, expired_before: str) -> int:
    """Mask the codes of messages sent at or before `expired_before` (their codes expired). Returns how many."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (_WATERMARK,)).fetchone()
    mark = int(row[0]) if row else 0
    rows = conn.execute("SELECT id, created_at, body FROM outbox WHERE id > ? ORDER BY id", (mark,)).fetchall()
    masked, through = 0, mark
    for outbox_id, created_at, body in rows:
        if body.startswith(OTP_PREFIX) and _CODE.search(body):
            if created_at > expired_before:
                break  # this code may still be live, and every later message is newer
            conn.execute("UPDATE outbox SET body = ? WHERE id = ?", (_CODE.sub(MASK, body), outbox_id))
            masked += 1
        through = outbox_id
    if through != mark:
        conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                     (_WATERMARK, str(through)))
    return masked


def pending(conn, expired_before: str) -> bool:
    """True if `sweep` has something to do (a read, so read-mostly callers write only when needed)."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (_WATERMARK,)).fetchone()
    first = conn.execute("SELECT created_at, body FROM outbox WHERE id > ? ORDER BY id LIMIT 1",
                         (int(row[0]) if row else 0,)).fetchone()
    if first is None:
        return False
    at, body = first
    return not (body.startswith(OTP_PREFIX) and _CODE.search(body)) or at <= expired_before


def forget_code(conn, phone: str, code: str) -> None:
    """Mask a code that was just used (it will never be valid again) in the messages still unswept."""
    if not _CODE.fullmatch(code or ""):
        return
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (_WATERMARK,)).fetchone()
    for outbox_id, body in conn.execute(
            "SELECT id, body FROM outbox WHERE id > ? AND recipient = ? ORDER BY id",
            (int(row[0]) if row else 0, phone)).fetchall():
        if body.startswith(OTP_PREFIX) and re.search(rf"\b{code}\b", body):
            conn.execute("UPDATE outbox SET body = ? WHERE id = ?", (_CODE.sub(MASK, body), outbox_id))
