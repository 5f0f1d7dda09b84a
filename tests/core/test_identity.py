import pytest

from backend.core.errors import ValidationError
from backend.core.identity import account_number, is_valid_account_number, mask_id, mask_name, mask_phone, normalize_id
from backend.demo.coop import cedula, random_cedula


def test_valid_cedula_ruc_passport():
    assert normalize_id("cedula", "1710034065") == "1710034065"
    assert normalize_id("ruc", "1710034065001") == "1710034065001"
    assert normalize_id("pasaporte", "ab123456") == "AB123456"


@pytest.mark.parametrize("id_type,number,fragment", [
    ("cedula", "1710034066", "dígito verificador"), ("cedula", "17100340", "10 dígitos"),
    ("ruc", "1710034066001", "dígito verificador"), ("ruc", "171003406500", "13 dígitos"),
    ("pasaporte", "A1", "6 a 12"), ("pasaporte", "AB 12#45", "6 a 12"), ("otro", "1", "tipo"),
    ("cedula", "", "Ingresa"),
])
def test_invalid_ids(id_type, number, fragment):
    with pytest.raises(ValidationError) as err:
        normalize_id(id_type, number)
    assert fragment in err.value.message


def test_generated_cedulas_are_valid():
    import random

    rng = random.Random(1)
    for _ in range(200):
        assert normalize_id("cedula", random_cedula(rng))
    assert cedula("171003406") == "1710034065"


def test_masks():
    assert mask_phone("0991234678") == "09*****678"
    assert mask_id("1002103057") == "******3057"
    assert mask_name("Andrés Felipe", "López Mora") == "Andrés L****"


def test_account_numbers_carry_a_check_digit():
    number = account_number("41", 123)
    assert len(number) == 10 and is_valid_account_number(number)
    assert not is_valid_account_number(number[:-1] + str((int(number[-1]) + 1) % 10))


def test_the_inline_check_digit_agrees_with_stdnum_luhn():
    """is_valid_account_number computes the Luhn digit itself (it runs under every transfer's write lock): it
    must accept and refuse exactly what stdnum's Luhn does, for every last digit of many prefixes."""
    import random

    from stdnum import luhn

    rng = random.Random(23)
    for _ in range(2000):
        prefix = "".join(rng.choice("0123456789") for _ in range(9))
        for last in "0123456789":
            assert is_valid_account_number(prefix + last) == luhn.is_valid(prefix + last), prefix + last
    for odd in ("", "123456789", "12345678901", "１２３４５６７８９７", "123456789٧", " 1234567897", None, 1234567897):
        assert not is_valid_account_number(odd)  # type: ignore[arg-type]
