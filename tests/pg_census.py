"""Which PostgreSQL variants add nothing (issue #23). Opt-in, for whoever looks after the suite's time; CI never
loads it. `pytest --pg-census -k postgresql -n 2 tests/` records, per `[postgresql]` test, the statements its
own body sent (setup excluded; literals and parameters stripped, whitespace folded: a statement's *shape*) and how
many, the shapes whose statement the server refused (`raised`, as `SQLSTATE shape`: unique, foreign-key or check
violations, serialization failures, lock timeouts: db_pg's mapping of them is engine-specific code), from how many
threads and connections the body sent SQL, whether one of its statements went while another connection had a
transaction open (`interleaved`: two transactions interleaving, not a fixture's or a reopened database's connection
used one after the other), whether the body committed a write, whether it started processes, whether
it takes the `pg_server`/`pg_template` fixtures, and the test's CPU (the worker's, and its waited children's, setup
and teardown included). Each xdist worker appends one JSON line per test to $PG_CENSUS_DIR/<worker>.jsonl (default
/tmp/pg-census, emptied when the run starts).

With `--pg-census`, tests marked `sqlite_only(covered=True)` get their PostgreSQL variant back for the run (as
`[postgresql]`, recorded as `"cut": true`): the census sees what they would send. A test may carry that mark by
either of two rules:

1. it is about input checks, formatting, wording, a permission refused before any write, or pure computation,
   and every shape its body sends on PostgreSQL is also sent by PostgreSQL tests that are kept;
2. (wider, 6 Dec 2026) every shape each of its variants sends, and every shape it saw raise, is also sent (raised)
   by kept variants; and each variant started no process, sent SQL from one thread, sent no statement while another
   connection had a transaction open (at first, any second connection kept a variant), takes neither
   server fixture, and the test is in none of ENGINE_MODULES (the engine, locks, races, recovery,
   sharding, round trips, the writers' queue, workers) nor named like ENGINE_WORDS (fuzz tests among them: what
   psycopg refuses before sending — a NUL in text — has no SQLSTATE for the census to see, and hypothesis draws
   other inputs each run). The kept set is a greedy
   cover (`cover`): every test that does not fit is kept, then each shape no kept test sends yet is kept by its
   cheapest sender; the rest may go. `python -m tests.pg_census --cover` lists them, costliest first (statements,
   client CPU). Marked `sqlite_only(covered="shapes")`, which the census records as `"rule": 2`.

A parametrised test is cut whole or not at all. The terminal summary ends with every shape a cut variant sends, or
saw raise, that no kept variant does, and every variant cut by rule 2 that breaks its other conditions: each must
say none. To check:

    export COOPROGRESO_TEST_PG_URL=…   # .ci/pg-cluster start /tmp/pg-x fast
    pytest -q -n 2 -k postgresql --pg-census tests/       # 6 Dec 2026: 624 variants, 343 cut, 281 kept
    python -m tests.pg_census            # the same summary again, from /tmp/pg-census, and shapes few tests send

SQL sent by a process the test starts is not seen: such tests are flagged (`"spawned"`: the body started one, by
subprocess, os.fork or tests/fork_server.py, or its waited children used CPU) and never cut by rule 2.
`wrote` is an approximation: an INSERT/UPDATE/DELETE (or a WITH … one) outside BEGIN … COMMIT on an autocommit
connection, or inside one whose COMMIT did not raise."""

from __future__ import annotations

import json
import os
import re
import resource
import sys
import threading
import time
import weakref
from collections import deque
from pathlib import Path

import pytest

OUT = Path(os.environ.get("PG_CENSUS_DIR", "/tmp/pg-census"))

_state: dict = {"on": False, "shapes": set(), "wrote": False, "open": {}, "raised": set(), "sent": 0,
                "threads": set(), "connections": 0, "seen": weakref.WeakSet(), "errors": set(), "interleaved": False,
                "started": False}
# Every connection that sent SQL from the tests' own threads, the fixtures' setup included (not the helper thread's,
# which only copies and drops databases): the ones whose open transaction a body's statement may interleave with
_conns: weakref.WeakSet = weakref.WeakSet()
# In a pipeline a statement's error arrives later, when its results are read: each cursor's shapes wait here in
# the order they were sent, and the pipeline's result handler takes them off one by one
_piped: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_silent: list[str] = []
_IDLE: tuple = ()

_LITERAL = re.compile(r"'(?:[^']|'')*'")
_NUMBERED = re.compile(r'"[^"]*\d[^"]*"')  # a test's own database names: "cp_gw0_t246"
_PARAM = re.compile(r"%\(\w+\)s|%s|\$\d+|\?|\b\d+(?:\.\d+)?\b")
_LIST = re.compile(r"\?(?:\s*,\s*\?)+")
_ROWS = re.compile(r"\(\?\)(?:\s*,\s*\(\?\))+")
_SPACE = re.compile(r"\s+")
_WRITE = re.compile(r"^(?:WITH\b.*\b)?(?:INSERT|UPDATE|DELETE)\b", re.IGNORECASE | re.DOTALL)


def shape(query: object) -> str:
    """A statement with its literals, parameters and numbered names replaced by `?` (lists of them by one),
    whitespace folded."""
    text = query.decode(errors="replace") if isinstance(query, (bytes, bytearray, memoryview)) else str(query)
    if not isinstance(query, (str, bytes, bytearray, memoryview)):  # psycopg.sql.Composed and the like
        text = repr(query)
    text = _PARAM.sub("?", _LITERAL.sub("?", _NUMBERED.sub('"?"', text)))
    text = _ROWS.sub("(?)", _LIST.sub("?", text))
    return _SPACE.sub(" ", text).strip().rstrip(";").strip()


def _sent(query: object) -> str | None:
    """Its shape, recorded as sent (a statement the server refuses is sent too: a refusal may rest on it)."""
    if not _state["on"] or threading.current_thread().name.startswith("pg-helper"):
        return None  # not the copies and drops the fixtures' helper thread makes meanwhile (tests/pg_helpers.py)
    text = shape(query)
    _state["shapes"].add(text)
    _state["sent"] += 1
    _state["threads"].add(threading.current_thread())  # the object: a finished thread's ident is soon another's
    return text


def _on(conn) -> None:
    """Counts the connections the body sent SQL on (a closed one's successor is another), and notes whether this
    statement goes while another connection of this process has a transaction open on the server: libpq's own
    transaction status, so our BEGIN … COMMIT, psycopg's implicit transactions (a connection not in autocommit) and
    a transaction left open by a fixture all count, and an autocommit statement does not. A BEGIN that PgConnection
    has only queued has not begun on the server: what runs meanwhile on another connection runs before it. Any
    status but idle (in a transaction, failed in one, a statement or pipeline in progress) counts as open."""
    if conn not in _state["seen"]:
        _state["seen"].add(conn)
        _state["connections"] += 1
    if not _state["interleaved"]:
        for other in list(_conns):
            if other is not conn and other.pgconn.transaction_status not in _IDLE:
                _state["interleaved"] = True
                break


def _raised(exc: BaseException, text: str) -> None:
    """An error from the server (it has an SQLSTATE), once, as `SQLSTATE shape`."""
    state = getattr(exc, "sqlstate", None)
    if _state["on"] and state and id(exc) not in _state["errors"]:
        _state["errors"].add(id(exc))
        _state["raised"].add(f"{state} {text}")


def _ran(conn: object, text: str) -> None:
    """After a statement ran without error: BEGIN, COMMIT, ROLLBACK and writes, for `wrote`."""
    key, head = id(conn), text[:8].upper()
    if head.startswith("BEGIN"):
        _state["open"][key] = False
    elif head.startswith(("COMMIT", "END")):
        _state["wrote"] |= _state["open"].pop(key, False)
    elif head.startswith(("ROLLBACK", "ABORT")):
        _state["open"].pop(key, None)
    elif _WRITE.match(text):
        if key in _state["open"]:
            _state["open"][key] = True
        else:  # autocommit: committed as it ran
            _state["wrote"] = True


def _wrap(method, conn_of):
    def recorded(self, query, *args, **kwargs):
        if not threading.current_thread().name.startswith("pg-helper"):
            _conns.add(conn_of(self))
        text = _sent(query)
        if text is None:
            return method(self, query, *args, **kwargs)
        conn = conn_of(self)
        _on(conn)
        piped = conn._pipeline is not None
        if piped:
            _piped.setdefault(self, deque()).append(text)
        try:
            result = method(self, query, *args, **kwargs)
        except Exception as exc:
            if not piped:  # a piped statement's error is its own, seen by `_results`, maybe an earlier one's
                _raised(exc, text)
            raise
        _ran(conn, text)
        return result

    return recorded


def _starting(method):
    """A process started during the body, whichever way: its SQL is not seen, and it may not even be our child."""
    def started(*args, **kwargs):
        if _state["on"]:
            _state["started"] = True
        return method(*args, **kwargs)

    return started


def _results(method):
    """A pipeline's results, matched with the statements sent: an error is its statement's."""
    def matched(self, queued, results):
        text = None
        if queued is not None and _state["on"]:
            waiting = _piped.get(queued[0])
            text = waiting.popleft() if waiting else None  # an executemany: its statements are not counted apart
        try:
            return method(self, queued, results)
        except Exception as exc:
            if text is not None:
                _raised(exc, text)
            raise

    return matched


def pytest_configure(config) -> None:
    import psycopg
    from psycopg import _pipeline_base
    from psycopg.pq import TransactionStatus

    global _IDLE
    _IDLE = (TransactionStatus.IDLE, TransactionStatus.UNKNOWN)  # UNKNOWN: closed (or lost), no transaction left

    if not hasattr(config, "workerinput"):  # the controller, before the workers start
        OUT.mkdir(parents=True, exist_ok=True)
        for old in OUT.glob("*.jsonl"):
            old.unlink()
    # Connection.execute goes through Cursor.execute: both are wrapped, a statement's shape is a set member once
    psycopg.Cursor.execute = _wrap(psycopg.Cursor.execute, lambda c: c.connection)  # type: ignore[method-assign]
    psycopg.Cursor.executemany = _wrap(psycopg.Cursor.executemany, lambda c: c.connection)  # type: ignore[method-assign]
    _pipeline_base.BasePipeline._process_results = _results(_pipeline_base.BasePipeline._process_results)
    # tests/fork_server.py forks a test's processes from a server process that reaps them: their CPU is not the
    # test's children's, so starting one must be seen where it is asked for; likewise a process too short to show CPU
    import subprocess

    from tests import fork_server

    subprocess.Popen.__init__ = _starting(subprocess.Popen.__init__)  # type: ignore[method-assign]
    fork_server.ForkServer.start = _starting(fork_server.ForkServer.start)  # type: ignore[method-assign]
    os.register_at_fork(before=_starting(lambda: None))  # os.fork, multiprocessing


def _cpu() -> tuple[float, float]:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    cpu, child = _cpu()
    wall = time.monotonic()
    yield
    if "[postgresql" in item.nodeid:
        cpu2, child2 = _cpu()
        record = dict(getattr(item, "_pg_census", {}), id=item.nodeid, wall=round(time.monotonic() - wall, 4),
                      cpu=round(cpu2 - cpu, 4), child=round(child2 - child, 4))
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        with (OUT / f"{worker}.jsonl").open("a") as out:
            out.write(json.dumps(record) + "\n")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    variant = "[postgresql" in item.nodeid
    _state.update(on=variant, shapes=set(), wrote=False, open={}, raised=set(), sent=0, threads=set(),
                  connections=0, seen=weakref.WeakSet(), errors=set(), interleaved=False, started=False)
    _piped.clear()
    child = _cpu()[1]
    yield
    _state["on"] = False
    if variant:
        marker = item.get_closest_marker("sqlite_only")
        item._pg_census = dict(shapes=sorted(_state["shapes"]), raised=sorted(_state["raised"]), sent=_state["sent"],
                               threads=len(_state["threads"]), connections=_state["connections"],
                               interleaved=_state["interleaved"],
                               wrote=_state["wrote"], spawned=_state["started"] or _cpu()[1] > child,
                               pg_fixtures=bool({"pg_server", "pg_template"} & set(item._fixtureinfo.argnames)),
                               cut=bool(marker and marker.kwargs.get("covered")),
                               rule=2 if marker and marker.kwargs.get("covered") == "shapes" else 1)
        if not _state["shapes"]:
            item.user_properties.append(("pg_census", "no SQL"))


def pytest_runtest_logreport(report) -> None:
    if report.when == "call" and ("pg_census", "no SQL") in report.user_properties:
        _silent.append(report.nodeid)


def pytest_terminal_summary(terminalreporter) -> None:
    if hasattr(terminalreporter.config, "workerinput"):
        return
    if _silent:
        terminalreporter.write_sep("=", f"{len(_silent)} PostgreSQL variants sent no SQL of their own")
        for nodeid in _silent:
            terminalreporter.write_line(nodeid)
    for line in summary(load(), few=0):
        terminalreporter.write_line(line)


def load(folder: Path = OUT) -> list[dict]:
    return [json.loads(line) for path in sorted(folder.glob("*.jsonl")) for line in path.read_text().splitlines()]


def summary(records: list[dict], few: int = 2) -> list[str]:
    """The figures, the shapes (and raised shapes) that only cut variants send (must be none), and the shapes `few`
    or fewer kept tests send (where a PostgreSQL variant is the only one exercising some SQL: keep those)."""
    kept = [r for r in records if not r.get("cut")]
    cut = [r for r in records if r.get("cut")]
    senders: dict[str, list[str]] = {}
    for r in kept:
        for s in r.get("shapes", ()):
            senders.setdefault(s, []).append(r["id"])
    raisers = {s for r in kept for s in r.get("raised", ())}
    lines = [f"pg census: {len(kept)} kept [postgresql] tests, cpu {sum(r['cpu'] for r in kept):.1f} s + child "
             f"{sum(r['child'] for r in kept):.1f} s, {sum(r.get('sent', 0) for r in kept)} statements; {len(cut)} cut "
             f"(sqlite_only(covered=…), {sum(r.get('rule') == 2 for r in cut)} by rule 2), cpu "
             f"{sum(r['cpu'] for r in cut):.1f} s + child {sum(r['child'] for r in cut):.1f} s, "
             f"{sum(r.get('sent', 0) for r in cut)} statements; "
             f"{len(senders)} statement shapes sent and {len(raisers)} raised by kept tests"]
    orphans = sorted({s for r in cut for s in r.get("shapes", ()) if s not in senders})
    lines.append(f"pg census: {len(orphans)} shapes sent by cut variants and by no kept one"
                 + (":" if orphans else " (as it must be)"))
    lines += [f"  {s[:200]}" for s in orphans]
    unraised = sorted({s for r in cut for s in r.get("raised", ()) if s not in raisers})
    lines.append(f"pg census: {len(unraised)} shapes raised by cut variants and by no kept one"
                 + (":" if unraised else " (as it must be)"))
    lines += [f"  {s[:200]}" for s in unraised]
    unfit = [r["id"] for r in cut if r.get("rule") == 2 and not _fits(r)]
    lines.append(f"pg census: {len(unfit)} variants cut by rule 2 that started a process, used two threads, "
                 "interleaved transactions on two connections, took the server's fixtures or are about the engine"
                 + (":" if unfit else " (as it must be)"))
    lines += [f"  {i}" for i in unfit]
    if few:
        rare = sorted((len(ids), s, ids) for s, ids in senders.items() if len(ids) <= few)
        lines.append(f"pg census: {len(rare)} shapes sent by {few} kept test(s) or fewer:")
        lines += [f"  {n} {s[:160]}  <- {', '.join(ids)}" for n, s, ids in rare]
    return lines


# Rule 2 never cuts a test in these modules (about the engine, locks, races, recovery, sharding, round trips, the
# writers' queue, workers and processes) nor one whose name says it is about such things
ENGINE_MODULES = ("test_postgres", "test_engines", "test_database", "test_races", "test_round_trips",
                  "test_account_shards", "test_writers_queue", "test_writers_lane_hold", "test_end_of_day_claims",
                  "test_worker", "test_booking_indexes", "test_daily_quota", "test_staff_session_at_the_lock",
                  "test_counter_holds", "test_backup", "test_status", "test_read_only", "test_files_killed",
                  "test_key_custody", "test_notice_delivery", "test_warm", "test_ssh", "test_web", "test_web_prestart",
                  "test_web_browser", "test_demos", "test_scheduled_properties", "test_transfer_properties")
ENGINE_WORDS = re.compile(r"postgres|_pg_|engine|race|kill|crash|the_lock|advisory|concurren|(?:two|both)_[a-z_]*"
                          r"(?:at_once|same)|same_time|simultaneous|deadlock|serializ|retr|busy|round_trip|shard|"
                          r"recover|torn|thread|process|restart|in_parallel|isolation|snapshot|sequence|vacuum|fuzz",
                          re.IGNORECASE)


def _function(nodeid: str) -> str:
    return nodeid.split("[", 1)[0]


def _interleaved(r: dict) -> bool:
    """Whether a variant's statements interleaved with another connection's open transaction; a record from a census
    that did not say counts any second connection as such."""
    return r["interleaved"] if "interleaved" in r else r.get("connections", 0) > 1


def _fits(r: dict) -> bool:
    """Rule 2's conditions on one variant, apart from its shapes."""
    path, name = r["id"].split("::", 1)
    return not (r.get("spawned") or r.get("threads", 0) > 1 or _interleaved(r) or r.get("pg_fixtures")
                or Path(path).stem in ENGINE_MODULES or ENGINE_WORDS.search(name.split("[", 1)[0]))


def cover(records: list[dict]) -> tuple[list[str], list[str]]:
    """Rule 2 (module docstring): the tests (functions: all their variants together) kept as a greedy cover of every
    shape and raised shape, and the tests rule 2 lets go besides those already cut, costliest first. A test that
    does not fit is kept; each shape or raised shape no kept test sends yet is kept by its cheapest sender (by
    statements sent, and ten per second of client CPU), halved when the test's name shares a word with the
    statement's tables; then each chosen test that the other kept tests cover after all is let go, costliest first."""
    tests: dict[str, list[dict]] = {}
    for r in records:
        tests.setdefault(_function(r["id"]), []).append(r)

    def needs(rs: list[dict]) -> set[str]:
        return {s for r in rs for s in r.get("shapes", ())} | {"raised " + s for r in rs for s in r.get("raised", ())}

    def cost(rs: list[dict]) -> float:
        return sum(r.get("sent", 0) for r in rs) + 10 * sum(r["cpu"] for r in rs)

    cut = {t for t, rs in tests.items() if all(r.get("cut") for r in rs)}
    kept = {t for t, rs in tests.items() if t not in cut and not all(_fits(r) for r in rs)}
    free = {t for t in tests if t not in cut and t not in kept}
    covered = set().union(*(needs(tests[t]) for t in kept)) if kept else set()
    wanted = set().union(*(needs(rs) for rs in tests.values()))
    senders: dict[str, list[str]] = {}
    for t in free:
        for s in needs(tests[t]):
            senders.setdefault(s, []).append(t)

    def price(t: str, s: str) -> float:
        words = {w for w in re.findall(r"[a-z]{4,}", t.split("::")[-1].lower())}
        tables = {w for name in re.findall(r"\b(?:FROM|INTO|UPDATE|JOIN)\s+(\w+)", s, re.IGNORECASE)
                  for w in re.findall(r"[a-z]{4,}", name.lower())}
        return cost(tests[t]) / (2 if words & {w.rstrip("s") for w in tables} | words & tables else 1)

    chosen: set[str] = set()
    for s in sorted(wanted - covered, key=lambda s: (len(senders.get(s, ())), s)):  # the rarest first
        if s in covered or not senders.get(s):
            continue  # covered meanwhile, or only cut tests send it: the census summary says so
        best = min(senders[s], key=lambda t: (price(t, s), t))
        chosen.add(best)
        covered |= needs(tests[best])
    for t in sorted(chosen, key=lambda t: -cost(tests[t])):  # then a chosen test the others cover goes, costliest first
        others = set().union(*(needs(tests[u]) for u in kept | chosen if u != t))
        if needs(tests[t]) <= others:
            chosen.discard(t)
    return sorted(kept | chosen), sorted(free - chosen, key=lambda t: -cost(tests[t]))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--cover"]
    records = load(Path(args[0]) if args else OUT)
    if "--cover" in sys.argv:  # the tests rule 2 would cut now, costliest first
        by_test: dict[str, list[dict]] = {}
        for r in records:
            by_test.setdefault(_function(r["id"]), []).append(r)
        for t in cover(records)[1]:
            rs = by_test[t]
            print(f"{sum(r.get('sent', 0) for r in rs):6d} {sum(r['cpu'] for r in rs):7.3f} {t}")
    else:
        print("\n".join(summary(records)))
