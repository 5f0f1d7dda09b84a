"""Legal maximum rates by segment and date, the co-op's offers under them, nominal ↔ effective."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.core import rates
from backend.core.errors import ValidationError
from backend.core.rates import LegalCap, Offer, RateAboveCap, RateBook

JAN = date(2026, 1, 1)


def test_consumo_cap_from_january_2026():
    book = rates.default_book()
    cap = book.cap("consumo", date(2026, 3, 15))
    assert cap.max_effective == Decimal("0.1677")
    assert cap.valid_from == JAN
    assert rates.format_rate(cap.max_effective) == "16.77%"


def test_every_segment_has_a_cap_and_every_offer_but_inmobiliario_is_legal():
    """The co-op's inmobiliario offer (10.75%) is above the published cap (10.40%): refused, never quoted."""
    book = rates.default_book()
    segments = {c.segment for c in book.caps_on(JAN)}
    assert {"consumo", "inmobiliario", "microcredito_minorista", "vivienda_interes_publico"} <= segments
    for offer in book.offers:
        for months in (offer.term_from, offer.term_to):
            if offer.product == "inmobiliario":
                with pytest.raises(RateAboveCap, match="Inmobiliario"):
                    book.quote(offer.product, months, JAN)
                continue
            q = book.quote(offer.product, months, JAN)
            assert q.effective <= q.cap.max_effective


def test_nominal_effective_round_trip_known_value():
    monthly = rates.monthly_from_effective(Decimal("0.1677"))
    assert monthly.quantize(Decimal("1e-10")) == Decimal("0.0130034863")
    nominal = rates.nominal_from_effective(Decimal("0.1677"))
    assert rates.format_rate(nominal) == "15.60%"
    assert rates.effective_from_nominal(nominal).quantize(Decimal("1e-20")) == Decimal("0.1677").quantize(Decimal("1e-20"))


@given(st.decimals(min_value=Decimal(0), max_value=Decimal("0.6"), places=4))
def test_round_trip_property(effective):
    back = rates.effective_from_monthly(rates.monthly_from_effective(effective))
    assert abs(back - effective) < Decimal("1e-25")


def _book(cap="16.77", offer="15.50", later_cap=None):
    caps = [LegalCap("consumo", JAN, rates.percent(cap))]
    if later_cap:
        caps.append(LegalCap("consumo", date(2026, 6, 1), rates.percent(later_cap)))
    return RateBook(caps, [Offer("diferido", "consumo", 1, 12, rates.percent(offer), JAN)])


def test_offer_above_cap_is_refused_in_spanish():
    book = _book(offer="16.78")
    with pytest.raises(RateAboveCap) as err:
        book.quote("diferido", 3, date(2026, 2, 1))
    assert "supera la tasa máxima legal" in err.value.message
    assert "16.77%" in err.value.message and "16.78%" in err.value.message


def test_offer_equal_to_cap_is_allowed():
    assert _book(offer="16.77").quote("diferido", 3, JAN).effective == Decimal("0.1677")


def test_a_new_month_cap_is_a_new_row():
    book = _book(offer="15.50", later_cap="15.00")
    assert book.quote("diferido", 3, date(2026, 5, 31)).cap.max_effective == Decimal("0.1677")
    with pytest.raises(RateAboveCap):
        book.quote("diferido", 3, date(2026, 6, 1))


def test_no_cap_before_the_first_row():
    with pytest.raises(ValidationError):
        _book().quote("diferido", 3, date(2025, 12, 31))


def test_interest_free_quote_is_rate_zero():
    q = _book(offer="16.00").quote("diferido", 3, JAN, interest_free=True)
    assert q.interest_free and q.monthly == 0


def test_term_not_offered():
    with pytest.raises(ValidationError) as err:
        _book().quote("diferido", 13, JAN)
    assert "plazo" in err.value.field


def test_simulator_rate_checked_against_cap():
    book = rates.default_book()
    with pytest.raises(RateAboveCap):
        book.quote_rate("credito_consumo", "consumo", 12, Decimal("0.20"), JAN)
    assert book.quote_rate("credito_consumo", "consumo", 12, Decimal("0.10"), JAN).effective == Decimal("0.10")


@pytest.mark.parametrize("bad", ["abc", "-1", "NaN", "Infinity", "1e9"])
def test_percent_refuses_nonsense(bad):
    with pytest.raises(ValidationError):
        rates.percent(bad)
