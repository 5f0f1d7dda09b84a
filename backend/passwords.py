"""Password hashing with scrypt (memory-hard) and the password policy."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from .errors import ValidationError


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


def check_policy(password: str, *, username: str, id_number: str) -> None:
    if len(password) < 8:
        raise ValidationError("La contraseña debe tener al menos 8 caracteres.", field="password")
    if not re.search(r"[A-Za-zÁÉÍÓÚÑáéíóúñ]", password) or not re.search(r"\d", password):
        raise ValidationError("La contraseña debe combinar letras y números.", field="password")
    lowered = password.lower()
    if id_number and id_number.lower() in lowered:
        raise ValidationError("La contraseña no puede contener tu número de identificación.", field="password")
    if username and username.lower() in lowered:
        raise ValidationError("La contraseña no puede contener tu usuario.", field="password")


USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{3,19}$")


def check_username(username: str) -> str:
    username = (username or "").strip()
    if not USERNAME.match(username):
        raise ValidationError(
            "El usuario debe tener de 4 a 20 caracteres, empezar con una letra y usar solo letras, "
            "números, punto, guion o guion bajo.", field="username")
    return username


def _scrypt(password: str, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    n = 2**log_n
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + 2**20, dklen=32)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
