import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.core.errors import ValidationError
from backend.core.money import MAX_CENTS, format_money, format_plain, parse_money


@given(st.integers(min_value=1, max_value=MAX_CENTS))
def test_format_then_parse_is_identity(cents):
    assert parse_money(format_money(cents)) == cents
    assert parse_money(format_plain(cents)) == cents


@given(st.integers(min_value=-MAX_CENTS, max_value=MAX_CENTS))
def test_format_shape(cents):
    text = format_money(cents)
    assert text.startswith("-$" if cents < 0 else "$")
    assert text[-3] == "." and text.count(".") == 1


@pytest.mark.parametrize("text,cents", [("15", 1500), ("15.5", 1550), ("1,234.56", 123456), ("$20", 2000),
                                        (" 0.01 ", 1), ("1,000", 100000)])
def test_parse_examples(text, cents):
    assert parse_money(text) == cents


def test_format_examples():
    assert format_money(1500) == "$15.00"
    assert format_money(123456) == "$1,234.56"
    assert format_money(-5) == "-$0.05"


@pytest.mark.parametrize("text,fragment", [
    ("-5", "negativo"), ("0", "mayor que cero"), ("0.00", "mayor que cero"), ("1.234", "dos decimales"),
    ("nan", "no válido"), ("inf", "no válido"), ("1e5", "no válido"), ("", "Ingresa"), ("12,34", "no válido"),
    ("1,2345.00", "no válido"), ("999999999999999", "grande"), ("100000001", "superar"), ("abc", "no válido"),
])
def test_parse_rejects_with_spanish_message(text, fragment):
    with pytest.raises(ValidationError) as err:
        parse_money(text)
    assert fragment in err.value.message


def test_zero_allowed_only_when_asked():
    assert parse_money("0", allow_zero=True) == 0


@pytest.mark.parametrize("value", [1.5, math.nan, 10, None])
def test_parse_refuses_non_text(value):
    with pytest.raises(ValidationError):
        parse_money(value)


@pytest.mark.parametrize("value", [1.5, True, "1"])
def test_format_refuses_non_cents(value):
    with pytest.raises(TypeError):
        format_money(value)


@given(st.text(max_size=20))
def test_parse_never_crashes_on_arbitrary_text(text):
    try:
        cents = parse_money(text)
    except ValidationError:
        return
    assert isinstance(cents, int) and 0 < cents <= MAX_CENTS
