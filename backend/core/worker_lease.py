"""One active background worker per database: a lease row with its holder, heartbeat and expiry.

`cooprogreso worker` takes the lease before each round of passes and renews it as it goes; a second worker
finds it held and waits as a standby, taking it over only once the lease has run out (the first one died or
froze). Taking and renewing is one `INSERT … ON CONFLICT DO UPDATE … WHERE` statement, atomic on both engines
(SQLite's serial writers; PostgreSQL's row lock on the conflicting row). A worker that stops cleanly marks
the lease released at once, so a standby need not wait out the lease.

Times are wall-clock milliseconds (`time.time`), not the co-op's business clock: the lease measures how long
a process has been silent, and two processes (possibly on two hosts, kept in time by NTP) must agree on it.
The passes themselves stay safe if two ever overlap (a worker frozen past its lease): each one claims its
items row by row. The lease keeps them from racing in the first place.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.core.db import Database

NAME = "background"


def new_holder() -> str:
    """Who holds the lease, as staff and logs name it: host, process and a random tag (pids are reused)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Heartbeat:
    holder: str
    age_seconds: float  # since the holder last said it was alive
    expired: bool  # the lease ran out: nobody is running the passes
    released: bool  # the holder stopped cleanly


class Lease:
    def __init__(self, db: Database, seconds: float, holder: str | None = None,
                 wall: Callable[[], float] = time.time) -> None:
        self.db = db
        self.seconds = seconds
        self.holder = holder or new_holder()
        self.wall = wall

    def _ms(self) -> int:
        return int(self.wall() * 1000)

    def hold(self) -> bool:
        """Take the lease if it is free or ours, and renew it; False while another worker holds it."""
        now = self._ms()
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO worker_lease (name, holder, heartbeat_ms, expires_ms, released) VALUES (?, ?, ?, ?, 0)"
                " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, heartbeat_ms = excluded.heartbeat_ms,"
                " expires_ms = excluded.expires_ms, released = 0"
                " WHERE worker_lease.holder = excluded.holder OR worker_lease.released = 1"
                " OR worker_lease.expires_ms <= excluded.heartbeat_ms",
                (NAME, self.holder, now, now + int(self.seconds * 1000)))
            row = conn.execute("SELECT holder FROM worker_lease WHERE name = ?", (NAME,)).fetchone()
        return row is not None and row[0] == self.holder

    def release(self) -> bool:
        """Give the lease up at once (a clean stop); the heartbeat stays for staff to read."""
        now = self._ms()
        with self.db.write() as conn:
            row = conn.execute("UPDATE worker_lease SET released = 1, expires_ms = ? WHERE name = ? AND holder = ?"
                               " RETURNING holder", (now, NAME, self.holder)).fetchone()
        return row is not None


def heartbeat(db: Database, wall: Callable[[], float] = time.time) -> Heartbeat | None:
    """The worker's last sign of life; None if no worker has ever run on this database."""
    row = db.conn.execute("SELECT holder, heartbeat_ms, expires_ms, released FROM worker_lease WHERE name = ?",
                          (NAME,)).fetchone()
    if row is None:
        return None
    now = int(wall() * 1000)
    return Heartbeat(row[0], max(0.0, (now - row[1]) / 1000), row[2] <= now, bool(row[3]))
