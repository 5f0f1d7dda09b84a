"""The daily cupo, once for every section that has one (transfers by kind, service payments).

A section keeps what each member moved per day in a usage table (`transfer_usage`: user, kind, day;
`bill_usage`: user, day); `cooprogreso check` re-derives it. This module reads it as a `Quota`, refuses an
amount over what is left today with the one message, adds a booking and gives a refund back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from backend.core.errors import ValidationError
from backend.core.money import format_money

if TYPE_CHECKING:
    from backend.core.db import Connection, Cursor, Row


@dataclass(frozen=True)
class Quota:
    daily: int
    used_today: int
    per_transaction: int | None = None  # transfers have one; service payments a per-biller maximum instead

    @property
    def left_today(self) -> int:
        return max(0, self.daily - self.used_today)

    def check(self, amount: int, noun: str = "El monto") -> None:
        """Refuse (at «amount») what is over the per-transaction maximum or what is left today."""
        if self.per_transaction is not None and amount > self.per_transaction:
            raise ValidationError(f"{noun} supera el máximo por transacción ({format_money(self.per_transaction)}).",
                                  field="amount", code="limit_tx")
        if amount > self.left_today:
            raise ValidationError(f"{noun} supera tu cupo disponible hoy ({format_money(self.left_today)}).",
                                  field="amount", code="limit_daily")


@dataclass(frozen=True)
class Usage:
    """A usage table: (user_id[, kind], day) → amount."""

    table: str
    kinds: bool = False

    def _where(self, kind: str | None) -> tuple[str, tuple]:
        if self.kinds:
            return "user_id = ? AND kind = ? AND day = ?", (kind,)
        return "user_id = ? AND day = ?", ()

    def used(self, conn: Connection, user_id: int, day: str, kind: str | None = None) -> int:
        return self.amount(conn.execute(*self.used_query(user_id, day, kind)).fetchone())

    def used_query(self, user_id: int, day: str, kind: str | None = None) -> tuple[str, tuple]:
        """The statement `used` runs, for a caller that sends it with others (`conn.fetch_each`)."""
        where, extra = self._where(kind)
        return f"SELECT amount FROM {self.table} WHERE {where}", (user_id, *extra, day)

    @staticmethod
    def amount(row: Row | None) -> int:
        """What `used_query`'s row says was used (nothing yet: no row)."""
        return row[0] if row else 0

    def quota(self, conn: Connection, user_id: int, day: str, daily: int, *, kind: str | None = None,
              per_transaction: int | None = None) -> Quota:
        return Quota(daily, self.used(conn, user_id, day, kind), per_transaction)

    def add(self, conn: Connection, user_id: int, day: str, amount: int, kind: str | None = None) -> None:
        """A booking uses `amount` of the day's cupo (inside the booking's transaction)."""
        cols = "user_id, kind, day" if self.kinds else "user_id, day"
        values = (user_id, kind, day, amount) if self.kinds else (user_id, day, amount)
        marks = ", ".join("?" * len(values))
        conn.execute(f"INSERT INTO {self.table} ({cols}, amount) VALUES ({marks}) ON CONFLICT ({cols})"
                     f" DO UPDATE SET amount = {self.table}.amount + excluded.amount", values)

    def add_within(self, conn: Connection, user_id: int, day: str, amount: int, daily: int,
                   kind: str | None = None) -> Cursor:
        """`add`, only while the day's total stays within `daily`, checked by the upsert itself (under the write
        lock on SQLite, the row's lock on PostgreSQL), so two bookings at once can't both pass it. Its cursor
        brings the new total, or no row when nothing was added (fetch it after a `pipeline` block)."""
        cols = "user_id, kind, day" if self.kinds else "user_id, day"
        values = (user_id, kind, day) if self.kinds else (user_id, day)
        marks = ", ".join("?" * (len(values) + 1))
        return conn.execute(
            f"INSERT INTO {self.table} ({cols}, amount) SELECT {marks} WHERE ? <= ? ON CONFLICT ({cols})"
            f" DO UPDATE SET amount = {self.table}.amount + excluded.amount"
            f" WHERE {self.table}.amount + excluded.amount <= ? RETURNING amount",
            (*values, amount, amount, daily, daily))

    def give_back(self, conn: Connection, user_id: int, day: str, amount: int, kind: str | None = None) -> None:
        """A refunded booking gives its amount back to the day it was used on."""
        where, extra = self._where(kind)
        conn.execute(f"UPDATE {self.table} SET amount = amount - ? WHERE {where}", (amount, user_id, *extra, day))


TRANSFERS = Usage("transfer_usage", kinds=True)
SERVICES = Usage("bill_usage")
