"""Other institutions' card numbers, sealed: the database never holds one in the clear.

A card of another bank must still be paid through the clearing, so its number is kept reversible:
AES-256-GCM under a key derived from the co-op's key file (backend/keys.py), never from the database,
so a copy of the database alone reveals no card number. Lookups use the keyed digest `card_key`
(backend/card_ledger.py `pan_digest`), display the first 4 / last 4 kept beside it. The same seal keeps
the number a member types out of the pending operation's stored request.

The sealed text (`v1.` + base64) is what `registered_cards.number` and, for another bank's card,
`card_payments.dest_account_number` hold; `card_payments.masked` is what is shown. Databases from
before schema 12 held the numbers there in the clear: the migration marks them
(`meta.card_numbers_to_seal`) and `seal_stored` seals them in place on the first start with the key at
hand, overwriting the clear text.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from .errors import ValidationError

PREFIX = "v1."
TO_SEAL = "card_numbers_to_seal"


def number_key(otp_pepper: bytes) -> bytes:
    """The sealing key, derived from a key-file secret (a different purpose than the PAN digest's)."""
    return hmac.new(otp_pepper, b"card-number-seal", hashlib.sha256).digest()


def seal(key: bytes, digits: str) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, digits.encode("utf-8"), b"cooprogreso card number")
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def unseal(key: bytes, value: str) -> str:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        raw = base64.urlsafe_b64decode(value[len(PREFIX):].encode("ascii"))
        return AESGCM(key).decrypt(raw[:12], raw[12:], b"cooprogreso card number").decode("utf-8")
    except (InvalidTag, ValueError, UnicodeError):
        raise ValidationError("El número de tarjeta no es válido; escríbelo de nuevo.", field="numero") from None


def seal_stored(db, otp_pepper: bytes) -> int:
    """Seal the card numbers an older database kept in the clear; returns how many were sealed.

    A no-op costing one `meta` lookup once done. On SQLite the clear text is overwritten on disk too."""
    if db.get_meta(TO_SEAL) is None:
        return 0
    from .keys import scrubbing_write

    key = number_key(otp_pepper)
    sealed = 0
    with scrubbing_write(db) as tx:
        for table, column, which in (("registered_cards", "number", "number IS NOT NULL"),
                                     ("card_payments", "dest_account_number", "card_account_id IS NULL")):
            for row in tx.execute(f"SELECT id, {column} FROM {table} WHERE {which}").fetchall():
                if not is_sealed(row[1]):
                    tx.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", (seal(key, row[1]), row[0]))
                    sealed += 1
        tx.execute("DELETE FROM meta WHERE key = ?", (TO_SEAL,))
    return sealed
