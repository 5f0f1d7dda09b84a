"""Finding members by name at the counter: case- and accent-insensitive on both engines.

SQLite's lower() folds ASCII only and PostgreSQL's depends on the server's locale, so names are folded
here, once, into `member_search.name` when the member is written (one deterministic table, also
spelled as SQL for the migration that fills older rows), and the query is folded the same way.
A search says how many members matched, not only the first `LIMIT` of them.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from backend.core.db import Connection

CardT = TypeVar("CardT")  # what the area shows per member found (backend.branch.counter.MemberCard)

LIMIT = 10
MAX_WORDS = 5

# Upper-case ASCII to lower case, and the accented letters of names in Ecuador (and neighbours) to plain
# lower-case ASCII: the same on both engines, whatever their collation.
FOLD = {**{u: u.lower() for u in string.ascii_uppercase},
        **{ch: plain for plain, accented in (("a", "áàâäãåÁÀÂÄÃÅ"), ("e", "éèêëÉÈÊË"), ("i", "íìîïÍÌÎÏ"),
                                             ("o", "óòôöõÓÒÔÖÕ"), ("u", "úùûüÚÙÛÜ"), ("n", "ñÑ"), ("c", "çÇ"),
                                             ("y", "ýÿÝ"))
           for ch in accented}}
_TABLE = str.maketrans(FOLD)


def fold(text: str) -> str:
    """«José MARÍA Ñúñez» → «jose maria nunez»: what `member_search.name` holds and what a query is matched as."""
    return " ".join(text.translate(_TABLE).split())


def sql_fold_steps(expression: str, per_step: int = 8) -> list[str]:
    """The same fold as portable SQL: replace() calls, a few deep each (SQLite's parser refuses deep
    nesting), every step applied to what the one before left in `expression`."""
    steps = []
    pairs = list(FOLD.items())
    for start in range(0, len(pairs), per_step):
        step = expression
        for accented, plain in pairs[start:start + per_step]:
            step = f"replace({step}, '{accented}', '{plain}')"
        steps.append(step)
    return steps


def migration() -> str:
    """Migration 11: the folded names of the members already there. Every statement can run again
    (the table only if missing, rows only if missing, folding what is folded changes nothing)."""
    return "\n".join([
        "CREATE TABLE IF NOT EXISTS member_search (member_id INTEGER PRIMARY KEY REFERENCES members (id),"
        " name TEXT NOT NULL);",
        "INSERT INTO member_search (member_id, name) SELECT id, first_names || ' ' || last_names FROM members"
        " WHERE true ON CONFLICT (member_id) DO NOTHING;",
    ] + [f"UPDATE member_search SET name = {step};" for step in sql_fold_steps("name")])


def remember(conn: Connection, member_id: int, first_names: str, last_names: str) -> None:
    """Keep a member's folded name; in the transaction that writes the member's names."""
    conn.execute("INSERT INTO member_search (member_id, name) VALUES (?, ?)"
                 " ON CONFLICT (member_id) DO UPDATE SET name = excluded.name",
                 (member_id, search_name(first_names, last_names)))


def search_name(first_names: str, last_names: str) -> str:
    return fold(f"{first_names} {last_names}")


class MemberSearch(Generic[CardT]):
    """The first `LIMIT` members found (in name order) and how many matched in all. Written out, not a frozen
    dataclass: backend/core/schema.py imports this module, so a dataclass here was built before the sign-in's
    first frame (start-up time, #23)."""

    cards: tuple[CardT, ...]
    total: int

    def __init__(self, cards: tuple[CardT, ...], total: int) -> None:
        object.__setattr__(self, "cards", cards)
        object.__setattr__(self, "total", total)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"MemberSearch is read-only: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"MemberSearch is read-only: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MemberSearch) or other.__class__ is not self.__class__:
            return NotImplemented
        return (self.cards, self.total) == (other.cards, other.total)

    def __hash__(self) -> int:
        return hash((self.cards, self.total))

    def __repr__(self) -> str:
        return f"MemberSearch(cards={self.cards!r}, total={self.total!r})"

    @property
    def note(self) -> str:
        """What the screen says when not every match is shown."""
        if self.total > len(self.cards):
            return f"Se muestran {len(self.cards)} de {self.total}; afina la búsqueda."
        return ""

    def __len__(self) -> int:
        return len(self.cards)

    def __iter__(self) -> Iterator[CardT]:
        return iter(self.cards)

    def __getitem__(self, index: int) -> CardT:
        return self.cards[index]


def find_by_name(conn: Connection, text: str, limit: int = LIMIT) -> tuple[list[int], int]:
    """(ids of the first `limit` members whose name holds every word of `text`, how many match)."""
    words = fold(text).split()[:MAX_WORDS]
    if not words:
        return [], 0
    likes = ["%" + w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" for w in words]
    where = " AND ".join(["name LIKE ? ESCAPE '\\'"] * len(likes))
    total = conn.execute(f"SELECT COUNT(*) FROM member_search WHERE {where}", likes).fetchone()[0]
    rows = conn.execute(f"SELECT member_id FROM member_search WHERE {where} ORDER BY name, member_id LIMIT ?",
                        (*likes, limit)).fetchall()
    return [r[0] for r in rows], total
