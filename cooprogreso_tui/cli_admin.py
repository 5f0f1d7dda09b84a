"""CLI for running a co-op for years: `keys rotate`, `backup`, `restore` and `status` (for monitoring)."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def register(sub) -> None:
    keys = sub.add_parser("keys", help="claves de la cooperativa (archivo de claves)")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    rotate = keys_sub.add_parser("rotate", help="claves nuevas, con cada secreto guardado vuelto a sellar")
    rotate.add_argument("--db", dest="target")
    rotate.set_defaults(handler=_rotate)
    backup = sub.add_parser("backup", help="copia consistente de la base (sin el archivo de claves)")
    backup.add_argument("--db", dest="target")
    backup.add_argument("--to", dest="dest", required=True, metavar="ARCHIVO")
    backup.set_defaults(handler=_backup)
    restore = sub.add_parser("restore", help="restaurar una copia en un archivo nuevo o una base PostgreSQL vacía")
    restore.add_argument("--from", dest="source", required=True, metavar="ARCHIVO")
    restore.add_argument("--db", dest="target")
    restore.set_defaults(handler=_restore)
    status = sub.add_parser("status", help="estado para monitoreo (sale con 0 bien, 1 aviso, 2 crítico)")
    status.add_argument("--db", dest="target")
    status.add_argument("--json", action="store_true", help="la respuesta en JSON")
    status.set_defaults(handler=_status)


def _say(text: str, err: bool = False) -> None:
    from backend.core.text import visible

    print(visible(text), file=sys.stderr if err else sys.stdout)


def _key_file(cfg) -> Path:
    from backend.core import keys

    return keys.key_file_path(cfg.settings.secret_key_file)


def _rotate(cfg, args) -> int:
    from backend.core.errors import ServiceError
    from backend.service import Backend, rotate_keys

    from .dbcheck import problem

    refusal = problem(cfg.db_path)
    if refusal:
        _say(refusal, err=True)
        return 2
    try:
        backend = Backend(cfg.db_path, cfg.settings, create=False)
    except ServiceError as exc:
        _say(exc.message, err=True)
        return 2
    try:
        done = rotate_keys(backend)
    except ServiceError as exc:  # the app or the worker still running, or the key file refused
        _say(exc.message, err=True)
        return 2
    finally:
        backend.close()
    _say(f"Claves rotadas: huella nueva {done.fingerprint}; re-sellados {done.staff_secrets} secretos del personal "
         f"y {done.card_numbers} números de tarjeta. Los comprobantes anteriores siguen verificándose; los códigos "
         "enviados antes ya no sirven. Reinicia la aplicación y el proceso de fondo, y guarda una copia nueva "
         f"del archivo de claves ({_key_file(cfg)}).")
    if done.unreadable:
        _say(f"Aviso: {done.unreadable} valores no se podían leer ni con las claves anteriores; quedaron igual.")
        return 1
    return 0


def _backup(cfg, args) -> int:
    from backend.core import backup
    from backend.core.clock import iso, system_clock
    from backend.core.errors import ServiceError

    from .dbcheck import problem

    refusal = problem(cfg.db_path, write=False)
    if refusal:
        _say(refusal, err=True)
        return 2
    try:
        done = backup.take(cfg.db_path, Path(args.dest), taken_at=iso(system_clock(cfg.settings.timezone).now()))
    except ServiceError as exc:
        _say(exc.message, err=True)
        return 2
    _say(f"Copia lista: {done.path} (esquema {done.schema_version}, huella de claves {done.fingerprint}; "
         f"manifiesto {backup.manifest_path(done.path)}). El archivo de claves no va en la copia: guárdalo aparte.")
    return 0


def _restore(cfg, args) -> int:
    from backend.core import backup
    from backend.core.errors import ServiceError

    try:
        done = backup.restore(Path(args.source), cfg.db_path, _key_file(cfg))
    except ServiceError as exc:
        _say(exc.message, err=True)
        return 2
    _say(f"Copia restaurada en {cfg.db_path} (huella de claves {done.fingerprint}). Compruébala con: "
         f"cooprogreso check --db {cfg.db_path}")
    return 0


def _status(cfg, args) -> int:
    from backend.core import health
    from backend.core.clock import system_clock

    from .dbcheck import problem

    # A file is judged before it is opened: opening switches a SQLite file to write-ahead logging, and a
    # monitor must not change what it watches (another program's database least of all).
    refusal = problem(cfg.db_path, write=False)
    if refusal:
        report = health.Report((health.Check("base", health.CRITICAL, refusal),))
    else:
        report = health.status(cfg.db_path, _key_file(cfg), system_clock(cfg.settings.timezone).now(),
                               max_attempts=cfg.settings.clearing_max_attempts,
                               readonly=problem(cfg.db_path) is not None)  # a file this user may not write
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False, indent=1))
    else:
        _say(f"{health.LEVEL_NAMES[report.level]}: Cooprogreso {cfg.db_path}")
        for check in report.checks:
            _say(f"  {health.LEVEL_NAMES[check.level]:<8} {check.name}: {check.message}")
    return report.level
