"""Other institutions' card numbers, sealed: the database never holds one in the clear.

A card of another bank must still be paid through the clearing, so its number is kept reversible:
AES-256-GCM under a key derived from the co-op's key file (backend/core/keys.py), never from the database,
so a copy of the database alone reveals no card number. Lookups use the keyed digest `card_key`
(backend/cards/card_ledger.py `pan_digest`), display the first 4 / last 4 kept beside it. The same seal keeps
the number a member types out of the pending operation's stored request.

Each sealed value (`v2.` + base64) is bound to its owner: the associated data names the user it belongs
to and where it is kept (`REQUEST` an operation's request, `REGISTERED` registered_cards.number,
`PAYMENT` card_payments.dest_account_number), so whoever can write to the database cannot move a sealed
number into another member's row (or into another column): `unseal` is told the owner and place it
expects and refuses anything else with the same message as a damaged value.

Databases from before schema 12 held the numbers in the clear: the migration marks them
(`meta.card_numbers_to_seal`) and `seal_stored` seals them in place on the first start with the key at
hand, overwriting the clear text. Schema 12–18 sealed them as `v1.` (a constant associated data, owner
not bound): migration 19 marks such a database (`meta.card_numbers_to_reseal`) and `reseal_stored`
re-seals each value for the owner of its row once. After that a `v1.` value is refused, never re-sealed:
an old value copied from another row would otherwise be accepted as this row's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from functools import lru_cache
from collections.abc import Callable
from typing import TYPE_CHECKING

from backend.core import audit
from backend.core.errors import ValidationError

if TYPE_CHECKING:
    from backend.core.db import Connection, Database

PREFIX = "v2."
OLD_PREFIX = "v1."
TO_SEAL = "card_numbers_to_seal"
TO_RESEAL = "card_numbers_to_reseal"

REQUEST = "operations.request"  # the number a member typed, in a pending registration's request
REGISTERED = "registered_cards.number"
PAYMENT = "card_payments.dest_account_number"
_PLACES = (REQUEST, REGISTERED, PAYMENT)

_REFUSED = "El número de tarjeta no es válido; escríbelo de nuevo."
_NONCE = 12


@lru_cache(maxsize=4)
def number_key(otp_pepper: bytes) -> bytes:
    """The sealing key, derived from a key-file secret (a different purpose than the PAN digest's)."""
    return hmac.new(otp_pepper, b"card-number-seal", hashlib.sha256).digest()


def _aad(owner: int, place: str) -> bytes:
    if isinstance(owner, bool) or not isinstance(owner, int) or place not in _PLACES:
        raise ValueError("a sealed card number needs its owner's user id and its place")
    return f"cooprogreso card number|{place}|{owner}".encode("ascii")


def seal(key: bytes, digits: str, *, owner: int, place: str) -> str:
    """`digits` sealed for the user `owner`, to be kept at `place`."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aad = _aad(owner, place)
    nonce = os.urandom(_NONCE)
    return PREFIX + base64.urlsafe_b64encode(nonce + AESGCM(key).encrypt(nonce, digits.encode("utf-8"), aad)).decode("ascii")


def is_sealed(value: object) -> bool:
    """Whether a value is in a sealed format (current or older): never to be taken as typed digits."""
    return isinstance(value, str) and value.startswith((PREFIX, OLD_PREFIX))


def unseal(key: bytes, value: object, *, owner: int, place: str) -> str:
    """The digits of a value sealed for `owner` at `place`; anything else (another member's value, an old
    `v1.` value, clear text, a damaged value) is refused without saying which."""
    aad = _aad(owner, place)
    if not isinstance(value, str) or not value.startswith(PREFIX):
        raise ValidationError(_REFUSED, field="numero")
    return _open(key, value[len(PREFIX):], aad)


def _open(key: bytes, body: str, aad: bytes) -> str:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        raw = base64.urlsafe_b64decode(body.encode("ascii"))
        return AESGCM(key).decrypt(raw[:_NONCE], raw[_NONCE:], aad).decode("utf-8")
    except (InvalidTag, ValueError, UnicodeError):
        raise ValidationError(_REFUSED, field="numero") from None


# -- older databases ---------------------------------------------------------------------------------
_STORED = (("registered_cards", "number", "number IS NOT NULL", REGISTERED),
           ("card_payments", "dest_account_number", "card_account_id IS NULL", PAYMENT))


def seal_stored(db: Database, otp_pepper: bytes) -> int:
    """Seal the card numbers an older database kept in the clear; returns how many were sealed.

    A no-op costing one `meta` lookup once done. On SQLite the clear text is overwritten on disk too."""
    if db.get_meta(TO_SEAL) is None:
        return 0
    from backend.core.keys import scrubbing_write

    key = number_key(otp_pepper)
    sealed = 0
    with scrubbing_write(db) as tx:
        for table, column, which, place in _STORED:
            for row in tx.execute(f"SELECT id, user_id, {column} FROM {table} WHERE {which}").fetchall():
                if not is_sealed(row[2]):
                    tx.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?",
                               (seal(key, row[2], owner=row[1], place=place), row[0]))
                    sealed += 1
        tx.execute("DELETE FROM meta WHERE key = ?", (TO_SEAL,))
    return sealed


def reseal_stored(db: Database, otp_pepper: bytes, at: str) -> int:
    """Re-seal the `v1.` values of a schema 12–18 database for the owner of their row; returns how many.

    A v1 value names no owner, so before it is bound to a row it must match that row's own record of the
    card: the keyed digest `card_key` of a registered card; the payment's masked number (and its registered
    card's digest while that card is still registered); a pending registration is re-derived against its
    bound details anyway (operations.py), so a moved number voids it. A value that does not open or does
    not match is left as it is, refused from then on. A no-op costing one `meta` lookup once done; the
    audit log counts both, without any number."""
    if db.get_meta(TO_RESEAL) is None:
        return 0
    from backend.core.pan import mask_pan, pan_digest, pan_secret
    from backend.core.keys import scrubbing_write

    key, digest_key = number_key(otp_pepper), pan_secret(otp_pepper)
    resealed = refused = 0

    def again(value: str, owner: int, place: str, matches: Callable[..., bool]) -> str | None:  # (digits) -> bool
        nonlocal resealed, refused
        if not value.startswith(OLD_PREFIX):  # LIKE ignores case on SQLite
            return None
        try:
            digits = _open(key, value[len(OLD_PREFIX):], b"cooprogreso card number")
            if not matches(digits):
                raise ValidationError(_REFUSED, field="numero")
        except ValidationError:
            refused += 1
            return None
        resealed += 1
        return seal(key, digits, owner=owner, place=place)

    def digest_is(card_key: str | None, institution: str) -> Callable[[str], bool]:
        return lambda digits: card_key is None or card_key == pan_digest(digest_key, f"{institution}:{digits}")

    with scrubbing_write(db) as tx:
        for r in tx.execute("SELECT id, user_id, number, card_key, institution_code FROM registered_cards"
                            " WHERE number LIKE 'v1.%'").fetchall():
            new = again(r[2], r[1], REGISTERED, lambda digits, r=r: r[3] == pan_digest(digest_key, f"{r[4]}:{digits}"))
            if new is not None:
                tx.execute("UPDATE registered_cards SET number = ? WHERE id = ?", (new, r[0]))
        for r in tx.execute(
                "SELECT p.id, p.user_id, p.dest_account_number, p.masked, r.card_key, p.dest_institution"
                " FROM card_payments p LEFT JOIN registered_cards r ON r.id = p.registered_card_id AND r.user_id = p.user_id"
                " WHERE p.card_account_id IS NULL AND p.dest_account_number LIKE 'v1.%'").fetchall():
            same_card = digest_is(r[4], r[5])
            new = again(r[2], r[1], PAYMENT, lambda digits, r=r, same=same_card: mask_pan(digits) == r[3] and same(digits))
            if new is not None:
                tx.execute("UPDATE card_payments SET dest_account_number = ? WHERE id = ?", (new, r[0]))
        for r in tx.execute("SELECT id, user_id, request FROM operations WHERE kind = 'registro_tarjeta'"
                            " AND request LIKE '%\"v1.%'").fetchall():
            request = json.loads(r[2])
            number = request.get("number") if isinstance(request, dict) else None
            if isinstance(number, str) and number.startswith(OLD_PREFIX):
                new = again(number, r[1], REQUEST, lambda digits: True)
                if new is not None:
                    tx.execute("UPDATE operations SET request = ? WHERE id = ?",
                               (json.dumps({**request, "number": new}, sort_keys=True), r[0]))
        tx.execute("DELETE FROM meta WHERE key = ?", (TO_RESEAL,))
        if resealed or refused:
            audit.record(tx, at=at, actor="sistema:tarjetas", action="tarjeta.numeros_resellados",
                         outcome="parcial" if refused else "ok", resellados=resealed, rechazados=refused)
    return resealed


def reseal_all(tx: Connection, old_pepper: bytes, new_pepper: bytes) -> tuple[int, int]:
    """Re-seal every stored card number under new keys, for the same owner and place, inside the caller's
    transaction (`keys rotate`); returns (re-sealed, left as they were because they did not open)."""
    old, new = number_key(old_pepper), number_key(new_pepper)
    done = refused = 0

    def again(value: str, owner: int, place: str) -> str | None:
        nonlocal done, refused
        try:
            digits = unseal(old, value, owner=owner, place=place)
        except ValidationError:
            refused += 1
            return None
        done += 1
        return seal(new, digits, owner=owner, place=place)

    for table, column, which, place in _STORED:
        for r in tx.execute(f"SELECT id, user_id, {column} FROM {table} WHERE {which}").fetchall():
            value = again(r[2], r[1], place)
            if value is not None:
                tx.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", (value, r[0]))
    for r in tx.execute("SELECT id, user_id, request FROM operations WHERE kind = 'registro_tarjeta'").fetchall():
        request = json.loads(r[2])
        number = request.get("number") if isinstance(request, dict) else None
        if isinstance(number, str) and is_sealed(number):
            value = again(number, r[1], REQUEST)
            if value is not None:
                tx.execute("UPDATE operations SET request = ? WHERE id = ?",
                           (json.dumps({**request, "number": value}, sort_keys=True), r[0]))
    return done, refused
