"""Interest rates: the legal maximum effective rates by segment, and the co-op's own rates under them.

The Banco Central del Ecuador publishes a maximum *effective* annual rate per credit segment; a new
cap is a new row with its `valid_from` (backend/data/tasas_maximas.csv), so the cap in force on a
day is the latest row on or before it. Only the consumo figure (16.77% from January 2026) comes from
the issue; the other segments hold reference values a deployment confirms against the BCE table, and
the rows from 2020 repeat the 2026 figures so older data (the demo's year of history) can be priced
until a deployment loads the BCE's own history.

The co-op's offer per product and term (backend/data/tasas_cooprogreso.csv) may never exceed the cap
of its segment on the day it is quoted: a quote above the cap is refused with a Spanish error.

Conversions (exact, in Decimal; never a float):
    i_month   = nominal / 12           effective = (1 + i_month)^12 − 1
    i_month   = (1 + effective)^(1/12) − 1
Rates are fractions inside (Decimal("0.1677")); the CSVs and the screens speak percent.
"""

from __future__ import annotations

import csv
import decimal
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

from backend.core.errors import ValidationError
from backend.core.files import MAX_CSV_BYTES, read_text_limited

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
}


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

    @property
    def label(self) -> str:
        return SEGMENT_LABELS.get(self.segment, self.segment)


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
        caps_text = read_text_limited(caps_path, max_bytes=MAX_CSV_BYTES, what="El archivo de tasas máximas")
        caps = [LegalCap(r["segment"].strip(), date.fromisoformat(r["valid_from"].strip()),
                         percent(r["max_effective"])) for r in csv.DictReader(io.StringIO(caps_text, newline=""))]
        offers_text = read_text_limited(offers_path, max_bytes=MAX_CSV_BYTES, what="El archivo de tasas")
        offers = [Offer(r["product"].strip(), r["segment"].strip(), int(r["term_from"]), int(r["term_to"]),
                        percent(r["effective"]), date.fromisoformat(r["valid_from"].strip()))
                  for r in csv.DictReader(io.StringIO(offers_text, newline=""))]
        return cls(caps, offers)

    def cap(self, segment: str, on: date) -> LegalCap:
        """The legal maximum in force on `on` for a segment."""
        found = [c for c in self.caps if c.segment == segment and c.valid_from <= on]
        if not found:
            raise ValidationError(f"No hay una tasa máxima vigente para el segmento «{segment}» "
                                  f"al {on:%d/%m/%Y}.", field="tasa", code="no_cap")
        return found[-1]

    def caps_on(self, on: date) -> list[LegalCap]:
        return [self.cap(s, on) for s in sorted({c.segment for c in self.caps if c.valid_from <= on})]

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
    return RateBook.from_csv(DATA / "tasas_maximas.csv", DATA / "tasas_cooprogreso.csv")
