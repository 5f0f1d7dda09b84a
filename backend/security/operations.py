"""One flow for every authorised operation: prepare → confirm → code → execute → receipt.

A section plugs in a handler that validates a request and derives the exact figures a code is bound
to and its own typed plan of what to book (`prepare`), books that plan (`execute`), tells an outside
system afterwards where its kind needs one (`after`, optional) and prints its receipt (`receipt`).
This service keeps the pending operation (kind, owner, request, digest of the details, idempotency
key, expiry), so a front end holds only the operation's id and never sends back a copy of backend
state. The code is bound to the operation id and its details: anything that changes between
confirming and booking voids it.
Executing is idempotent: a replayed confirmation returns the first receipt.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from backend.core import files
from backend.core.clock import iso, parse_iso
from backend.core.context import Context, Principal
from backend.core.errors import NotFound, OtpError, ServiceError, SessionExpired, ValidationError
from backend.security import documents
from backend.security.auth import AuthService
from backend.security.otp import PURPOSE_LABELS, Challenge, OtpService, details_digest
from backend.security.receipts import Receipt

if TYPE_CHECKING:
    from backend.core.db import Connection, Row

OP_ID_MAX = 64
log = logging.getLogger("cooprogreso")
PlanT = TypeVar("PlanT")


@dataclass(frozen=True)
class Prepared(Generic[PlanT]):
    """What a handler derives from a request: what the member confirms, and the plan its `execute` books.

    The plan is derived once per `prepare` and executed as it is: `execute` never derives again nor reads
    `view`, which is only what the screen may show. Confirming prepares again under the write lock, unless
    the handler has `recheck` (see Handler)."""

    details: dict[str, Any]  # JSON-able; the code is bound to exactly this
    title: str  # the confirm dialog's question, e.g. «Confirma la transferencia»
    lines: list[tuple[str, str]]  # (label, value) the member confirms, in order
    plan: PlanT  # the handler's own typed plan: everything `execute` books; never leaves the backend
    view: Any = None  # a read-only summary for the screen (never sent back, never booked from)


@dataclass(frozen=True)
class Pending:
    id: str
    kind: str
    title: str
    lines: tuple[tuple[str, str], ...]
    expires_at: datetime
    view: Any = field(default=None, compare=False)


class Handler(Protocol):
    """One kind of operation. Optionally also `after(who, result_id) -> None`: work outside the
    database once the booking is committed (telling an outside system), before the receipt is made;
    if it fails the booking stands and the kind's background pass finishes it.
    Optionally also `recheck(conn, who, plan) -> plan`: under the write lock, instead of preparing again,
    re-check only what can change between the confirmation's `prepare` (outside the lock) and the booking
    (funds, limits, states), refusing as `prepare` would; what the code is bound to is checked by the flow."""

    kind: str
    otp_label: str

    def prepare(self, conn: Connection, who: Principal, request: dict[str, Any]) -> Prepared[Any]: ...

    def execute(self, conn: Connection, who: Principal, plan: Any, key: str) -> int: ...

    def receipt(self, conn: Connection, who: Principal, result_id: int) -> Receipt: ...


RequestT = TypeVar("RequestT")


def parse_request(cls: type[RequestT], request: dict[str, Any]) -> RequestT:
    """The kind's request dataclass back from the JSON the flow keeps; unknown or missing fields refused."""
    try:
        return cls(**request)
    except TypeError as exc:
        raise ValidationError("La solicitud no es válida.") from exc


CHANGED = ("Los datos de la operación cambiaron después de confirmarla; no se realizó. "
           "Vuelve a empezar para revisarla de nuevo.")


class OperationsService:
    def __init__(self, ctx: Context, auth: AuthService, otp: OtpService,
                 loader: Callable[[str], None] | None = None):
        self.ctx = ctx
        self.auth = auth
        self.otp = otp
        self._handlers: dict[str, Handler] = {}
        self._loader = loader  # builds the section that owns a kind not registered yet

    def register(self, handler: Handler) -> None:
        self._handlers[handler.kind] = handler
        PURPOSE_LABELS.setdefault(handler.kind, handler.otp_label)

    # -- the flow -------------------------------------------------------------------------------
    def prepare(self, token: str, kind: str, request: dict[str, Any]) -> Pending:
        """Validate and keep an operation waiting for its code; nothing is booked yet."""
        who = self.auth.principal(token)
        handler = self._handler(kind)
        try:
            request = json.loads(json.dumps(request, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise ValidationError("La solicitud no es válida.") from exc
        prepared = handler.prepare(self.ctx.db.conn, who, request)
        op_id, key = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        now = self.ctx.now()
        expires = now + timedelta(seconds=self.ctx.settings.operation_ttl_seconds)
        with self.auth.writing(who) as conn:
            conn.execute(
                "INSERT INTO operations (id, user_id, actor, kind, request, details_digest, idempotency_key,"
                " created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (op_id, who.user_id, who.username, kind, json.dumps(request, sort_keys=True),
                 details_digest(kind, prepared.details), key, iso(now), iso(expires)))
        return Pending(op_id, kind, prepared.title, tuple(prepared.lines), expires, prepared.view)

    def request_code(self, token: str, op_id: str) -> Challenge:
        """Send the code for a pending operation, after checking nothing changed since it was shown."""
        who = self.auth.principal(token)
        row = self._pending(who, op_id)
        handler = self._handler(row["kind"])
        prepared = handler.prepare(self.ctx.db.conn, who, json.loads(row["request"]))
        if details_digest(row["kind"], prepared.details) != row["details_digest"]:
            self._void(op_id)
            raise ValidationError(CHANGED, code="operation_changed")
        # The session again, read now: one ended since `principal` (another session's «No fui yo», a sign-out
        # elsewhere) makes the member's phone receive no code. Its end committed during the delivery is seen
        # under the lock below, and that code is void before it could confirm anything.
        self.auth.still_open(self.ctx.db.conn, who)
        challenge = self.otp.issue(who.member_id, row["kind"], _bound(op_id, prepared), who.username)
        ended: SessionExpired | None = None
        with self.ctx.db.write() as conn:
            current = conn.execute("SELECT state, challenge_id FROM operations WHERE id = ? FOR UPDATE",
                                   (op_id,)).fetchone()
            try:
                self.auth.still_open(conn, who)
            except SessionExpired as exc:
                ended = exc
            if ended is not None or current["state"] != "pendiente":  # this code confirms nothing
                self.otp.void(conn, challenge.id)
            else:
                conn.execute("UPDATE operations SET challenge_id = ? WHERE id = ?", (challenge.id, op_id))
                if current["challenge_id"]:  # its earlier code can no longer confirm it: void, masked now
                    self.otp.void(conn, current["challenge_id"])
        if ended is not None:
            raise ended
        return challenge

    def resend_code(self, token: str, op_id: str) -> Challenge:
        """A new code for the operation's challenge. The session is checked again before the SMS (one ended since
        `principal` gets none) and under the write lock, as `authorise` does: one ended while the SMS went out
        leaves the challenge void, so that code confirms nothing."""
        who = self.auth.principal(token)
        row = self._pending(who, op_id)
        if not row["challenge_id"]:
            raise OtpError("Solicita primero el código de seguridad.", code="otp_unknown")
        self.auth.still_open(self.ctx.db.conn, who)
        try:
            return self.otp.resend(row["challenge_id"], who.member_id, who.username,
                                   lambda conn: self.auth.still_open(conn, who))
        except OtpError as exc:
            if exc.code not in RENEWABLE:
                raise
        # Its code was typed wrong too often or expired: a new code for the same operation (a new challenge,
        # within the guessing budget, which counts the spent one and its wrong tries); details checked again.
        return self.request_code(token, op_id)

    def authorise(self, token: str, op_id: str, code: str) -> Receipt:
        """Check the code and book the operation once, in one transaction; a replay returns the receipt."""
        who = self.auth.principal(token)
        row = self._own(who, op_id)
        if row["state"] == "ejecutada":
            return self.receipt(token, row["kind"], row["result_id"])
        kind, handler = row["kind"], self._handler(row["kind"])
        request = json.loads(row["request"])
        try:
            self._still_pending(row)  # the row just read: a second read could see a concurrent booking
            if not row["challenge_id"]:
                raise OtpError("Solicita primero el código de seguridad.", code="otp_unknown")
            prepared = handler.prepare(self.ctx.db.conn, who, request)  # clean errors before the lock
        except ServiceError:
            again = self._own(who, op_id)
            if again["state"] == "ejecutada":  # a concurrent confirmation booked it (and spent its funds)
                return self.receipt(token, kind, again["result_id"])
            raise

        def book(conn: Connection) -> int:
            current = conn.execute("SELECT state, result_id FROM operations WHERE id = ?", (op_id,)).fetchone()
            if current["state"] == "ejecutada":
                return current["result_id"]
            self.auth.still_open(conn, who)  # another session's «No fui yo» or password change committed meanwhile
            recheck = getattr(handler, "recheck", None)
            if recheck is not None:  # `prepared`'s details are the code's, checked in this transaction
                plan = recheck(conn, who, prepared.plan)
            else:
                final = handler.prepare(conn, who, request)  # limits and funds again, under the write lock
                if details_digest(kind, final.details) != row["details_digest"]:
                    raise OtpError(CHANGED, code="otp_details_changed")
                plan = final.plan
            result_id = handler.execute(conn, who, plan, row["idempotency_key"])
            conn.execute("UPDATE operations SET state = 'ejecutada', result_id = ?, executed_at = ? WHERE id = ?",
                         (result_id, self.ctx.now_iso(), op_id))
            return result_id

        try:
            result_id = self.otp.verify_then(
                row["challenge_id"], code, member_id=who.member_id, purpose=kind,
                details=_bound(op_id, prepared), actor=who.username, then=book)
        except OtpError:
            again = self._own(who, op_id)
            if again["state"] == "ejecutada":  # a concurrent confirmation of the same operation won
                return self.receipt(token, kind, again["result_id"])
            raise
        after = getattr(handler, "after", None)
        if after is not None:
            try:
                after(who, result_id)
            except Exception:  # booked and committed: the kind's background pass finishes what is left
                log.exception("operation %s %s: the work after booking failed", kind, result_id)
        return handler.receipt(self.ctx.db.conn, who, result_id)  # `who` checked above and under the lock

    # -- receipts -------------------------------------------------------------------------------
    def receipt(self, token: str, kind: str, result_id: int) -> Receipt:
        who = self.auth.principal(token)
        _check_id(result_id)
        return self._handler(kind).receipt(self.ctx.db.conn, who, result_id)

    def save_receipt(self, token: str, kind: str, result_id: int, directory: str) -> str:
        """Write the receipt as a private text file; returns its path."""
        receipt = self.receipt(token, kind, result_id)
        path = files.write_private(directory, receipt.file_stem, ".txt", receipt.text.encode("utf-8"))
        who = self.auth.principal(token)
        self.ctx.audit_now(who.username, "comprobante.guardar", "ok", tipo=kind, referencia=receipt.reference)
        return str(path)

    def download_receipt(self, token: str, kind: str, result_id: int) -> Receipt:
        """The receipt handed to the member's browser as a download (web channel), audited like a save."""
        receipt = self.receipt(token, kind, result_id)
        who = self.auth.principal(token)
        self.ctx.audit_now(who.username, "comprobante.descargar", "ok", tipo=kind, referencia=receipt.reference)
        return receipt

    def receipt_pdf(self, token: str, kind: str, result_id: int) -> documents.Paper:
        """The member's receipt as the tamper-evident PDF a teller prints (its code checked by `cooprogreso verify`),
        for the member to keep; audited like a statement."""
        receipt = self.receipt(token, kind, result_id)
        who = self.auth.principal(token)
        name, ruc = documents.coop_identity(self.ctx.settings)
        paper = documents.render_paper(self.ctx, documents.receipt_document(receipt, coop_name=name, coop_ruc=ruc),
                                       "pdf")
        self.ctx.audit_now(who.username, "comprobante.emitir", "ok", tipo=kind, referencia=receipt.reference,
                           formato="pdf")
        return paper

    # -- helpers ----------------------------------------------------------------------------------
    def _handler(self, kind: str) -> Handler:
        if kind not in self._handlers and self._loader is not None:
            self._loader(kind)
        try:
            return self._handlers[kind]
        except KeyError:
            raise ServiceError("Tipo de operación desconocido.", code="unknown_operation") from None

    def _own(self, who: Principal, op_id: str) -> Row:
        if not isinstance(op_id, str) or not 0 < len(op_id) <= OP_ID_MAX:
            raise NotFound("La operación no existe o no te pertenece.")
        row = self.ctx.db.conn.execute("SELECT * FROM operations WHERE id = ? AND user_id = ?",
                                       (op_id, who.user_id)).fetchone()
        if row is None:
            raise NotFound("La operación no existe o no te pertenece.")
        return row

    def _pending(self, who: Principal, op_id: str) -> Row:
        return self._still_pending(self._own(who, op_id))

    def _still_pending(self, row: Row) -> Row:
        """The operation row, if it can still be confirmed; otherwise the reason, in Spanish."""
        if row["state"] == "ejecutada":
            raise ValidationError("Esta operación ya se realizó.", code="operation_done")
        if row["state"] == "anulada":
            raise ValidationError(CHANGED, code="operation_changed")
        if self.ctx.now() >= parse_iso(row["expires_at"]):
            raise ValidationError("La operación expiró sin confirmarse. Vuelve a empezar.", code="operation_expired")
        return row

    def _void(self, op_id: str) -> None:
        """The operation changed since it was shown: void, with the code it may have (masked now)."""
        with self.ctx.db.write() as conn:
            voided = conn.execute("UPDATE operations SET state = 'anulada' WHERE id = ? AND state = 'pendiente'"
                                  " RETURNING challenge_id", (op_id,)).fetchone()
            if voided and voided[0]:
                self.otp.void(conn, voided[0])


# The refusals of a resend that a new code for the same operation answers.
RENEWABLE = {"otp_void", "otp_expired"}


def _bound(op_id: str, prepared: Prepared) -> dict[str, Any]:
    """What the code is bound to: this operation and its exact details."""
    return {"operation": op_id, **prepared.details}


def _check_id(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise NotFound("El comprobante no existe o no te pertenece.")
