"""Staff authenticator (TOTP) secrets sealed at rest: a copy of the database alone cannot mint codes.

The key is derived from this database's `otp_pepper` in the key file (backend/core/keys.py), so the database
never holds it. Sealing is AES-256-GCM (as backend/security/card_numbers.py seals card numbers) with the staff
user's name as associated data, so a sealed secret moved to another user's row does not open. Stored as
«enc1:» + base64url(nonce ‖ ciphertext ‖ tag).

Rows written before sealing (plain base32) are sealed once, when the database is opened with its key
(migration 17 marks such a database with `meta.staff_secrets_to_seal`, `seal_stored` does the work).
After that a plain row is refused, never accepted and sealed: whoever can write to the database but
has no key file could otherwise plant a secret of their own and mint codes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import TYPE_CHECKING

from backend.core.errors import ServiceError

if TYPE_CHECKING:
    from backend.core.db import Connection, Database

PREFIX = "enc1:"
_NONCE = 12
TO_SEAL = "staff_secrets_to_seal"


class SealedSecretError(ServiceError):
    code = "secreto_danado"


def _key(master: bytes) -> bytes:
    return hmac.new(master, b"cooprogreso/staff-totp-seal", hashlib.sha256).digest()


def _aad(username: str) -> bytes:
    return b"cooprogreso staff totp:" + username.encode("utf-8")


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


def seal(master: bytes, username: str, secret: str) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(_NONCE)
    sealed = AESGCM(_key(master)).encrypt(nonce, secret.encode("ascii"), _aad(username))
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def unseal(master: bytes, username: str, stored: str) -> str:
    """The base32 secret of a sealed row; anything else is refused."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if not is_sealed(stored):
        raise SealedSecretError("El secreto del autenticador de este usuario no está sellado con la clave de "
                                "esta base; vuelve a enrolarlo.")
    try:
        raw = base64.urlsafe_b64decode(stored[len(PREFIX):].encode("ascii"))
        return AESGCM(_key(master)).decrypt(raw[:_NONCE], raw[_NONCE:], _aad(username)).decode("ascii")
    except (InvalidTag, ValueError, UnicodeError):
        raise SealedSecretError("El secreto del autenticador de este usuario no se puede leer con la clave de "
                                "esta base; vuelve a enrolarlo.") from None


def seal_stored(db: Database, master: bytes) -> int:
    """Seal the plain secrets an older database kept; returns how many. A no-op once done."""
    if db.get_meta(TO_SEAL) is None:
        return 0
    from backend.core.keys import scrubbing_write

    sealed = 0
    with scrubbing_write(db) as tx:
        for row in tx.execute("SELECT id, username, totp_secret FROM staff_users").fetchall():
            if not is_sealed(row[2]):
                tx.execute("UPDATE staff_users SET totp_secret = ? WHERE id = ?", (seal(master, row[1], row[2]), row[0]))
                sealed += 1
        tx.execute("DELETE FROM meta WHERE key = ?", (TO_SEAL,))
    return sealed


def reseal_all(tx: Connection, old_master: bytes, new_master: bytes) -> tuple[int, int]:
    """Re-seal every staff secret under new keys, inside the caller's transaction (`keys rotate`); returns
    (re-sealed, left as they were: rows that did not open under the old keys, unreadable either way)."""
    done = refused = 0
    for row in tx.execute("SELECT id, username, totp_secret FROM staff_users").fetchall():
        try:
            secret = unseal(old_master, row[1], row[2])
        except SealedSecretError:
            refused += 1
            continue
        tx.execute("UPDATE staff_users SET totp_secret = ? WHERE id = ?", (seal(new_master, row[1], secret), row[0]))
        done += 1
    return done, refused
