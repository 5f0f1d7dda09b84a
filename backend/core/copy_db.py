"""Move a co-op from its embedded SQLite file to PostgreSQL (`cooprogreso copy-db`), and prove the copy.

Every table is copied row for row, ids included, in one PostgreSQL transaction (a failure leaves the target
as empty as it was); identity sequences then continue after the copied ids. The proof: `cooprogreso check` is
clean on both sides, every table has the same number of rows and every account the same balance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from backend.core.database import open_database
from backend.core.db import Database, DatabaseUrl, is_url
from backend.core.errors import SchemaError

if TYPE_CHECKING:
    from pathlib import Path

# A target holding any of these rows already is a co-op: never written over.
CORE_TABLES = ("meta", "members", "accounts", "entries", "users")


@dataclass(frozen=True)
class CopyReport:
    tables: int
    rows: int
    accounts: int
    problems: tuple[str, ...]  # empty when both sides check clean and agree

    @property
    def ok(self) -> bool:
        return not self.problems


def copy_database(source: str | Path | DatabaseUrl, target: str | Path | DatabaseUrl,
                  progress: Callable[[int, int], None] | None = None, *,
                  check: Callable[[Any], list[str]]) -> CopyReport:
    """`check`: the books audit composed from every area (backend/audit_books.check; the core imports no area)."""
    if is_url(source) or not is_url(target):
        raise SchemaError("copy-db copia de un archivo SQLite (--from) a una base PostgreSQL (--to postgresql://…).")
    src = open_database(source, create=False, migrate=False)
    try:
        dst = open_database(target, check=False)
        try:
            return _copy(src, dst, progress or (lambda done, total: None), check)
        finally:
            dst.close()
    finally:
        src.close()


def _copy(src: Database, dst: Database, progress: Callable[[int, int], None],
          check: Callable[[Any], list[str]]) -> CopyReport:
    dst.migrate()  # an empty database gets the schema; one at an older version is brought up to date
    for table in CORE_TABLES:
        if dst.conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone():
            raise SchemaError(f"La base de datos {dst.target} ya tiene datos (tabla {table}); no se sobrescribe. "
                              "Usa una base de datos vacía.")
    with src.read() as s:
        tables = [r[0] for r in s.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' ORDER BY rowid")]
        counts = {t: s.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
        total, done = sum(counts.values()), 0
        progress(0, total)
        from backend.core.db_pg import PgConnection

        with dst.write() as d:
            assert isinstance(d, PgConnection)  # copy_database took a postgresql:// target
            identity = {r[0] for r in d.execute(
                "SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema()"
                " AND column_name = 'id' AND is_identity = 'YES'")}
            for table in tables:
                columns = [r[1] for r in s.execute(f'PRAGMA table_info("{table}")')]
                names = ", ".join(columns)
                with d.raw.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in s.execute(f'SELECT {names} FROM "{table}"'):
                        copy.write_row(tuple(row))
                        done += 1
                        if done % 2000 == 0:
                            progress(done, total)
                if table in identity:  # new rows continue after the copied ids
                    d.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false)"
                              f" FROM {table}")
        progress(total, total)
    return _compare(src, dst, tables, counts, check)


def _compare(src: Database, dst: Database, tables: list[str], counts: dict[str, int],
             check: Callable[[Any], list[str]]) -> CopyReport:
    problems: list[str] = []
    for side, db in (("archivo", src), ("PostgreSQL", dst)):
        with db.read() as conn:
            problems += [f"{side}: {p}" for p in check(conn)]
    for table in tables:
        copied = dst.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        if copied != counts[table]:
            problems.append(f"tabla {table}: {counts[table]} filas en el archivo, {copied} en PostgreSQL")
    query = "SELECT number, balance, held FROM accounts ORDER BY number"
    before = [tuple(r) for r in src.conn.execute(query)]
    after = [tuple(r) for r in dst.conn.execute(query)]
    if before != after:
        differ = sorted({r[0] for r in set(before) ^ set(after)})
        problems.append(f"saldos distintos en {len(differ)} cuentas: {', '.join(differ[:5])}")
    return CopyReport(len(tables), sum(counts.values()), len(before), tuple(problems))
