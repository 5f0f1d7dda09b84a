"""Staff users of the co-op: enrolment (password + authenticator secret), sign-in in two steps
(password, then a TOTP code), their sessions and the principal every staff service call acts for.

Staff and members live in separate tables with separate sessions, so a member's token never
resolves to a staff principal and a staff token never resolves to a member (`auth.principal`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from backend.core.clock import iso, parse_iso
from backend.core.context import Context, Principal
from backend.core.db import IntegrityError, username_lock
from backend.core.errors import AccountLocked, AuthError, Forbidden, NotFound, SessionExpired, ValidationError
from backend.core.text import clean_text, visible
from backend.security import staff_secrets, totp
from backend.security.passwords import check_policy, check_username, cost_of, current_cost, hash_at, hash_password, verify_password
from backend.security.roles import ROLE_LABELS, ROLE_REFUSED, STAFF_ROLES

if TYPE_CHECKING:
    from backend.core.db import Connection, Row
    from backend.core.settings import Settings

BAD_CREDENTIALS = "Usuario o contraseña incorrectos."
BAD_CODE = "Código incorrecto o ya utilizado. Espera el siguiente código de tu aplicación."
TICKET_SECONDS = 120


@dataclass(frozen=True)
class StaffUser:
    id: int
    username: str
    full_name: str
    role: str
    status: str
    created_at: str
    last_login_at: str | None
    locked: bool
    linked: bool = False  # linked to their cédula (staff_conflicts); unlinked ones are compared by name only

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]


@dataclass(frozen=True)
class Enrolment:
    """Shown once, at `staff add`: the secret never leaves the database again."""

    username: str
    role: str
    secret: str
    uri: str


@dataclass(frozen=True)
class StaffChallenge:
    """The password was right; the sign-in completes with a code from the authenticator app."""

    ticket: str
    username: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def bad_credentials(settings: Settings) -> AuthError:
    """The one answer to a wrong user name, a wrong password or a locked user with a wrong password
    (members and staff alike): nobody learns from it whether the user exists."""
    return AuthError(f"{BAD_CREDENTIALS} Tras {settings.max_failed_logins} intentos fallidos seguidos el usuario se "
                     f"bloquea {settings.lockout_minutes} minutos.", code="bad_credentials")


def locked_message(remaining: timedelta) -> str:
    minutes = max(1, int(-(-remaining.total_seconds() // 60)))
    return (f"Tu usuario está bloqueado por intentos fallidos. Intenta de nuevo en {minutes} "
            f"{'minuto' if minutes == 1 else 'minutos'}.")


def _cedula(text: object) -> str:
    """The staff user's cédula, checked like a member's (10 digits, Ecuadorian check digit)."""
    from backend.core.identity import normalize_id
    from backend.core.text import ascii_digits

    raw = ascii_digits(text if isinstance(text, str) else "", field="cedula", label="La cédula")
    try:
        return normalize_id("cedula", raw)
    except ValidationError as exc:
        raise ValidationError(exc.message, field="cedula") from None


def _cedula_free(conn: Connection, cedula: str | None) -> None:
    if cedula and conn.execute("SELECT 1 FROM staff_users WHERE cedula = ?", (cedula,)).fetchone():
        raise ValidationError("Esa cédula ya está vinculada a otro usuario de personal.", field="cedula")


class StaffDirectory:
    """Enrolment and administration (the `cooprogreso staff` command), sign-in and sessions."""

    def __init__(self, ctx: Context):
        self.ctx = ctx

    # -- administration (command line, run by whoever holds the database) ------------------------
    def add(self, username: str, role: str, password: str, full_name: str, *, cedula: str | None = None,
            by: str = "cli") -> Enrolment:
        """`cedula` links the user to the person (nobody decides about their own membership); without one
        only their folded name is compared, so the command line asks for it."""
        username = check_username(username).lower()
        if role not in STAFF_ROLES:
            raise ValidationError(f"Rol desconocido: {role}. Roles: {', '.join(STAFF_ROLES)}.", field="role")
        full_name = clean_text(full_name or username, field="full_name", label="El nombre", max_len=80, min_len=2)
        cedula = _cedula(cedula) if cedula is not None else None
        check_policy(password, username=username, id_number="")
        if len(password) < 10:
            raise ValidationError("La contraseña del personal debe tener al menos 10 caracteres.", field="password")
        s = self.ctx.settings
        stored = hash_password(password, log_n=s.scrypt_log_n, r=s.scrypt_r, p=s.scrypt_p)
        secret = totp.new_secret()
        try:
            with self.ctx.db.write() as conn:
                conn.lock(username_lock(username))  # the same name added twice at once, or a member's: one wins
                taken = conn.execute("SELECT 1 FROM staff_users WHERE username = ?", (username,)).fetchone() or \
                    conn.execute("SELECT 1 FROM users WHERE lower(username) = ?", (username,)).fetchone()
                if taken:
                    raise ValidationError("Ese usuario ya existe.", field="username")
                _cedula_free(conn, cedula)
                conn.execute(
                    "INSERT INTO staff_users (username, full_name, role, password_hash, totp_secret, created_at,"
                    " created_by, cedula) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (username, full_name, role, stored, self._seal(username, secret), self.ctx.now_iso(), by, cedula))
                self.ctx.audit(conn, by, "personal.crear", "ok", usuario=username, rol=role,
                               cedula="vinculada" if cedula else "sin_cedula")
        except IntegrityError:  # a backstop behind the lock
            raise ValidationError("Ese usuario ya existe.", field="username") from None
        return Enrolment(username, role, secret, totp.provisioning_uri(secret, username))

    def list(self) -> list[StaffUser]:
        now = self.ctx.now_iso()
        rows = self.ctx.db.conn.execute("SELECT * FROM staff_users ORDER BY username").fetchall()
        return [StaffUser(r["id"], r["username"], r["full_name"], r["role"], r["status"], r["created_at"],
                          r["last_login_at"], bool(r["locked_until"] and r["locked_until"] > now), bool(r["cedula"]))
                for r in rows]

    def link(self, username: str, cedula: str, *, by: str = "cli") -> None:
        """Link a user enrolled before cédulas to theirs; a link is never changed (that would undo the rule)."""
        username = (username or "").strip().lower()
        cedula = _cedula(cedula)
        try:
            with self.ctx.db.write() as conn:
                row = conn.execute("SELECT id, cedula FROM staff_users WHERE username = ?", (username,)).fetchone()
                if row is None:
                    raise NotFound(f"No existe el usuario de personal «{username}».", field="username")
                if row[1]:
                    raise ValidationError("Ese usuario ya está vinculado a una cédula.", field="cedula")
                _cedula_free(conn, cedula)
                conn.execute("UPDATE staff_users SET cedula = ? WHERE id = ?", (cedula, row[0]))
                self.ctx.audit(conn, by, "personal.vincular_cedula", "ok", usuario=username)
        except IntegrityError:
            raise ValidationError("Esa cédula ya está vinculada a otro usuario de personal.", field="cedula") from None

    def disable(self, username: str, *, by: str = "cli") -> None:
        username = (username or "").strip().lower()
        with self.ctx.db.write() as conn:
            row = conn.execute("SELECT id FROM staff_users WHERE username = ?", (username,)).fetchone()
            if row is None:
                raise NotFound(f"No existe el usuario de personal «{username}».", field="username")
            conn.execute("UPDATE staff_users SET status = 'inactivo', ticket_hash = NULL WHERE id = ?", (row[0],))
            conn.execute("UPDATE staff_sessions SET ended_at = ?, end_reason = 'deshabilitado'"
                         " WHERE staff_id = ? AND ended_at IS NULL", (self.ctx.now_iso(), row[0]))
            self.ctx.audit(conn, by, "personal.deshabilitar", "ok", usuario=username)

    def reset_totp(self, username: str, *, by: str = "cli") -> Enrolment:
        """A new authenticator secret for a user who lost theirs (a lost phone): the old one is void at
        once, a pending sign-in and every open session of the user end. Shown once, like at `add`."""
        username = (username or "").strip().lower()
        secret = totp.new_secret()
        with self.ctx.db.write() as conn:
            row = conn.execute("SELECT id, username, role FROM staff_users WHERE username = ?", (username,)).fetchone()
            if row is None:
                raise NotFound(f"No existe el usuario de personal «{visible(username[:40])}».", field="username")
            conn.execute("UPDATE staff_users SET totp_secret = ?, ticket_hash = NULL, ticket_expires_at = NULL"
                         " WHERE id = ?", (self._seal(row["username"], secret), row["id"]))
            ended = conn.execute("UPDATE staff_sessions SET ended_at = ?, end_reason = 'autenticador_nuevo'"
                                 " WHERE staff_id = ? AND ended_at IS NULL RETURNING id",
                                 (self.ctx.now_iso(), row["id"])).fetchall()
            self.ctx.audit(conn, by, "personal.autenticador_nuevo", "ok", usuario=row["username"],
                           sesiones_cerradas=len(ended))
        return Enrolment(row["username"], row["role"], secret, totp.provisioning_uri(secret, row["username"]))

    def current_code(self, username: str, at: datetime | None = None) -> str:
        """The authenticator's code right now. Demo databases only (for trainings)."""
        if not self.ctx.is_demo:
            raise Forbidden("Solo en bases de demostración.", code="solo_demo")
        with self.ctx.db.write() as conn:  # a write: an older plain secret is sealed on this first use
            row = conn.execute("SELECT id, username, totp_secret FROM staff_users WHERE username = ?",
                               ((username or "").strip().lower(),)).fetchone()
            if row is None:
                raise NotFound(f"No existe el usuario de personal «{username}».", field="username")
            secret = self._open(conn, row["id"], row["username"], row["totp_secret"])
        return totp.code_at(secret, totp.step_at(at or self.ctx.clock.now(), self.ctx.clock.zone))

    # -- the authenticator secret, sealed at rest (backend/security/staff_secrets.py) -----------------------
    def _seal(self, username: str, secret: str) -> str:
        return staff_secrets.seal(self.ctx.secret("otp_pepper"), username, secret)

    def _open(self, conn: Connection, staff_id: int, username: str, stored: str) -> str:
        """The plain secret of a sealed row (plain rows of older databases were sealed at open)."""
        return staff_secrets.unseal(self.ctx.secret("otp_pepper"), username, stored)

    # -- sign-in -----------------------------------------------------------------------------------
    def find(self, username: str) -> Row | None:
        return self.ctx.db.conn.execute("SELECT * FROM staff_users WHERE username = ?",
                                        ((username or "").strip().lower(),)).fetchone()

    def password_step(self, user: Row, password: str) -> StaffChallenge:
        """Step 1 (the caller already found `user`): the password, counted towards the lockout."""
        now = self.ctx.now()
        # The password is checked first, whatever the user's state: a locked user costs the same hash as
        # an unknown one (`AuthService.login` verifies a decoy) and gets the same answer, with the right
        # password too: a different answer would confirm a guess and let guessing go on through the lock.
        ok = verify_password(password or "", user["password_hash"])
        if user["locked_until"] and now < parse_iso(user["locked_until"]):
            self.ctx.audit_now(user["username"], "login.personal", "bloqueado")
            raise bad_credentials(self.ctx.settings)
        if not ok:
            self._fail(user["id"], user["username"], "contrasena_incorrecta", reveal_lock=False)
        if user["status"] != "activo":
            self.ctx.audit_now(user["username"], "login.personal", "deshabilitado")
            raise AuthError("Tu usuario de personal está deshabilitado.", code="inactive")
        ticket = secrets.token_urlsafe(24)
        cost = current_cost(self.ctx.settings)  # the password is proven: keep it at the current cost
        rehashed = hash_at(password, cost) if cost_of(user["password_hash"]) != cost else None
        with self.ctx.db.write() as conn:
            conn.execute("UPDATE staff_users SET ticket_hash = ?, ticket_expires_at = ? WHERE id = ?",
                         (token_hash(ticket), iso(now + timedelta(seconds=TICKET_SECONDS)), user["id"]))
            if rehashed:  # unless the password changed meanwhile
                conn.execute("UPDATE staff_users SET password_hash = ? WHERE id = ? AND password_hash = ?",
                             (rehashed, user["id"], user["password_hash"]))
            self.ctx.audit(conn, user["username"], "login.personal", "contrasena_ok",
                           **({"hash_actualizado": 1} if rehashed else {}))
        return StaffChallenge(ticket, user["username"])

    def code_step(self, ticket: str, code: str) -> tuple[str, str, str, str, datetime | None, str | None]:
        """Step 2: the authenticator code. Returns (token, username, full name, role, previous login, the
        display theme they keep; None for the co-op's own)."""
        now = self.ctx.now()
        user = self.ctx.db.conn.execute("SELECT * FROM staff_users WHERE ticket_hash = ?",
                                        (token_hash(ticket or ""),)).fetchone()
        if user is None or not user["ticket_expires_at"] or now > parse_iso(user["ticket_expires_at"]):
            raise SessionExpired("La verificación expiró. Ingresa tu usuario y contraseña de nuevo.")
        if user["locked_until"] and now < parse_iso(user["locked_until"]):
            raise AccountLocked(locked_message(parse_iso(user["locked_until"]) - now))
        with self.ctx.db.write() as conn:
            # Re-read under the write lock: two tries with the same code must not both pass.
            last = conn.execute("SELECT totp_last_step, status, totp_secret FROM staff_users WHERE id = ?",
                                (user["id"],)).fetchone()
            secret = self._open(conn, user["id"], user["username"], last[2])
            step = totp.matching_step(secret, code, totp.step_at(now, self.ctx.clock.zone), last[0])
            if step is not None and last[1] == "activo":
                token = secrets.token_urlsafe(32)
                conn.execute("UPDATE staff_users SET totp_last_step = ?, failed_logins = 0, locked_until = NULL,"
                             " ticket_hash = NULL, ticket_expires_at = NULL, last_login_at = ? WHERE id = ?",
                             (step, iso(now), user["id"]))
                conn.execute("INSERT INTO staff_sessions (token_hash, staff_id, started_at, last_seen_at,"
                             " previous_login_at) VALUES (?, ?, ?, ?, ?)",
                             (token_hash(token), user["id"], iso(now), iso(now), user["last_login_at"]))
                self.ctx.audit(conn, user["username"], "login.personal", "ok", rol=user["role"])
        if step is None or last[1] != "activo":
            self._fail(user["id"], user["username"], "codigo_incorrecto", message=BAD_CODE)
        previous = parse_iso(user["last_login_at"]) if user["last_login_at"] else None
        return token, user["username"], user["full_name"], user["role"], previous, user["theme"]

    def _fail(self, staff_id: int, username: str, outcome: str, *, message: str = "", reveal_lock: bool = True) -> None:
        """Count a failure; the lock is announced only past the password (`reveal_lock`)."""
        s = self.ctx.settings
        now = self.ctx.now()
        with self.ctx.db.write() as conn:
            failures = conn.execute(
                "UPDATE staff_users SET failed_logins = failed_logins + 1 WHERE id = ? RETURNING failed_logins",
                (staff_id,)).fetchone()[0]
            if failures >= s.max_failed_logins:
                until = now + timedelta(minutes=s.lockout_minutes)
                conn.execute("UPDATE staff_users SET locked_until = ?, failed_logins = 0, ticket_hash = NULL"
                             " WHERE id = ?", (iso(until), staff_id))
                self.ctx.audit(conn, username, "login.personal", "bloqueo", minutos=s.lockout_minutes)
                error: AuthError = AccountLocked(locked_message(until - now)) if reveal_lock else \
                    bad_credentials(s)
            else:
                self.ctx.audit(conn, username, "login.personal", outcome, intentos=failures)
                error = AuthError(message, code="bad_credentials") if message else bad_credentials(s)
        raise error

    # -- sessions ----------------------------------------------------------------------------------
    def principal(self, token: str, roles: tuple[str, ...]) -> Principal:
        self.ctx.db.act_for(None)  # staff act for no member: they lock the member they touch (db.member_lock)
        row = self.ctx.db.conn.execute(
            "SELECT s.id, s.staff_id, s.last_seen_at, s.ended_at, u.username, u.role, u.status FROM staff_sessions s"
            " JOIN staff_users u ON u.id = s.staff_id WHERE s.token_hash = ?", (token_hash(token or ""),)).fetchone()
        if row is None:
            if self._is_member_token(token):
                raise Forbidden("Esta función es solo para el personal de la cooperativa.", code=ROLE_REFUSED)
            raise SessionExpired("Tu sesión terminó. Ingresa nuevamente.")
        if row["ended_at"] or row["status"] != "activo":
            raise SessionExpired("Tu sesión terminó. Ingresa nuevamente.")
        now = self.ctx.now()
        idle = now - parse_iso(row["last_seen_at"])
        if idle > timedelta(seconds=self.ctx.settings.staff_idle_seconds):
            self.logout(token, "inactividad")
            raise SessionExpired("Tu sesión terminó por inactividad. Ingresa nuevamente.")
        if row["role"] not in roles:
            self.ctx.audit_now(row["username"], "personal.acceso", "rol_no_autorizado", rol=row["role"])
            raise Forbidden("Tu rol no permite esta operación.", code=ROLE_REFUSED)
        if idle >= timedelta(seconds=15):
            with self.ctx.db.write() as conn:
                conn.execute("UPDATE staff_sessions SET last_seen_at = ? WHERE id = ?", (iso(now), row["id"]))
        return Principal(row["staff_id"], 0, row["username"], row["id"], role=row["role"])

    def set_theme(self, token: str, theme: str) -> None:
        """Remember a staff user's display theme for their next sign-in (like a member's: not audited, it
        moves nothing and shows nobody's data)."""
        who = self.principal(token, STAFF_ROLES)
        with self.ctx.db.write() as conn:
            conn.execute("UPDATE staff_users SET theme = ? WHERE id = ?", (theme, who.user_id))

    def is_staff_token(self, token: str) -> bool:
        return self.ctx.db.conn.execute("SELECT 1 FROM staff_sessions WHERE token_hash = ?",
                                        (token_hash(token or ""),)).fetchone() is not None

    def _is_member_token(self, token: str) -> bool:
        return self.ctx.db.conn.execute("SELECT 1 FROM sessions WHERE token_hash = ? AND ended_at IS NULL",
                                        (token_hash(token or ""),)).fetchone() is not None

    def logout(self, token: str, reason: str) -> bool:
        with self.ctx.db.write() as conn:
            row = conn.execute(
                "SELECT s.id, u.username FROM staff_sessions s JOIN staff_users u ON u.id = s.staff_id"
                " WHERE s.token_hash = ? AND s.ended_at IS NULL", (token_hash(token or ""),)).fetchone()
            if row is None:
                return False
            conn.execute("UPDATE staff_sessions SET ended_at = ?, end_reason = ? WHERE id = ?",
                         (self.ctx.now_iso(), reason, row["id"]))
            self.ctx.audit(conn, row["username"], "logout.personal", reason)
        return True
