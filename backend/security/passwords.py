"""Password hashing with scrypt (memory-hard) and the password policy."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import unicodedata
from typing import TYPE_CHECKING

from backend.core.errors import ValidationError
from backend.core.settings import RANGES

if TYPE_CHECKING:
    from backend.core.settings import Settings

Cost = tuple[int, int, int]  # scrypt's (log_n, r, p)


def hash_password(password: str, *, log_n: int, r: int, p: int) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, log_n, r, p)
    return f"scrypt${log_n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, log_n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = _scrypt(password, base64.b64decode(salt), int(log_n), int(r), int(p))
    return hmac.compare_digest(candidate, base64.b64decode(digest))


def cost_of(stored: object) -> Cost | None:
    """The cost a stored hash was made at (only its leading fields are read), or None when it is not a
    hash of ours or its cost is outside what the settings allow (never worth hashing at)."""
    parts = stored.split("$") if isinstance(stored, str) else []
    if len(parts) < 4 or parts[0] != "scrypt" or not all(x.isascii() and x.isdigit() for x in parts[1:4]):
        return None
    cost = (int(parts[1]), int(parts[2]), int(parts[3]))
    for value, name in zip(cost, ("scrypt_log_n", "scrypt_r", "scrypt_p"), strict=True):
        low, high = RANGES[name]
        if (low is not None and value < low) or (high is not None and value > high):
            return None
    return cost


def current_cost(settings: Settings) -> Cost:
    """The cost new hashes are made at; a stored hash at another is rehashed at its owner's sign-in."""
    return settings.scrypt_log_n, settings.scrypt_r, settings.scrypt_p


def hash_at(password: str, cost: Cost) -> str:
    log_n, r, p = cost
    return hash_password(password, log_n=log_n, r=r, p=p)


def check_policy(password: str, *, username: str, id_number: str) -> None:
    if not isinstance(password, str):
        raise ValidationError("Escribe tu contraseña.", field="password")
    if any(unicodedata.category(ch) in _INVISIBLE for ch in password):
        raise ValidationError("La contraseña contiene caracteres no permitidos (de control o invisibles).",
                              field="password")
    if len(password) > 128:
        raise ValidationError("La contraseña admite hasta 128 caracteres.", field="password")
    if len(password) < 8:
        raise ValidationError("La contraseña debe tener al menos 8 caracteres.", field="password")
    if not re.search(r"[A-Za-zÁÉÍÓÚÑáéíóúñ]", password) or not re.search(r"\d", password):
        raise ValidationError("La contraseña debe combinar letras y números.", field="password")
    lowered = password.lower()
    if id_number and id_number.lower() in lowered:
        raise ValidationError("La contraseña no puede contener tu número de identificación.", field="password")
    if username and username.lower() in lowered:
        raise ValidationError("La contraseña no puede contener tu usuario.", field="password")


USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9._-]{3,19}")
# Never accepted in a password: controls, format (bidi, zero-width), surrogates, private use, unassigned.
_INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def canonical_username(username: object) -> str | None:
    """The form a username is stored and looked up in, or None if it cannot be anyone's username."""
    if not isinstance(username, str):
        return None
    username = username.strip()
    return username.lower() if USERNAME.fullmatch(username) else None  # stored and compared in lower case


def check_username(username: str) -> str:
    username = canonical_username(username) or ""
    if not username:
        raise ValidationError(
            "El usuario debe tener de 4 a 20 caracteres, empezar con una letra y usar solo letras, "
            "números, punto, guion o guion bajo.", field="username")
    return username


def _scrypt(password: str, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    n = 2**log_n
    # "surrogatepass": any str hashes (a lone surrogate is just a wrong password, never a crash).
    return hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + 2**20, dklen=32)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
