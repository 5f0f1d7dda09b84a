"""The rows behind counter work: each teller or back-office operation is one `counter_ops` row,
executed at once or left `por_aprobar` for a supervisor (maker-checker), and the business date.

Pending rows never move money: their booking runs only when a checker approves, in that
transaction, and a rejected row keeps nothing but its own record.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from backend.core import business_days
from backend.core.context import Context
from backend.core.errors import NotFound

if TYPE_CHECKING:
    from backend.core.db import Connection, Row

KIND_LABELS = {
    "deposito": "Depósito en efectivo",
    "retiro": "Retiro en efectivo",
    "cierre_caja": "Cierre de caja con diferencia",
    "cambio_celular": "Cambio de celular registrado",
    "socio_pep": "Registro de socio PEP (debida diligencia reforzada)",
}
SHORT_LABELS = {"deposito": "Depósito", "retiro": "Retiro", "cierre_caja": "Cierre caja", "cambio_celular": "Celular",
                "socio_pep": "Socio PEP"}


@dataclass(frozen=True)
class CounterOp:
    id: int
    kind: str
    state: str
    maker_id: int
    maker: str
    member_id: int | None
    member_name: str | None
    account_id: int | None
    till_id: int | None
    amount: int
    request: dict
    reference: str
    created_at: str
    checker: str | None
    decision_note: str | None
    entry_id: int | None

    @property
    def label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def short_label(self) -> str:
        """For a table column at 80×24."""
        return SHORT_LABELS.get(self.kind, self.label)


_SELECT = ("SELECT o.*, s.username AS maker, c.username AS checker, m.first_names || ' ' || m.last_names AS member_name"
           " FROM counter_ops o JOIN staff_users s ON s.id = o.maker_id LEFT JOIN members m ON m.id = o.member_id"
           " LEFT JOIN staff_users c ON c.id = o.checker_id")


def _op(row: Row) -> CounterOp:
    return CounterOp(row["id"], row["kind"], row["state"], row["maker_id"], row["maker"], row["member_id"],
                     row["member_name"], row["account_id"], row["till_id"], row["amount"], json.loads(row["request"]),
                     row["reference"], row["created_at"], row["checker"], row["decision_note"], row["entry_id"])


def get(conn: Connection, op_id: int) -> CounterOp:
    row = conn.execute(_SELECT + " WHERE o.id = ?", (op_id,)).fetchone()
    if row is None:
        raise NotFound("La operación no existe.", field="op")
    return _op(row)


def by_key(conn: Connection, key: str) -> CounterOp | None:
    row = conn.execute(_SELECT + " WHERE o.idempotency_key = ?", (key,)).fetchone()
    return _op(row) if row else None


def pending(conn: Connection, limit: int = 100) -> list[CounterOp]:
    rows = conn.execute(_SELECT + " WHERE o.state = 'por_aprobar' ORDER BY o.id LIMIT ?", (limit,)).fetchall()
    return [_op(r) for r in rows]


def of_till(conn: Connection, till_id: int) -> list[CounterOp]:
    return [_op(r) for r in conn.execute(_SELECT + " WHERE o.till_id = ? ORDER BY o.id", (till_id,)).fetchall()]


def insert(conn: Connection, ctx: Context, *, kind: str, state: str, maker_id: int, member_id: int | None,
           key: str, account_id: int | None = None, till_id: int | None = None, amount: int = 0,
           request: dict | None = None, depositor: tuple[str, str, str] | None = None) -> int:
    """`depositor` (ID type, ID number, name): who brought the cash of a deposit (backend/branch/cash_declaration.py)."""
    dep_type, dep_id, dep_name = depositor or (None, None, None)
    op_id = conn.execute(
        "INSERT INTO counter_ops (kind, state, maker_id, member_id, account_id, till_id, amount, request, reference,"
        " idempotency_key, created_at, depositor_type, depositor_id, depositor_name)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (kind, state, maker_id, member_id, account_id, till_id, amount,
         json.dumps(request or {}, ensure_ascii=False, sort_keys=True), "tmp:" + secrets.token_hex(8), key,
         ctx.now_iso(), dep_type, dep_id, dep_name)).fetchone()[0]
    conn.execute("UPDATE counter_ops SET reference = ? WHERE id = ?", (f"VEN-{op_id:07d}", op_id))
    return op_id


def mark_executed(conn: Connection, ctx: Context, op_id: int, entry_id: int | None) -> None:
    conn.execute("UPDATE counter_ops SET state = 'ejecutada', entry_id = ?, executed_at = ? WHERE id = ?",
                 (entry_id, ctx.now_iso(), op_id))


def business_date(conn: Connection, ctx: Context) -> str:
    """The co-op's business day (moves on only at end of day, to the next business day); until the first end of
    day, today or, on a weekend or holiday, the next business day (backend/core/business_days.py)."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'business_date'").fetchone()
    return row[0] if row else business_days.current(conn).roll(ctx.clock.now().date()).isoformat()


def set_business_date(conn: Connection, day: str) -> None:
    conn.execute("INSERT INTO meta (key, value) VALUES ('business_date', ?)"
                 " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (day,))
