"""«Centro de seguridad»: the member sees and controls their own access.

Sign-ins and failed attempts (kept by `auth.login` in `sign_ins`), the open sessions with «Cerrar las demás
sesiones» (a closed session learns it at its next call: `auth.principal` ends it with a message), the change
of password (current password, then a code through the one operations flow), SMS alerts, and «No fui yo»
(locks online access, opens a reclamo in Contacto, tells the member what happens next). Everything is
audited; every row read or changed is the principal's own (`AND user_id = ?`). The atención staff read a
member's sign-ins here too, never a password or a code.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from backend.core import notices
from backend.core.clock import iso, parse_iso
from backend.core.context import Context, Principal
from backend.core.errors import AuthError, NotFound, ValidationError
from backend.core.identity import mask_account
from backend.core.money import format_money, parse_money
from backend.security.auth import AuthService
from backend.security.operations import OperationsService, Prepared
from backend.security.origins import CHANNELS
from backend.security.passwords import check_policy, cost_of, hash_password, verify_password
from backend.security.receipts import Receipt, make
from backend.security.roles import ATENCION, staff_only

PASSWORD_KIND = "cambio_contrasena"
SIGN_IN_RESULTS = {
    "ok": "Ingreso correcto",
    "contrasena_incorrecta": "Contraseña incorrecta",
    "bloqueo": "Usuario bloqueado por intentos",
    "bloqueado": "Intento con usuario bloqueado",
    "socio_inactivo": "Socio inactivo",
}
PASSWORD_RULES = (
    "De 8 a 128 caracteres.",
    "Combina letras y números.",
    "Sin tu usuario ni tu número de identificación.",
    "Distinta de la contraseña actual.",
)
LIST_LIMIT = 30
WATERMARK = "alertas_movimientos_hasta"  # meta: the last posting the movement-alert pass looked at
FLOOR = "alertas_movimientos_piso"  # meta: where the pass started; it never looks at postings up to it
ALERT_BATCH = 5000  # postings looked at per pass (the worker comes back for the rest)
ALERT_RESCAN = 5000  # ids below the watermark read again each pass, for transactions that committed late
FORGET_BATCH = 1000  # old sign-ins deleted per transaction: the write lock is never held for long
FORGET_ACTOR = "sistema:retencion"

# A reclamo opened inside the caller's transaction: (conn, settings, user_id, username, body, now) ->
# (case number, deadline). Contacto's `file_claim`, handed in by backend/service.py (areas do not import
# each other, and security imports no area).
FileClaim = Callable[[Any, Any, int, str, str, datetime], tuple[str, date]]


@dataclass(frozen=True)
class SignIn:
    id: int
    at: datetime
    channel: str  # as shown: «SSH», «Navegador»…
    address: str  # an IP address or ""
    result: str  # as shown: «Ingreso correcto»…
    ok: bool


@dataclass(frozen=True)
class SessionInfo:
    id: int
    started_at: datetime
    last_seen_at: datetime
    channel: str
    address: str
    current: bool  # the session asking


# The masked card a card's account belongs to (its own, or its diferidos'), NULL for any other account: a member
# knows a card by its number, not by the two ledger accounts the co-op keeps for it (4400000016, 4400000024).
CARD_OF = ("CASE WHEN a.kind = 'tarjeta' THEN (SELECT c.masked_pan FROM cards c WHERE c.account_id = a.id"
           " OR c.installment_account_id = a.id) END")


def place(number: str, masked_pan: str | None, *, short: bool = False) -> str:
    """Where a movement was, as the member knows it: «cuenta ******0019», «tarjeta 3261 XXXX XXXX 6989»; short, for
    a column of 10: «******0019», «Tarj *6989»."""
    if masked_pan:
        return f"Tarj *{masked_pan[-4:]}" if short else f"tarjeta {masked_pan}"
    return mask_account(number) if short else f"cuenta {mask_account(number)}"


@dataclass(frozen=True)
class Movement:
    id: int  # the posting's id
    at: datetime
    account: str  # where, masked, for a column of 10 (`place`)
    amount: int  # cents, signed (negative: out of the account)
    description: str


@dataclass(frozen=True)
class Alerts:
    movement_threshold: int | None  # cents; None: no movement alerts
    sign_in_sms: bool


@dataclass(frozen=True)
class NotMe:
    case_number: str
    due_on: date
    message: str  # what happens next, in Spanish, for the member


class PasswordHandler:
    """The change of password as an authorised operation: the code is bound to this user and new password.

    The request holds the new password's hash and a proof the service made after checking the current
    password (an HMAC over the user, the stored hash and the new hash): a request built by anyone else, or
    one whose stored hash changed meanwhile, is refused. No password in clear is ever stored."""

    kind = PASSWORD_KIND
    otp_label = "cambiar tu contraseña"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def proof(self, user_id: int, stored_hash: str, new_hash: str) -> str:
        key = self.ctx.secret("otp_pepper")
        return hmac.new(key, f"contrasena:{user_id}:{stored_hash}:{new_hash}".encode(), "sha256").hexdigest()

    def prepare(self, conn: Any, who: Principal, request: dict[str, Any]) -> Prepared[str]:
        new_hash, proof = request.get("new_hash"), request.get("proof")
        row = conn.execute("SELECT password_hash FROM users WHERE id = ?", (who.user_id,)).fetchone()
        if not isinstance(new_hash, str) or not isinstance(proof, str) or cost_of(new_hash) is None or row is None \
                or not hmac.compare_digest(proof, self.proof(who.user_id, row[0], new_hash)):
            raise ValidationError("El cambio de contraseña ya no es válido. Vuelve a empezar.", code="operation_changed")
        digest = hashlib.sha256(new_hash.encode()).hexdigest()[:16]
        return Prepared(details={"usuario": who.username, "nueva": digest}, title="Confirma el cambio de contraseña",
                        lines=[("Usuario", who.username), ("Cambio", "Nueva contraseña")], plan=new_hash)

    def execute(self, conn: Any, who: Principal, plan: str, key: str) -> int:
        """`plan`: the new password's hash, its proof checked by `prepare` under this write lock."""
        now = self.ctx.now()
        conn.execute("UPDATE users SET password_hash = ?, failed_logins = 0 WHERE id = ?",
                     (plan, who.user_id))
        ended = conn.execute("UPDATE sessions SET ended_at = ?, end_reason = 'cambio_contrasena' WHERE user_id = ?"
                             " AND ended_at IS NULL AND id != ? RETURNING id", (iso(now), who.user_id, who.session_id)
                             ).fetchall()
        self.ctx.audit(conn, who.username, "contrasena.cambiar", "ok", member_id=who.member_id,
                       sesiones_cerradas=len(ended))
        notices.queue(conn, who.member_id, (
            f"Cooprogreso: tu contraseña de Cooprogreso en línea cambió el {now:%d/%m/%Y %H:%M}. Si no fuiste tú, "
            "llama a la cooperativa."), iso(now))
        return conn.execute("SELECT MAX(id) FROM audit_log WHERE actor = ? AND action = 'contrasena.cambiar'",
                            (who.username,)).fetchone()[0]

    def receipt(self, conn: Any, who: Principal, result_id: int) -> Receipt:
        row = conn.execute("SELECT at FROM audit_log WHERE id = ? AND actor = ? AND action = 'contrasena.cambiar'",
                           (result_id, who.username)).fetchone()
        if row is None:
            raise NotFound("El comprobante no existe o no te pertenece.")
        at = parse_iso(row[0])
        return make(self.ctx.secret("receipt_secret"), kind=PASSWORD_KIND, title="Cambio de contraseña",
                    lines=[("Usuario", who.username), ("Resultado", "Contraseña cambiada; tus otras sesiones se cerraron")],
                    reference=f"CC-{result_id:08d}", created_at=at, result_id=result_id)


class SecurityCenterService:
    def __init__(self, ctx: Context, auth: AuthService, ops: OperationsService, file_claim: FileClaim) -> None:
        self.ctx = ctx
        self.auth = auth
        self.ops = ops
        self.file_claim = file_claim
        self.passwords = PasswordHandler(ctx)
        ops.register(self.passwords)

    # -- sign-ins and sessions --------------------------------------------------------------------------------
    def sign_ins(self, token: str, limit: int = LIST_LIMIT) -> list[SignIn]:
        """The member's latest sign-ins and failed attempts, newest first."""
        who = self.auth.principal(token)
        return _sign_ins(self.ctx, who.user_id, limit)

    def sessions(self, token: str) -> list[SessionInfo]:
        """The member's open sessions (this one first), with their last activity."""
        who = self.auth.principal(token)
        limit = iso(self.ctx.now() - timedelta(seconds=self.ctx.settings.session_idle_seconds))
        rows = self.ctx.db.conn.execute(
            "SELECT id, started_at, last_seen_at, channel, client_address FROM sessions WHERE user_id = ?"
            " AND ended_at IS NULL AND last_seen_at >= ? ORDER BY last_seen_at DESC, id DESC",
            (who.user_id, limit)).fetchall()
        found = [SessionInfo(r[0], parse_iso(r[1]), parse_iso(r[2]), CHANNELS.get(r[3] or "local", "Desconocido"),
                             r[4] or "", r[0] == who.session_id) for r in rows]
        return sorted(found, key=lambda s: not s.current)

    def close_session(self, token: str, session_id: int) -> None:
        """Close one of the member's other sessions; another member's id is «not found», like a missing one."""
        who = self.auth.principal(token)
        if isinstance(session_id, bool) or not isinstance(session_id, int) or session_id == who.session_id:
            raise NotFound("La sesión no existe o no es tuya.")
        with self.auth.writing(who) as conn:
            done = conn.execute("UPDATE sessions SET ended_at = ?, end_reason = 'cerrada_por_socio' WHERE id = ?"
                                " AND user_id = ? AND ended_at IS NULL RETURNING id",
                                (self.ctx.now_iso(), session_id, who.user_id)).fetchone()
            self.ctx.audit(conn, who.username, "sesion.cerrar", "ok" if done else "no_encontrada",
                           member_id=who.member_id, sesion=session_id)
        if done is None:
            raise NotFound("La sesión no existe o no es tuya.")

    def close_other_sessions(self, token: str) -> int:
        """«Cerrar las demás sesiones»: every open session of the member but this one; how many closed."""
        who = self.auth.principal(token)
        with self.auth.writing(who) as conn:  # two sessions closing each other at once: the first one wins
            closed = conn.execute("UPDATE sessions SET ended_at = ?, end_reason = 'cerrada_por_socio' WHERE user_id = ?"
                                  " AND ended_at IS NULL AND id != ? RETURNING id",
                                  (self.ctx.now_iso(), who.user_id, who.session_id)).fetchall()
            self.ctx.audit(conn, who.username, "sesion.cerrar_demas", "ok", member_id=who.member_id, cerradas=len(closed))
        return len(closed)

    # -- password -------------------------------------------------------------------------------------------
    @staticmethod
    def password_rules() -> tuple[str, ...]:
        return PASSWORD_RULES

    def prepare_password_change(self, token: str, current: str, new: str, repeat: str) -> Any:
        """Check the current password and the new one against the rules, then an operation waiting for its code.
        A wrong current password counts as a failed sign-in: enough of them lock the user and end its sessions."""
        who = self.auth.principal(token)
        row = self.ctx.db.conn.execute(
            "SELECT u.password_hash, m.id_number FROM users u JOIN members m ON m.id = u.member_id WHERE u.id = ?",
            (who.user_id,)).fetchone()
        if not isinstance(current, str) or not current or not verify_password(current, row["password_hash"]):
            self._wrong_current(who)
        check_policy(new, username=who.username, id_number=row["id_number"])
        if new != repeat:
            raise ValidationError("La confirmación no coincide con la nueva contraseña.", field="repeat")
        if new == current:
            raise ValidationError("La nueva contraseña debe ser distinta de la actual.", field="password")
        s = self.ctx.settings
        new_hash = hash_password(new, log_n=s.scrypt_log_n, r=s.scrypt_r, p=s.scrypt_p)
        proof = self.passwords.proof(who.user_id, row["password_hash"], new_hash)
        return self.ops.prepare(token, PASSWORD_KIND, {"new_hash": new_hash, "proof": proof})

    def _wrong_current(self, who: Principal) -> None:
        s = self.ctx.settings
        now = self.ctx.now()
        with self.ctx.db.write() as conn:
            failures = conn.execute("UPDATE users SET failed_logins = failed_logins + 1 WHERE id = ?"
                                    " RETURNING failed_logins", (who.user_id,)).fetchone()[0]
            locked = failures >= s.max_failed_logins
            if locked:
                conn.execute("UPDATE users SET locked_until = ?, failed_logins = 0 WHERE id = ?",
                             (iso(now + timedelta(minutes=s.lockout_minutes)), who.user_id))
                conn.execute("UPDATE sessions SET ended_at = ?, end_reason = 'bloqueo' WHERE user_id = ?"
                             " AND ended_at IS NULL", (iso(now), who.user_id))
                notices.queue(conn, who.member_id, (
                    f"Cooprogreso: tu usuario de Cooprogreso en línea se bloqueó por {s.max_failed_logins} intentos "
                    f"fallidos de tu contraseña actual. Podrás ingresar de nuevo en {s.lockout_minutes} minutos."),
                    iso(now))
            self.ctx.audit(conn, who.username, "contrasena.cambiar", "bloqueo" if locked else "contrasena_incorrecta",
                           member_id=who.member_id, intentos=failures)
        if locked:
            raise AuthError("Tu usuario se bloqueó por intentos fallidos. Ingresa nuevamente más tarde.",
                            code="locked")
        raise ValidationError("La contraseña actual no es correcta.", field="current")

    # -- alerts ---------------------------------------------------------------------------------------------
    def alerts(self, token: str) -> Alerts:
        who = self.auth.principal(token)
        row = self.ctx.db.conn.execute("SELECT movement_threshold, sign_in_sms FROM security_alerts WHERE user_id = ?",
                                       (who.user_id,)).fetchone()
        return Alerts(row[0], bool(row[1])) if row else Alerts(None, False)

    def set_alerts(self, token: str, amount: str, sign_in_sms: bool) -> Alerts:
        """Movement alerts at or above `amount` (empty: none) and an SMS at every sign-in."""
        who = self.auth.principal(token)
        if not isinstance(sign_in_sms, bool):
            raise ValidationError("Indica si quieres un SMS en cada ingreso.", field="sign_in")
        threshold = None
        if isinstance(amount, str) and amount.strip():
            threshold = parse_money(amount)
        elif not isinstance(amount, str):
            raise ValidationError("El monto debe escribirse como texto, por ejemplo 100.00.", field="monto")
        now = self.ctx.now_iso()
        with self.auth.writing(who) as conn:
            conn.execute("INSERT INTO security_alerts (user_id, movement_threshold, sign_in_sms, updated_at)"
                         " VALUES (?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET movement_threshold ="
                         " excluded.movement_threshold, sign_in_sms = excluded.sign_in_sms, updated_at = excluded.updated_at",
                         (who.user_id, threshold, int(sign_in_sms), now))
            self.ctx.audit(conn, who.username, "alertas.configurar", "ok", member_id=who.member_id,
                           monto=threshold, ingreso=int(sign_in_sms))
        return Alerts(threshold, sign_in_sms)

    # -- «No fui yo» ------------------------------------------------------------------------------------------
    def movements(self, token: str, limit: int = LIST_LIMIT) -> list[Movement]:
        """The member's latest movements on any of their accounts, newest first (to point at one)."""
        who = self.auth.principal(token)
        rows = self.ctx.db.conn.execute(
            f"SELECT p.id, p.posted_at, a.number, p.amount, e.description, {CARD_OF} FROM postings p"
            " JOIN accounts a ON a.id = p.account_id JOIN entries e ON e.id = p.entry_id"
            " WHERE a.member_id = ? ORDER BY p.id DESC LIMIT ?", (who.member_id, limit)).fetchall()
        return [Movement(r[0], parse_iso(r[1]), place(r[2], r[5], short=True), r[3], r[4]) for r in rows]

    def not_me(self, token: str, what: str, item_id: int) -> NotMe:
        """«No fui yo» on one of the member's sign-ins (`sign_in`) or movements (`movement`): online access is
        locked (every session ends, this one too; staff unlock it at an agency), a reclamo is opened in
        Contacto, and the member is told by SMS and on screen what happens next."""
        who = self.auth.principal(token)
        if what not in ("sign_in", "movement") or isinstance(item_id, bool) or not isinstance(item_id, int):
            raise NotFound("No encontramos ese registro entre los tuyos.")
        conn = self.ctx.db.conn
        if what == "sign_in":
            row = conn.execute("SELECT at, channel, client_address, result FROM sign_ins WHERE id = ? AND user_id = ?",
                               (item_id, who.user_id)).fetchone()
            if row is None:
                raise NotFound("No encontramos ese registro entre los tuyos.")
            where = CHANNELS.get(row[1], "Desconocido") + (f" desde {row[2]}" if row[2] else "")
            subject = (f"un ingreso a Cooprogreso en línea del {parse_iso(row[0]):%d/%m/%Y %H:%M} ({where}, "
                       f"{SIGN_IN_RESULTS.get(row[3], row[3]).lower()})")
        else:
            row = conn.execute(f"SELECT p.posted_at, a.number, p.amount, {CARD_OF} FROM postings p JOIN accounts a"
                               " ON a.id = p.account_id WHERE p.id = ? AND a.member_id = ?",
                               (item_id, who.member_id)).fetchone()
            if row is None:
                raise NotFound("No encontramos ese registro entre los tuyos.")
            subject = (f"un movimiento de {format_money(row[2])} en la {place(row[1], row[3])} del "
                       f"{parse_iso(row[0]):%d/%m/%Y %H:%M}")
        body = f"No fui yo: el socio no reconoce {subject}. Acceso en línea bloqueado a su pedido."
        now = self.ctx.now()
        with self.auth.writing(who) as conn:  # «No fui yo» in two sessions at once: one reclamo, one SMS
            conn.execute("UPDATE users SET locked_until = ?, failed_logins = 0 WHERE id = ?",
                         ("9999-12-31 23:59:59", who.user_id))  # until the staff unlock it (Atención al socio)
            ended = conn.execute("UPDATE sessions SET ended_at = ?, end_reason = 'no_fui_yo' WHERE user_id = ?"
                                 " AND ended_at IS NULL RETURNING id", (iso(now), who.user_id)).fetchall()
            number, due = self.file_claim(conn, self.ctx.settings, who.user_id, who.username, body, now)
            self.ctx.audit(conn, who.username, "no_fui_yo", "ok", member_id=who.member_id, tipo=what, registro=item_id,
                           caso=number, sesiones_cerradas=len(ended))
            notices.queue(conn, who.member_id, (
                f"Cooprogreso: bloqueamos tu acceso en línea a tu pedido y abrimos el reclamo N.º {number}. Te "
                f"responderemos hasta el {due:%d/%m/%Y}. Para volver a ingresar, acércate a una agencia con tu "
                "cédula."), iso(now))
        message = (f"Bloqueamos tu acceso a Cooprogreso en línea y abrimos el reclamo N.º {number}.\n"
                   "Qué pasa ahora:\n"
                   "• Nadie puede ingresar con tu usuario, ni tú, hasta que lo desbloqueemos.\n"
                   f"• Revisaremos tu caso y te responderemos hasta el {due:%d/%m/%Y}; te avisamos por SMS.\n"
                   "• Para volver a ingresar, acércate a una agencia con tu cédula: allí desbloqueamos tu usuario "
                   "y te recomendamos cambiar tu contraseña.\n"
                   "• Si ves un movimiento que no hiciste, llama al Call Center para bloquear tus tarjetas.")
        return NotMe(number, due, message)

    # -- staff ---------------------------------------------------------------------------------------------------
    @staff_only(ATENCION)
    def member_sign_ins(self, who: Principal, member_id: int, limit: int = LIST_LIMIT) -> list[SignIn]:
        """A member's sign-ins for the atención staff (channel, address, result: never a password or a code)."""
        if isinstance(member_id, bool) or not isinstance(member_id, int):
            raise NotFound("El socio no existe.")
        row = self.ctx.db.conn.execute("SELECT id FROM users WHERE member_id = ?", (member_id,)).fetchone()
        self.ctx.audit_now(who.username, "ingresos_socio.ver", "ok" if row else "sin_usuario", rol=who.role,
                           member_id=member_id)
        return _sign_ins(self.ctx, row[0], limit) if row else []


def _sign_ins(ctx: Context, user_id: int, limit: int) -> list[SignIn]:
    limit = max(1, min(int(limit), 200))
    rows = ctx.db.conn.execute("SELECT id, at, channel, client_address, result FROM sign_ins WHERE user_id = ?"
                               " ORDER BY id DESC LIMIT ?", (user_id, limit)).fetchall()
    return [SignIn(r[0], parse_iso(r[1]), CHANNELS.get(r[2], "Desconocido"), r[3] or "",
                   SIGN_IN_RESULTS.get(r[4], r[4]), r[4] == "ok") for r in rows]


def forget_old_sign_ins(ctx: Context) -> int:
    """The worker's pass: sign-ins older than `sign_in_retention_days` are deleted (CONVENTIONS «Retention»: members
    see their recent ones, auditors need a year), a batch per transaction, each batch audited; returns how many."""
    before = iso(ctx.now() - timedelta(days=ctx.settings.sign_in_retention_days))
    removed = 0
    while ctx.db.conn.execute("SELECT 1 FROM sign_ins WHERE at < ? LIMIT 1", (before,)).fetchone() is not None:
        with ctx.db.write() as tx:
            gone = len(tx.execute("DELETE FROM sign_ins WHERE id IN (SELECT id FROM sign_ins WHERE at < ?"
                                  " ORDER BY at LIMIT ?) RETURNING id", (before, FORGET_BATCH)).fetchall())
            if gone:
                ctx.audit(tx, FORGET_ACTOR, "ingresos.depurar", "ok", borrados=gone, anteriores_a=before,
                          dias=ctx.settings.sign_in_retention_days)
        removed += gone
        if gone < FORGET_BATCH:
            break
    return removed


def movement_alerts(ctx: Context) -> int:
    """The worker's pass: an SMS for each posting at or above its owner's alert amount since the last pass.

    The first pass only marks where it starts (no SMS for history: the floor). Ids are not commit order on
    PostgreSQL: a transaction holding a lower posting id can commit after the pass has moved past it. So each
    pass also re-reads ALERT_RESCAN ids below its watermark, and each alert is keyed by its posting in
    `movement_alerts_sent` (one row, one SMS, in the transaction that queues it): a late posting is alerted
    once when it shows up, and two passes at once cannot both send one."""
    conn = ctx.db.conn
    mark = conn.execute("SELECT value FROM meta WHERE key = ?", (WATERMARK,)).fetchone()
    top = conn.execute("SELECT COALESCE(MAX(id), 0) FROM postings").fetchone()[0]
    if mark is None:
        with ctx.db.write() as tx:
            for key in (WATERMARK, FLOOR):
                tx.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", (key, str(top)))
        return 0
    low = int(mark[0])
    floor_row = conn.execute("SELECT value FROM meta WHERE key = ?", (FLOOR,)).fetchone()
    since = max(int(floor_row[0]) if floor_row else 0, low - ALERT_RESCAN)
    high = max(low, min(top, low + ALERT_BATCH))
    rows = conn.execute(
        f"SELECT p.id, p.amount, p.posted_at, a.number, a.member_id, {CARD_OF} FROM postings p"
        " JOIN accounts a ON a.id = p.account_id"
        " JOIN users u ON u.member_id = a.member_id JOIN security_alerts s ON s.user_id = u.id"
        " WHERE p.id > ? AND p.id <= ? AND s.movement_threshold IS NOT NULL"
        " AND (p.amount >= s.movement_threshold OR -p.amount >= s.movement_threshold)"
        " AND NOT EXISTS (SELECT 1 FROM movement_alerts_sent m WHERE m.posting_id = p.id) ORDER BY p.id",
        (since, high)).fetchall()
    if not rows and high == low:
        return 0
    sent = 0
    with ctx.db.write() as tx:
        if high > low:
            tx.execute("UPDATE meta SET value = ? WHERE key = ? AND CAST(value AS BIGINT) < ?",
                       (str(high), WATERMARK, high))
        for posting_id, amount, at, number, member_id, pan in rows:
            claimed = tx.execute("INSERT INTO movement_alerts_sent (posting_id, sent_at) VALUES (?, ?)"
                                 " ON CONFLICT (posting_id) DO NOTHING RETURNING posting_id",
                                 (posting_id, ctx.now_iso())).fetchone()
            if claimed is None:
                continue  # another pass sent this one
            sense = "un débito" if amount < 0 else "un crédito"
            notices.queue(tx, member_id, (
                f"Cooprogreso: {sense} de {format_money(abs(amount))} en tu {place(number, pan)} el "
                f"{parse_iso(at):%d/%m/%Y %H:%M}. Si no fuiste tú, elige «No fui yo» en tu Centro de seguridad."),
                ctx.now_iso())
            sent += 1
    return sent
