"""Card numbers (PAN) as pure functions: digits, the printed mask, the Luhn check, and the keyed digest the
database keeps instead of a Cooprogreso card's number. In the core because the cards, the product approvals
(which issue a card) and the sealing of other banks' numbers all need the same ones."""

from __future__ import annotations

import hashlib
import hmac


def card_number_digits(pan: str) -> str:
    return "".join(ch for ch in pan if ch.isdigit())


def mask_pan(pan: str) -> str:
    """Any card number as the manual shows it: first 4 and last 4, `3261 XXXX XXXX 6989`."""
    digits = card_number_digits(pan)
    return f"{digits[:4]} XXXX XXXX {digits[-4:]}"


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return bool(digits) and total % 10 == 0


def pan_digest(secret: bytes, digits: str) -> str:
    """How our own card numbers are found without storing them: a keyed digest."""
    return hmac.new(secret, b"pan:" + digits.encode("ascii"), hashlib.sha256).hexdigest()


def pan_secret(ctx_secret: bytes) -> bytes:
    return hmac.new(ctx_secret, b"card-pan-digest", hashlib.sha256).digest()
