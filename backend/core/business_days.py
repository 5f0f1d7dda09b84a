"""The co-op's one calendar: which days are business days, and the next one.

A business day is Monday to Friday and not a national holiday *as observed*: the day people actually rest,
after the law's traslados and the decreed bridges (backend/data/feriados_ecuador.csv, with its sources), not
the holiday's historical date. Later years are loaded into the database (`cooprogreso calendario --load CSV`,
validated and audited) and replace the shipped rows of those years.

A year with no calendar at all counts only Saturdays and Sundays as non-business days: nothing guesses a
holiday, nothing crashes, and `warnings` says so to the staff (`cooprogreso check`, `cooprogreso
calendario`) and to members (Ayuda). Every "is this a business day / the next one" goes through here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from backend.core.context import Authenticator, Context
from backend.core.errors import ValidationError
from backend.core.files import noted_csv_records, read_limited
from backend.core.text import clean_text

if TYPE_CHECKING:
    from backend.core.db import Connection

DATA_FILE = "data/feriados_ecuador.csv"
HEADER = ("fecha", "nombre", "tipo", "verificado", "fuente")
KINDS = {"feriado": "Feriado", "traslado": "Feriado trasladado", "puente": "Puente decretado"}
VERIFIED = {"si": True, "sí": True, "no": False}
MAX_CSV_BYTES = 256 * 1024
MAX_PER_YEAR = 40  # Ecuador has 11 national holidays a year; a file with far more is not a calendar
FIRST_YEAR, LAST_YEAR = 2000, 2100
SHIPPED_SOURCE = ("Código del Trabajo art. 65 (traslados); Viceministerio de Turismo, calendario 2026-2030 "
                  "(01/09/2025); Decreto Ejecutivo 249 (17/12/2025)")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class Holiday:
    day: date
    name: str
    kind: str  # feriado | traslado | puente
    verified: bool  # False: derived from the law's rule, not seen in the official calendar
    source: str

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]


@dataclass(frozen=True)
class YearOrigin:
    year: int
    loaded: bool  # False: shipped with the program
    loaded_at: str = ""
    loaded_by: str = ""


@dataclass(frozen=True)
class LoadReport:
    years: tuple[int, ...]
    holidays: int
    unverified: int


class Calendar:
    """Holidays by day and where each year's calendar comes from; immutable once built."""

    def __init__(self, holidays: Iterable[Holiday], origins: Iterable[YearOrigin]):
        self._by_day = {h.day: h for h in holidays}
        self.origins = {o.year: o for o in origins}

    def holiday(self, day: date) -> Holiday | None:
        return self._by_day.get(day)

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._by_day

    def roll(self, day: date) -> date:
        """The day itself when it is a business day, else the next one that is."""
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return day

    def next_business_day(self, day: date) -> date:
        """The first business day after `day`."""
        return self.roll(day + timedelta(days=1))

    def covers(self, year: int) -> bool:
        return year in self.origins

    def of_year(self, year: int) -> list[Holiday]:
        return sorted((h for h in self._by_day.values() if h.day.year == year), key=lambda h: h.day)

    def year_warning(self, year: int) -> str | None:
        """What staff and members must know about a year's calendar, in Spanish; None when it is complete."""
        if not self.covers(year):
            return (f"No hay calendario de feriados para {year}: ese año solo sábados y domingos cuentan como días "
                    "no hábiles. Cárgalo con «cooprogreso calendario --load ARCHIVO.csv».")
        unverified = sum(1 for h in self.of_year(year) if not h.verified)
        if unverified:
            return (f"Feriados {year}: {unverified} fechas sin verificar contra el calendario oficial (derivadas "
                    "de la regla de traslados); revísalas y carga el calendario oficial.")
        return None

    def warnings(self, today: date) -> list[str]:
        """This year's and next year's warnings (year_warning)."""
        return [w for w in (self.year_warning(today.year), self.year_warning(today.year + 1)) if w]


# -- reading a calendar file ------------------------------------------------------------------------
def parse(data: bytes, what: str = "El archivo de feriados") -> list[Holiday]:
    """Every row of a calendar CSV, or one Spanish ValidationError naming the line. Lines starting with # are
    notes; the first other line is the header. The whole file is checked before anything is used."""
    rows: list[Holiday] = []
    per_year: dict[int, int] = {}
    for number, record in noted_csv_records(data, HEADER, what):
        rows.append(_row(record, number, rows))
        year = rows[-1].day.year
        per_year[year] = per_year.get(year, 0) + 1
        if per_year[year] > MAX_PER_YEAR:
            raise ValidationError(f"Línea {number}: más de {MAX_PER_YEAR} feriados en {year}.", field="csv")
    if not rows:
        raise ValidationError(f"{what} no tiene feriados (solo títulos, notas o nada).", field="csv")
    return rows


def _row(record: list[str], number: int, earlier: list[Holiday]) -> Holiday:
    if len(record) != len(HEADER):
        raise ValidationError(f"Línea {number}: se esperaban {len(HEADER)} columnas ({','.join(HEADER)}) y hay "
                              f"{len(record)}.", field="csv")
    raw_day, name, kind, verified, source = (cell.strip() for cell in record)
    try:
        day = date.fromisoformat(raw_day) if _DATE.fullmatch(raw_day) else None
    except ValueError:
        day = None
    if day is None:
        raise ValidationError(f"Línea {number}: la fecha debe ser un día real escrito AAAA-MM-DD.", field="csv")
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValidationError(f"Línea {number}: el año {day.year} está fuera de {FIRST_YEAR}-{LAST_YEAR}.",
                              field="csv")
    if any(h.day == day for h in earlier):
        raise ValidationError(f"Línea {number}: el {day:%d/%m/%Y} ya está en una línea anterior.", field="csv")
    if not name or not source:
        raise ValidationError(f"Línea {number}: falta {'el nombre' if not name else 'la fuente'}.", field="csv")
    name = clean_text(name, field="csv", label=f"Línea {number}: el nombre", max_len=80, min_len=1)
    if kind.lower() not in KINDS:
        raise ValidationError(f"Línea {number}: el tipo debe ser {', '.join(KINDS)}.", field="csv")
    if verified.lower() not in VERIFIED:
        raise ValidationError(f"Línea {number}: «verificado» debe ser si o no.", field="csv")
    source = clean_text(source, field="csv", label=f"Línea {number}: la fuente", max_len=200, min_len=1)
    return Holiday(day, name, kind.lower(), VERIFIED[verified.lower()], source)


@lru_cache(maxsize=1)
def _shipped_rows() -> tuple[Holiday, ...]:
    data = resources.files("backend").joinpath(DATA_FILE).read_bytes()
    return tuple(parse(data, "El calendario incluido"))


def shipped() -> Calendar:
    """The calendar shipped with the program alone (no database): for code that has none at hand."""
    rows = _shipped_rows()
    return Calendar(rows, (YearOrigin(y, False) for y in {h.day.year for h in rows}))


# -- the calendar in force --------------------------------------------------------------------------
def current(conn: Connection) -> Calendar:
    """The shipped calendar with the years loaded into this database in place of the same years."""
    origins = {o.year: o for o in shipped().origins.values()}
    for year, loaded_at, loaded_by in conn.execute("SELECT year, loaded_at, loaded_by FROM holiday_years"):
        origins[year] = YearOrigin(year, True, loaded_at, loaded_by)
    loaded = {y for y, o in origins.items() if o.loaded}
    rows = [h for h in _shipped_rows() if h.day.year not in loaded]
    rows += [Holiday(date.fromisoformat(r[0]), r[1], r[2], bool(r[3]), r[4]) for r in conn.execute(
        "SELECT day, name, kind, verified, source FROM holidays ORDER BY day")]
    return Calendar(rows, origins.values())


def load_file(ctx: Context, path: str | Path, actor: str) -> LoadReport:
    """Load a calendar CSV: its years replace whatever calendar those years had, in one transaction, audited;
    a refused file changes nothing and its refusal is audited too."""
    try:
        rows = parse(read_limited(path, max_bytes=MAX_CSV_BYTES, what="El archivo de feriados"))
    except ValidationError as exc:
        ctx.audit_now(actor, "calendario.carga", "rechazado", archivo=Path(path).name, motivo=exc.message)
        raise
    years = tuple(sorted({h.day.year for h in rows}))
    unverified = sum(1 for h in rows if not h.verified)
    at = ctx.now_iso()
    with ctx.db.write() as conn:
        for year in years:
            conn.execute("INSERT INTO holiday_years (year, loaded_at, loaded_by) VALUES (?, ?, ?) ON CONFLICT (year)"
                         " DO UPDATE SET loaded_at = excluded.loaded_at, loaded_by = excluded.loaded_by",
                         (year, at, actor))
            conn.execute("DELETE FROM holidays WHERE year = ?", (year,))
        conn.executemany("INSERT INTO holidays (day, year, name, kind, verified, source) VALUES (?, ?, ?, ?, ?, ?)",
                         [(h.day.isoformat(), h.day.year, h.name, h.kind, int(h.verified), h.source) for h in rows])
        ctx.audit(conn, actor, "calendario.carga", "ok", archivo=Path(path).name,
                  anios=",".join(map(str, years)), feriados=len(rows), sin_verificar=unverified)
    return LoadReport(years, len(rows), unverified)


# -- for members: Ayuda ------------------------------------------------------------------------------
@dataclass(frozen=True)
class YearView:
    year: int
    holidays: tuple[Holiday, ...]
    source: str  # where this year's calendar comes from, in Spanish
    warnings: tuple[str, ...]


class CalendarService:
    def __init__(self, ctx: Context, auth: Authenticator) -> None:
        self.ctx = ctx
        self.auth = auth

    def year(self, token: str, year: int | None = None) -> YearView:
        """The calendar in force for a year (default: this year), for «Ayuda · Feriados»."""
        self.auth.principal(token)
        today = self.ctx.now().date()
        year = today.year if year is None or isinstance(year, bool) or not isinstance(year, int) else year
        year = min(max(year, FIRST_YEAR), LAST_YEAR)
        with self.ctx.db.read() as conn:
            cal = current(conn)
        origin = cal.origins.get(year)
        if origin is None:
            source = "Sin calendario cargado para este año."
        elif origin.loaded:
            sources = sorted({h.source for h in cal.of_year(year)})
            source = (f"Cargado por la cooperativa el {date.fromisoformat(origin.loaded_at[:10]):%d/%m/%Y}: "
                      + "; ".join(sources))
        else:
            source = SHIPPED_SOURCE
        warning = cal.year_warning(year)
        return YearView(year, tuple(cal.of_year(year)), source, (warning,) if warning else ())
