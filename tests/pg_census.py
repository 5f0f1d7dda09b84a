"""Which PostgreSQL variants add nothing: `pytest --pg-census -k postgresql …` lists, at the end, every
`[postgresql]` test whose own body (setup excluded) sent no SQL statement to the server. Those are input checks
that refuse before any SQL (mark them `sqlite_only`) or checks of something made in setup (keep them if what
setup made on PostgreSQL is the point). Opt-in, for whoever looks after the suite's time; CI never loads it.
Works with xdist (the finding travels in the test's report). SQL sent by a process the test starts is not
seen: a test that runs a command in a subprocess may be listed and still need its variant."""

from __future__ import annotations

import threading

import pytest

_sent = {"count": 0, "on": False}
_silent: list[str] = []


def _count(method):
    def counted(self, *args, **kwargs):
        # not the copies and drops the test fixtures' helper thread makes meanwhile (tests/pg_helpers.py)
        if _sent["on"] and not threading.current_thread().name.startswith("pg-helper"):
            _sent["count"] += 1
        return method(self, *args, **kwargs)

    return counted


def pytest_configure(config) -> None:
    import psycopg

    psycopg.Connection.execute = _count(psycopg.Connection.execute)  # type: ignore[method-assign]
    psycopg.Cursor.execute = _count(psycopg.Cursor.execute)  # type: ignore[method-assign]
    psycopg.Cursor.executemany = _count(psycopg.Cursor.executemany)  # type: ignore[method-assign]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    variant = "[postgresql" in item.nodeid
    _sent.update(count=0, on=variant)
    yield
    _sent["on"] = False
    if variant and _sent["count"] == 0:
        item.user_properties.append(("pg_census", "no SQL"))


def pytest_runtest_logreport(report) -> None:
    if report.when == "call" and ("pg_census", "no SQL") in report.user_properties:
        _silent.append(report.nodeid)


def pytest_terminal_summary(terminalreporter) -> None:
    if _silent:
        terminalreporter.write_sep("=", f"{len(_silent)} PostgreSQL variants sent no SQL of their own")
        for nodeid in _silent:
            terminalreporter.write_line(nodeid)
