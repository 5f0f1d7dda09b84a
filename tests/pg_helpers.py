"""Throwaway PostgreSQL databases for the tests: one server (COOPROGRESO_TEST_PG_URL), a database per test."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from urllib.parse import urlsplit

from backend.core.db import DatabaseUrl


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/{name}" + (f"?{parts.query}" if parts.query else "")


class Server:
    def __init__(self, url: str, worker: str):
        import psycopg

        self.base = url
        self.prefix = f"cp_{worker}_"
        self.counter = itertools.count()
        self.admin = psycopg.connect(url, autocommit=True)
        # One helper thread with its own connection copies and drops databases while the tests run.
        self._helper_conn = psycopg.connect(url, autocommit=True)
        self._helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-helper")
        self._ready: dict[str, Future[str]] = {}
        # PostgreSQL 15 copies a template through the WAL by default; for a template this small, copying its
        # files is about twice as fast (its checkpoint is cheap on the tests' fsync-less cluster).
        self._strategy = " STRATEGY FILE_COPY" if self.admin.info.server_version >= 150000 else ""

    def url(self, name: str) -> str:
        return with_database(self.base, name)

    def target(self, name: str) -> DatabaseUrl:
        return DatabaseUrl(self.url(name))

    def fresh_database(self, kind: str, template: str | None = None) -> str:
        name = f"{self.prefix}{kind}{next(self.counter)}"
        self.drop(name)
        self.admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"{self._strategy}' if template else ""))
        return name

    def copy_of(self, template: str) -> str:
        """A fresh database copied from `template`, for one test only.

        A copy costs about as much as a short test (CREATE DATABASE copies every page): the helper thread
        makes the next one while this one is in use, so a test usually gets a copy that is already made.
        """
        ready = self._ready.pop(template, None)
        name = ready.result() if ready is not None else self.fresh_database("t", template=template)
        self._ready[template] = self._helper.submit(self._copy_in_background, template)
        return name

    def _copy_in_background(self, template: str) -> str:
        name = f"{self.prefix}t{next(self.counter)}"
        self._helper_conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._helper_conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"{self._strategy}')
        return name

    def drop(self, name: str) -> None:
        self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def drop_later(self, name: str) -> None:
        """Dropping takes a few tenths of a second: the helper thread does it while the next test runs."""
        self._helper.submit(self._helper_conn.execute, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        for ready in self._ready.values():  # copies made ahead that no test took
            self.drop_later(ready.result())
        self._helper.shutdown(wait=True)
        self._helper_conn.close()
        self.admin.close()


class RoundTrips:
    """Counts the round trips a PgConnection makes to the server (issue #23: the cost of a booking on a busy
    machine is mostly its round trips, each a wake-up of both processes). Counted where PgConnection talks to
    psycopg: a statement outside a pipeline, a whole (outermost) pipeline, an executemany; a fetch inside a
    pipeline would be a round trip of its own, which our code never does (`pipeline`'s docstring)."""

    def __init__(self, monkeypatch) -> None:
        import psycopg

        from backend.core import db_pg

        self.count = 0
        self.sent = 0  # statements sent, each its own work for the client and the server (BEGIN and COMMIT too)
        self.statements: list[bytes] = []  # what was sent, in order, for a failing assertion's message
        cls = db_pg.PgConnection
        run, pipeline, command, executemany = cls._run, cls.pipeline, cls._command, cls.executemany
        cursor_execute = psycopg.Cursor.execute
        counter = self

        def counting_execute(cursor, query, params=None, **kwargs):
            counter.sent += 1
            return cursor_execute(cursor, query, params, **kwargs)

        def counting_run(conn, query, params, no_rows):
            if not conn._piped:
                counter.count += 1
                counter.statements.append(b"> " + query[:60])
            else:
                counter.statements.append(b"  " + query[:60])
            return run(conn, query, params, no_rows)

        @contextlib.contextmanager
        def counting_pipeline(conn):
            if not conn._piped:
                counter.count += 1
                counter.statements.append(b"> pipeline")
            with pipeline(conn) as piped:
                yield piped

        def counting_command(conn, query, params=None):
            if not conn._piped and not conn._queued:
                counter.count += 1
                counter.statements.append(b"> " + query[:60])
            return command(conn, query, params)

        def counting_executemany(conn, sql, seq):
            counter.count += 1
            return executemany(conn, sql, seq)

        monkeypatch.setattr(cls, "_run", counting_run)
        monkeypatch.setattr(cls, "pipeline", counting_pipeline)
        monkeypatch.setattr(cls, "_command", counting_command)
        monkeypatch.setattr(cls, "executemany", counting_executemany)
        monkeypatch.setattr(psycopg.Cursor, "execute", counting_execute)

    @contextlib.contextmanager
    def counting(self) -> Iterator[RoundTrips]:
        """Counts from zero inside the block."""
        self.count, self.sent, self.statements = 0, 0, []
        yield self

    def __str__(self) -> str:
        return (f"{self.count} round trips, {self.sent} statements:\n"
                + "\n".join(s.decode(errors="replace") for s in self.statements))
