"""CLI for the database engines: `migrate` (explicit on PostgreSQL) and `copy-db` (SQLite file → PostgreSQL)."""

from __future__ import annotations

import sys


def register(sub) -> None:
    migrate = sub.add_parser("migrate", help="actualizar el esquema de la base de datos (PostgreSQL o archivo)")
    migrate.add_argument("--db", dest="target")
    migrate.set_defaults(handler=_migrate)
    copy = sub.add_parser("copy-db", help="copiar la cooperativa de un archivo SQLite a PostgreSQL")
    copy.add_argument("--from", dest="source", required=True, metavar="ARCHIVO.sqlite3")
    copy.add_argument("--to", dest="dest", required=True, metavar="postgresql://…")
    copy.set_defaults(handler=_copy_db)


def _say(message: str, *, error: bool = False) -> None:
    from backend.core.text import visible

    print(visible(message), file=sys.stderr if error else sys.stdout)


def _migrate(cfg, args) -> int:
    from backend.core import keys
    from backend.core.database import open_database
    from backend.core.errors import ServiceError
    from backend.core.schema import SCHEMA_VERSION

    from .dbcheck import problem

    refusal = problem(cfg.db_path)  # missing, empty, foreign, newer, read-only: one line, file untouched
    if refusal:
        _say(refusal, error=True)
        return 2
    try:
        db = open_database(cfg.db_path, create=False, migrate=False, check=False)
        try:
            if db.schema_version():  # only its own key file may migrate a database (nothing written if not)
                keys.verify(db, keys.key_file_path(cfg.settings.secret_key_file))
            ran = db.migrate()
        finally:
            db.close()
    except ServiceError as exc:
        _say(exc.message, error=True)
        return 2
    if ran:
        _say(f"Esquema actualizado: {ran} migraciones aplicadas; {cfg.db_path} está en el esquema {SCHEMA_VERSION}.")
    else:
        _say(f"{cfg.db_path} ya está en el esquema {SCHEMA_VERSION}; no había nada que aplicar.")
    return 0


def _copy_db(cfg, args) -> int:
    from rich.progress import Progress

    from backend.core.db import target_of

    from .dbcheck import problem

    source, target = target_of(args.source), target_of(args.dest)  # a URL stays a URL, never a Path
    refusal = problem(source, write=False)  # missing, empty, foreign, newer, a URL as --from: one line
    if refusal:
        _say(refusal, error=True)
        return 2
    from backend import audit_books
    from backend.core.copy_db import copy_database
    from backend.core.errors import ServiceError

    try:
        with Progress(transient=False) as bar:
            task = bar.add_task("Copiando la cooperativa a PostgreSQL", total=None)
            report = copy_database(source, target, lambda done, total: bar.update(task, completed=done, total=total),
                                   check=audit_books.check)
    except ServiceError as exc:
        _say(exc.message, error=True)
        return 2
    _say(f"Copiadas {report.rows} filas de {report.tables} tablas de {source} a {target}.")
    if not report.ok:
        _say(f"La copia NO coincide ({len(report.problems)} problemas):", error=True)
        for line in report.problems:
            _say(f"- {line}", error=True)
        return 1
    _say(f"Contabilidad cuadrada en ambas bases y saldos iguales en las {report.accounts} cuentas.")
    return 0
