"""One-time codes bound to an operation (dynamic linking), reused by every money operation.

A challenge stores only an HMAC of its code and a digest of the operation's purpose and details, so
a code for $10 to account A is worthless for $11 or for account B. Codes expire, are single use and
allow `otp_max_tries` wrong tries before the challenge is void.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from backend.core import redaction
from backend.core.clock import iso, parse_iso
from backend.core.context import Context
from backend.core.errors import OtpError, ServiceError
from backend.core.identity import mask_phone
from backend.core.text import duration, fold_digits

if TYPE_CHECKING:
    from backend.core.db import Connection, Row

T = TypeVar("T")
CHALLENGE_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")  # what secrets.token_urlsafe makes

PURPOSE_LABELS = {
    "afiliacion": "tu afiliación a Cooprogreso en Línea",
    "transferencia": "tu transferencia",
    "beneficiario": "registrar o cambiar tu beneficiario",
}


@dataclass(frozen=True)
class Challenge:
    id: str
    purpose: str
    masked_phone: str
    expires_at: datetime
    tries_left: int
    resend_at: datetime  # when "Reenviar código" becomes available again


# One encoder: json.dumps with options builds a new one per call (every confirmation digests its details).
_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False)


def details_digest(purpose: str, details: dict[str, Any]) -> str:
    canonical = _CANONICAL.encode({"purpose": purpose, "details": details})
    return hashlib.sha256(canonical.encode()).hexdigest()


class OtpService:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    # -- issuing -------------------------------------------------------------------------------
    def issue(self, member_id: int, purpose: str, details: dict[str, Any], actor: str) -> Challenge:
        """Create a challenge and deliver its code; if delivery fails nothing is stored."""
        phone = self._phone(member_id)
        now = self.ctx.now()
        self._check_budget(member_id, purpose, actor, now)
        code = _new_code()
        challenge_id = secrets.token_urlsafe(16)
        sent = self._deliver(phone, purpose, code, actor, challenge_id)
        s = self.ctx.settings
        with self.ctx.db.write() as conn:
            redaction.sweep(conn, iso(now - timedelta(seconds=s.otp_ttl_seconds)))
            redaction.bind(conn, sent, challenge_id)
            conn.execute(
                "INSERT INTO otp_challenges (id, member_id, purpose, details_digest, code_hash, phone,"
                " created_at, expires_at, tries_left, last_sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    challenge_id, member_id, purpose, details_digest(purpose, details),
                    self._hash(challenge_id, code), phone, iso(now),
                    iso(now + timedelta(seconds=s.otp_ttl_seconds)), s.otp_max_tries, iso(now),
                ),
            )
            self.ctx.audit(conn, actor, "otp.emitir", "ok", challenge=challenge_id, purpose=purpose,
                           canal=self.ctx.channel.name)
        return self.get(challenge_id)

    def resend(self, challenge_id: str, member_id: int, actor: str,
               still_open: Callable[[Connection], None] | None = None) -> Challenge:
        """A fresh code for the same operation; rate limited, and it does not restore tries.

        `still_open(conn)` checks the caller's session again under the write lock: if it raises (the session ended
        while the code was sent), the challenge is void and its codes masked, and that error is raised."""
        s = self.ctx.settings
        row = self._row(challenge_id, member_id)
        now = self.ctx.now()
        self._ensure_open(row, now)
        if row["resends"] >= s.otp_max_resends:
            raise OtpError("Ya no se puede reenviar este código. Inicia la operación de nuevo.",
                           code="otp_resend_limit", tries_left=row["tries_left"])
        wait_until = parse_iso(row["last_sent_at"]) + timedelta(seconds=s.otp_resend_interval_seconds)
        if now < wait_until:
            seconds = int((wait_until - now).total_seconds())
            raise OtpError(f"Espera {seconds} s antes de pedir otro código.", code="otp_resend_wait",
                           tries_left=row["tries_left"])
        code = _new_code()
        sent = self._deliver(row["phone"], row["purpose"], code, actor, challenge_id)
        ended: ServiceError | None = None
        with self.ctx.db.write() as conn:
            redaction.forget(conn, challenge_id)  # the code it replaces is dead: masked now
            redaction.bind(conn, sent, challenge_id)
            try:
                if still_open is not None:
                    still_open(conn)
            except ServiceError as exc:  # the code just sent must confirm nothing: void, and masked now
                ended = exc
                self._void(conn, challenge_id, now)
                self.ctx.audit(conn, actor, "otp.reenviar", "sesion_terminada", challenge=challenge_id)
            else:
                # Only a code still open: a confirmation or a void that committed while the SMS was on its way
                # wins, and its challenge is not given a new code and a new lifetime.
                replaced = conn.execute(
                    "UPDATE otp_challenges SET code_hash = ?, resends = resends + 1, last_sent_at = ?,"
                    " expires_at = ? WHERE id = ? AND verified_at IS NULL AND consumed_at IS NULL"
                    " AND voided_at IS NULL AND tries_left > 0",
                    (self._hash(challenge_id, code), iso(now),
                     iso(now + timedelta(seconds=s.otp_ttl_seconds)), challenge_id),
                ).rowcount
                if replaced:
                    self.ctx.audit(conn, actor, "otp.reenviar", "ok", challenge=challenge_id)
                else:
                    redaction.forget(conn, challenge_id)  # the code just sent is dead too
                    ended = self._closure(conn, challenge_id, now)
                    self.ctx.audit(conn, actor, "otp.reenviar", ended.code, challenge=challenge_id)
        if ended is not None:
            raise ended
        return self.get(challenge_id)

    def get(self, challenge_id: str) -> Challenge:
        row = self.ctx.db.conn.execute("SELECT * FROM otp_challenges WHERE id = ?", (_cid(challenge_id),)).fetchone()
        if row is None:
            raise OtpError("El código no existe. Solicita uno nuevo.", code="otp_unknown")
        return Challenge(
            id=row["id"], purpose=row["purpose"], masked_phone=mask_phone(row["phone"]),
            expires_at=parse_iso(row["expires_at"]), tries_left=row["tries_left"],
            resend_at=parse_iso(row["last_sent_at"])
            + timedelta(seconds=self.ctx.settings.otp_resend_interval_seconds),
        )

    # -- verifying -------------------------------------------------------------------------------
    def verify_then(
        self,
        challenge_id: str,
        code: str,
        *,
        member_id: int,
        purpose: str,
        details: dict[str, Any],
        actor: str,
        then: Callable[[Connection], T],
    ) -> T:
        """Check the code and, in the same transaction, run `then` (the operation it authorises).

        A wrong code is committed as a spent try before the error is raised; a failing `then` rolls
        back everything, the code included, so the member can fix the cause and try again.
        """
        failure: OtpError | None = None
        code = fold_digits(code)  # «٧٩٤١٤٤» is the code 794144, whatever keyboard typed it
        with self.ctx.db.write() as conn:
            row = conn.execute(
                "SELECT * FROM otp_challenges WHERE id = ? AND member_id = ? FOR UPDATE", (_cid(challenge_id), member_id)
            ).fetchone()
            failure = self._refusal(conn, row, code, purpose, details)
            if failure is None:
                conn.execute("UPDATE otp_challenges SET verified_at = ? WHERE id = ?",
                             (self.ctx.now_iso(), challenge_id))
                redaction.forget(conn, row["id"])
                self.ctx.audit(conn, actor, "otp.verificar", "ok", challenge=challenge_id, purpose=purpose)
                return then(conn)
            self.ctx.audit(conn, actor, "otp.verificar", failure.code, challenge=challenge_id, purpose=purpose)
        raise failure

    def _refusal(self, conn: Connection, row: Row | None, code: str, purpose: str, details: dict[str, Any]) -> OtpError | None:
        now = self.ctx.now()
        if row is None or row["purpose"] != purpose:
            return OtpError("El código no corresponde a esta operación. Solicita uno nuevo.", code="otp_unknown")
        try:
            self._ensure_open(row, now)
        except OtpError as exc:
            return exc
        if not hmac.compare_digest(row["details_digest"], details_digest(purpose, details)):
            self._void(conn, row["id"], now)
            return OtpError(
                "Los datos de la operación cambiaron después de pedir el código; el código quedó anulado. "
                "Confirma de nuevo para recibir otro.", code="otp_details_changed")
        if hmac.compare_digest(row["code_hash"], self._hash(row["id"], code)):
            return None
        tries = row["tries_left"] - 1
        if tries <= 0:
            conn.execute("UPDATE otp_challenges SET failures = failures + 1 WHERE id = ?", (row["id"],))
            self._void(conn, row["id"], now)
            return OtpError("Código incorrecto. Agotaste los intentos; el código quedó anulado. "
                            "Solicita uno nuevo.", code="otp_exhausted")
        conn.execute("UPDATE otp_challenges SET tries_left = ?, failures = failures + 1 WHERE id = ?", (tries, row["id"]))
        left = "Te queda 1 intento" if tries == 1 else f"Te quedan {tries} intentos"
        return OtpError(f"Código incorrecto. {left}.", code="otp_wrong", tries_left=tries)

    def void(self, conn: Connection, challenge_id: str) -> None:
        """Inside the caller's write: a challenge that can no longer be used (its operation changed or got a
        new code) is void, and its code masked in the outbox now rather than when it expires."""
        self._void(conn, challenge_id, self.ctx.now())

    def _void(self, conn: Connection, challenge_id: str, now: datetime) -> None:
        conn.execute("UPDATE otp_challenges SET tries_left = 0, voided_at = ? WHERE id = ? AND voided_at IS NULL",
                     (iso(now), challenge_id))
        redaction.forget(conn, challenge_id)

    def _closure(self, conn: Connection, challenge_id: str, now: datetime) -> OtpError:
        """Why a challenge that closed under a resend is closed, as its row now says."""
        row = conn.execute("SELECT * FROM otp_challenges WHERE id = ?", (challenge_id,)).fetchone()
        if row is None:
            return OtpError("El código no existe. Solicita uno nuevo.", code="otp_unknown")
        try:
            self._ensure_open(row, now)
        except OtpError as exc:
            return exc
        return OtpError("Este código fue anulado. Solicita uno nuevo.", code="otp_void")

    def _ensure_open(self, row: Row, now: datetime) -> None:
        if row["verified_at"] or row["consumed_at"]:
            raise OtpError("Este código ya fue utilizado. Solicita uno nuevo.", code="otp_used")
        if row["voided_at"] or row["tries_left"] <= 0:
            raise OtpError("Este código fue anulado. Solicita uno nuevo.", code="otp_void")
        if now >= parse_iso(row["expires_at"]):
            raise OtpError("El código expiró. Solicita uno nuevo.", code="otp_expired")

    # -- helpers ---------------------------------------------------------------------------------
    def _check_budget(self, member_id: int, purpose: str, actor: str, now: datetime) -> None:
        """The guessing budget: what it counts is guessing, not use. A code used to confirm costs nothing; a
        wrong code typed, or a code sent and never used, costs one, in a short window and per day. A refusal
        says when the member may ask again (the co-op's wall-clock time)."""
        s = self.ctx.settings
        # Only the codes that cost something (a wrong try, or never used): a code used right costs nothing in any
        # limit, and reading every one a member used today made each new code cost more as the day went on.
        rows = self.ctx.db.conn.execute(
            "SELECT created_at, failures, CASE WHEN verified_at IS NULL THEN 1 ELSE 0 END FROM otp_challenges"
            " WHERE member_id = ? AND created_at > ? AND (failures > 0 OR verified_at IS NULL) ORDER BY created_at",
            (member_id, iso(now - timedelta(days=1)))).fetchall()
        spent = [(parse_iso(r[0]), int(r[1]), int(r[2])) for r in rows]  # (sent, wrong, unused)
        limits = (
            ("limite_ventana", timedelta(seconds=s.otp_window_seconds), s.otp_max_per_window,
             lambda wrong, unused: wrong + unused),
            ("limite_fallos_dia", timedelta(days=1), s.otp_max_failures_per_day, lambda wrong, unused: wrong),
            ("limite_sin_usar_dia", timedelta(days=1), s.otp_max_unused_per_day, lambda wrong, unused: unused),
        )
        for outcome, span, limit, cost in limits:
            recent = [(sent, cost(wrong, unused)) for sent, wrong, unused in spent if sent > now - span]
            total = sum(c for _, c in recent)
            if total < limit:
                continue
            retry = now + span
            for sent, c in recent:  # the oldest leave the span first
                total -= c
                if total < limit:
                    retry = sent + span
                    break
            self.ctx.audit_now(actor, "otp.emitir", outcome, purpose=purpose)
            raise OtpError(_budget_message(outcome, retry, now), code="otp_rate")

    def _row(self, challenge_id: str, member_id: int) -> Row:
        row = self.ctx.db.conn.execute(
            "SELECT * FROM otp_challenges WHERE id = ? AND member_id = ?", (_cid(challenge_id), member_id)
        ).fetchone()
        if row is None:
            raise OtpError("El código no existe. Solicita uno nuevo.", code="otp_unknown")
        return row

    def _phone(self, member_id: int) -> str:
        row = self.ctx.db.conn.execute("SELECT mobile FROM members WHERE id = ?", (member_id,)).fetchone()
        if row is None or not row[0]:
            raise OtpError("No tienes un celular registrado en Cooprogreso. Acércate a una agencia.",
                           code="otp_no_phone")
        return row[0]

    def _deliver(self, phone: str, purpose: str, code: str, actor: str, challenge_id: str) -> int | None:
        """Send the SMS; the outbox row that shows the code, if the channel keeps one."""
        ttl = duration(self.ctx.settings.otp_ttl_seconds)  # the words the help uses (backend/help/faq.py)
        body = (f"Cooprogreso: tu código de seguridad para {PURPOSE_LABELS.get(purpose, purpose)} "
                f"es {code}. Vence en {ttl}. No lo compartas con nadie.")
        try:
            sent = self.ctx.channel.send(self.ctx.db, phone, body, self.ctx.now_iso())
        except Exception as exc:
            self.ctx.audit_now(actor, "otp.enviar", "error_envio", challenge=challenge_id,
                               canal=self.ctx.channel.name, motivo=str(exc))
            raise
        return sent if isinstance(sent, int) else None

    def _hash(self, challenge_id: str, code: str) -> str:
        # "surrogatepass": whatever was typed is hashed (and is a wrong code), never a crash.
        return hmac.digest(self.ctx.secret("otp_pepper"), f"{challenge_id}:{code}".encode("utf-8", "surrogatepass"),
                           "sha256").hex()  # hmac.new(...).hexdigest() in one C call


def _cid(challenge_id: object) -> str:
    """A challenge id as typed or sent back by a screen; anything malformed names no challenge."""
    return challenge_id if isinstance(challenge_id, str) and CHALLENGE_ID.fullmatch(challenge_id) else ""


def _budget_message(outcome: str, retry: datetime, now: datetime) -> str:
    """When the member may ask for a code again: rounded up to the minute, with the date if not today."""
    retry = (retry + timedelta(seconds=59)).replace(second=0, microsecond=0)
    when = f"a las {retry:%H:%M}" if retry.date() == now.date() else f"el {retry:%d/%m/%Y} a las {retry:%H:%M}"
    if outcome == "limite_ventana":
        return (f"Pediste varios códigos sin usarlos o escribiste códigos incorrectos. Podrás pedir otro {when}.")
    if outcome == "limite_fallos_dia":
        return (f"Escribiste demasiados códigos incorrectos hoy. Podrás pedir otro {when}, "
                "o acércate a una agencia.")
    return f"Pediste demasiados códigos sin usarlos hoy. Podrás pedir otro {when}, o acércate a una agencia."


def _new_code() -> str:
    # A TOTP over a fresh random secret is a uniformly random 6-digit code that is never stored.
    import pyotp  # deferred: only needed when a code is sent

    return pyotp.TOTP(pyotp.random_base32(), digits=6).now()
