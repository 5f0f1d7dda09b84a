"""«7. Solicita tus Productos»: the catalogue (data) and the simulators a member runs before asking.

The catalogue is backend/data/productos.toml, so a deployment changes products, limits and plazos
without code. Loans are priced with the co-op's rate for the product and term (backend.core.rates: never
above the legal cap of its segment on the day) and scheduled in exact cents (backend.core.amortization:
each month's interest rounded half-up to the cent, the last French cuota absorbing the difference).
A plazo fijo earns simple interest on a 360-day year at its day band's nominal annual rate
(backend/data/tasas_plazo_fijo.csv), rounded half-up to the cent once, at maturity.
"""

from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from importlib import resources

from backend.core.amortization import Schedule
from backend.core.amortization import schedule as amortize
from backend.core.business_days import Calendar
from backend.core.errors import ValidationError
from backend.core.money import format_money, parse_money
from backend.core.rates import LegalCap, RateBook, format_rate, percent

LOAN, DEPOSIT, CARD, SAVINGS = "credito", "plazo_fijo", "tarjeta", "ahorros"
METHODS = {"frances": "Francés (cuota fija)", "aleman": "Alemán (capital fijo)"}
DEPOSIT_YEAR_DAYS = 360


@dataclass(frozen=True)
class Product:
    code: str  # consumo | microcredito | inmobiliario | plazo_fijo | tarjeta | ahorros
    name: str
    kind: str  # credito | plazo_fijo | tarjeta | ahorros
    tariff: str  # its row in the rate tables ("" when it has no rate)
    min_amount: int  # cents
    max_amount: int
    min_term: int  # months (credits) or days (plazo fijo); 0 when it has no plazo
    max_term: int
    terms: tuple[int, ...]  # the plazos the screen offers (any plazo within the limits is accepted)
    description: str

    @property
    def is_loan(self) -> bool:
        return self.kind == LOAN

    @property
    def term_unit(self) -> str:
        return {LOAN: "meses", DEPOSIT: "días"}.get(self.kind, "")

    def term_label(self, term: int) -> str:
        return f"{term} {self.term_unit}" if self.term_unit else "—"


@dataclass(frozen=True)
class LoanSimulation:
    product: str
    name: str
    amount: int
    months: int
    method: str  # frances | aleman
    effective: Decimal  # the co-op's effective annual rate (fraction)
    cap: LegalCap  # the legal maximum it was checked against
    schedule: Schedule

    @property
    def cuota(self) -> int:
        return self.schedule.cuota

    @property
    def max_cuota(self) -> int:
        """The largest cuota (the first one for German; the French last one may differ by cents)."""
        return max(r.cuota for r in self.schedule.rows)

    @property
    def total_interest(self) -> int:
        return self.schedule.total_interest

    @property
    def total_paid(self) -> int:
        return self.schedule.total_paid

    @property
    def rate_bp(self) -> int:
        return bp(self.effective)


@dataclass(frozen=True)
class DepositSimulation:
    amount: int
    days: int
    band: str  # «91–120 días»
    nominal: Decimal  # annual nominal rate (fraction)
    interest: int
    maturity: date  # rolled to a business day (backend/core/business_days.py)
    insurance_ceiling: int  # cents covered per depositor
    opens: date  # the day the simulation assumes it opens
    held_deposits: int = 0  # cents the member already holds at the co-op (savings and plazos fijos)

    @property
    def at_maturity(self) -> int:
        return self.amount + self.interest

    @property
    def member_total(self) -> int:
        """The member's deposits at the co-op at maturity: the cover is per person and institution. A plazo fijo
        is paid from the member's savings (backend/products/product_opening.py), so only its interest adds to
        what they hold; money not yet deposited counts as the plazo's amount."""
        return max(self.held_deposits, self.amount) + self.interest

    @property
    def uncovered(self) -> int:
        return max(0, self.member_total - self.insurance_ceiling)

    @property
    def rate_bp(self) -> int:
        return bp(self.nominal)

    @property
    def insurance_note(self) -> str:
        note = (f"Tus depósitos están protegidos por el Seguro de Depósitos (COSEDE) hasta "
                f"{format_money(self.insurance_ceiling)} por depositante.")
        if self.uncovered:
            note += (f" Con tus depósitos en Cooprogreso (ahorros y plazos fijos) sumarías "
                     f"{format_money(self.member_total)} al vencimiento: el excedente de "
                     f"{format_money(self.uncovered)} no está cubierto.")
        return note


@dataclass(frozen=True)
class DepositBand:
    label: str
    days_from: int
    days_to: int
    nominal: Decimal
    valid_from: date


def bp(rate: Decimal) -> int:
    """A rate fraction in basis points (Decimal("0.1560") → 1560)."""
    return int((rate * 10_000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# -- the catalogue --------------------------------------------------------------------------------
@cache
def catalogue() -> tuple[Product, ...]:
    """Every product a member can ask for, in the order of the «Tipo de producto» list."""
    text = resources.files("backend").joinpath("data", "productos.toml").read_text(encoding="utf-8")
    return tuple(_product(row) for row in tomllib.loads(text)["producto"])


def _product(row: dict) -> Product:
    def cents(key: str) -> int:
        return parse_money(row[key], allow_zero=True)

    product = Product(row["codigo"], row["nombre"], row["tipo"], row.get("tarifa", ""), cents("monto_min"),
                      cents("monto_max"), int(row["plazo_min"]), int(row["plazo_max"]),
                      tuple(int(t) for t in row.get("plazos", [])), row.get("descripcion", ""))
    if product.kind not in (LOAN, DEPOSIT, CARD, SAVINGS) or product.min_amount > product.max_amount \
            or any(not product.min_term <= t <= product.max_term for t in product.terms):
        raise ValueError(f"productos.toml: producto «{product.code}» mal definido")
    return product


def product(code: object) -> Product:
    for p in catalogue():
        if p.code == code:
            return p
    raise ValidationError("Elige un tipo de producto de la lista.", field="producto")


def product_name(code: str) -> str:
    """The manual's name of a product code (the code itself if the catalogue no longer has it)."""
    return next((p.name for p in catalogue() if p.code == code), code)


@cache
def deposit_bands_all() -> tuple[DepositBand, ...]:
    text = resources.files("backend").joinpath("data", "tasas_plazo_fijo.csv").read_text(encoding="utf-8")
    return tuple(DepositBand(r["band"].strip(), int(r["days_from"]), int(r["days_to"]), percent(r["nominal"]),
                             date.fromisoformat(r["valid_from"].strip()))
                 for r in csv.DictReader(text.splitlines()))


def deposit_bands(on: date) -> list[DepositBand]:
    """The bands in force on a day (the newest row of each band on or before it)."""
    latest: dict[tuple[int, int], DepositBand] = {}
    for band in sorted(deposit_bands_all(), key=lambda b: b.valid_from):
        if band.valid_from <= on:
            latest[(band.days_from, band.days_to)] = band
    return sorted(latest.values(), key=lambda b: b.days_from)


# -- the simulators -------------------------------------------------------------------------------
def check_amount(p: Product, amount: object) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValidationError("Ingresa el monto.", field="monto")
    if not p.min_amount <= amount <= p.max_amount:
        raise ValidationError(f"El monto para {p.name} debe estar entre {format_money(p.min_amount)} y "
                              f"{format_money(p.max_amount)}.", field="monto")
    return amount


def check_term(p: Product, term: object) -> int:
    if isinstance(term, bool) or not isinstance(term, int):
        raise ValidationError("Elige el plazo.", field="plazo")
    if not p.min_term <= term <= p.max_term:
        raise ValidationError(f"El plazo para {p.name} debe estar entre {p.term_label(p.min_term)} y "
                              f"{p.term_label(p.max_term)}.", field="plazo")
    return term


def simulate_loan(book: RateBook, code: object, amount: object, months: object, method: object,
                  on: date) -> LoanSimulation:
    """Cuota, interest and the full table for a loan; refused if the rate is above today's legal cap."""
    p = product(code)
    if not p.is_loan:
        raise ValidationError(f"{p.name} no es un crédito: no tiene tabla de amortización.", field="producto")
    amount, months = check_amount(p, amount), check_term(p, months)
    if method not in METHODS:
        raise ValidationError("Elige el método de amortización: francés (cuota fija) o alemán (capital fijo).",
                              field="metodo")
    quote = book.quote(p.tariff, months, on)  # RateAboveCap / no_offer: a Spanish error
    return LoanSimulation(p.code, p.name, amount, months, str(method), quote.effective, quote.cap,
                          amortize(str(method), amount, quote.monthly, months))


def max_amount_for(book: RateBook, code: str, months: int, method: str, on: date, max_cuota: int) -> int:
    """The largest amount (cents, within the product's limits) whose every cuota fits `max_cuota`; 0 if none."""
    p = product(code)
    low, high = 0, p.max_amount
    while low < high:  # the largest cuota grows with the amount: bisect on exact schedules
        mid = (low + high + 1) // 2
        if simulate_loan(book, code, max(mid, p.min_amount), months, method, on).max_cuota <= max_cuota:
            low = mid
        else:
            high = mid - 1
    return low if low >= p.min_amount else 0


def simulate_deposit(amount: object, days: object, on: date, insurance_ceiling: int,
                     cal: Calendar, held_deposits: int = 0) -> DepositSimulation:
    """Interest and the amount at maturity of a plazo fijo, by the band its days fall in; it matures on the
    first business day from its last day (the interest stays the one for its days)."""
    p = product("plazo_fijo")
    amount, days = check_amount(p, amount), check_term(p, days)
    band = next((b for b in deposit_bands(on) if b.days_from <= days <= b.days_to), None)
    if band is None:
        raise ValidationError(f"No ofrecemos el plazo de {days} días.", field="plazo")
    return DepositSimulation(amount, days, band.label, band.nominal, deposit_interest(amount, band.nominal, days),
                             cal.roll(on + timedelta(days=days)), insurance_ceiling, on, held_deposits)


def deposit_interest(amount: int, nominal: Decimal, days: int) -> int:
    """amount × rate × days / 360 in cents, rounded half-up once, exactly."""
    num, den = nominal.as_integer_ratio()
    whole = den * DEPOSIT_YEAR_DAYS
    return (2 * amount * num * days + whole) // (2 * whole)


def rate_label(code: str) -> str:
    """What a product's rate is called wherever it is shown (member and staff alike)."""
    kind = next((p.kind for p in catalogue() if p.code == code), "")
    return "Tasa nominal" if kind == DEPOSIT else "Tasa efectiva"


def cuota_labels(method: str) -> tuple[str, str]:
    """(first, last) cuota labels: a German schedule's cuota falls every month, a French one stays."""
    return ("Primera cuota", "Última cuota") if method == "aleman" else ("Cuota", "Última cuota")


def card_rate(book: RateBook, on: date) -> Decimal:
    """The card's revolving rate (checked against the consumo cap), for the request's rate field."""
    return book.quote(product("tarjeta").tariff, 1, on).effective


def rate_line(effective: Decimal, cap: LegalCap) -> str:
    return f"{format_rate(effective)} (máxima legal {cap.label} {format_rate(cap.max_effective)})"
