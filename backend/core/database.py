"""Opening a co-op's database: the engine from the target, a file path (SQLite) or a `postgresql://` URL.

The engines live apart (backend/core/db.py: the interface and SQLite; backend/core/db_pg.py: PostgreSQL, which
builds on db.py) and neither imports the other; this module alone knows both. psycopg is imported only when a
URL is opened, so the single-machine app never loads it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from backend.core.db import Database, DatabaseUrl, SqliteDatabase, is_url


def open_database(target: str | Path | DatabaseUrl, *, create: bool = True, migrate: bool | None = None,
                  check: bool = True, before_migrate: Callable[[Database], None] | None = None,
                  readonly: bool = False) -> Database:
    """`SqliteDatabase` or `PgDatabase` (their arguments: backend/core/db.py `Database`)."""
    if is_url(target):
        from backend.core.db_pg import PgDatabase

        assert not isinstance(target, Path)  # is_url: a str or a DatabaseUrl
        return PgDatabase(target, create=create, migrate=migrate, check=check, before_migrate=before_migrate,
                          readonly=readonly)
    assert not isinstance(target, DatabaseUrl)
    return SqliteDatabase(target, create=create, migrate=migrate, check=check, before_migrate=before_migrate,
                          readonly=readonly)
