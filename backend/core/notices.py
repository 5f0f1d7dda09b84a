"""Messages to members caused by a booking, written in the booking's own transaction.

`queue` stores the SMS with the entry that caused it (a transactional outbox), so a crash can lose
neither without the other; delivery to the phone happens afterwards, outside the write lock, by
`backend.core.notice_delivery` (the app's background pass, or `cooprogreso deliver`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.core.db import Connection


def queue(conn: Connection, member_id: int, body: str, at: str) -> None:
    """Queue `body` for the member's registered mobile; members without one are skipped. One statement that
    reads the mobile itself: no round trip of its own on PostgreSQL inside a booking's pipeline."""
    conn.execute("INSERT INTO outbox (created_at, channel, recipient, body, status)"
                 " SELECT ?, 'pendiente', mobile, ?, 'pendiente' FROM members WHERE id = ? AND mobile IS NOT NULL"
                 " AND mobile != ''", (at, body, member_id))
