"""Interest rates: the legal maximum effective rates by segment, and the co-op's own rates under them.

The Junta de Política y Regulación Financiera sets a maximum *effective* annual rate per credit segment and
the Banco Central del Ecuador publishes the table every month. Each cap is a row with its validity, whether
it was verified against the published table, and its source (backend/data/tasas_maximas.csv); the cap in
force on a day is the latest row on or before it, unless that row's `valid_to` has passed (then there is
none, and nothing is priced). A deployment loads each new table (`cooprogreso tasas --load CSV`, validated
and audited: `load_file`); loaded rows join the shipped ones and replace a shipped row of the same segment
and date. When the newest row is older than `rate_table_max_age_days`, `warnings` says so to the staff.

The co-op's offer per product and term (backend/data/tasas_cooprogreso.csv) may never exceed the cap
of its segment on the day it is quoted: a quote above the cap is refused with a Spanish error, and
`warnings` names every offer above the cap in force so the staff can correct it.

Conversions (exact, in Decimal; never a float):
    i_month   = nominal / 12           effective = (1 + i_month)^12 − 1
    i_month   = (1 + effective)^(1/12) − 1
Rates are fractions inside (Decimal("0.1677")); the CSVs and the screens speak percent.
"""

from __future__ import annotations

import csv
import decimal
import io
import re
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from backend.core.errors import ValidationError
from backend.core.files import MAX_CSV_BYTES, noted_csv_records, read_limited, read_text_limited
from backend.core.text import clean_text

if TYPE_CHECKING:
    from backend.core.context import Authenticator, Context
    from backend.core.db import Connection

DATA = Path(__file__).resolve().parent.parent / "data"  # backend/data
PRECISION = 34  # significant digits for every rate computation, whatever the caller's context
_HUNDRED = Decimal(100)
_TWELVE = Decimal(12)
_TOLERANCE = Decimal("1e-10")  # a rate equal to the cap up to conversion noise is at the cap

SEGMENT_LABELS = {
    "productivo_corporativo": "Productivo Corporativo",
    "productivo_empresarial": "Productivo Empresarial",
    "productivo_pymes": "Productivo PYMES",
    "consumo": "Consumo",
    "educativo": "Educativo",
    "vivienda_interes_social": "Vivienda de Interés Social",
    "vivienda_interes_publico": "Vivienda de Interés Público",
    "inmobiliario": "Inmobiliario",
    "microcredito_minorista": "Microcrédito Minorista",
    "microcredito_acumulacion_simple": "Microcrédito de Acumulación Simple",
    "microcredito_acumulacion_ampliada": "Microcrédito de Acumulación Ampliada",
    "educativo_social": "Educativo Social",
    "inversion_publica": "Inversión Pública",
}
CAPS_HEADER = ("segment", "valid_from", "valid_to", "max_effective", "verified", "source")
VERIFIED = {"si": True, "sí": True, "no": False}
MAX_CAP_ROWS = 2000  # 13 segments a month for over a decade; a file with far more is not a cap table
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PERCENT = re.compile(r"[0-9]{1,2}(\.[0-9]{1,4})?")


class RateAboveCap(ValidationError):
    code = "rate_above_cap"


def _ctx() -> decimal.Context:
    return decimal.Context(prec=PRECISION, rounding=decimal.ROUND_HALF_EVEN)


def monthly_from_effective(effective: Decimal) -> Decimal:
    """The monthly rate whose twelve compoundings give `effective`."""
    ctx = _ctx()
    if effective == 0:
        return Decimal(0)
    return ctx.subtract(ctx.power(ctx.add(1, effective), ctx.divide(1, _TWELVE)), 1)


def effective_from_monthly(monthly: Decimal) -> Decimal:
    ctx = _ctx()
    return ctx.subtract(ctx.power(ctx.add(1, monthly), 12), 1)


def nominal_from_effective(effective: Decimal) -> Decimal:
    return _ctx().multiply(monthly_from_effective(effective), _TWELVE)


def effective_from_nominal(nominal: Decimal) -> Decimal:
    return effective_from_monthly(_ctx().divide(nominal, _TWELVE))


def percent(text: str) -> Decimal:
    """«16.77» (percent, as the tables and people write it) → Decimal("0.1677")."""
    try:
        value = Decimal(text.strip().rstrip("%"))
    except (decimal.InvalidOperation, AttributeError):
        raise ValidationError(f"Tasa no válida: «{text}».", field="tasa") from None
    if not value.is_finite() or value < 0 or value >= 1000:
        raise ValidationError(f"Tasa no válida: «{text}».", field="tasa")
    return _ctx().divide(value, _HUNDRED)


def format_rate(rate: Decimal, places: int = 2) -> str:
    """Decimal("0.1677") → «16.77%»."""
    q = Decimal(1).scaleb(-places)
    return f"{(rate * _HUNDRED).quantize(q, rounding=decimal.ROUND_HALF_UP)}%"


@dataclass(frozen=True)
class LegalCap:
    segment: str
    valid_from: date
    max_effective: Decimal  # fraction
    valid_to: date | None = None  # None: until a newer row of the segment
    verified: bool = True  # False: not seen in the published table (see its source)
    source: str = ""  # issuing body, resolution or bulletin, publication date
    loaded_at: str = ""  # when the co-op loaded it (empty: shipped with the program)
    loaded_by: str = ""

    @property
    def label(self) -> str:
        return SEGMENT_LABELS.get(self.segment, self.segment)

    def covers(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)


@dataclass(frozen=True)
class Offer:
    """One row of the co-op's table: a product's effective rate for a range of terms."""

    product: str
    segment: str
    term_from: int
    term_to: int
    effective: Decimal
    valid_from: date


@dataclass(frozen=True)
class Quote:
    """A rate applied to one product and term on one day, with the legal cap it was checked against."""

    product: str
    segment: str
    months: int
    effective: Decimal
    cap: LegalCap
    on: date

    @property
    def monthly(self) -> Decimal:
        return monthly_from_effective(self.effective)

    @property
    def nominal(self) -> Decimal:
        return nominal_from_effective(self.effective)

    @property
    def interest_free(self) -> bool:
        return self.effective == 0


class RateBook:
    """The caps and the co-op's offers; every quote it gives is at or under the cap in force."""

    def __init__(self, caps: list[LegalCap], offers: list[Offer]):
        self.caps = sorted(caps, key=lambda c: (c.segment, c.valid_from))
        self.offers = sorted(offers, key=lambda o: (o.product, o.valid_from, o.term_from))

    @classmethod
    def from_csv(cls, caps_path: Path, offers_path: Path) -> RateBook:
        caps = parse_caps(read_limited(caps_path, max_bytes=MAX_CSV_BYTES, what="El archivo de tasas máximas"))
        offers_text = read_text_limited(offers_path, max_bytes=MAX_CSV_BYTES, what="El archivo de tasas")
        offers = [Offer(r["product"].strip(), r["segment"].strip(), int(r["term_from"]), int(r["term_to"]),
                        percent(r["effective"]), date.fromisoformat(r["valid_from"].strip()))
                  for r in csv.DictReader(io.StringIO(offers_text, newline=""))]
        return cls(caps, offers)

    def with_caps(self, caps: list[LegalCap]) -> RateBook:
        """The same offers under another table of caps (the one in force in a database)."""
        return RateBook(caps, self.offers)

    def cap(self, segment: str, on: date) -> LegalCap:
        """The legal maximum in force on `on` for a segment (none when its latest row has expired)."""
        found = [c for c in self.caps if c.segment == segment and c.valid_from <= on]
        if not found or not found[-1].covers(on):
            label = SEGMENT_LABELS.get(segment, segment)
            raise ValidationError(f"No hay una tasa máxima vigente para el segmento «{label}» "
                                  f"al {on:%d/%m/%Y}.", field="tasa", code="no_cap")
        return found[-1]

    def caps_on(self, on: date) -> list[LegalCap]:
        """Every segment's cap in force on `on` (segments with none that day are left out)."""
        out = []
        for segment in sorted({c.segment for c in self.caps if c.valid_from <= on}):
            try:
                out.append(self.cap(segment, on))
            except ValidationError:
                continue
        return out

    def newest(self, on: date) -> LegalCap | None:
        """The row published last that is in force by `on` (latest valid_from up to it): how fresh the table is.
        A row loaded for a later day says nothing of today's table (one dated 2099 hid a stale table for good)."""
        return max((c for c in self.caps if c.valid_from <= on), key=lambda c: c.valid_from, default=None)

    def offers_over_cap(self, on: date) -> list[tuple[Offer, LegalCap | None]]:
        """The co-op's offers in force on `on` above their segment's cap (or with no cap at all)."""
        latest: dict[tuple[str, int, int], Offer] = {}
        for o in self.offers:
            if o.valid_from <= on:
                latest[(o.product, o.term_from, o.term_to)] = o  # sorted by valid_from: the last one wins
        out: list[tuple[Offer, LegalCap | None]] = []
        for o in latest.values():
            try:
                cap = self.cap(o.segment, on)
            except ValidationError:
                out.append((o, None))
                continue
            if o.effective - cap.max_effective > _TOLERANCE:
                out.append((o, cap))
        return out

    def warnings(self, today: date, max_age_days: int) -> list[str]:
        """What the staff must know about the caps in force, in Spanish: a stale table, unverified caps, and
        offers the co-op makes above a cap (refused at simulation until the offer is corrected)."""
        out = []
        newest = self.newest(today)
        if newest is None:
            out.append("No hay tabla de tasas máximas: ningún crédito se puede simular.")
        elif (today - newest.valid_from).days > max_age_days:
            out.append(f"La tabla de tasas máximas más reciente es del {newest.valid_from:%d/%m/%Y} "
                       f"({(today - newest.valid_from).days} días; el límite es {max_age_days}). El BCE publica "
                       "las tasas cada mes: carga la vigente con «cooprogreso tasas --load ARCHIVO.csv».")
        unverified = [c.label for c in self.caps_on(today) if not c.verified]
        if unverified:
            out.append(f"Tasas máximas sin verificar contra la tabla publicada: {', '.join(unverified)}.")
        for offer, cap in self.offers_over_cap(today):
            out.append(f"La oferta «{offer.product}» ({offer.term_from}-{offer.term_to} meses, "
                       f"{format_rate(offer.effective)}) " + (
                           f"supera la tasa máxima del segmento {cap.label} ({format_rate(cap.max_effective)}): "
                           "se rechaza al simular hasta que la cooperativa la corrija." if cap else
                           "no tiene tasa máxima vigente: se rechaza al simular."))
        return out

    def check(self, segment: str, effective: Decimal, on: date) -> LegalCap:
        """Refuse an effective rate above the cap in force (a Spanish RateAboveCap); else the cap."""
        cap = self.cap(segment, on)
        if effective < 0:
            raise ValidationError("La tasa de interés no puede ser negativa.", field="tasa")
        if effective - cap.max_effective > _TOLERANCE:
            raise RateAboveCap(
                f"La tasa efectiva de {format_rate(effective)} supera la tasa máxima legal del segmento "
                f"{cap.label} ({format_rate(cap.max_effective)}, vigente desde {cap.valid_from:%d/%m/%Y}); "
                "no se puede ofrecer ni simular.", field="tasa")
        return cap

    def offer(self, product: str, months: int, on: date) -> Offer:
        candidates = [o for o in self.offers
                      if o.product == product and o.term_from <= months <= o.term_to and o.valid_from <= on]
        if not candidates:
            raise ValidationError(f"No ofrecemos el plazo de {months} meses para este producto.", field="plazo",
                                  code="no_offer")
        return max(candidates, key=lambda o: o.valid_from)

    def quote(self, product: str, months: int, on: date, *, interest_free: bool = False) -> Quote:
        """The co-op's rate for a product and term on a day, refused if above the legal cap."""
        if isinstance(months, bool) or not isinstance(months, int) or months < 1:
            raise ValidationError("El plazo debe ser de al menos un mes.", field="plazo")
        offer = self.offer(product, months, on)
        effective = Decimal(0) if interest_free else offer.effective
        cap = self.check(offer.segment, effective, on)
        return Quote(product, offer.segment, months, effective, cap, on)

    def quote_rate(self, product: str, segment: str, months: int, effective: Decimal, on: date) -> Quote:
        """A rate chosen elsewhere (a simulator, a teller), checked against the cap like any offer."""
        cap = self.check(segment, effective, on)
        return Quote(product, segment, months, effective, cap, on)


@cache
def default_book() -> RateBook:
    """The shipped caps and offers (no database): for code that has none at hand."""
    return RateBook.from_csv(DATA / "tasas_maximas.csv", DATA / "tasas_cooprogreso.csv")


# -- reading a table of caps ------------------------------------------------------------------------
def parse_caps(data: bytes, what: str = "El archivo de tasas máximas") -> list[LegalCap]:
    """Every row of a caps CSV, or one Spanish ValidationError naming the line. Lines starting with # are
    notes; the first other line is the header. The whole file is checked before anything is used."""
    rows: list[LegalCap] = []
    seen: set[tuple[str, date]] = set()
    for number, record in noted_csv_records(data, CAPS_HEADER, what):
        cap = _cap_row(record, number)
        if (cap.segment, cap.valid_from) in seen:
            raise ValidationError(f"Línea {number}: el segmento {cap.segment} ya tiene una tasa desde el "
                                  f"{cap.valid_from:%d/%m/%Y} en una línea anterior.", field="csv")
        seen.add((cap.segment, cap.valid_from))
        rows.append(cap)
        if len(rows) > MAX_CAP_ROWS:
            raise ValidationError(f"Línea {number}: más de {MAX_CAP_ROWS} tasas en un archivo.", field="csv")
    if not rows:
        raise ValidationError(f"{what} no tiene tasas (solo títulos, notas o nada).", field="csv")
    return rows


def _day(text: str, number: int, what: str) -> date:
    try:
        day = date.fromisoformat(text) if _DATE.fullmatch(text) else None
    except ValueError:
        day = None
    if day is None or not 2000 <= day.year <= 2100:
        raise ValidationError(f"Línea {number}: {what} debe ser un día real escrito AAAA-MM-DD.", field="csv")
    return day


def _cap_row(record: list[str], number: int) -> LegalCap:
    if len(record) != len(CAPS_HEADER):
        raise ValidationError(f"Línea {number}: se esperaban {len(CAPS_HEADER)} columnas ({','.join(CAPS_HEADER)}) "
                              f"y hay {len(record)}.", field="csv")
    segment, raw_from, raw_to, raw_rate, verified, source = (cell.strip() for cell in record)
    if segment not in SEGMENT_LABELS:
        raise ValidationError(f"Línea {number}: segmento desconocido; los segmentos son "
                              f"{', '.join(SEGMENT_LABELS)}.", field="csv")
    valid_from = _day(raw_from, number, "«valid_from»")
    valid_to = _day(raw_to, number, "«valid_to»") if raw_to else None
    if valid_to is not None and valid_to < valid_from:
        raise ValidationError(f"Línea {number}: «valid_to» es anterior a «valid_from».", field="csv")
    if not _PERCENT.fullmatch(raw_rate) or not 0 < Decimal(raw_rate) < 100:
        raise ValidationError(f"Línea {number}: la tasa máxima debe ser un porcentaje entre 0 y 100 con punto "
                              "decimal (16.77).", field="csv")
    if verified.lower() not in VERIFIED:
        raise ValidationError(f"Línea {number}: «verified» debe ser si o no.", field="csv")
    if not source:
        raise ValidationError(f"Línea {number}: falta la fuente.", field="csv")
    source = clean_text(source, field="csv", label=f"Línea {number}: la fuente", max_len=300, min_len=1)
    return LegalCap(segment, valid_from, percent(raw_rate), valid_to, VERIFIED[verified.lower()], source)


# -- the table in force -----------------------------------------------------------------------------
def current_caps(conn: Connection, shipped: list[LegalCap] | None = None, upto: date | None = None) -> list[LegalCap]:
    """The shipped caps with the rows loaded into this database (a loaded row replaces a shipped row of the
    same segment and date); `upto`: only rows in force from that day or before (a quote needs no later ones)."""
    caps = {(c.segment, c.valid_from): c for c in (default_book().caps if shipped is None else shipped)
            if upto is None or c.valid_from <= upto}
    for segment, raw_from, raw_to, rate, verified, source, at, by in conn.execute(
            "SELECT segment, valid_from, valid_to, max_effective, verified, source, loaded_at, loaded_by "
            "FROM rate_caps WHERE valid_from <= ?", ((upto or date.max).isoformat(),)):
        cap = LegalCap(segment, date.fromisoformat(raw_from), percent(rate),
                       date.fromisoformat(raw_to) if raw_to else None, bool(verified), source, at, by)
        caps[(cap.segment, cap.valid_from)] = cap
    return list(caps.values())


def current_book(conn: Connection, base: RateBook | None = None, upto: date | None = None) -> RateBook:
    """The co-op's offers (`base`, by default the shipped ones) under the caps in force in this database."""
    base = base or default_book()
    return base.with_caps(current_caps(conn, base.caps, upto))


def load_file(ctx: Context, path: str | Path, actor: str) -> list[LegalCap]:
    """Load a caps CSV in one transaction, audited; a refused file changes nothing and is audited too."""
    try:
        rows = parse_caps(read_limited(path, max_bytes=MAX_CSV_BYTES, what="El archivo de tasas máximas"))
    except ValidationError as exc:
        ctx.audit_now(actor, "tasas.carga", "rechazado", archivo=Path(path).name, motivo=exc.message)
        raise
    at = ctx.now_iso()
    with ctx.db.write() as conn:
        for c in rows:
            conn.execute(
                "INSERT INTO rate_caps (segment, valid_from, valid_to, max_effective, verified, source, loaded_at, "
                "loaded_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (segment, valid_from) DO UPDATE SET "
                "valid_to = excluded.valid_to, max_effective = excluded.max_effective, verified = excluded.verified,"
                " source = excluded.source, loaded_at = excluded.loaded_at, loaded_by = excluded.loaded_by",
                (c.segment, c.valid_from.isoformat(), c.valid_to.isoformat() if c.valid_to else None,
                 str(c.max_effective * _HUNDRED), int(c.verified), c.source, at, actor))
        newest = max(c.valid_from for c in rows)
        ctx.audit(conn, actor, "tasas.carga", "ok", archivo=Path(path).name, tasas=len(rows),
                  vigente_desde=newest.isoformat(), sin_verificar=sum(1 for c in rows if not c.verified))
    return [replace(c, loaded_at=at, loaded_by=actor) for c in rows]


# -- for members: Ayuda ------------------------------------------------------------------------------
@dataclass(frozen=True)
class CapsView:
    on: date  # «Tasas máximas vigentes al dd/mm/aaaa»
    caps: tuple[LegalCap, ...]
    stale: bool  # the newest row is older than rate_table_max_age_days


class RatesService:
    def __init__(self, ctx: Context, auth: Authenticator) -> None:
        self.ctx = ctx
        self.auth = auth

    def in_force(self, token: str) -> CapsView:
        """The caps in force today with their sources, for «Ayuda · Tasas máximas»."""
        self.auth.principal(token)
        today = self.ctx.now().date()
        with self.ctx.db.read() as conn:
            book = current_book(conn)
        newest = book.newest(today)
        stale = newest is None or (today - newest.valid_from).days > self.ctx.settings.rate_table_max_age_days
        return CapsView(today, tuple(book.caps_on(today)), stale)
