"""Staff authenticator (TOTP) secrets sealed at rest: a copy of the database alone cannot mint codes.

The key is derived from this database's `otp_pepper` in the key file (backend/keys.py), so the database
never holds it. Sealing is encrypt-then-MAC from the standard library: an HMAC-SHA256 keystream (CTR)
over the secret, and an HMAC-SHA256 tag over the version, the staff user's name and the ciphertext, so
a sealed secret moved to another user's row does not open. Stored as «enc1:» + base64url.

Rows written before sealing (plain base32) are sealed on first use (`StaffDirectory.code_step` and
`current_code` write the sealed form back), so no migration needs the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from .errors import ServiceError

PREFIX = "enc1:"
_NONCE = 16
_TAG = 32


class SealedSecretError(ServiceError):
    code = "secreto_danado"


def _keys(master: bytes) -> tuple[bytes, bytes]:
    enc = hmac.new(master, b"cooprogreso/staff-totp/cifrado", hashlib.sha256).digest()
    mac = hmac.new(master, b"cooprogreso/staff-totp/autenticacion", hashlib.sha256).digest()
    return enc, mac


def _stream(key: bytes, nonce: bytes, size: int) -> bytes:
    blocks = (hmac.new(key, nonce + n.to_bytes(4, "big"), hashlib.sha256).digest() for n in range(size // 32 + 1))
    return b"".join(blocks)[:size]


def _tag(key: bytes, username: str, body: bytes) -> bytes:
    return hmac.new(key, PREFIX.encode() + username.encode() + b"\x00" + body, hashlib.sha256).digest()


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


def seal(master: bytes, username: str, secret: str) -> str:
    enc, mac = _keys(master)
    nonce = secrets.token_bytes(_NONCE)
    plain = secret.encode("ascii")
    body = nonce + bytes(a ^ b for a, b in zip(plain, _stream(enc, nonce, len(plain)), strict=True))
    return PREFIX + base64.urlsafe_b64encode(body + _tag(mac, username, body)).decode("ascii")


def unseal(master: bytes, username: str, stored: str) -> str:
    """The base32 secret; a plain (older) row is returned as it is, for the caller to seal."""
    if not is_sealed(stored):
        return stored
    enc, mac = _keys(master)
    try:
        raw = base64.urlsafe_b64decode(stored[len(PREFIX):].encode("ascii"))
    except ValueError:
        raw = b""
    body, tag = raw[:-_TAG], raw[-_TAG:]
    if len(body) <= _NONCE or not hmac.compare_digest(tag, _tag(mac, username, body)):
        raise SealedSecretError("El secreto del autenticador de este usuario no se puede leer con la clave de "
                                "esta base; vuelve a enrolarlo.")
    nonce, cipher = body[:_NONCE], body[_NONCE:]
    return bytes(a ^ b for a, b in zip(cipher, _stream(enc, nonce, len(cipher)), strict=True)).decode("ascii")
