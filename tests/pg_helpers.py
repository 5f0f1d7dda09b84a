"""Throwaway PostgreSQL databases for the tests: one server (COOPROGRESO_TEST_PG_URL), a database per test."""

from __future__ import annotations

import itertools
import queue
import threading
from urllib.parse import urlsplit

from backend.db import DatabaseUrl


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
        self._dropping: queue.Queue[str | None] = queue.Queue()
        self._dropper = threading.Thread(target=self._drop_loop, args=(psycopg.connect(url, autocommit=True),),
                                         daemon=True)
        self._dropper.start()

    def url(self, name: str) -> str:
        return with_database(self.base, name)

    def target(self, name: str) -> DatabaseUrl:
        return DatabaseUrl(self.url(name))

    def fresh_database(self, kind: str, template: str | None = None) -> str:
        name = f"{self.prefix}{kind}{next(self.counter)}"
        self.drop(name)
        self.admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return name

    def drop(self, name: str) -> None:
        self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def drop_later(self, name: str) -> None:
        """Dropping takes a few tenths of a second: a helper thread does it while the next test runs."""
        self._dropping.put(name)

    def _drop_loop(self, conn) -> None:
        while (name := self._dropping.get()) is not None:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()

    def close(self) -> None:
        self._dropping.put(None)
        self._dropper.join()
        self.admin.close()
