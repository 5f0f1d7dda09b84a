"""Identification numbers and the masks used wherever personal data is shown to someone else."""

from __future__ import annotations

import re
from functools import lru_cache

from backend.core.errors import ValidationError
from backend.core.text import ascii_digits

ID_TYPES = {"cedula": "Cédula", "ruc": "RUC", "pasaporte": "Pasaporte"}
_PASSPORT = re.compile(r"[A-Z0-9]{6,12}")
_MOBILE = re.compile(r"09[0-9]{8}")


def normalize_id(id_type: str, number: str) -> str:
    """Return the canonical form of an ID number or raise a Spanish ValidationError."""
    if not isinstance(id_type, str) or id_type not in ID_TYPES:
        raise ValidationError("Selecciona un tipo de identificación válido.", field="id_type")
    if not isinstance(number, str) or not number.strip(" -"):
        raise ValidationError("Ingresa tu número de identificación.", field="id_number")
    if id_type == "pasaporte":
        number = _passport(number)
    else:
        label = "La cédula" if id_type == "cedula" else "El RUC"
        number = ascii_digits(number, field="id_number", label=label)
    if id_type == "cedula":
        if not re.fullmatch(r"[0-9]{10}", number):
            raise ValidationError("La cédula debe tener 10 dígitos.", field="id_number")
        if not _check_digit_ok("cedula", number):
            raise ValidationError("El número de cédula no es válido (dígito verificador).", field="id_number")
    elif id_type == "ruc":
        if not re.fullmatch(r"[0-9]{13}", number):
            raise ValidationError("El RUC debe tener 13 dígitos.", field="id_number")
        if not _check_digit_ok("ruc", number):
            raise ValidationError("El número de RUC no es válido (dígito verificador).", field="id_number")
    elif not _PASSPORT.fullmatch(number):
        raise ValidationError(
            "El pasaporte debe tener de 6 a 12 letras o números, sin espacios.", field="id_number"
        )
    return number


@lru_cache(maxsize=1024)
def _check_digit_ok(id_type: str, digits: str) -> bool:
    """stdnum's check of a cédula's or RUC's digits, remembered: an interbank transfer's holder is checked again at
    every booking, and stdnum's cleaning and checks cost a tenth of a booking's Python (issue #23)."""
    from stdnum.ec import ci, ruc  # deferred: stdnum pulls in pydoc, ~15 ms of start-up

    return bool(ci.is_valid(digits) if id_type == "cedula" else ruc.is_valid(digits))


def _passport(number: str) -> str:
    """Letters and digits only, ASCII: look-alike digits folded, anything else refused."""
    message = "El pasaporte debe tener de 6 a 12 letras o números, sin espacios."
    out = []
    for ch in number.strip():
        if ch in " -":
            continue
        if ch.isdecimal():
            out.append(str(int(ch)))
        elif ch.isascii() and ch.isalpha():
            out.append(ch.upper())
        else:
            raise ValidationError(message, field="id_number")
    return "".join(out)


def validate_mobile(number: str) -> str:
    """`0991234678` (spaces, hyphens and look-alike digits allowed when typed; only ASCII kept)."""
    number = ascii_digits("" if number is None else number, field="mobile", label="El celular")
    if not _MOBILE.fullmatch(number):
        raise ValidationError("El celular debe tener 10 dígitos y empezar con 09.", field="mobile")
    return number


def account_number(prefix: str, serial: int) -> str:
    """A 10-digit account number: 2-digit product prefix, 7-digit serial, Luhn check digit."""
    from stdnum import luhn

    body = f"{prefix}{serial:07d}"
    return body + luhn.calc_check_digit(body)


_ACCOUNT_NUMBER = re.compile(r"[0-9]{10}")
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)  # a Luhn digit in an even place from the right, doubled, digits summed


def is_valid_account_number(number: str) -> bool:
    """Ten digits whose last one is their Luhn check digit (inline: it runs under the write lock of every
    transfer to a typed account, where stdnum's general version cost several times more)."""
    if not isinstance(number, str) or _ACCOUNT_NUMBER.fullmatch(number) is None:
        return False
    digits = [ord(ch) - 48 for ch in number]
    return (sum(digits[-1::-2]) + sum(_DOUBLED[d] for d in digits[-2::-2])) % 10 == 0


def mask_phone(phone: str) -> str:
    """`0991234678` → `09*****678`, as the affiliation screen shows it."""
    if len(phone) < 6:
        return "*" * len(phone)
    return phone[:2] + "*" * (len(phone) - 5) + phone[-3:]


def mask_id(number: str) -> str:
    """`1002103057` → `******3057`."""
    return "*" * max(0, len(number) - 4) + number[-4:]


def mask_account(number: str) -> str:
    """`4100000123` → `******0123`."""
    return "*" * max(0, len(number) - 4) + number[-4:]


def mask_name(first_names: str, last_names: str) -> str:
    """`Andrés`, `López Mora` → `Andrés L****`: enough to recognise, not to harvest."""
    first = (first_names.split() or [""])[0]
    last = (last_names.split() or [""])[0]
    return f"{first} {last[:1]}{'*' * 4}".strip()
