"""Throwaway PostgreSQL databases for the tests: one server (COOPROGRESO_TEST_PG_URL), a database per test."""

from __future__ import annotations

import itertools
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
