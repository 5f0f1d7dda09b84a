"""Which PostgreSQL variants add nothing (issue #23). Opt-in, for whoever looks after the suite's time; CI never
loads it. `pytest --pg-census -k postgresql -n 2 tests/` records, per `[postgresql]` test, the statements its
own body sent (setup excluded; literals and parameters stripped, whitespace folded: a statement's *shape*),
whether the body committed a write, whether it started processes, and the test's CPU (the worker's, and its
waited children's, setup and teardown included). Each xdist worker appends one JSON line per test to
$PG_CENSUS_DIR/<worker>.jsonl (default /tmp/pg-census, emptied when the run starts).

With `--pg-census`, tests marked `sqlite_only(covered=True)` get their PostgreSQL variant back for the run (as
`[postgresql]`, recorded as `"cut": true`): the census sees what they would send. The rule for that mark: the
test is about input checks, formatting, wording, a permission refused before any write, or pure computation,
and every shape its body sends on PostgreSQL is also sent by PostgreSQL tests that are kept. The terminal
summary ends with every shape a cut variant sends that no kept variant does: it must say none. To check:

    export COOPROGRESO_TEST_PG_URL=…   # .ci/pg-cluster start /tmp/pg-x fast
    pytest -q -n 2 -k postgresql --pg-census tests/       # 6 Dec 2026: 628 variants, 178 cut, 450 kept
    python -m tests.pg_census            # the same summary again, from /tmp/pg-census, and shapes few tests send

SQL sent by a process the test starts is not seen: such tests are flagged (`"spawned"`: their
children used CPU) and never cut.
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
from pathlib import Path

import pytest

OUT = Path(os.environ.get("PG_CENSUS_DIR", "/tmp/pg-census"))

_state: dict = {"on": False, "shapes": set(), "wrote": False, "open": {}}
_silent: list[str] = []

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
    return text


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
        text = _sent(query)
        result = method(self, query, *args, **kwargs)
        if text is not None:
            _ran(conn_of(self), text)
        return result

    return recorded


def pytest_configure(config) -> None:
    import psycopg

    if not hasattr(config, "workerinput"):  # the controller, before the workers start
        OUT.mkdir(parents=True, exist_ok=True)
        for old in OUT.glob("*.jsonl"):
            old.unlink()
    # Connection.execute goes through Cursor.execute: both are wrapped, a statement's shape is a set member once
    psycopg.Cursor.execute = _wrap(psycopg.Cursor.execute, lambda c: c.connection)  # type: ignore[method-assign]
    psycopg.Cursor.executemany = _wrap(psycopg.Cursor.executemany, lambda c: c.connection)  # type: ignore[method-assign]


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
    _state.update(on=variant, shapes=set(), wrote=False, open={})
    child = _cpu()[1]
    yield
    _state["on"] = False
    if variant:
        marker = item.get_closest_marker("sqlite_only")
        item._pg_census = dict(shapes=sorted(_state["shapes"]), wrote=_state["wrote"],
                               spawned=_cpu()[1] > child, cut=bool(marker and marker.kwargs.get("covered")))
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
    """The figures, the shapes that only cut variants send (must be none), and the shapes `few` or fewer kept
    tests send (where a PostgreSQL variant is the only one exercising some SQL: keep those)."""
    kept = [r for r in records if not r.get("cut")]
    cut = [r for r in records if r.get("cut")]
    senders: dict[str, list[str]] = {}
    for r in kept:
        for s in r.get("shapes", ()):
            senders.setdefault(s, []).append(r["id"])
    lines = [f"pg census: {len(kept)} kept [postgresql] tests, cpu {sum(r['cpu'] for r in kept):.1f} s + child "
             f"{sum(r['child'] for r in kept):.1f} s; {len(cut)} cut (sqlite_only(covered=True)), "
             f"cpu {sum(r['cpu'] for r in cut):.1f} s + child {sum(r['child'] for r in cut):.1f} s; "
             f"{len(senders)} statement shapes sent by kept tests"]
    orphans = sorted({s for r in cut for s in r.get("shapes", ()) if s not in senders})
    lines.append(f"pg census: {len(orphans)} shapes sent by cut variants and by no kept one"
                 + (":" if orphans else " (as it must be)"))
    lines += [f"  {s[:200]}" for s in orphans]
    if few:
        rare = sorted((len(ids), s, ids) for s, ids in senders.items() if len(ids) <= few)
        lines.append(f"pg census: {len(rare)} shapes sent by {few} kept test(s) or fewer:")
        lines += [f"  {n} {s[:160]}  <- {', '.join(ids)}" for n, s, ids in rare]
    return lines


if __name__ == "__main__":
    print("\n".join(summary(load(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT))))
