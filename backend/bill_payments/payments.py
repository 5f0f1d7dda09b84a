"""A service payment's life: booked «pendiente», then «pagado» once the entity confirms, or refunded «fallido».

Booking (inside the caller's write transaction) is one ledger entry from the member's account to the
co-op's collection account for the entity (what the co-op owes it) plus the commission, the payment
row, one row per bill (a unique index: a bill is never paid twice, by anyone) and the daily usage.
Telling the entity happens afterwards, outside the write lock, with the payment's idempotency key:
- confirmed → «pagado»;
- refused for good → a refund entry gives everything back and the payment is «fallido» with the reason;
- no usable answer → stays «pendiente» and is sent again later with the same key (`resend_due`),
  so a payment is never made twice and never lost.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from backend.bill_payments import billers as cat
from backend.bill_payments.bill_gateway import Bill, GatewayUnavailable, PaymentNotice, PaymentRejected, Recaudacion
from backend.bill_payments.billers import Biller
from backend.core import audit, daily_quota, invariants, notices
from backend.core.accounts import booking_accounts, booking_accounts_queries, internal_account
from backend.core.clock import date_text, iso, parse_iso
from backend.core.daily_quota import Quota
from backend.core.db import IntegrityError, insert_numbered
from backend.core.errors import InsufficientFunds, NotFound, ValidationError
from backend.core.identity import mask_account
from backend.core.invariants import Since
from backend.core.ledger import Leg, post
from backend.core.money import format_money
from backend.security.receipts import Receipt

if TYPE_CHECKING:
    from backend.core.context import Context
    from backend.core.db import Connection, Cursor, Params, Row

SYSTEM = "sistema:recaudaciones"
STATES = {"pagado": "Pagado", "pendiente": "Pendiente de confirmación de la entidad", "fallido": "Fallido"}
ORIGINS = {"manual": "Pago en línea", "automatico": "Débito automático"}
# Claims on queues shared by several servers; the SQLite engine strips it (its writers are serial).
SKIP_LOCKED = " FOR UPDATE SKIP LOCKED"


@dataclass(frozen=True)
class Booking:
    """Everything a payment needs, derived and checked before it is booked."""

    user_id: int
    member_id: int
    actor: str
    biller: Biller
    identifier: str
    holder: str
    bills: tuple[Bill, ...]
    account_id: int
    amount: int
    origin: str = "manual"
    schedule_id: int | None = None
    period: str | None = None
    account_number: str = ""  # the debit account's number, when the caller read it with its checks
    internal: tuple[Any, ...] = ()  # booking_accounts_columns((collection, "comisiones")), read with its checks

    @property
    def total(self) -> int:
        return self.amount + self.biller.commission


# -- the limits a payment meets when it is made -------------------------------------------------------
def quota(ctx: Context, conn: Connection, user_id: int) -> Quota:
    """What is left today of the member's daily cupo for service payments (by hand and scheduled alike)."""
    return daily_quota.SERVICES.quota(conn, user_id, ctx.now().date().isoformat(), ctx.settings.limit_servicios_daily)


def usable_biller(conn: Connection, code: str) -> Biller:
    """The entity as the catalogue says now, refused when the co-op no longer collects for it."""
    biller = cat.find(conn, code)
    if biller is None or not biller.active:
        name = f"La entidad {biller.name}" if biller else "La entidad"
        raise ValidationError(f"{name} ya no recibe pagos por Cooprogreso.", field="biller", code="biller_inactive")
    return biller


def member_savings(conn: Connection, member_id: int, account_id: object) -> tuple[int, str, int]:
    """(id, number, available) of one of the member's active savings accounts, or an error at «account»."""
    if isinstance(account_id, bool) or not isinstance(account_id, int):
        raise ValidationError("Selecciona la cuenta de débito.", field="account")
    row = conn.execute("SELECT id, number, balance - held, kind, status FROM accounts WHERE id = ? AND member_id = ?",
                       (account_id, member_id)).fetchone()
    if row is None or row[3] != "ahorros" or row[4] != "activa":
        raise ValidationError("La cuenta de débito no es una de tus cuentas de ahorros activas.", field="account",
                              code="account")
    return row[0], row[1], row[2]


def check_payment(ctx: Context, conn: Connection, *, user_id: int, member_id: int, biller_code: str, identifier: str,
                  bills: tuple[Bill, ...], account_id: object, amount: int,
                  rows: Sequence[Row | tuple[Any, ...] | None] | None = None) -> tuple[Biller, int, str]:
    """Every limit a service payment meets at the moment it is made, by hand or by a schedule (one place:
    a limit lowered after a schedule was set applies to its next run). Inside the booking's transaction;
    raises the refusal (ValidationError, InsufficientFunds), else the entity as it is now and the debit
    account's id and number. Its reads go in one round trip on PostgreSQL (`check_queries`); `rows`: what they
    found, when the caller sent them with its own."""
    if rows is None:
        rows = conn.fetch_each(check_queries(ctx, user_id=user_id, member_id=member_id, biller_code=biller_code,
                                             account_id=account_id))
    found, member = rows  # the member's status and usage, and the account (NULLs when not theirs): one row
    status, used, account = (None, None, None) if member is None else (
        member[0], member[1], None if member[2] is None else (member[2], member[3], member[4], member[5], member[6]))
    biller = cat.from_row(found) if found else None
    if biller is None or not biller.active:
        name = f"La entidad {biller.name}" if biller else "La entidad"
        raise ValidationError(f"{name} ya no recibe pagos por Cooprogreso.", field="biller", code="biller_inactive")
    if status != "activo":
        raise ValidationError("Tu registro de socio no está activo. Acércate a una agencia.", code="inactive")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValidationError("Ingresa el monto del pago.", field="amount")
    if amount > biller.max_amount:
        raise ValidationError(f"El pago supera el máximo por pago para {biller.name} "
                              f"({format_money(biller.max_amount)}).", field="amount", code="limit_tx")
    for bill in bills:
        if conn.execute("SELECT 1 FROM bill_payment_items WHERE biller_code = ? AND identifier = ?"
                        " AND bill_number = ? AND released = 0", (biller.code, identifier, bill.number)).fetchone():
            raise ValidationError(f"La factura de {bill.period} ya fue pagada o tiene un pago en proceso.",
                                  field="bills", code="bill_paid")
    Quota(ctx.settings.limit_servicios_daily, used or 0).check(amount, "El pago")
    if isinstance(account_id, bool) or not isinstance(account_id, int):
        raise ValidationError("Selecciona la cuenta de débito.", field="account")
    if account is None or account[3] != "ahorros" or account[4] != "activa":
        raise ValidationError("La cuenta de débito no es una de tus cuentas de ahorros activas.", field="account",
                              code="account")
    debit_id, number, available = account[0], account[1], account[2]
    if amount + biller.commission > available:
        raise InsufficientFunds(f"Saldo insuficiente: tu disponible es {format_money(available)} y el pago "
                                f"necesita {format_money(amount + biller.commission)}.", field="amount")
    return biller, debit_id, number


def check_queries(ctx: Context, *, user_id: int, member_id: int, biller_code: str,
                  account_id: object) -> list[tuple[str, Params]]:
    """What `check_payment` reads: the entity; then in one statement (each costs the client and the server more
    than its work) the member's status, today's usage and the debit account (its columns NULL when it is not the
    member's): `member_columns`."""
    (columns, params), (join, join_params) = member_columns(ctx, user_id=user_id, account_id=account_id)
    return [(f"{cat.SELECT} WHERE code = ?", (str(biller_code or ""),)),
            (f"SELECT {columns} FROM members m{join} WHERE m.id = ?", (*params, *join_params, member_id))]


def member_columns(ctx: Context, *, user_id: int, account_id: object) -> tuple[tuple[str, Params], tuple[str, Params]]:
    """The second row `check_payment` reads, for a caller that reads it with its own statement: its 7 columns and
    the debit account's LEFT JOIN on `members m`, each with its parameters."""
    used_sql, used_params = daily_quota.SERVICES.used_query(user_id, ctx.now().date().isoformat())
    return ((f"m.status, ({used_sql}), a.id, a.number, a.balance - a.held, a.kind, a.status", tuple(used_params)),
            (" LEFT JOIN accounts a ON a.id = ? AND a.member_id = m.id",
             (account_id if isinstance(account_id, int) and not isinstance(account_id, bool) else -1,)))


def bills_text(bills: Sequence[Bill]) -> str:
    return ", ".join(f"{b.period} ({b.number})" for b in bills) or "Recarga"


def book(ctx: Context, conn: Connection, b: Booking, key: str) -> int:
    """Debit the member and owe the entity, in the caller's transaction. Returns the payment id."""
    now = ctx.now_iso()
    label = f"{b.biller.name} {b.identifier}"
    wanted = (b.biller.account_id, "comisiones")[:2 if b.biller.commission else 1]  # an account is made on first
    number, parts = b.account_number, list(b.internal) or None  # use: only those needed
    if not number or parts is None:  # PostgreSQL: the parts it credits and the account's number in one round trip
        *parts, (number,) = conn.fetch_each([*booking_accounts_queries(wanted, b.member_id),
                                             ("SELECT number FROM accounts WHERE id = ?", (b.account_id,))])
    collection, *comisiones = booking_accounts(conn, wanted, b.member_id, parts)
    legs = [Leg(b.account_id, -b.amount, f"Pago {label}"), Leg(collection, b.amount, f"Recaudación {label}")]
    if b.biller.commission:
        legs += [Leg(b.account_id, -b.biller.commission, f"Comisión pago {b.biller.name}"),
                 Leg(comisiones[0], b.biller.commission, f"Comisión pago {b.biller.name}")]
    entry = post(conn, kind="pago_servicio", description=f"Pago de servicio {b.biller.name}", legs=legs,
                 posted_at=now, actor=b.actor, idempotency_key=key)
    with conn.pipeline():  # PostgreSQL: the payment row (its reference made by the INSERT) and the day's usage
        inserted = _insert(ctx, conn, b, key, state="pendiente", entry_id=entry, reason=None, now=now)
        daily_quota.SERVICES.add(conn, b.user_id, now[:10], b.amount)  # scheduled ones use the day's cupo too
    payment_id: int = inserted.fetchone()[0]
    for bill in b.bills:
        try:
            conn.execute("INSERT INTO bill_payment_items (payment_id, biller_code, identifier, bill_number)"
                         " VALUES (?, ?, ?, ?)", (payment_id, b.biller.code, b.identifier, bill.number))
        except IntegrityError:
            raise ValidationError(f"La factura {bill.number} ya fue pagada o tiene un pago en proceso.",
                                  field="bills", code="bill_paid") from None
    audit.record_later(conn, at=now, actor=b.actor, action="servicio.pago", outcome="ok",  # with the COMMIT
                       pago=payment_id, entidad=b.biller.code, identificador=b.identifier, monto=b.amount,
                       comision=b.biller.commission, origen=b.origin, cuenta=number[-4:])
    return payment_id


def record_failure(ctx: Context, conn: Connection, b: Booking, key: str, reason: str) -> int:
    """A scheduled payment that could not be made (nothing debited): kept for the history."""
    return int(_insert(ctx, conn, b, key, state="fallido", entry_id=None, reason=reason,
                       now=ctx.now_iso()).fetchone()[0])


_COLUMNS = ("idempotency_key", "user_id", "biller_code", "identifier", "holder", "bills", "account_id", "amount",
            "commission", "origin", "schedule_id", "period", "state", "reason", "entry_id", "created_at",
            "next_attempt_at")


def _insert(ctx: Context, conn: Connection, b: Booking, key: str, *, state: str, entry_id: int | None,
            reason: str | None, now: str) -> Cursor:
    """The payment row, its reference «PS» + yymmdd + its id made by the INSERT itself (`insert_numbered`); the
    cursor brings its id (fetch it after a `pipeline` block)."""
    return conn.execute(
        insert_numbered(conn.engine, "bill_payments", _COLUMNS),
        (f"PS{now[2:4]}{now[5:7]}{now[8:10]}", key, b.user_id, b.biller.code, b.identifier, b.holder,
         json.dumps([x.to_json() for x in b.bills]), b.account_id, b.amount,
         b.biller.commission if entry_id else 0, b.origin, b.schedule_id, b.period, state, reason, entry_id, now,
         now if state == "pendiente" else None))


# -- telling the entity ----------------------------------------------------------------------------
def submit(ctx: Context, gateway: Recaudacion, payment_id: int) -> str:
    """Send one pending payment to the entity (outside any transaction); returns its state afterwards."""
    row = ctx.db.conn.execute("SELECT * FROM bill_payments WHERE id = ?", (payment_id,)).fetchone()
    if row is None or row["state"] != "pendiente":
        return row["state"] if row else "fallido"
    notice = PaymentNotice(row["idempotency_key"], row["reference"], row["biller_code"], row["identifier"],
                           tuple(b["number"] for b in json.loads(row["bills"])), row["amount"])
    try:
        confirmation = gateway.pay(notice)
    except GatewayUnavailable as exc:
        later = iso(ctx.now() + timedelta(seconds=ctx.settings.services_retry_seconds))
        with ctx.db.write() as conn:
            conn.execute("UPDATE bill_payments SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?"
                         " WHERE id = ? AND state = 'pendiente'", (later, str(exc)[:200], payment_id))
            ctx.audit(conn, SYSTEM, "servicio.pago.envio", "reintento", pago=payment_id, motivo=str(exc)[:200])
        return "pendiente"
    except PaymentRejected as exc:
        return _refund(ctx, payment_id, str(exc)[:200] or "La entidad rechazó el pago.")
    with ctx.db.write() as conn:
        done = conn.execute(
            "UPDATE bill_payments SET state = 'pagado', biller_auth = ?, confirmed_at = ?, attempts = attempts + 1,"
            " next_attempt_at = NULL, last_error = NULL WHERE id = ? AND state = 'pendiente' RETURNING user_id",
            (confirmation.authorization, ctx.now_iso(), payment_id)).fetchone()
        if done:
            ctx.audit(conn, SYSTEM, "servicio.pago.confirmado", "ok", pago=payment_id,
                      autorizacion=confirmation.authorization)
            if row["origin"] == "automatico":
                notices.queue(conn, _member_of(conn, row["user_id"]),
                              f"Cooprogreso: débito automático de {format_money(row['amount'] + row['commission'])}"
                              f" por tu servicio {_biller_name(conn, row['biller_code'])} {row['identifier']}:"
                              f" pagado. Ref. {row['reference']}.", ctx.now_iso())
    return "pagado"


def _refund(ctx: Context, payment_id: int, reason: str) -> str:
    with ctx.db.write() as conn:
        row = conn.execute("SELECT p.*, b.account_id AS collection, b.name AS biller_name FROM bill_payments p"
                           " JOIN billers b ON b.code = p.biller_code WHERE p.id = ?", (payment_id,)).fetchone()
        if row["state"] != "pendiente":
            return row["state"]
        label = f"{row['biller_name']} {row['identifier']}"
        legs = [Leg(row["collection"], -row["amount"], f"Devolución recaudación {label}"),
                Leg(row["account_id"], row["amount"], f"Devolución pago {label}: {reason}")]
        if row["commission"]:
            legs += [Leg(internal_account(conn, "comisiones"), -row["commission"], "Devolución comisión pago"),
                     Leg(row["account_id"], row["commission"], f"Devolución comisión pago {row['biller_name']}")]
        entry = post(conn, kind="devolucion_pago_servicio", description=f"Devolución pago {row['biller_name']}",
                     legs=legs, posted_at=ctx.now_iso(), actor=SYSTEM)
        conn.execute("UPDATE bill_payments SET state = 'fallido', reason = ?, refund_entry_id = ?,"
                     " attempts = attempts + 1, next_attempt_at = NULL WHERE id = ?", (reason, entry, payment_id))
        conn.execute("UPDATE bill_payment_items SET released = 1 WHERE payment_id = ?", (payment_id,))
        if row["schedule_id"] is not None:
            conn.execute("UPDATE bill_schedule_runs SET outcome = 'fallido', reason = ? WHERE schedule_id = ?"
                         " AND period = ? AND payment_id = ?", (reason, row["schedule_id"], row["period"], payment_id))
        daily_quota.SERVICES.give_back(conn, row["user_id"], row["created_at"][:10], row["amount"])
        ctx.audit(conn, SYSTEM, "servicio.pago.rechazado", "ok", pago=payment_id, motivo=reason)
        notices.queue(conn, _member_of(conn, row["user_id"]),
                      f"Cooprogreso: {row['biller_name']} rechazó tu pago {row['reference']} ({reason}). "
                      f"Devolvimos {format_money(row['amount'] + row['commission'])} a tu cuenta.", ctx.now_iso())
    return "fallido"


def resend_due(ctx: Context, gateway: Recaudacion, limit: int = 200) -> int:
    """Send again the pending payments whose retry time has come; returns how many were tried.

    Each is claimed first (its next try pushed out) so concurrent passes do not send it together;
    a pass killed after claiming leaves it for the next try, with the same key.
    """
    now = ctx.now()
    with ctx.db.write() as conn:
        rows = conn.execute("SELECT id FROM bill_payments WHERE state = 'pendiente' AND next_attempt_at <= ?"
                            " ORDER BY next_attempt_at, id LIMIT ?" + SKIP_LOCKED, (iso(now), limit)).fetchall()
        later = iso(now + timedelta(seconds=ctx.settings.services_retry_seconds))
        for row in rows:
            conn.execute("UPDATE bill_payments SET next_attempt_at = ? WHERE id = ?", (later, row[0]))
    for row in rows:
        submit(ctx, gateway, row[0])
    return len(rows)


def _member_of(conn: Connection, user_id: int) -> int:
    return conn.execute("SELECT member_id FROM users WHERE id = ?", (user_id,)).fetchone()[0]


def _biller_name(conn: Connection, code: str) -> str:
    return conn.execute("SELECT name FROM billers WHERE code = ?", (code,)).fetchone()[0]


# -- reading -----------------------------------------------------------------------------------------
def receipt(ctx: Context, conn: Connection, user_id: int, payment_id: int) -> Receipt:
    row = conn.execute(
        "SELECT p.*, b.name AS biller_name, b.id_label, a.number AS account_number FROM bill_payments p"
        " JOIN billers b ON b.code = p.biller_code JOIN accounts a ON a.id = p.account_id"
        " WHERE p.id = ? AND p.user_id = ?", (payment_id, user_id)).fetchone()
    if row is None:
        raise NotFound("El pago no existe o no te pertenece.")
    bills = [Bill.from_json(b) for b in json.loads(row["bills"])]
    lines = [("Entidad", row["biller_name"]), (row["id_label"], row["identifier"]), ("Titular", row["holder"]),
             ("Facturas" if len(bills) > 1 else "Factura", bills_text(bills)),
             ("Cuenta de débito", f"Ahorros {mask_account(row['account_number'])}"),
             ("Monto", format_money(row["amount"])), ("Comisión", format_money(row["commission"])),
             ("Total debitado", format_money(row["amount"] + row["commission"]) if row["entry_id"] else "$0.00"),
             ("Origen", ORIGINS[row["origin"]]), ("Estado", STATES[row["state"]])]
    if row["reason"]:
        lines.append(("Motivo", row["reason"]))
    if row["refund_entry_id"]:
        lines.append(("Devolución", "el valor debitado volvió a tu cuenta"))
    if row["biller_auth"]:
        lines.append(("Autorización entidad", row["biller_auth"]))
    from backend.security.receipts import make

    return make(ctx.secret("receipt_secret"), kind="pago_servicio", title="Pago de Servicios", lines=lines,
                reference=row["reference"], created_at=parse_iso(row["created_at"]), result_id=row["id"])


def check(conn: Any) -> list[str]:
    """Lines for `cooprogreso check`: the daily usage kept equals what was paid (by hand or scheduled) and not
    refunded; each payment's state has its entries; a scheduled period is paid once."""
    return _check(conn, None)


def check_since(conn: Any, since: Since) -> list[str]:
    """The same for what was touched since the last close's checkpoint: payments created, booked or refunded since,
    their days' usage and their schedules' periods."""
    return _check(conn, since)


def _check(conn: Any, since: Since | None) -> list[str]:
    touched = keys = schedules = ""
    args: tuple[str | int, ...] = ()
    if since is not None:
        touched = " AND (p.created_at >= ? OR p.entry_id > ? OR p.refund_entry_id > ?)"
        args = (since.day, since.entry_id, since.entry_id)
        keys = (" JOIN (SELECT user_id, day FROM bill_usage WHERE day >= ? UNION SELECT p.user_id,"
                f" substr(p.created_at, 1, 10) FROM bill_payments p WHERE 1 = 1{touched}) AS k"
                " ON k.user_id = u.user_id AND k.day = u.day")
        schedules = (" AND schedule_id IN (SELECT p.schedule_id FROM bill_payments p"
                     f" WHERE p.schedule_id IS NOT NULL{touched})")
    problems = []
    for user_id, day, kept, derived in conn.execute(
            f"SELECT u.user_id, u.day, u.amount, COALESCE(SUM(p.amount), 0) FROM bill_usage u{keys}"
            " LEFT JOIN bill_payments p ON p.user_id = u.user_id AND substr(p.created_at, 1, 10) = u.day"
            " AND p.entry_id IS NOT NULL AND p.refund_entry_id IS NULL"
            " GROUP BY u.user_id, u.day, u.amount HAVING u.amount != COALESCE(SUM(p.amount), 0)",
            (since.day, *args) if since else ()):
        problems.append(f"cupo de pagos de servicios del usuario {user_id} ({date_text(day)}): {format_money(kept)} usado"
                        f" ≠ {format_money(derived)} pagado")
    for user_id, day, derived in conn.execute(
            "SELECT p.user_id, substr(p.created_at, 1, 10), SUM(p.amount) FROM bill_payments p"
            f" WHERE p.entry_id IS NOT NULL AND p.refund_entry_id IS NULL{touched} AND NOT EXISTS (SELECT 1"
            " FROM bill_usage u WHERE u.user_id = p.user_id AND u.day = substr(p.created_at, 1, 10))"
            " GROUP BY p.user_id, substr(p.created_at, 1, 10)", args):
        problems.append(f"cupo de pagos de servicios del usuario {user_id} ({date_text(day)}): nada usado"
                        f" ≠ {format_money(derived)} pagado")
    for payment_id, state in conn.execute(
            "SELECT p.id, p.state FROM bill_payments p WHERE ((p.state != 'fallido' AND p.entry_id IS NULL)"
            " OR (p.state = 'fallido' AND p.entry_id IS NOT NULL AND p.refund_entry_id IS NULL)"
            f" OR (p.state != 'fallido' AND p.refund_entry_id IS NOT NULL)){touched}", args):
        problems.append(f"pago de servicio {payment_id}: estado «{state}» sin el asiento que le corresponde")
    for schedule_id, period, count in conn.execute(
            "SELECT schedule_id, period, COUNT(*) FROM bill_payments WHERE schedule_id IS NOT NULL"
            f" AND entry_id IS NOT NULL AND refund_entry_id IS NULL{schedules} GROUP BY schedule_id, period"
            " HAVING COUNT(*) > 1", args):
        problems.append(f"pago programado {schedule_id}, período {period}: pagado {count} veces")
    return problems



invariants.register("servicios", check, check_since)
