"""Staff second factor: RFC 6238 codes (30 s, 6 digits, SHA-1) from an authenticator app.

A code is accepted for the current step or one step either side (clock drift), and only for a step
later than the last one accepted for that user, so no code — nor an older one — works twice.
"""

from __future__ import annotations

import hmac
import struct
import zlib
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


QR_BORDER = 4  # the quiet zone the QR standard asks for; phones find the code by it


def qr_matrix(uri: str) -> list[list[bool]]:
    """The URI's QR modules, quiet zone included; True is a dark module."""
    import qrcode

    qr = qrcode.QRCode(border=QR_BORDER)
    qr.add_data(uri)
    qr.make(fit=True)
    return [list(map(bool, row)) for row in qr.get_matrix()]


def qr_text(uri: str) -> str:
    """The URI as a QR code of half blocks for a terminal (two modules per character).

    Only printable characters (full, upper and lower half blocks and the ordinary space), so the
    CLI's output filter keeps every cell, and a line is as wide as the code (49 columns for the
    longest staff username, well inside an 80-column terminal). Drawn for a light-on-dark terminal:
    a light module is ink, a dark module is the terminal's background, so the quiet zone is light.
    """
    matrix = qr_matrix(uri)
    width = len(matrix[0])
    chars = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}
    lines = []
    for top in range(0, len(matrix), 2):
        upper = [not dark for dark in matrix[top]]
        # past the last row is the terminal's background: dark, like the code's dark modules
        lower = [not dark for dark in matrix[top + 1]] if top + 1 < len(matrix) else [False] * width
        lines.append("".join(chars[(u, v)] for u, v in zip(upper, lower, strict=True)))
    return "\n".join(lines) + "\n"


def qr_png(uri: str, scale: int = 8) -> bytes:
    """The URI's QR code as a greyscale PNG (dark on white), written with zlib: no imaging library."""
    matrix = qr_matrix(uri)
    rows = []
    for row in matrix:
        line = b"".join((b"\x00" if dark else b"\xff") * scale for dark in row)
        rows.extend([b"\x00" + line] * scale)  # filter type 0 (none) for each scanline
    size = len(matrix) * scale

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)  # 8-bit greyscale, no interlace
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
            + chunk(b"IEND", b""))
