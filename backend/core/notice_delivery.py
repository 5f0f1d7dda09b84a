"""The delivery worker of the transactional outbox: queued notices reach members' phones.

`notices.queue` writes a notice («tu transferencia … fue devuelta») in the booking's own transaction with
status «pendiente». A pass here sends the due ones through the configured channel *outside* the write
lock: with the embedded outbox channel the stored row is the delivery; with the http SMS gateway each
notice is claimed (so two passes at once never both send it), posted, and marked «enviado», or given
another attempt later with doubling back-off. A notice that fails `delivery_max_attempts` times becomes
«fallido» and is listed for staff by `cooprogreso deliver`; nothing is retried silently forever.
A crash between the POST and the mark sends it again after the claim lapses (at least once).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from backend.core.clock import iso
from backend.core.context import Context
from backend.core.identity import mask_phone
from backend.core.text import visible

if TYPE_CHECKING:
    from backend.core.db import Row

log = logging.getLogger("cooprogreso")
SYSTEM = "sistema:avisos"
CLAIM_SECONDS = 120  # a claimed notice is left alone this long by other passes
MAX_BACKOFF_SECONDS = 3600


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    failed: int = 0  # attempts that failed this pass (the notice stays queued, or is given up)
    given_up: int = 0  # reached delivery_max_attempts in this pass
    last_error: str | None = None  # the channel's last complaint, for the operator


@dataclass(frozen=True)
class Undelivered:
    id: int
    created_at: str
    recipient: str  # masked
    attempts: int
    last_error: str


class NoticeDelivery:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def deliver(self, limit: int = 200) -> DeliveryReport:
        """One pass over the notices that are due."""
        channel = self.ctx.channel
        now = self.ctx.now_iso()
        if channel.name == "outbox":
            with self.ctx.db.write() as conn:
                marked = conn.execute(
                    "UPDATE outbox SET status = 'enviado', channel = 'outbox', sent_at = ?, attempts = attempts + 1"
                    " WHERE status = 'pendiente' RETURNING id", (now,)).fetchall()
            return DeliveryReport(sent=len(marked))
        claimed = self._claim(limit)
        sent = failed = given_up = 0
        last_error = None
        for row in claimed:
            try:
                channel.send(self.ctx.db, row["recipient"], row["body"], row["created_at"])
            except Exception as exc:  # a DeliveryError, or anything else the channel raised: one failed attempt
                if not hasattr(exc, "message"):
                    log.error("delivery of notice %s failed", row["id"], exc_info=exc)
                last_error = visible(getattr(exc, "message", None) or f"error inesperado: {type(exc).__name__}")
                failed += 1
                given_up += self._failed(row, last_error)
                continue
            with self.ctx.db.write() as conn:
                conn.execute("UPDATE outbox SET status = 'enviado', channel = ?, sent_at = ?, attempts = attempts + 1,"
                             " last_error = NULL WHERE id = ?", (channel.name, self.ctx.now_iso(), row["id"]))
            sent += 1
        return DeliveryReport(sent, failed, given_up, last_error)

    def _claim(self, limit: int) -> list[Row]:
        now = self.ctx.now()
        with self.ctx.db.write() as conn:
            rows = conn.execute(
                "SELECT id, created_at, recipient, body, attempts FROM outbox WHERE status = 'pendiente'"
                " AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED",
                (iso(now), limit)).fetchall()
            until = iso(now + timedelta(seconds=CLAIM_SECONDS))
            for row in rows:
                conn.execute("UPDATE outbox SET next_attempt_at = ? WHERE id = ?", (until, row["id"]))
        return rows

    def _failed(self, row: Row, error: str) -> int:
        s = self.ctx.settings
        attempts = row["attempts"] + 1
        backoff = min(MAX_BACKOFF_SECONDS, s.delivery_retry_seconds * 2 ** (attempts - 1))
        give_up = attempts >= s.delivery_max_attempts
        with self.ctx.db.write() as conn:
            conn.execute("UPDATE outbox SET attempts = ?, last_error = ?, next_attempt_at = ?, status = ?"
                         " WHERE id = ? AND status = 'pendiente'",
                         (attempts, error, iso(self.ctx.now() + timedelta(seconds=backoff)),
                          "fallido" if give_up else "pendiente", row["id"]))
            if give_up:
                self.ctx.audit(conn, SYSTEM, "aviso.envio", "revision_personal", aviso=row["id"],
                               intentos=attempts, motivo=error)
        return int(give_up)

    def undelivered(self, last: int = 50) -> list[Undelivered]:
        """Notices given up on, newest last: for staff to reach the member another way or re-queue."""
        rows = self.ctx.db.conn.execute(
            "SELECT id, created_at, recipient, attempts, last_error FROM outbox WHERE status = 'fallido'"
            " ORDER BY id DESC LIMIT ?", (last,)).fetchall()
        return [Undelivered(r[0], r[1], mask_phone(r[2]), r[3], r[4] or "") for r in reversed(rows)]

    def pending(self) -> int:
        return self.ctx.db.conn.execute("SELECT COUNT(*) FROM outbox WHERE status = 'pendiente'").fetchone()[0]

    def requeue_failed(self, actor: str = SYSTEM) -> int:
        """Give every «fallido» notice a fresh set of attempts (after the gateway is fixed)."""
        with self.ctx.db.write() as conn:
            ids = conn.execute("UPDATE outbox SET status = 'pendiente', attempts = 0, next_attempt_at = NULL"
                               " WHERE status = 'fallido' RETURNING id").fetchall()
            if ids:
                self.ctx.audit(conn, actor, "aviso.envio", "reencolados", cantidad=len(ids))
        return len(ids)
