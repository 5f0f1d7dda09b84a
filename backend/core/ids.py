"""Row ids that arrive from outside (a screen, a CLI flag, a pagination cursor) checked before SQL.

SQLite stores 64-bit integers; binding 2**70 raises OverflowError deep in the driver. An id that is
not a positive 64-bit integer cannot name any row, so it is the same typed error as a missing row.
"""

from __future__ import annotations

from backend.core.errors import NotFound

MAX_ID = 2**63 - 1


def row_id(value: object, message: str = "El registro no existe.") -> int:
    """`value` as an id, or NotFound(message) if it cannot be one (wrong type, ≤ 0, beyond 64 bits)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise NotFound(message)
    return value
