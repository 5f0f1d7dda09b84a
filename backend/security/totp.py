"""Staff second factor: RFC 6238 codes (30 s, 6 digits, SHA-1) from an authenticator app.

A code is accepted for the current step or one step either side (clock drift), and only for a step
later than the last one accepted for that user, so no code — nor an older one — works twice.
"""

from __future__ import annotations

import hmac
import io
from datetime import datetime, tzinfo

import pyotp

from backend.core.text import fold_digits

STEP_SECONDS = 30
ISSUER = "Cooprogreso"


def new_secret() -> str:
    return pyotp.random_base32()


def step_at(moment: datetime, zone: tzinfo | None = None) -> int:
    """The RFC 6238 step of a moment; a naive moment is wall-clock time in `zone` (the co-op's)."""
    if moment.tzinfo is None:
        if zone is None:
            raise ValueError("a naive time needs its zone")
        moment = moment.replace(tzinfo=zone)
    return int(moment.timestamp()) // STEP_SECONDS


def code_at(secret: str, step: int) -> str:
    return pyotp.TOTP(secret).generate_otp(step)


def matching_step(secret: str, code: str, now: int, last_step: int) -> int | None:
    """The step this code belongs to (step `now` ±1, later than `last_step`), or None."""
    code = fold_digits(code)  # look-alike digits from any keyboard are the same code
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    for step in (now - 1, now, now + 1):
        if step > last_step and hmac.compare_digest(code_at(secret, step), code):
            return step
    return None


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_text(uri: str) -> str:
    """The URI as a QR code drawn with half-block characters, for a terminal."""
    import qrcode

    qr = qrcode.QRCode(border=2)
    qr.add_data(uri)
    out = io.StringIO()
    qr.print_ascii(out=out, invert=True)
    return out.getvalue()
