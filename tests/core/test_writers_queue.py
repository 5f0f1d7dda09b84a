"""SQLite writers' priority lane (backend/core/db.py `_begin_write`): one who waited long is not starved by newcomers,
the wait still ends in «database is locked» after the busy timeout, the lane is left free, and its file is private."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import time

import pytest

from backend.core import db as dbmodule
from backend.core.database import open_database

pytestmark = pytest.mark.sqlite_only


def test_a_writer_that_waited_long_gets_in_before_a_relay_of_newcomers_ends(tmp_path, monkeypatch):
    """The 4-process bench's «database is locked»: SQLite's busy handler looks again ever more slowly (100 ms apart
    after a while), while each newcomer looks within a few ms, so one writer that had waited over a second kept
    missing every handoff until its 10 s ran out (this test fails so 3 runs in 5 with the lane turned off,
    STARVED_AFTER_S = 100). Here it has waited past STARVED_AFTER_S by the first handoff: it is in the lane, the
    newcomer waits for the lane to clear, and it gets the lock at that handoff."""
    monkeypatch.setattr(dbmodule, "STARVED_AFTER_S", 0.8)
    db = open_database(tmp_path / "q.sqlite3")
    relay, first, hold = 16, 1.2, 0.05
    order: list[str] = []
    holding = [threading.Event() for _ in range(relay)]

    def newcomer(i: int) -> None:
        if i:  # arrives just before the one ahead ends its turn, as a busy branch's next booking does
            holding[i - 1].wait()
            time.sleep((first if i == 1 else hold) - 0.002)
        with db.write() as conn:
            conn.execute("UPDATE meta SET value = value WHERE key = 'none'")
            order.append(f"relevo {i}")
            holding[i].set()
            time.sleep(first if i == 0 else hold)  # the first holds long: the late writer has waited a while

    def late() -> None:
        holding[0].wait()
        with db.write() as conn:
            conn.execute("UPDATE meta SET value = value WHERE key = 'none'")
            order.append("tardío")

    threads = [threading.Thread(target=newcomer, args=(i,)) for i in range(relay)] + [threading.Thread(target=late)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    db.close()
    assert order[0] == "relevo 0" and order[-1] != "tardío", order


def test_a_starved_writer_holds_the_lane_until_its_busy_timeout_then_leaves_it_free(tmp_path, monkeypatch):
    """Past STARVED_AFTER_S a waiting writer holds the lane (a newcomer's shared look is refused, so it would wait);
    its wait still ends at the busy timeout, and the lane is free again then: nobody is held after it gave up."""
    monkeypatch.setattr(dbmodule, "BUSY_TIMEOUT_MS", 700)
    monkeypatch.setattr(dbmodule, "STARVED_AFTER_S", 0.1)
    db = open_database(tmp_path / "q.sqlite3")
    held, done = threading.Event(), threading.Event()
    outcome: list[object] = []

    def holder() -> None:
        with db.write():
            held.set()
            done.wait(5)

    def starved() -> None:
        start = time.monotonic()
        try:
            with db.write():
                outcome.append("got in")
        except sqlite3.OperationalError as exc:
            outcome.append((str(exc), time.monotonic() - start))

    threads = [threading.Thread(target=holder), threading.Thread(target=starved)]
    threads[0].start()
    held.wait(5)
    threads[1].start()
    try:
        time.sleep(0.35)
        with open(tmp_path / "q.sqlite3-writers", "rb") as newcomer:  # its own open file: its own flock
            with pytest.raises(BlockingIOError):
                fcntl.flock(newcomer, fcntl.LOCK_SH | fcntl.LOCK_NB)
            threads[1].join(5)
            fcntl.flock(newcomer, fcntl.LOCK_EX | fcntl.LOCK_NB)  # would raise if the lane were still taken
    finally:
        done.set()
        for t in threads:
            t.join()
    db.close()
    [(message, waited)] = outcome
    assert message == "database is locked" and 0.65 < waited < 3, outcome


def test_a_turn_held_past_the_busy_timeout_still_refuses_the_waiter(tmp_path, monkeypatch):
    monkeypatch.setattr(dbmodule, "BUSY_TIMEOUT_MS", 300)
    db = open_database(tmp_path / "q.sqlite3")
    held, done = threading.Event(), threading.Event()

    def holder() -> None:
        with db.write():
            held.set()
            done.wait(5)

    t = threading.Thread(target=holder)
    t.start()
    held.wait(5)
    start = time.monotonic()
    try:
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            with db.write():
                pass
        assert 0.25 < time.monotonic() - start < 3
    finally:
        done.set()
        t.join()
    with db.write() as conn:  # the turn is free again once the holder committed
        conn.execute("UPDATE meta SET value = value WHERE key = 'none'")
    db.close()


def test_the_queue_file_is_private_and_a_planted_link_is_not_followed(tmp_path):
    db = open_database(tmp_path / "q.sqlite3")
    db.conn.execute("SELECT 1").fetchone()
    assert not (tmp_path / "q.sqlite3-writers").exists()  # a connection that only reads leaves no file
    with db.write():
        pass
    assert oct(os.stat(tmp_path / "q.sqlite3-writers").st_mode)[-3:] == "600"
    assert oct(os.stat(tmp_path / "q.sqlite3-writing").st_mode)[-3:] == "600"  # the writers present (`_arrive`)
    db.close()
    os.unlink(tmp_path / "q.sqlite3-writers")
    target = tmp_path / "elsewhere"
    target.write_text("")
    os.symlink(target, tmp_path / "q.sqlite3-writers")
    db = open_database(tmp_path / "q.sqlite3")
    with db.write() as conn:  # the link refused: SQLite's own lock alone, and the write still works
        conn.execute("UPDATE meta SET value = value WHERE key = 'none'")
    assert db.conn.writers is None
    db.close()


def _later_held_before_begin(monkeypatch) -> tuple[threading.Event, threading.Event]:
    """A writer on the thread named «later» is held once present (arrived), before SQLite's lock: `arrived` is set
    then, and it goes on when `go` is."""
    arrived, go = threading.Event(), threading.Event()
    real = dbmodule._begin_write

    def begin(conn):
        if threading.current_thread().name == "later":
            arrived.set()
            go.wait(5)
        real(conn)

    monkeypatch.setattr(dbmodule, "_begin_write", begin)
    return arrived, go


@pytest.mark.parametrize("last", ["commits", "rolls back"])
def test_a_scrub_leaves_its_checkpoint_to_a_writer_present_and_the_last_to_leave_empties_the_log(tmp_path, monkeypatch,
                                                                                                   last):
    """With four processes booking, each scrub's checkpoint (the write-ahead log copied and truncated, under SQLite's
    write lock) was half the lock's time: a scrub that finds another writer of ours present leaves it to that one
    (`_leave`). The masked text stays in the log only until the last writer of the burst leaves, whether its own
    write scrubbed, committed or rolled back."""
    db = open_database(tmp_path / "q.sqlite3")
    wal = tmp_path / "q.sqlite3-wal"
    arrived, go = _later_held_before_begin(monkeypatch)
    inside = threading.Event()

    def later() -> None:
        with contextlib.suppress(RuntimeError), db.write() as conn:
            conn.execute("UPDATE meta SET value = value WHERE key = 'none'")
            inside.set()
            if last == "rolls back":
                raise RuntimeError("no")

    with db.write() as conn:
        writer = threading.Thread(target=later, name="later")
        writer.start()
        assert arrived.wait(5)
        conn.scrub_after_commit()
        conn.execute("INSERT INTO meta (key, value) VALUES ('masked', 'código 123456')")
    assert wal.stat().st_size > 0  # not checkpointed: the writer present will
    go.set()
    writer.join(5)
    assert inside.is_set() and wal.stat().st_size == 0
    with db.write() as conn:  # alone, nothing waiting: an ordinary write does not checkpoint
        conn.execute("INSERT INTO meta (key, value) VALUES ('plain', 'x')")
    assert wal.stat().st_size > 0
    db.close()


def test_a_scrub_checkpoints_itself_once_enough_wait_or_when_alone(tmp_path, monkeypatch):
    """The wait is bounded: past DEFERRED_SCRUBS in a row the next scrub checkpoints though a writer is present; and a
    scrub alone checkpoints at once, as before."""
    monkeypatch.setattr(dbmodule, "DEFERRED_SCRUBS", 0)
    db = open_database(tmp_path / "q.sqlite3")
    wal = tmp_path / "q.sqlite3-wal"
    with db.write() as conn:
        conn.scrub_after_commit()
        conn.execute("INSERT INTO meta (key, value) VALUES ('alone', 'x')")
    assert wal.stat().st_size == 0
    arrived, go = _later_held_before_begin(monkeypatch)

    def later() -> None:
        with db.write() as conn:
            conn.execute("UPDATE meta SET value = value WHERE key = 'none'")

    with db.write() as conn:
        writer = threading.Thread(target=later, name="later")
        writer.start()
        assert arrived.wait(5)
        conn.scrub_after_commit()
        conn.execute("INSERT INTO meta (key, value) VALUES ('masked', 'código 123456')")
    assert wal.stat().st_size == 0
    go.set()
    writer.join(5)
    db.close()


def test_a_planted_link_at_the_writers_present_file_is_not_followed(tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("")
    os.symlink(target, tmp_path / "q.sqlite3-writing")
    db = open_database(tmp_path / "q.sqlite3")
    with db.write() as conn:  # unseen: it checkpoints its own scrub, as before
        conn.scrub_after_commit()
        conn.execute("INSERT INTO meta (key, value) VALUES ('masked', 'código 123456')")
    assert db.conn.writing is None and target.read_text() == ""
    assert (tmp_path / "q.sqlite3-wal").stat().st_size == 0
    db.close()


@pytest.mark.parametrize("hold", ["shared", "exclusive"])
def test_another_program_holding_the_writers_present_file_delays_a_scrub_by_at_most_the_bound(tmp_path, hold):
    """Someone with the service account holds `<db>-writing`: held shared, it looks like a writer present for ever, so
    scrubs leave their checkpoint to it, but the one after DEFERRED_SCRUBS in a row checkpoints; held exclusive, every
    writer is unseen and checkpoints its own scrub. Writes go through either way."""
    db = open_database(tmp_path / "q.sqlite3")
    wal = tmp_path / "q.sqlite3-wal"
    with db.write() as conn:  # makes the file
        conn.execute("UPDATE meta SET value = value WHERE key = 'none'")
    sizes = []
    with open(tmp_path / "q.sqlite3-writing", "rb") as squatter:
        fcntl.flock(squatter, fcntl.LOCK_SH if hold == "shared" else fcntl.LOCK_EX)
        for n in range(dbmodule.DEFERRED_SCRUBS + 1):
            with db.write() as conn:
                conn.scrub_after_commit()
                conn.execute("INSERT INTO meta (key, value) VALUES (?, 'código 123456')", (f"masked{n}",))
            sizes.append(wal.stat().st_size)
    db.close()
    if hold == "shared":
        assert all(sizes[:-1]) and sizes[-1] == 0, sizes
    else:
        assert not any(sizes), sizes


def test_a_scrub_whose_checkpoint_a_reader_held_back_waits_for_the_next_writer_alone(tmp_path):
    """A reader's open snapshot keeps the checkpoint from emptying the log: the scrub is still counted, so the next
    writer alone, scrubbing or not, checkpoints it (before, the count went back to what it was before this scrub)."""
    path = tmp_path / "q.sqlite3"
    db = open_database(path)
    wal = tmp_path / "q.sqlite3-wal"
    reader = sqlite3.connect(path)
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM meta").fetchone()  # a snapshot held open
    with db.write() as conn:
        conn.scrub_after_commit()
        conn.execute("INSERT INTO meta (key, value) VALUES ('masked', 'x')")
    assert wal.stat().st_size > 0  # held back
    reader.rollback()
    reader.close()
    with db.write() as conn:  # alone, an ordinary write: it checkpoints what waits
        conn.execute("INSERT INTO meta (key, value) VALUES ('plain', 'x')")
    assert wal.stat().st_size == 0
    db.close()


def test_a_checkpoint_that_fails_after_commit_leaves_the_write_committed(tmp_path, monkeypatch):
    """What runs after COMMIT (secure_delete off, the checkpoint, the counter's byte on a full disk) never turns a
    committed write into an error for its caller; the presence flock is dropped."""
    db = open_database(tmp_path / "q.sqlite3")

    def full(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(dbmodule.os, "pwrite", full)
    with db.write() as conn:
        conn.scrub_after_commit()
        conn.execute("INSERT INTO meta (key, value) VALUES ('kept', 'x')")
    assert db.conn.execute("SELECT value FROM meta WHERE key = 'kept'").fetchone()[0] == "x"
    assert not db.conn.scrubbing
    monkeypatch.undo()
    with db.write() as conn:  # the next write still gets in
        conn.execute("UPDATE meta SET value = 'y' WHERE key = 'kept'")
    db.close()
