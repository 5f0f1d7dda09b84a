"""Codes at rest: the outbox shows a security code only while it can still be used.

With the embedded outbox channel the SMS text (code included) is a row in the database. `outbox_codes`
lists the rows that still show a code, with their challenge and when they were sent. When the code is
used, voided (wrong tries, changed operation), replaced (resend, a new code for the operation) or expired,
exactly those rows get the code masked and leave the list: masking costs what there is to mask, never
a re-read of every SMS sent since. On SQLite the old text is also overwritten on disk: secure_delete
for the rewritten rows, and a checkpoint that empties the write-ahead log once the transaction commits. That
checkpoint does not wait: while another connection reads, the old page stays in the log until the worker's next
pass empties it (`Backend.finish_scrubs`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.core.db import Connection, Row

OTP_PREFIX = "Cooprogreso: tu código de seguridad"
MASK = "******"
_CODE = re.compile(r"\b[0-9]{6}\b")


def hold(conn: Connection, outbox_id: int, body: str, at: str) -> None:
    """List an outbox row just written if it shows a code (its challenge is bound once it is stored)."""
    if body.startswith(OTP_PREFIX) and _CODE.search(body):
        conn.execute("INSERT INTO outbox_codes (outbox_id, sent_at) VALUES (?, ?)", (outbox_id, at))


def bind(conn: Connection, outbox_id: int | None, challenge_id: str) -> None:
    """The row `outbox_id` shows the code of `challenge_id` (None: the channel kept no row)."""
    if outbox_id is not None:
        conn.execute("UPDATE outbox_codes SET challenge_id = ? WHERE outbox_id = ?", (challenge_id, outbox_id))


def forget(conn: Connection, challenge_id: str) -> int:
    """Mask the rows showing a code of `challenge_id` (used, voided or replaced). Returns how many."""
    return _mask(conn, conn.execute(
        "SELECT c.outbox_id, o.body FROM outbox_codes c JOIN outbox o ON o.id = c.outbox_id"
        " WHERE c.challenge_id = ?", (challenge_id,)).fetchall())


def sweep(conn: Connection, expired_before: str) -> int:
    """Mask the codes of messages sent at or before `expired_before` (their codes expired). Returns how many."""
    return _mask(conn, conn.execute(
        "SELECT c.outbox_id, o.body FROM outbox_codes c JOIN outbox o ON o.id = c.outbox_id"
        " WHERE c.sent_at <= ?", (expired_before,)).fetchall())


def pending(conn: Connection, expired_before: str) -> bool:
    """True if `sweep` has something to do (a read, so read-mostly callers write only when needed)."""
    return conn.execute("SELECT 1 FROM outbox_codes WHERE sent_at <= ? LIMIT 1", (expired_before,)).fetchone() \
        is not None


def expired(conn: Connection, expired_before: str) -> set[int]:
    """The outbox rows `sweep` would mask: a database opened read-only shows them masked instead, writing nothing."""
    return {row[0] for row in conn.execute("SELECT outbox_id FROM outbox_codes WHERE sent_at <= ?",
                                           (expired_before,)).fetchall()}


def masked(body: str) -> str:
    return _CODE.sub(MASK, body)


def _mask(conn: Connection, rows: list[Row]) -> int:
    if not rows:
        return 0
    conn.scrub_after_commit()  # SQLite: old bytes overwritten, the write-ahead log emptied after the commit
    for outbox_id, body in rows:
        conn.execute("UPDATE outbox SET body = ? WHERE id = ?", (_CODE.sub(MASK, body), outbox_id))
        conn.execute("DELETE FROM outbox_codes WHERE outbox_id = ?", (outbox_id,))
    return len(rows)
