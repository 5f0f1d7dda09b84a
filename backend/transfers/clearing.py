"""Interbank clearing: transfers leave as «Enviada» and end «Acreditada» or «Devuelta».

What leaves through the clearing is any row of a clearing queue (`QUEUES`): interbank transfers and
payments of other institutions' cards. Each queue's table has the same clearing columns (reference,
idempotency_key, user_id, origin_account_id, amount, fee, dest_*, motive, state, attempts, …); a
queue only says its table, its words and what else a return gives back.

Gateways:
- `SimulatedNetwork` (default, embedded): settles `clearing_settle_seconds` after sending. Its return
  rule is deterministic so returns can be demonstrated: a destination account number ending in 99 is
  returned as «Cuenta inexistente», one ending in 98 as «Cuenta cerrada»; every other one is credited.
- `HttpGateway`: POSTs each transfer as JSON with an `Idempotency-Key` header (the transfer's key) to
  `clearing_url`. The gateway answers `{"status": "Enviada" | "Acreditada" | "Devuelta", "reason": …}`.
  A 4xx answer is a rejection (returned); a timeout, a connection error or a 5xx leaves the transfer
  pending to be sent again later with the same key, so it is never executed twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from backend.core import daily_quota, http, notices
from backend.core.accounts import internal_account
from backend.core.clock import iso, parse_iso
from backend.core.context import Context
from backend.core.identity import mask_account
from backend.core.ledger import Leg, post
from backend.core.money import format_money

if TYPE_CHECKING:
    import httpx
    from backend.core.db import Connection, Row

SYSTEM = "sistema:compensacion"
log = logging.getLogger("cooprogreso")


@dataclass(frozen=True)
class Outcome:
    state: str  # Enviada (still pending), Acreditada, Devuelta
    reason: str | None = None


@dataclass(frozen=True)
class Flagged:
    """A pending item the network never settled within `clearing_max_attempts`: for staff to look at."""

    what: str  # «transferencia», «pago de tarjeta»
    reference: str
    attempts: int
    last_error: str | None
    created_at: str


class GatewayUnavailable(Exception):
    """The network could not be reached or did not answer; try again later with the same key."""


@dataclass(frozen=True)
class SettleReport:
    checked: int = 0
    credited: int = 0
    returned: int = 0
    pending: int = 0
    failed: int = 0


class Network(Protocol):
    """Where interbank transfers go: the simulated network, or the real gateway over HTTP."""

    def submit(self, transfer: Row) -> Outcome: ...


class SimulatedNetwork:
    RETURNS = {"99": "Cuenta inexistente en la institución destino", "98": "Cuenta cerrada en la institución destino"}

    def __init__(self, ctx: Context):
        self.ctx = ctx

    def submit(self, transfer: Row) -> Outcome:
        age = self.ctx.now() - parse_iso(transfer["created_at"])
        if age < timedelta(seconds=self.ctx.settings.clearing_settle_seconds):
            return Outcome("Enviada")
        reason = self.RETURNS.get(transfer["dest_account_number"][-2:])
        return Outcome("Devuelta", reason) if reason else Outcome("Acreditada")


class HttpGateway:
    def __init__(self, url: str, token: str, timeout: float):
        self.url, self.token, self.timeout = url, token, timeout

    def submit(self, transfer: Row) -> Outcome:
        import httpx  # deferred: only deployments with a real gateway pay for it

        payload = {k: transfer[k] for k in ("reference", "amount", "dest_institution", "dest_account_type",
                                            "dest_account_number", "dest_name", "dest_id_type", "dest_id_number",
                                            "motive", "created_at")}
        headers = {"Idempotency-Key": transfer["idempotency_key"]}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = http.post(self.url, json=payload, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise GatewayUnavailable(f"sin respuesta de la red: {type(exc).__name__}") from exc
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise GatewayUnavailable(f"la red respondió {response.status_code}")
        if response.status_code >= 400:
            return Outcome("Devuelta", f"Rechazada por la red interbancaria (código {response.status_code})")
        return _outcome(response)


MAX_REASON = 160


def _outcome(response: httpx.Response) -> Outcome:
    """The gateway's answer, checked field by field: any other shape is no answer (retried, then flagged)."""
    from backend.core.text import visible

    try:
        data = response.json()
    except ValueError as exc:
        raise GatewayUnavailable("respuesta ilegible de la red") from exc
    if not isinstance(data, dict):
        raise GatewayUnavailable(f"respuesta con forma inesperada ({type(data).__name__})")
    state, reason = data.get("status"), data.get("reason")
    if not isinstance(state, str) or state not in ("Enviada", "Acreditada", "Devuelta"):
        raise GatewayUnavailable(f"estado desconocido: {visible(repr(state))[:40]}")
    if reason is not None and not isinstance(reason, str):
        raise GatewayUnavailable(f"motivo con forma inesperada ({type(reason).__name__})")
    # The reason reaches the member's history and SMS: printable, one line, bounded.
    reason = " ".join(visible(reason).split())[:MAX_REASON] if reason else None
    return Outcome(state, reason or ("Devuelta por la institución destino" if state == "Devuelta" else None))


def gateway_for(ctx: Context) -> Network:
    s = ctx.settings
    if s.clearing_gateway == "http":
        if not s.clearing_url:
            raise ValueError("Falta configurar clearing_url para la pasarela http.")
        return HttpGateway(s.clearing_url, s.clearing_token, s.clearing_timeout_seconds)
    return SimulatedNetwork(ctx)


@dataclass(frozen=True)
class Queue:
    table: str  # a table with the clearing columns
    audit: str  # audit action prefix: «transferencia.acreditada», «pago_tarjeta.devuelta»
    label: str  # for the member's SMS: «tu transferencia», «tu pago de tarjeta»
    memo: str  # ledger memo of the refund: «Devolución transferencia», «Devolución pago de tarjeta»
    on_return: Callable | None = None  # (conn, row): what else a return gives back
    mask: Callable[[Any], str] = lambda row: f"la cuenta {mask_account(row['dest_account_number'])}"  # to the member
    outgoing: Callable | None = None  # (ctx, row) -> the item as sent (e.g. a sealed number opened)


def _transfer_returned(conn: Connection, transfer: Row) -> None:
    # A returned transfer gives its amount back to the day's limit.
    daily_quota.TRANSFERS.give_back(conn, transfer["user_id"], transfer["created_at"][:10], transfer["amount"],
                                    transfer["kind"])


def _mask_card(row: Row) -> str:
    return f"la tarjeta {row['masked']}"


def _card_payment_out(ctx: Context, row: Row) -> dict:
    """Another bank's card number is stored sealed (backend/security/card_numbers.py): opened only to be sent.

    Sealed for the payment's own member: a number moved from another row (or left in the clear) is
    refused, so nothing is sent; the item is retried and then flagged for staff, booking nothing."""
    from backend.security import card_numbers

    item = {key: row[key] for key in row.keys()}
    item["dest_account_number"] = card_numbers.unseal(card_numbers.number_key(ctx.secret("otp_pepper")),
                                                      item["dest_account_number"], owner=item["user_id"],
                                                      place=card_numbers.PAYMENT)
    return item


QUEUES: tuple[Queue, ...] = (
    Queue("transfers", "transferencia", "tu transferencia", "Devolución transferencia", _transfer_returned),
    Queue("card_payments", "pago_tarjeta", "tu pago de tarjeta", "Devolución pago de tarjeta", None, _mask_card,
          _card_payment_out),
)


class ClearingService:
    def __init__(self, ctx: Context, gateway: Network | None = None) -> None:
        self.ctx = ctx
        self.gateway = gateway or gateway_for(ctx)

    def settle(self, limit: int = 500) -> SettleReport:
        """One settlement pass over every queue's pending items whose next attempt is due."""
        counts = dict(checked=0, credited=0, returned=0, pending=0, failed=0)
        for queue in QUEUES:
            self._settle_queue(queue, limit, counts)
        return SettleReport(**counts)

    def _settle_queue(self, queue: Queue, limit: int, counts: dict) -> None:
        now = self.ctx.now_iso()
        # Claim the due items: another server's pass skips what this one holds (SKIP LOCKED) and, once this
        # commits, what it leased until its next attempt; booking re-checks each item under its row lock.
        lease = iso(self.ctx.now() + timedelta(seconds=self.ctx.settings.clearing_retry_seconds))
        with self.ctx.db.write() as conn:
            pending = conn.execute(
                f"SELECT * FROM {queue.table} WHERE state = 'Enviada' AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
                " AND attempts < ? ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED",
                (now, self.ctx.settings.clearing_max_attempts, limit)).fetchall()
            conn.executemany(f"UPDATE {queue.table} SET next_attempt_at = ? WHERE id = ?",
                             [(lease, t["id"]) for t in pending])
        counts["checked"] += len(pending)
        for transfer in pending:
            # One item's trouble (an answer of any shape, a crash while booking it) is one failed attempt
            # on that item; the items behind it are still processed.
            try:
                outcome = self.gateway.submit(queue.outgoing(self.ctx, transfer) if queue.outgoing else transfer)
                if outcome.state == "Acreditada":
                    counts["credited"] += self._credit(queue, transfer)
                elif outcome.state == "Devuelta":
                    counts["returned"] += self._return(queue, transfer,
                                                       outcome.reason or "Devuelta por la institución destino")
                else:
                    self._retry_later(queue, transfer, None)
                    counts["pending"] += 1
            except GatewayUnavailable as exc:
                self._retry_later(queue, transfer, str(exc))
                counts["failed"] += 1
            except Exception as exc:
                log.error("settlement of %s %s failed", queue.table, transfer["reference"], exc_info=exc)
                self._retry_later(queue, transfer, f"error inesperado: {type(exc).__name__}")
                counts["failed"] += 1

    def _retry_later(self, queue: Queue, transfer: Row, error: str | None) -> None:
        later = iso(self.ctx.now() + timedelta(seconds=self.ctx.settings.clearing_retry_seconds))
        with self.ctx.db.write() as conn:
            attempts = conn.execute(
                f"UPDATE {queue.table} SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?"
                " WHERE id = ? AND state = 'Enviada' RETURNING attempts", (later, error, transfer["id"])).fetchone()
            if error:
                self.ctx.audit(conn, SYSTEM, f"{queue.audit}.envio", "reintento", referencia=transfer["reference"],
                               motivo=error)
            if attempts and attempts[0] >= self.ctx.settings.clearing_max_attempts:
                # No more automatic attempts: staff look at it (`cooprogreso settle` lists it).
                self.ctx.audit(conn, SYSTEM, f"{queue.audit}.envio", "revision_personal",
                               referencia=transfer["reference"], intentos=attempts[0], motivo=error)

    def flagged(self) -> list[Flagged]:
        """Items still pending after `clearing_max_attempts` tries: not retried until staff re-queue them."""
        out: list[Flagged] = []
        for queue in QUEUES:
            for row in self.ctx.db.conn.execute(
                    f"SELECT reference, attempts, last_error, created_at FROM {queue.table}"
                    " WHERE state = 'Enviada' AND attempts >= ? ORDER BY id",
                    (self.ctx.settings.clearing_max_attempts,)):
                out.append(Flagged(queue.label.removeprefix("tu "), row[0], row[1], row[2], row[3]))
        return out

    def requeue(self, reference: str, actor: str = SYSTEM) -> bool:
        """Staff send a flagged item again (after checking with the network); True if one was re-queued."""
        with self.ctx.db.write() as conn:
            for queue in QUEUES:
                row = conn.execute(f"UPDATE {queue.table} SET attempts = 0, next_attempt_at = NULL"
                                   " WHERE reference = ? AND state = 'Enviada' AND attempts >= ? RETURNING id",
                                   (reference, self.ctx.settings.clearing_max_attempts)).fetchone()
                if row:
                    self.ctx.audit(conn, actor, f"{queue.audit}.envio", "reencolada", referencia=reference)
                    return True
        return False

    def _credit(self, queue: Queue, transfer: Row) -> int:
        with self.ctx.db.write() as conn:
            if not _still_pending(conn, queue, transfer["id"]):
                return 0
            entry = post(conn, kind="liquidacion_interbancaria", description="Liquidación interbancaria",
                         posted_at=self.ctx.now_iso(), actor=SYSTEM,
                         legs=[Leg(internal_account(conn, "compensacion_interbancaria"), -transfer["amount"],
                                   f"Liquidación {transfer['reference']}"),
                               Leg(internal_account(conn, "bce"), transfer["amount"],
                                   f"Liquidación {transfer['reference']}")])
            conn.execute(f"UPDATE {queue.table} SET state = 'Acreditada', settled_at = ?, settle_entry_id = ?,"
                         " attempts = attempts + 1 WHERE id = ?", (self.ctx.now_iso(), entry, transfer["id"]))
            self.ctx.audit(conn, SYSTEM, f"{queue.audit}.acreditada", "ok", referencia=transfer["reference"])
        return 1

    def _return(self, queue: Queue, transfer: Row, reason: str) -> int:
        refund_fee = self.ctx.settings.refund_fee_on_return and transfer["fee"] > 0
        with self.ctx.db.write() as conn:
            if not _still_pending(conn, queue, transfer["id"]):
                return 0
            origin, ref = transfer["origin_account_id"], transfer["reference"]
            legs = [Leg(internal_account(conn, "compensacion_interbancaria"), -transfer["amount"], f"Devolución {ref}"),
                    Leg(origin, transfer["amount"], f"{queue.memo} {ref}: {reason}")]
            if refund_fee:
                legs += [Leg(internal_account(conn, "comisiones"), -transfer["fee"], f"Devolución comisión {ref}"),
                         Leg(origin, transfer["fee"], f"Devolución comisión {queue.memo.removeprefix('Devolución ')} {ref}")]
            entry = post(conn, kind="devolucion_interbancaria", description=f"{queue.memo} interbancaria",
                         posted_at=self.ctx.now_iso(), actor=SYSTEM, legs=legs)
            if queue.on_return is not None:
                queue.on_return(conn, transfer)
            conn.execute(f"UPDATE {queue.table} SET state = 'Devuelta', return_reason = ?, settled_at = ?,"
                         " settle_entry_id = ?, attempts = attempts + 1 WHERE id = ?",
                         (reason, self.ctx.now_iso(), entry, transfer["id"]))
            self.ctx.audit(conn, SYSTEM, f"{queue.audit}.devuelta", "ok", referencia=ref, motivo=reason,
                           comision_devuelta=refund_fee)
            # The member's SMS commits with the return (transactional outbox); the delivery worker sends it.
            member = conn.execute("SELECT member_id FROM users WHERE id = ?", (transfer["user_id"],)).fetchone()[0]
            refunded = transfer["amount"] + (transfer["fee"] if refund_fee else 0)
            notices.queue(conn, member, f"Cooprogreso: {queue.label} {ref} a {queue.mask(transfer)} "
                                        f"fue devuelta: {reason}. Acreditamos {format_money(refunded)} en tu cuenta.",
                          self.ctx.now_iso())
        return 1


def _still_pending(conn: Connection, queue: Queue, item_id: int) -> bool:
    """Under the write lock: a concurrent pass may have settled it already."""
    return conn.execute(f"SELECT state FROM {queue.table} WHERE id = ? FOR UPDATE", (item_id,)).fetchone()[0] == "Enviada"
