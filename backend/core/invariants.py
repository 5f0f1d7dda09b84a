"""The books' invariants: each area registers the figures it keeps, `backend/audit_books.py` composes them.

The core holds the registry, not the list, so it imports no area: an area's module calls `register` at import
and the audit above imports every area. Each invariant has a full check (`cooprogreso check`: every row) and,
where its rows grow with the days, a check of what changed since the last close's checkpoint (the end of day).
Problems are lines in Spanish, empty when sound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Since:
    """What the last close verified: every entry, posting and account up to these ids, the business day it closed."""

    entry_id: int
    posting_id: int
    account_id: int
    day: str  # YYYY-MM-DD: rows dated from this day on count as touched


Full = Callable[[Any], list[str]]  # (connection) -> problems
Recent = Callable[[Any, Since], list[str]]  # (connection, checkpoint) -> problems among rows touched since


@dataclass(frozen=True)
class Invariant:
    name: str
    full: Full
    recent: Recent | None  # None: its rows do not grow with the days, the close runs the full one


_registry: dict[str, Invariant] = {}


def register(name: str, full: Full, recent: Recent | None = None) -> None:
    """Add (or, for the same name, replace) an invariant of the books."""
    _registry[name] = Invariant(name, full, recent)


def registered() -> tuple[Invariant, ...]:
    return tuple(_registry.values())


class Books(Protocol):
    """The composed audit (backend/audit_books.py) as the areas see it through the facade."""

    def check(self, conn: Any) -> list[str]: ...

    def checkpoint(self, conn: Any) -> Since | None: ...

    def check_close(self, conn: Any) -> list[str]: ...

    def advance(self, conn: Any, day: str) -> Since: ...
