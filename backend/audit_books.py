"""The books audit, composed from above: every area's invariants (backend/core/invariants.py), in one order.

`check` is `cooprogreso check`: every invariant over every row, whatever any checkpoint says. The end of day
uses `check_close` and `advance`: what came after the last close's checkpoint (the full check when there is
none), then a new checkpoint. A row edited at or below a checkpoint is therefore not seen by the close — only by
`cooprogreso check`, which the co-op runs on its own schedule (and which the close's report names).
"""

from __future__ import annotations

from typing import Any

# Importing an area's module registers its invariants: this list is where the audit reaches every area.
import backend.bill_payments.payments
import backend.branch.counter
import backend.cards.card_ledger
import backend.core.ledger
import backend.products.books
import backend.transfers.books  # noqa: F401
from backend.core import invariants
from backend.core.invariants import Since

# The order of `cooprogreso check`'s lines; an invariant not named here comes after these, by name.
ORDER = ("libro", "transferencias", "tarjetas", "servicios", "ventanilla", "productos")
CHECKPOINT = "books_checked"  # meta: entry id, posting id, account id, day of the last close's verified books


def _ordered() -> list[invariants.Invariant]:
    rank = {name: n for n, name in enumerate(ORDER)}
    return sorted(invariants.registered(), key=lambda inv: (rank.get(inv.name, len(ORDER)), inv.name))


def check(conn: Any) -> list[str]:
    """Every way the books can disagree with themselves, in Spanish; empty when sound."""
    return [problem for inv in _ordered() for problem in inv.full(conn)]


def checkpoint(conn: Any) -> Since | None:
    """What the last close verified, or None (no close yet, or an unreadable mark: then the full check runs)."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (CHECKPOINT,)).fetchone()
    try:
        entry, posting, account, day = row[0].split(":") if row else ("",) * 4
        return Since(int(entry), int(posting), int(account), day)
    except ValueError:
        return None


def check_since(conn: Any, since: Since | None) -> list[str]:
    """What came after `since` (None: everything), by every invariant; one without a check of its own runs whole."""
    if since is None:
        return check(conn)
    return [problem for inv in _ordered()
            for problem in (inv.recent(conn, since) if inv.recent else inv.full(conn))]


def check_close(conn: Any) -> list[str]:
    """The end of day's check: what came after the last close's checkpoint."""
    return check_since(conn, checkpoint(conn))


def advance(conn: Any, day: str) -> Since:
    """Move the checkpoint to every row there is now. Only inside a write transaction that holds the business-day
    lock exclusively, after `check_close` found nothing in that same transaction: every entry (ledger.post takes
    the lock shared first) is then committed or rolled back, so no id below the mark can still appear."""
    entry, posting, account = conn.execute(
        "SELECT (SELECT COALESCE(MAX(id), 0) FROM entries), (SELECT COALESCE(MAX(id), 0) FROM postings),"
        " (SELECT COALESCE(MAX(id), 0) FROM accounts)").fetchone()
    mark = Since(entry, posting, account, day)
    conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                 (CHECKPOINT, f"{entry}:{posting}:{account}:{day}"))
    return mark
