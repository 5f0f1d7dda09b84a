"""`cooprogreso status`: what a monitoring system (Nagios, a cron mail) needs to know about a co-op, read-only.

Each check is ok, warning or critical; the command exits 0/1/2 accordingly (the Nagios convention). Nothing
here writes to the database or to the key file: a monitor polling every minute must not change what it watches.
The thresholds are operational choices of this program, not regulation.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from backend.core.clock import date_text

if TYPE_CHECKING:
    from backend.core.db import Database, DatabaseUrl

OK, WARNING, CRITICAL = 0, 1, 2
LEVEL_NAMES = {OK: "OK", WARNING: "AVISO", CRITICAL: "CRÍTICO"}

HEARTBEAT_STALE_SECONDS = 60  # a worker silent this long is reported before its lease runs out
SMS_STALE = timedelta(minutes=15)  # a message still waiting this long: the gateway is not taking them
SETTLEMENT_STALE = timedelta(days=2)  # an interbank transfer still unsettled after this
RATES_STALE_DAYS = 190  # newest legal cap older than this: check the Banco Central's current table


@dataclass(frozen=True)
class Check:
    name: str
    level: int
    message: str


@dataclass(frozen=True)
class Report:
    checks: tuple[Check, ...]

    @property
    def level(self) -> int:
        return max((c.level for c in self.checks), default=OK)

    def as_json(self) -> dict:
        return {"estado": LEVEL_NAMES[self.level], "codigo": self.level,
                "verificaciones": [{**asdict(c), "level": LEVEL_NAMES[c.level]} for c in self.checks]}


def status(target: str | Path | DatabaseUrl, key_file: Path, now: datetime, *, max_attempts: int = 20,
           readonly: bool = False) -> Report:
    """`readonly`: a database this user may not write (a copy on a read-only disk), opened read-only
    (backend/core/db.py `read_only_uri`): every check is made, and the base is critical, as the app cannot run on it."""
    from backend.core.database import open_database
    from backend.core.errors import ServiceError

    try:
        db = open_database(target, create=False, migrate=False, check=False, readonly=readonly)
    except ServiceError as exc:
        return Report((Check("base", CRITICAL, exc.message),))
    except Exception as exc:  # noqa: BLE001 - unreachable is what this command reports
        return Report((Check("base", CRITICAL, f"No se pudo conectar con la base de datos: {type(exc).__name__}."),))
    try:
        try:  # PostgreSQL: a role that may only read, or a read-only session or standby, is as critical
            readonly = readonly or not db.can_write()
        except Exception:  # noqa: BLE001 - not a database of ours (no audit log): the schema check says so
            pass
        checks = [Check("base", CRITICAL, "Base de datos de solo lectura: se revisó sin escribir en ella, pero la "
                                          "aplicación necesita poder escribir.") if readonly else
                  Check("base", OK, f"Base de datos accesible ({db.engine}).")]
        schema = _schema(db)
        checks.append(schema)
        if schema.level == CRITICAL:
            return Report(tuple(checks))
        checks += [_keys(db, key_file), _worker(db), _settlement(db, now, max_attempts), _sms(db, now),
                   *_calendar(db, now.date()), _rates(db, now.date()), *_regulatory()]
        return Report(tuple(checks))
    finally:
        db.close()


def _schema(db: Database) -> Check:
    from backend.core.schema import SCHEMA_VERSION

    try:
        version = db.schema_version()
    except Exception as exc:  # noqa: BLE001
        return Check("esquema", CRITICAL, f"No se pudo leer la versión del esquema: {type(exc).__name__}.")
    if version == SCHEMA_VERSION:
        return Check("esquema", OK, f"Esquema {version}.")
    if version == 0 and _has_any_table(db):  # migrate refuses to add our tables to another program's
        return Check("esquema", CRITICAL, "La base tiene tablas pero no es de Cooprogreso (es de otro programa): "
                                          "revisa la base de datos configurada.")
    if version < SCHEMA_VERSION:
        return Check("esquema", CRITICAL, f"Esquema {version}, esta versión usa {SCHEMA_VERSION}: ejecuta "
                                          "cooprogreso migrate.")
    return Check("esquema", CRITICAL, f"Esquema {version}, más nuevo que esta versión ({SCHEMA_VERSION}): "
                                      "actualiza el programa.")


def _keys(db: Database, key_file: Path) -> Check:
    from backend.core import keys
    from backend.core.errors import ServiceError

    metas = db.get_metas((keys.FINGERPRINT_META, "database_id"))
    expected, db_id = metas[keys.FINGERPRINT_META], metas["database_id"]
    if not expected or not db_id:
        return Check("claves", WARNING, "La base aún no registra la huella de sus claves (se registra al abrirla).")
    try:
        entry = keys.peek(key_file, db_id)
    except ServiceError as exc:
        return Check("claves", CRITICAL, exc.message)
    if keys.matching(entry, expected) is None:
        return Check("claves", CRITICAL, keys.mismatch(key_file, expected, keys.fingerprint(entry) if entry else None)
                     .message)
    if entry is not None and isinstance(entry.get("pending"), dict):
        return Check("claves", WARNING, f"Huella {expected}: una rotación de claves quedó a medias; vuelve a "
                                        "ejecutar cooprogreso keys rotate.")
    return Check("claves", OK, f"El archivo de claves corresponde a la base (huella {expected}).")


def _table_exists(db: Database, table: str) -> bool:
    if db.engine == "postgresql":
        query = "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?"
    else:
        query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    return db.conn.execute(query, (table,)).fetchone() is not None


def _has_any_table(db: Database) -> bool:
    if db.engine == "postgresql":
        query = "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() LIMIT 1"
    else:
        query = "SELECT 1 FROM sqlite_master WHERE type = 'table' LIMIT 1"
    return db.conn.execute(query).fetchone() is not None


def _worker(db: Database) -> Check:
    """The lease row of `cooprogreso worker` (wall-clock milliseconds, as the worker writes them)."""
    if not _table_exists(db, "worker_lease"):
        return Check("proceso_de_fondo", OK, "Esta versión no tiene proceso de fondo aparte.")
    row = db.conn.execute("SELECT holder, heartbeat_ms, expires_ms, released FROM worker_lease"
                          " ORDER BY heartbeat_ms DESC LIMIT 1").fetchone()
    if row is None:
        return Check("proceso_de_fondo", CRITICAL, "Ningún proceso de fondo ha corrido en esta base "
                                                   "(cooprogreso worker).")
    now_ms = int(time.time() * 1000)
    age = max(0, (now_ms - int(row[1])) // 1000)
    if row[3]:
        return Check("proceso_de_fondo", CRITICAL, f"El proceso de fondo se detuvo hace {age} s.")
    if int(row[2]) <= now_ms:
        return Check("proceso_de_fondo", CRITICAL, f"El proceso de fondo no responde desde hace {age} s.")
    if age > HEARTBEAT_STALE_SECONDS:
        return Check("proceso_de_fondo", WARNING, f"El proceso de fondo respondió hace {age} s.")
    return Check("proceso_de_fondo", OK, f"Proceso de fondo activo hace {age} s.")


def _settlement(db: Database, now: datetime, max_attempts: int) -> Check:
    from backend.core.clock import iso

    stale = iso(now - SETTLEMENT_STALE)
    pending = flagged = old = 0
    for table in ("transfers", "card_payments"):
        row = db.conn.execute(
            f"SELECT COUNT(*), SUM(CASE WHEN attempts >= ? THEN 1 ELSE 0 END),"
            f" SUM(CASE WHEN created_at < ? THEN 1 ELSE 0 END) FROM {table} WHERE state = 'Enviada'",
            (max_attempts, stale)).fetchone()
        pending, flagged, old = pending + int(row[0] or 0), flagged + int(row[1] or 0), old + int(row[2] or 0)
    text = f"Liquidación interbancaria: {pending} pendientes"
    if flagged:
        return Check("liquidacion", WARNING, f"{text}, {flagged} requieren revisión del personal "
                                             "(cooprogreso settle).")
    if old:
        return Check("liquidacion", WARNING, f"{text}, {old} con más de {SETTLEMENT_STALE.days} días.")
    return Check("liquidacion", OK, f"{text}.")


def _sms(db: Database, now: datetime) -> Check:
    from backend.core.clock import iso

    row = db.conn.execute(
        "SELECT SUM(CASE WHEN status = 'pendiente' THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN status = 'pendiente' AND created_at < ? THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN status = 'fallido' THEN 1 ELSE 0 END) FROM outbox", (iso(now - SMS_STALE),)).fetchone()
    pending, old, failed = (int(v or 0) for v in row)
    text = f"Mensajes por enviar: {pending}"
    if old:
        return Check("mensajes", WARNING, f"{text}, {old} esperan más de {int(SMS_STALE.total_seconds() // 60)} min.")
    if failed:
        return Check("mensajes", WARNING, f"{text}; {failed} no se pudieron enviar.")
    return Check("mensajes", OK, f"{text}.")


def _calendar(db: Database, today: date) -> list[Check]:
    from backend.core import business_days

    warnings = business_days.current(db.conn).warnings(today)
    if not warnings:
        return [Check("calendario", OK, f"Calendario de feriados al día para {today.year} y {today.year + 1}.")]
    return [Check("calendario", WARNING, w) for w in warnings]


def _regulatory() -> list[Check]:
    from backend.core import regulatory_data

    warnings = regulatory_data.warnings()
    if not warnings:
        return [Check("datos_regulatorios", OK, "Datos regulatorios verificados contra la norma oficial.")]
    return [Check("datos_regulatorios", WARNING, w) for w in warnings]


def _rates(db: Database, today: date) -> Check:
    """The caps in force in this database (the shipped ones with those `cooprogreso tasas --load` added)."""
    from backend.core import rates

    with db.read() as conn:
        caps = rates.current_book(conn, upto=today).caps_on(today)
    if not caps:
        return Check("tasas", CRITICAL, "No hay tasas máximas vigentes para hoy.")
    newest = max(c.valid_from for c in caps)
    age = (today - newest).days
    if age > RATES_STALE_DAYS:
        return Check("tasas", WARNING, f"La tabla de tasas máximas más reciente es del {date_text(newest)} "
                                       f"(hace {age} días): confírmala con la del Banco Central.")
    return Check("tasas", OK, f"Tasas máximas vigentes desde el {date_text(newest)} ({age} días).")
