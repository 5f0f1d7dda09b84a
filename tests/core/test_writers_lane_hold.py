"""The writers' lane held by someone else with the service account (backend/core/db.py, its trust boundary):
our writes are refused after the busy timeout, never kept waiting for ever, and the person is told in Spanish."""

from __future__ import annotations

import fcntl
import sqlite3
import time

import pytest

from backend.core import db as dbmodule
from backend.core.database import open_database
from backend.core.errors import sqlite_reason

pytestmark = pytest.mark.sqlite_only


def test_a_lane_held_for_ever_by_another_program_ends_each_write_at_the_busy_timeout(tmp_path, monkeypatch):
    monkeypatch.setattr(dbmodule, "BUSY_TIMEOUT_MS", 300)
    db = open_database(tmp_path / "q.sqlite3")
    with db.write() as conn:  # makes the lane's file
        conn.execute("UPDATE meta SET value = value WHERE key = 'none'")
    with open(tmp_path / "q.sqlite3-writers", "rb") as squatter:  # its own open file: its own flock
        fcntl.flock(squatter, fcntl.LOCK_EX)
        for _ in range(2):
            start = time.monotonic()
            with pytest.raises(sqlite3.OperationalError) as caught:
                with db.write():
                    pass
            assert 0.25 < time.monotonic() - start < 3
            assert sqlite_reason(caught.value).startswith("otro proceso la tiene ocupada")
    with db.write() as conn:  # let go: writes go through again
        conn.execute("UPDATE meta SET value = value WHERE key = 'none'")
    db.close()
