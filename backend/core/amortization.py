"""Amortization schedules in exact integer cents: French (cuota fija) and German (capital fijo).

Rules, the same for every product that lends (deferrals, loans, simulators):
- interest of each month = balance × monthly rate, exactly, rounded half-up to the cent;
- French: the cuota is the annuity rounded half-up to the cent; every cuota but the last is that
  figure and the last one pays the remaining balance plus its interest, so the cuotas add up exactly
  to principal + interest and the balance ends at zero;
- German: capital = principal / n, the first (principal mod n) cuotas carrying one more cent;
- rate 0 (sin intereses): cuotas of principal / n, the first (principal mod n) cuotas carrying the
  extra cent, so they differ by at most one cent and always in the same places.
The monthly rate comes from backend.core.rates (Decimal); money never passes through a float.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from backend.core.errors import ValidationError

MAX_MONTHS = 600
_CTX = decimal.Context(prec=34, rounding=decimal.ROUND_HALF_EVEN)


class Row(NamedTuple):  # a tuple: a 36-month schedule costs little more than a 3-month one
    number: int
    cuota: int  # cents: capital + interest
    interest: int
    capital: int
    balance: int  # what is still owed after this cuota


@dataclass(frozen=True)
class Schedule:
    method: str  # "francés" or "alemán"
    principal: int
    monthly_rate: Decimal
    rows: tuple[Row, ...]

    @property
    def months(self) -> int:
        return len(self.rows)

    @property
    def cuota(self) -> int:
        """The regular cuota (the first one): what the member pays most months."""
        return self.rows[0].cuota

    @property
    def total_interest(self) -> int:
        return sum(r.interest for r in self.rows)

    @property
    def total_paid(self) -> int:
        return sum(r.cuota for r in self.rows)


def _cents(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _validate(principal: int, monthly_rate: Decimal, months: int) -> None:
    if isinstance(principal, bool) or not isinstance(principal, int) or principal <= 0:
        raise ValidationError("El monto a financiar debe ser mayor que cero.", field="monto")
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= MAX_MONTHS:
        raise ValidationError(f"El plazo debe estar entre 1 y {MAX_MONTHS} meses.", field="plazo")
    if not isinstance(monthly_rate, Decimal) or not monthly_rate.is_finite() or monthly_rate < 0:
        raise ValidationError("La tasa de interés no es válida.", field="tasa")


def _even_split(total: int, months: int) -> list[int]:
    """`total` cents in `months` parts differing by at most one cent, the larger ones first."""
    base, extra = divmod(total, months)
    return [base + 1 if n < extra else base for n in range(months)]


def annuity(principal: int, monthly_rate: Decimal, months: int) -> int:
    """The French cuota in cents (before the last cuota's adjustment)."""
    _validate(principal, monthly_rate, months)
    if monthly_rate == 0:
        return _even_split(principal, months)[0]
    p = Decimal(principal)
    factor = _CTX.power(_CTX.add(1, monthly_rate), -months)
    return _cents(_CTX.divide(_CTX.multiply(p, monthly_rate), _CTX.subtract(1, factor)))


def french(principal: int, monthly_rate: Decimal, months: int) -> Schedule:
    """Cuota fija: equal cuotas, the last one absorbing the rounding cents."""
    _validate(principal, monthly_rate, months)
    if monthly_rate == 0:
        return _zero_rate("francés", principal, months)
    cuota = annuity(principal, monthly_rate, months)
    num, den = _fraction(monthly_rate)
    balance, rows = principal, []
    for n in range(1, months + 1):
        interest = (2 * balance * num + den) // (2 * den)  # balance × rate, half-up, in exact integers
        capital = balance if n == months else min(balance, cuota - interest)
        balance -= capital
        rows.append(Row(n, capital + interest, interest, capital, balance))
    return Schedule("francés", principal, monthly_rate, tuple(rows))


def _fraction(rate: Decimal) -> tuple[int, int]:
    """The rate as an exact integer fraction (a Decimal is one), so each month costs integer work only."""
    sign, digits, exponent = rate.as_tuple()
    if not isinstance(exponent, int):  # NaN or infinity: _validate refuses them before this
        raise ValueError(f"tasa no finita: {rate}")
    num = int("".join(map(str, digits)) or "0")
    return (num * 10 ** exponent, 1) if exponent >= 0 else (num, 10 ** -exponent)


def german(principal: int, monthly_rate: Decimal, months: int) -> Schedule:
    """Capital fijo: the same capital each month, interest on the falling balance."""
    _validate(principal, monthly_rate, months)
    num, den = _fraction(monthly_rate)
    balance, rows = principal, []
    for n, capital in enumerate(_even_split(principal, months), start=1):
        interest = (2 * balance * num + den) // (2 * den)
        balance -= capital
        rows.append(Row(n, capital + interest, interest, capital, balance))
    return Schedule("alemán", principal, monthly_rate, tuple(rows))


def _zero_rate(method: str, principal: int, months: int) -> Schedule:
    balance, rows = principal, []
    for n, capital in enumerate(_even_split(principal, months), start=1):
        balance -= capital
        rows.append(Row(n, capital, 0, capital, balance))
    return Schedule(method, principal, Decimal(0), tuple(rows))


def schedule(method: str, principal: int, monthly_rate: Decimal, months: int) -> Schedule:
    """By name, for callers that let the member choose: "frances" / "aleman" (accents optional)."""
    key = method.lower().replace("é", "e").replace("á", "a")
    if key == "frances":
        return french(principal, monthly_rate, months)
    if key == "aleman":
        return german(principal, monthly_rate, months)
    raise ValidationError("Método de amortización no válido: usa francés o alemán.", field="metodo")
