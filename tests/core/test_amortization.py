"""Amortization schedules: exact cents, known values computed independently, and their properties."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.core import amortization as am
from backend.core.errors import ValidationError
from backend.core.rates import monthly_from_effective

CONSUMO = monthly_from_effective(Decimal("0.1677"))


@pytest.mark.parametrize("months, cuota", [(3, 342_04), (12, 90_54), (36, 34_96)])
def test_known_cuotas_for_1000_at_16_77(months, cuota):
    s = am.french(1000_00, CONSUMO, months)
    assert s.cuota == cuota
    assert all(r.cuota == cuota for r in s.rows[:-1])


def test_known_total_interest_12_months():
    s = am.french(1000_00, CONSUMO, 12)
    assert s.total_interest == 86_51
    assert s.total_paid == 1086_51
    assert s.rows[-1].cuota == 90_57  # the last cuota absorbs the cents
    assert s.rows[0].interest == 13_00  # 1000 × 1.3003486 % = 13.0035 → $13.00


def test_french_by_hand_3_months():
    # i = 1.30034863 %: 1000.00 → 13.00 interest, 329.04 capital → 670.96; 8.72 / 333.32 → 337.64;
    # last: 4.39 interest + 337.64 capital = 342.03
    s = am.french(1000_00, CONSUMO, 3)
    assert [(r.interest, r.capital, r.balance) for r in s.rows] == [
        (13_00, 329_04, 670_96), (8_72, 333_32, 337_64), (4_39, 337_64, 0)]
    assert s.rows[-1].cuota == 342_03


def test_german_known_values():
    s = am.german(1000_00, CONSUMO, 4)
    assert [r.capital for r in s.rows] == [250_00] * 4
    assert [r.interest for r in s.rows] == [13_00, 9_75, 6_50, 3_25]


def test_zero_rate_spreads_the_odd_cents_first():
    assert [r.cuota for r in am.french(1_00, Decimal(0), 3).rows] == [34, 33, 33]
    assert am.french(1_00, Decimal(0), 3).total_interest == 0


@pytest.mark.parametrize("bad", [0, -5, True, 10.5])
def test_bad_principal_refused(bad):
    with pytest.raises(ValidationError):
        am.french(bad, CONSUMO, 3)


@pytest.mark.parametrize("bad", [0, -1, 601, True])
def test_bad_term_refused(bad):
    with pytest.raises(ValidationError):
        am.french(1000, CONSUMO, bad)


def test_negative_or_nan_rate_refused():
    for rate in (Decimal("-0.01"), Decimal("NaN"), Decimal("Infinity")):
        with pytest.raises(ValidationError):
            am.french(1000, rate, 3)


def test_schedule_by_name():
    assert am.schedule("Francés", 1000, CONSUMO, 3).method == "francés"
    assert am.schedule("aleman", 1000, CONSUMO, 3).method == "alemán"
    with pytest.raises(ValidationError):
        am.schedule("americano", 1000, CONSUMO, 3)


principals = st.integers(min_value=1, max_value=10_000_000_00)
terms = st.integers(min_value=1, max_value=360)
rates = st.one_of(st.just(Decimal(0)),
                  st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("0.05"), places=6))


def _sound(s: am.Schedule, principal: int, months: int) -> None:
    assert len(s.rows) == months
    assert sum(r.capital for r in s.rows) == principal
    assert sum(r.cuota for r in s.rows) == principal + s.total_interest
    assert all(r.cuota == r.capital + r.interest for r in s.rows)
    assert all(r.balance >= 0 and r.capital >= 0 and r.interest >= 0 for r in s.rows)
    assert s.rows[-1].balance == 0
    running = principal
    for r in s.rows:
        running -= r.capital
        assert r.balance == running


@settings(max_examples=150, deadline=None)
@given(principals, rates, terms)
def test_french_properties(principal, rate, months):
    s = am.french(principal, rate, months)
    _sound(s, principal, months)
    if rate:  # cuota fija: only the last one differs, unless the rounding paid the debt off early
        assert all(r.cuota == s.cuota or r.balance == 0 for r in s.rows[:-1])


@settings(max_examples=150, deadline=None)
@given(principals, rates, terms)
def test_german_properties(principal, rate, months):
    s = am.german(principal, rate, months)
    _sound(s, principal, months)
    assert max(r.capital for r in s.rows) - min(r.capital for r in s.rows) <= 1


@settings(max_examples=150, deadline=None)
@given(principals, terms)
def test_zero_rate_equal_cuotas_remainder_first(principal, months):
    s = am.french(principal, Decimal(0), months)
    base, extra = divmod(principal, months)
    assert [r.cuota for r in s.rows] == [base + 1] * extra + [base] * (months - extra)
    assert s.total_interest == 0


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=100_00, max_value=100_000_00), rates, st.integers(min_value=2, max_value=120))
def test_last_cuota_close_to_the_others(principal, rate, months):
    s = am.french(principal, rate, months)
    # each month's rounding (≤ ½ cent of cuota, ≤ ½ cent of interest) compounds until the last cuota
    growth = ((1 + rate) ** months - 1) / rate if rate else Decimal(months)
    assert abs(s.rows[-1].cuota - s.rows[0].cuota) <= growth + 1
