"""Tills (cajas de ventanilla): opened with counted cash, closed by counting it by denomination.

A teller's till is an internal `accounts` row; cash in it is the negative of its balance (the
co-op's side of a member's deposit). Opening moves the counted amount from the vault («Caja y
bancos») to the till; closing returns what was counted and books any difference to «Faltantes y
sobrantes de caja» in the same entry, so the till ends at zero. A difference needs a supervisor's
note (the close waits in the approvals queue); only the till's own teller can close it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from backend.branch import counter_ops
from backend.core import accounts
from backend.core.context import Context, Principal
from backend.core.errors import ValidationError
from backend.core.ledger import Leg, post
from backend.core.money import format_money, parse_money
from backend.core.text import ascii_digits, clean_text
from backend.security.roles import CAJERO, SUPERVISOR, staff_only

if TYPE_CHECKING:
    from backend.core.db import Connection, Row
    from backend.security.auth import AuthService

# US dollar bills and coins, in cents; $1 counts bills and coins together.
DENOMINATIONS: list[tuple[int, str]] = [
    (10000, "$100"), (5000, "$50"), (2000, "$20"), (1000, "$10"), (500, "$5"), (100, "$1"),
    (50, "$0.50"), (25, "$0.25"), (10, "$0.10"), (5, "$0.05"), (1, "$0.01"),
]
MAX_PIECES = 100_000


@dataclass(frozen=True)
class TillStatus:
    id: int
    teller: str
    status: str  # abierta / cerrada
    business_date: str
    opening: int
    cash: int  # what the ledger says is in the till now
    deposits: int
    withdrawals: int
    operations: int
    pending: int  # operations waiting for a supervisor (a close with a difference included)
    opened_at: str
    closed_at: str | None
    counted: int | None
    difference: int | None


@dataclass(frozen=True)
class CloseResult:
    state: str  # cerrada, or por_aprobar when the difference waits for a supervisor's note
    expected: int
    counted: int
    difference: int  # counted − expected: negative is a faltante, positive a sobrante
    op_id: int | None


def amount_cents(text: object, *, max_cents: int, allow_zero: bool = False) -> int:
    """What was typed as money, look-alike digits folded to ASCII, in cents."""
    if isinstance(text, str) and "-" in text:
        raise ValidationError("El monto no puede ser negativo.", field="monto")
    folded = ascii_digits(text, field="monto", label="El monto", keep=".,$")
    return parse_money(folded, allow_zero=allow_zero, max_cents=max_cents)


def till_cash(conn: Connection, account_id: int) -> int:
    return -conn.execute("SELECT balance FROM accounts WHERE id = ?", (account_id,)).fetchone()[0]


def open_till_row(conn: Connection, staff_id: int) -> Row | None:
    return conn.execute("SELECT * FROM tills WHERE staff_id = ? AND status = 'abierta'", (staff_id,)).fetchone()


def counted_total(counts: dict) -> int:
    """The cash counted, in cents: each key a denomination's value in cents (an int, or its ASCII digits), once."""
    known = {value for value, _ in DENOMINATIONS}
    if not isinstance(counts, dict):
        raise ValidationError("Denominación desconocida.", field="denominaciones")
    total, seen = 0, set()
    for key, pieces in counts.items():
        value = key if isinstance(key, int) and not isinstance(key, bool) else \
            int(key) if isinstance(key, str) and key.isascii() and key.isdigit() else None
        if value not in known or value in seen:
            raise ValidationError("Denominación desconocida.", field="denominaciones")
        seen.add(value)
        if isinstance(pieces, bool) or not isinstance(pieces, int) or not 0 <= pieces <= MAX_PIECES:
            raise ValidationError("Cada cantidad debe ser un número entero entre 0 y 100000.", field=f"d{value}")
        total += value * pieces
    return total


class TillsService:
    def __init__(self, ctx: Context, auth: AuthService) -> None:
        self.ctx = ctx
        self.auth = auth

    @staff_only(CAJERO)
    def open_till(self, who: Principal, amount: str) -> TillStatus:
        if isinstance(amount, str) and not amount.strip():  # an empty field is not a counted $0.00
            raise ValidationError("Escribe el efectivo contado; si abres la caja sin efectivo, escribe 0.",
                                  field="monto")
        cents = amount_cents(amount, allow_zero=True, max_cents=self.ctx.settings.till_max_opening)
        with self.ctx.db.write() as conn:
            if open_till_row(conn, who.user_id):
                raise ValidationError("Tu caja ya está abierta.", code="caja_abierta")
            day = counter_ops.business_date(conn, self.ctx)
            account = conn.execute("SELECT till_account_id FROM staff_users WHERE id = ?", (who.user_id,)).fetchone()[0]
            if account is None:
                account = accounts.open_till_account(conn, who.username, day)
                conn.execute("UPDATE staff_users SET till_account_id = ? WHERE id = ?", (account, who.user_id))
            if till_cash(conn, account) != 0:
                raise ValidationError("La caja tiene un saldo pendiente; comunícate con tu supervisor.")
            entry = None
            if cents:
                vault = accounts.internal_account(conn, "caja")
                entry = post(conn, kind="apertura_caja", description=f"Apertura de caja {who.username}",
                             legs=[Leg(vault, cents, "Entrega de efectivo a ventanilla"),
                                   Leg(account, -cents, "Apertura de caja")],
                             posted_at=self.ctx.now_iso(), actor=who.username)
            conn.execute("INSERT INTO tills (staff_id, account_id, business_date, status, opening_amount,"
                         " open_entry_id, opened_at) VALUES (?, ?, ?, 'abierta', ?, ?, ?)",
                         (who.user_id, account, day, cents, entry, self.ctx.now_iso()))
            self.ctx.audit(conn, who.username, "caja.abrir", "ok", rol=who.role, monto=cents, dia=day)
            opened = open_till_row(conn, who.user_id)
            assert opened is not None  # inserted just above
            return self._status(conn, opened)

    @staff_only(CAJERO)
    def my_till(self, who: Principal) -> TillStatus | None:
        with self.ctx.db.read() as conn:
            row = open_till_row(conn, who.user_id) or conn.execute(
                "SELECT * FROM tills WHERE staff_id = ? ORDER BY id DESC LIMIT 1", (who.user_id,)).fetchone()
            return self._status(conn, row) if row else None

    @staff_only(CAJERO)
    def close_till(self, who: Principal, counts: dict, note: str = "") -> CloseResult:
        """Close the caller's own till; with a difference, it waits for a supervisor's note."""
        counted = counted_total(counts)
        note = clean_text(note or "", field="nota", label="La observación", max_len=200)
        with self.ctx.db.write() as conn:
            # The till's row first, as every cash operation takes it: one in flight commits before the cash is
            # read (on PostgreSQL the close read the figure before it and was then refused as changed).
            conn.execute("SELECT id FROM tills WHERE staff_id = ? AND status = 'abierta' FOR UPDATE", (who.user_id,))
            till = open_till_row(conn, who.user_id)
            if till is None:
                raise ValidationError("No tienes una caja abierta.", code="sin_caja")
            if conn.execute("SELECT 1 FROM counter_ops WHERE till_id = ? AND state = 'por_aprobar'",
                            (till["id"],)).fetchone():
                raise ValidationError("Hay operaciones de tu caja esperando al supervisor; espera su decisión.",
                                      code="pendientes")
            expected = till_cash(conn, till["account_id"])
            difference = counted - expected
            request = {"counts": {str(k): v for k, v in counts.items() if v}, "expected": expected,
                       "counted": counted, "note": note}
            if difference == 0:
                op = counter_ops.insert(conn, self.ctx, kind="cierre_caja", state="ejecutada", maker_id=who.user_id,
                                        member_id=None, key=f"cierre:{till['id']}",
                                        till_id=till["id"], request=request)
                entry = book_close(conn, self.ctx, till, request, note, None, who.username)
                counter_ops.mark_executed(conn, self.ctx, op, entry)
                self.ctx.audit(conn, who.username, "caja.cerrar", "ok", rol=who.role, contado=counted, diferencia=0)
                return CloseResult("cerrada", expected, counted, 0, op)
            op = counter_ops.insert(conn, self.ctx, kind="cierre_caja", state="por_aprobar", maker_id=who.user_id,
                                    member_id=None, key=f"cierre:{till['id']}:{self.ctx.now_iso()}",
                                    till_id=till["id"], amount=abs(difference), request=request)
            self.ctx.audit(conn, who.username, "caja.cerrar", "por_aprobar", rol=who.role, contado=counted,
                           esperado=expected, diferencia=difference, operacion=op)
            return CloseResult("por_aprobar", expected, counted, difference, op)

    @staff_only(SUPERVISOR)
    def tills_of_day(self, who: Principal) -> list[TillStatus]:
        with self.ctx.db.read() as conn:
            day = counter_ops.business_date(conn, self.ctx)
            rows = conn.execute("SELECT * FROM tills WHERE business_date = ? OR status = 'abierta' ORDER BY id",
                                (day,)).fetchall()
            return [self._status(conn, r) for r in rows]

    def _status(self, conn: Connection, till: Row) -> TillStatus:
        teller = conn.execute("SELECT username FROM staff_users WHERE id = ?", (till["staff_id"],)).fetchone()[0]
        sums = conn.execute(
            "SELECT COALESCE(SUM(CASE WHEN kind = 'deposito' AND state = 'ejecutada' THEN amount ELSE 0 END), 0),"
            " COALESCE(SUM(CASE WHEN kind = 'retiro' AND state = 'ejecutada' THEN amount ELSE 0 END), 0),"
            " COALESCE(SUM(CASE WHEN kind IN ('deposito', 'retiro') AND state = 'ejecutada' THEN 1 ELSE 0 END), 0),"
            " COALESCE(SUM(CASE WHEN state = 'por_aprobar' THEN 1 ELSE 0 END), 0)"
            " FROM counter_ops WHERE till_id = ?", (till["id"],)).fetchone()
        cash = till_cash(conn, till["account_id"]) if till["status"] == "abierta" else 0
        return TillStatus(till["id"], teller, till["status"], till["business_date"], till["opening_amount"], cash,
                          sums[0], sums[1], sums[2], sums[3], till["opened_at"], till["closed_at"],
                          till["counted_amount"], till["difference"])


def book_close(conn: Connection, ctx: Context, till: Row, request: dict[str, Any], note: str,
               supervisor_id: int | None, actor: str) -> int | None:
    """Return the counted cash to the vault and book the difference; the till ends at zero."""
    expected, counted = till_cash(conn, till["account_id"]), request["counted"]
    if expected != request["expected"]:
        raise ValidationError("El saldo de la caja cambió desde el conteo; el cajero debe contar de nuevo.",
                              code="caja_cambio")
    difference = counted - expected
    legs = []
    if expected:
        legs.append(Leg(till["account_id"], expected, "Cierre de caja"))
    if counted:
        legs.append(Leg(accounts.internal_account(conn, "caja"), -counted, "Efectivo devuelto a bóveda"))
    if difference:
        legs.append(Leg(accounts.internal_account(conn, "faltantes_sobrantes"), difference,
                        ("Sobrante" if difference > 0 else "Faltante") + f" de caja: {format_money(abs(difference))}"))
    entry = None
    if len(legs) >= 2:
        entry = post(conn, kind="cierre_caja", description=f"Cierre de caja {till['id']}", legs=legs,
                     posted_at=ctx.now_iso(), actor=actor)
    conn.execute("UPDATE tills SET status = 'cerrada', expected_amount = ?, counted_amount = ?, denominations = ?,"
                 " difference = ?, note = ?, noted_by = ?, close_entry_id = ?, closed_at = ? WHERE id = ?",
                 (expected, counted, json.dumps(request["counts"], sort_keys=True), difference, note or None,
                  supervisor_id, entry, ctx.now_iso(), till["id"]))
    return entry


def approve_close(conn: Connection, ctx: Context, op: counter_ops.CounterOp, checker: Principal, note: str) -> int | None:
    till = conn.execute("SELECT * FROM tills WHERE id = ?", (op.till_id,)).fetchone()
    teller = conn.execute("SELECT username FROM staff_users WHERE id = ?", (till["staff_id"],)).fetchone()[0]
    entry = book_close(conn, ctx, till, op.request, note, checker.user_id, teller)
    counter_ops.mark_executed(conn, ctx, op.id, entry)
    return entry
