"""Double-entry ledger: every movement of money is one entry whose postings sum to zero.

Stored balances are a cache of the postings; `check_books` re-derives them and lists every disagreement (its
own invariant among every area's: backend/core/invariants.py, composed by backend/audit_books.py).
Callers open the write transaction (Database.write) so an entry and whatever caused it commit together.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from backend.core import invariants
from backend.core.errors import InsufficientFunds, ServiceError
from backend.core.invariants import Since
from backend.core.money import format_money

if TYPE_CHECKING:
    from backend.core.db import Connection

# What each entry kind is called wherever people read it (the day's report, the CLI, the supervisor's
# screen): the one list of ledger kinds. A kind missing here still reads as words, never as a code.
KIND_LABELS = {
    "apertura_caja": "Apertura de caja",
    "cierre_caja": "Cierre de caja: efectivo a bóveda",
    "faltante_caja": "Faltantes de caja",  # the day's report: the till-close differences, on their own lines
    "sobrante_caja": "Sobrantes de caja",
    "deposito_ventanilla": "Depósito en ventanilla",
    "retiro_ventanilla": "Retiro en ventanilla",
    "deposito": "Depósito",
    "retiro": "Retiro",
    "sueldo": "Acreditación de sueldo",
    "transferencia_propia": "Transferencia a mis cuentas",
    "transferencia_terceros": "Transferencia Cooprogreso",
    "transferencia_interbancaria": "Transferencia interbancaria",
    "liquidacion_interbancaria": "Liquidación interbancaria",
    "devolucion_interbancaria": "Devolución interbancaria",
    "pago_servicio": "Pago de servicio",
    "devolucion_pago_servicio": "Devolución de pago de servicio",
    "consumo_tarjeta": "Consumo con tarjeta",
    "pago_tarjeta": "Pago de tarjeta",
    "diferido_tarjeta": "Diferido de tarjeta",
    "cierre_tarjeta": "Cierre de ciclo de tarjeta",
    "plazo_fijo": "Apertura de plazo fijo",
    "vencimiento_plazo_fijo": "Vencimiento de plazo fijo",
    "desembolso": "Desembolso de crédito",
    "cuota": "Pago de cuota de crédito",
}


SHORTAGE, SURPLUS = "faltante_caja", "sobrante_caja"  # report lines, not entry kinds


def kind_label(kind: str) -> str:
    """The Spanish name of an entry kind."""
    return KIND_LABELS.get(kind) or kind.replace("_", " ").strip().capitalize() or "Sin tipo"


@dataclass(frozen=True)
class Leg:
    account_id: int
    amount: int  # cents; positive raises the account's balance, negative lowers it
    memo: str


class LedgerError(ServiceError):
    code = "ledger"


BUSINESS_DAY_LOCK = "business_date"


# The business day an entry belongs to: the co-op's open business day (it moves on only at end of day, so an
# operation made on the evening after a close belongs to the next day); before the first close, the calendar
# day. `post` takes the shared lock first, then reads the day inside its INSERT (one round trip fewer): the
# close takes the lock exclusively, so it waits for the entries already stamped with the day it is closing
# and none misses the day's report; an entry that waited for a close reads the new day, because the INSERT
# (a statement of its own, so a snapshot of its own under READ COMMITTED) starts after the lock is granted.
_BUSINESS_DAY = "COALESCE((SELECT value FROM meta WHERE key = 'business_date'), ?)"


def business_day(conn: Connection, posted_at: str) -> str:
    """The business day an entry stamped now belongs to (see _BUSINESS_DAY), for callers that need it apart."""
    conn.lock_shared(BUSINESS_DAY_LOCK)
    row = conn.execute("SELECT value FROM meta WHERE key = 'business_date'").fetchone()
    return row[0] if row else posted_at[:10]


def post(
    conn: Connection,  # a Database.write() connection: sqlite3 or PgConnection
    *,
    kind: str,
    description: str,
    legs: list[Leg],
    posted_at: str,
    actor: str,
    idempotency_key: str | None = None,
) -> int:
    """Write one balanced entry; must run inside Database.write(). Returns the entry id."""
    if not conn.in_transaction:
        raise LedgerError("Las partidas contables deben escribirse dentro de una transacción.")
    if len(legs) < 2:
        raise LedgerError("Un asiento necesita al menos dos partidas.")
    for leg in legs:
        if isinstance(leg.amount, bool) or not isinstance(leg.amount, int) or leg.amount == 0:
            raise LedgerError("Cada partida debe ser un número entero de centavos distinto de cero.")
    if sum(leg.amount for leg in legs) != 0:
        raise LedgerError("El asiento no cuadra: la suma de sus partidas no es cero.")
    # PostgreSQL: the lock, the entry and the balance updates in one round trip, each statement after the one
    # before it (the INSERT after the lock). Accounts in ascending id order: two entries touching the same
    # accounts lock their rows in the same order, so they wait for each other instead of deadlocking (stable: an
    # account's legs keep their order). The postings follow in one INSERT, in that same order (their ids keep
    # the running balance), sent with the caller's next statement (`conn.send`: nobody reads its result, and a
    # failure still rolls the entry back). A refused leg rolls all of it back.
    conn.lock_shared(BUSINESS_DAY_LOCK)  # see _BUSINESS_DAY
    ordered = sorted(legs, key=lambda leg: leg.account_id)
    # One UPDATE per account, not per leg (a payment and its fee from the same account: one statement fewer);
    # each leg's balance after it is then the account's new balance less the legs after it, as leg by leg.
    totals: dict[int, int] = {}
    for leg in ordered:
        totals[leg.account_id] = totals.get(leg.account_id, 0) + leg.amount
    entry, *rows = conn.fetch_each([
        ("INSERT INTO entries (kind, description, posted_at, actor, idempotency_key, business_date)"
         f" VALUES (?, ?, ?, ?, ?, {_BUSINESS_DAY}) RETURNING id",
         (kind, description, posted_at, actor, idempotency_key, posted_at[:10])),
        *(("UPDATE accounts SET balance = balance + ? WHERE id = ? RETURNING balance, held, kind, status",
           (total, account)) for account, total in totals.items())])
    entry_id = entry[0]
    found = dict(zip(totals, rows))
    before = {account: (row[0] - totals[account] if row is not None else 0) for account, row in found.items()}
    postings: list = []
    for leg in ordered:
        row = found[leg.account_id]
        if row is None:
            raise LedgerError(f"La cuenta {leg.account_id} no existe.")
        _, held, kind_, status = row
        balance = before[leg.account_id] = before[leg.account_id] + leg.amount
        if leg.amount < 0 and kind_ in ("ahorros", "plazo_fijo") and balance - held < 0:
            raise InsufficientFunds(
                f"Saldo insuficiente: el disponible es {format_money(balance - held - leg.amount)}."
            )
        if kind_ != "interna" and status != "activa":
            raise LedgerError("La cuenta no está activa.")
        postings += (entry_id, leg.account_id, leg.amount, balance, posted_at, leg.memo)
    conn.send(_insert_postings(len(legs)), postings)
    return entry_id


@lru_cache(maxsize=16)
def _insert_postings(count: int) -> str:
    return ("INSERT INTO postings (entry_id, account_id, amount, balance_after, posted_at, memo) VALUES "
            + ", ".join(["(?, ?, ?, ?, ?, ?)"] * count))


def check_books(conn: Any) -> list[str]:
    """The ledger's own invariants over every row (`cooprogreso check`): entries balance, every stored balance and
    running balance re-derives from the postings, account numbering, no posting without its entry."""
    problems: list[str] = []
    for entry_id, total, count in conn.execute(
        "SELECT e.id, COALESCE(SUM(p.amount), 0), COUNT(p.id) FROM entries e"
        " LEFT JOIN postings p ON p.entry_id = e.id GROUP BY e.id"
        " HAVING COALESCE(SUM(p.amount), 0) != 0 OR COUNT(p.id) < 2"
    ):
        problems.append(_unbalanced(entry_id, count, total))
    for number, stored, derived in conn.execute(
        "SELECT a.number, a.balance, COALESCE(SUM(p.amount), 0) FROM accounts a"
        " LEFT JOIN postings p ON p.account_id = a.id GROUP BY a.id"
        " HAVING a.balance != COALESCE(SUM(p.amount), 0)"
    ):
        problems.append(
            f"cuenta {number}: saldo guardado {format_money(stored)} ≠ suma de partidas {format_money(derived)}"
        )
    for posting_id, number, after, running in conn.execute(
        "SELECT id, number, balance_after, running FROM ("
        "  SELECT p.id, a.number, p.balance_after,"
        "         SUM(p.amount) OVER (PARTITION BY p.account_id ORDER BY p.id) AS running"
        "  FROM postings p JOIN accounts a ON a.id = p.account_id"
        ") AS r WHERE balance_after != running"
    ):
        problems.append(_running(posting_id, number, after, running))
    problems += _check_serials(conn)
    for number, parent in conn.execute(  # a part of a shared internal account (accounts.SHARDS)
        "SELECT a.number, p.number FROM account_shards s JOIN accounts a ON a.id = s.account_id"
        " JOIN accounts p ON p.id = s.parent_id WHERE a.kind != 'interna' OR p.kind != 'interna'"
        " OR s.parent_id IN (SELECT account_id FROM account_shards)"
    ):
        problems.append(f"cuenta {number}: parte de la cuenta {parent}, y una de las dos no es una cuenta interna"
                        " o aquella es a su vez una parte")
    orphan = conn.execute(
        "SELECT COUNT(*) FROM postings p LEFT JOIN entries e ON e.id = p.entry_id WHERE e.id IS NULL"
    ).fetchone()[0]
    if orphan:
        problems.append(f"{orphan} partidas sin asiento")
    return problems


def check_books_since(conn: Any, since: Since) -> list[str]:
    """The same invariants over what came after the last close's checkpoint (the end of day): new entries balance;
    each new posting's running balance follows its account's previous posting; every account touched since (a new
    posting, or opened since) keeps its last posting's balance. A row edited at or below the checkpoint is not
    looked at: `cooprogreso check` (check_books) finds it."""
    problems: list[str] = []
    for entry_id, total, count in conn.execute(
        "SELECT e.id, COALESCE(SUM(p.amount), 0), COUNT(p.id) FROM entries e"
        " LEFT JOIN postings p ON p.entry_id = e.id"
        " WHERE e.id > ? OR e.id IN (SELECT entry_id FROM postings WHERE id > ?) GROUP BY e.id"
        " HAVING COALESCE(SUM(p.amount), 0) != 0 OR COUNT(p.id) < 2",
        (since.entry_id, since.posting_id),
    ):
        problems.append(_unbalanced(entry_id, count, total))
    for posting_id, number, after, running in conn.execute(
        "SELECT id, number, balance_after, running FROM ("
        "  SELECT p.id, a.number, p.balance_after, p.amount + COALESCE((SELECT q.balance_after FROM postings q"
        "    WHERE q.account_id = p.account_id AND q.id < p.id ORDER BY q.id DESC LIMIT 1), 0) AS running"
        "  FROM postings p JOIN accounts a ON a.id = p.account_id WHERE p.id > ?"
        ") AS r WHERE balance_after != running",
        (since.posting_id,),
    ):
        problems.append(_running(posting_id, number, after, running))
    for number, stored, last in conn.execute(
        "SELECT a.number, a.balance, COALESCE((SELECT q.balance_after FROM postings q WHERE q.account_id = a.id"
        " ORDER BY q.id DESC LIMIT 1), 0) FROM accounts a"
        " WHERE a.id > ? OR a.id IN (SELECT account_id FROM postings WHERE id > ?)",
        (since.account_id, since.posting_id),
    ):
        if stored != last:
            problems.append(f"cuenta {number}: saldo guardado {format_money(stored)}"
                            f" ≠ saldo tras su última partida {format_money(last)}")
    problems += _check_serials(conn)  # one row per kind of account: cheap at any size
    orphan = conn.execute(
        "SELECT COUNT(*) FROM postings p LEFT JOIN entries e ON e.id = p.entry_id WHERE p.id > ? AND e.id IS NULL",
        (since.posting_id,),
    ).fetchone()[0]
    if orphan:
        problems.append(f"{orphan} partidas sin asiento")
    return problems


def _unbalanced(entry_id: int, count: int, total: int) -> str:
    return f"asiento {entry_id}: {count} partidas que suman {format_money(total)} (debe ser $0.00)"


def _running(posting_id: int, number: str, after: int, running: int) -> str:
    return (f"partida {posting_id} (cuenta {number}): saldo tras la partida {format_money(after)}"
            f" ≠ acumulado {format_money(running)}")


def _check_serials(conn: Any) -> list[str]:
    return [f"numeración de cuentas {kind}: contador {last} < {count} cuentas abiertas"
            for kind, count, last in conn.execute(
                "SELECT a.kind, COUNT(*), s.last FROM accounts a LEFT JOIN account_serials s ON s.kind = a.kind"
                " GROUP BY a.kind, s.last HAVING s.last IS NULL OR s.last < COUNT(*)")]


invariants.register("libro", check_books, check_books_since)
