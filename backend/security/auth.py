"""Affiliation (sign-up), sign-in, sessions and the principal every service call acts for."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from backend.core import notices
from backend.core.clock import iso, parse_iso
from backend.core.context import Context, Principal
from backend.core.db import Connection, IntegrityError, member_lock, username_lock
from backend.core.errors import AuthError, Forbidden, OtpError, SessionExpired, ValidationError
from backend.core.identity import normalize_id
from backend.security.origins import LOCAL, Origin, checked
from backend.security.otp import CHALLENGE_ID, Challenge, OtpService
from backend.security.passwords import (
    Cost,
    canonical_username,
    check_policy,
    check_username,
    cost_of,
    current_cost,
    hash_at,
    hash_password,
    verify_password,
)
from backend.security.roles import ROLE_LABELS, ROLE_REFUSED, STAFF_ROLES
from backend.security.staff import StaffChallenge, StaffDirectory, bad_credentials

USERNAME_TAKEN = "Ese usuario ya está en uso; elige otro."
# How often the decoy's cost is re-read from the stored hashes (they move to a new cost as people sign in).
DECOY_REFRESH = timedelta(minutes=10)
NOT_AFFILIABLE = ("No podemos afiliarte en línea con esa identificación. Si eres socio de Cooprogreso, acércate "
                  "a una agencia.")


@dataclass(frozen=True)
class SignedIn:
    token: str
    username: str
    member_name: str  # for staff: their name and role
    previous_login: datetime | None
    role: str = "socio"
    theme: str | None = None  # the display theme the member or staff user chose (THEMES), None for the co-op's own


THEMES = ("cooprogreso", "alto-contraste", "claro")  # the screens' display themes a member may keep


@dataclass(frozen=True)
class AffiliationStart:
    challenge: Challenge
    member_name: str


class AuthService:
    def __init__(self, ctx: Context, otp: OtpService):
        self.ctx = ctx
        self.otp = otp
        self._decoy_hash: str | None = None
        self._decoy_read_at: datetime | None = None
        self.staff_directory = StaffDirectory(ctx)

    def _decoy(self) -> str:
        """Verifying against this keeps a wrong username as slow as a real user's check: it is a hash at the
        cost most stored hashes (members' and staff's) have, which after the cost setting changes is the old
        cost until their owners sign in again and are rehashed. Re-read every DECOY_REFRESH."""
        now = self.ctx.now()
        if self._decoy_hash is None or self._decoy_read_at is None or abs(now - self._decoy_read_at) >= DECOY_REFRESH:
            cost = self._stored_cost()
            if self._decoy_hash is None or cost_of(self._decoy_hash) != cost:
                self._decoy_hash = hash_at(secrets.token_hex(8), cost)
            self._decoy_read_at = now
        return self._decoy_hash

    def _stored_cost(self) -> Cost:
        """The most common cost among stored hashes (a tie goes to the dearer), or the current one if none."""
        rows = self.ctx.db.conn.execute(
            # A hash is `scrypt$log_n$r$p$<24 salt>$<44 digest>`: dropping its last 70 characters leaves the cost.
            "SELECT substr(h, 1, CASE WHEN length(h) > 70 THEN length(h) - 70 ELSE 0 END) AS cost, COUNT(*) AS n"
            " FROM (SELECT password_hash AS h FROM users UNION ALL SELECT password_hash AS h FROM staff_users) AS hashes"
            " WHERE h LIKE 'scrypt$%' GROUP BY cost").fetchall()
        counted = [(row[1], cost) for row in rows if (cost := cost_of(row[0])) is not None]
        return max(counted)[1] if counted else current_cost(self.ctx.settings)

    # -- affiliation (manual: "Como afiliarte", pasos 3 a 5) ------------------------------------
    def start_affiliation(self, id_type: str, id_number: str) -> AffiliationStart:
        """Send the affiliation code to the member's registered phone.

        Whoever asks learns nothing about a cédula that cannot be affiliated: unknown, inactive,
        already affiliated and without a phone all get the same answer; the audit keeps the reason.
        """
        number = normalize_id(id_type, id_number)
        actor = f"{id_type}:{number[-4:]}"
        member = self.ctx.db.conn.execute(
            "SELECT m.*, u.id AS user_id, u.access_reset_at FROM members m LEFT JOIN users u ON u.member_id = m.id"
            " WHERE m.id_type = ? AND m.id_number = ?", (id_type, number)).fetchone()
        reason = None
        if member is None:
            reason = "no_socio"
        elif member["status"] != "activo":
            reason = "inactivo"
        elif member["user_id"] is not None and not member["access_reset_at"]:  # reset at the counter: again
            reason = "ya_afiliado"
        elif not member["mobile"]:
            reason = "sin_celular"
        if reason:
            self.ctx.audit_now(actor, "afiliacion.iniciar", reason)
            raise ValidationError(NOT_AFFILIABLE, code="no_afiliable", field="id_number")
        self._check_affiliation_budget(member["id"], actor)
        challenge = self.otp.issue(member["id"], "afiliacion", {"member_id": member["id"]}, actor)
        return AffiliationStart(challenge, f"{member['first_names']} {member['last_names']}")

    def _check_affiliation_budget(self, member_id: int, actor: str) -> None:
        """At most `affiliation_max_per_day` affiliation codes per cédula in 24 hours (guessing budget)."""
        since = iso(self.ctx.now() - timedelta(days=1))
        issued = self.ctx.db.conn.execute(
            "SELECT COUNT(*) FROM otp_challenges WHERE member_id = ? AND created_at > ? AND purpose = 'afiliacion'",
            (member_id, since)).fetchone()[0]
        if issued >= self.ctx.settings.affiliation_max_per_day:
            self.ctx.audit_now(actor, "afiliacion.iniciar", "limite_diario")
            raise OtpError("Hiciste demasiados intentos de afiliación hoy. Intenta mañana o acércate a una "
                           "agencia.", code="otp_rate")

    def verify_affiliation_code(self, challenge_id: str, code: str) -> bool:
        """True once the member proved they hold the registered phone."""
        member_id = self._challenge_member(challenge_id)
        return self.otp.verify_then(challenge_id, code, member_id=member_id, purpose="afiliacion",
                                    details={"member_id": member_id}, actor=f"socio:{member_id}",
                                    then=lambda conn: True)

    def resend_affiliation_code(self, challenge_id: str) -> Challenge:
        member_id = self._challenge_member(challenge_id)
        return self.otp.resend(challenge_id, member_id, f"socio:{member_id}")

    def complete_affiliation(self, challenge_id: str, username: str, password: str) -> str:
        """Create the online user; only after the code for this member was verified, once."""
        username = check_username(username).lower()  # stored and compared in lower case
        member_id = self._challenge_member(challenge_id)
        conn = self.ctx.db.conn
        member = conn.execute("SELECT * FROM members WHERE id = ?", (member_id,)).fetchone()
        check_policy(password, username=username, id_number=member["id_number"])
        s = self.ctx.settings
        stored = hash_password(password, log_n=s.scrypt_log_n, r=s.scrypt_r, p=s.scrypt_p)
        now = self.ctx.now()
        self.ctx.db.act_for(None)  # nobody is signed in here; the member's lock is taken below
        try:
            return self._create_user(challenge_id, member_id, username, stored, now)
        except IntegrityError:  # a backstop: the locks below already make a second claim wait and see the first
            raise ValidationError(USERNAME_TAKEN, field="username") from None

    def _create_user(self, challenge_id: str, member_id: int, username: str, stored: str, now: datetime) -> str:
        s = self.ctx.settings
        with self.ctx.db.write() as conn:
            # Two affiliations at once (PostgreSQL, READ COMMITTED): the same member's queue on the member's lock,
            # the same name's (any member, or a staff user) on the name's, so the checks below see the winner.
            conn.lock(member_lock(member_id))
            conn.lock(username_lock(username))
            row = conn.execute("SELECT * FROM otp_challenges WHERE id = ? FOR UPDATE", (challenge_id,)).fetchone()
            window = timedelta(seconds=s.affiliation_window_seconds)
            if not row["verified_at"] or row["consumed_at"] or now > parse_iso(row["verified_at"]) + window:
                raise OtpError("Tu validación de identidad ya no es válida. Empieza la afiliación de nuevo.",
                               code="otp_void")
            existing = conn.execute("SELECT id, access_reset_at FROM users WHERE member_id = ?", (member_id,)).fetchone()
            if existing and not existing["access_reset_at"]:
                raise ValidationError("Ya estás afiliado a Cooprogreso en Línea.", code="ya_afiliado")
            if conn.execute("SELECT 1 FROM users WHERE username = ? AND member_id != ?", (username, member_id)).fetchone() or \
                    conn.execute("SELECT 1 FROM staff_users WHERE username = ?", (username.lower(),)).fetchone():
                raise ValidationError(USERNAME_TAKEN, field="username")
            conn.execute("UPDATE otp_challenges SET consumed_at = ? WHERE id = ?", (iso(now), challenge_id))
            if existing:  # access reset by the co-op: the same user row, new credentials
                conn.execute("UPDATE users SET username = ?, password_hash = ?, access_reset_at = NULL,"
                             " failed_logins = 0, locked_until = NULL WHERE id = ?", (username, stored, existing["id"]))
            else:
                conn.execute("INSERT INTO users (member_id, username, password_hash, created_at) VALUES (?, ?, ?, ?)",
                             (member_id, username, stored, iso(now)))
            self.ctx.audit(conn, username, "afiliacion.completar", "ok", member_id=member_id)
        return username

    def _challenge_member(self, challenge_id: str) -> int:
        if not isinstance(challenge_id, str) or not CHALLENGE_ID.fullmatch(challenge_id):
            raise OtpError("La validación no existe. Empieza la afiliación de nuevo.", code="otp_unknown")
        row = self.ctx.db.conn.execute(
            "SELECT member_id FROM otp_challenges WHERE id = ? AND purpose = 'afiliacion'", (challenge_id,)
        ).fetchone()
        if row is None:
            raise OtpError("La validación no existe. Empieza la afiliación de nuevo.", code="otp_unknown")
        return row[0]

    # -- sign-in -----------------------------------------------------------------------------------
    def login(self, username: str, password: str, origin: Origin = LOCAL) -> SignedIn | StaffChallenge:
        """A member signs in here; a staff user gets a StaffChallenge to finish with `staff_code`.

        Unknown, known and locked members get the same answer after the same work (one password hash
        at the stored cost); the audit keeps the real reason, never a raw unknown name. While a user is
        locked even the right password gets that answer: a different one would confirm a guess, and
        guessing would go on at full speed through the lock. The member learns of the lock by SMS.

        Every attempt on a known member's user is kept in `sign_ins` with `origin` (channel and address) for
        their «Centro de seguridad»; a member who asked for it gets an SMS at each sign-in."""
        s = self.ctx.settings
        origin = checked(origin)
        password = password if isinstance(password, str) else ""
        decoy = self._decoy()  # made before any lookup, so the first attempt costs the same for everyone
        name = canonical_username(username)
        user = None
        if name is not None:
            user = self.ctx.db.conn.execute(
                "SELECT u.*, m.first_names, m.last_names, m.status AS member_status FROM users u"
                " JOIN members m ON m.id = u.member_id WHERE u.username = ?", (name,)).fetchone()
        now = self.ctx.now()
        if user is None and name is not None and (staff := self.staff_directory.find(name)) is not None:
            return self.staff_directory.password_step(staff, password)
        if user is None:
            verify_password(password, decoy)
            self.ctx.audit_now(self._unknown_actor(username), "login", "usuario_desconocido")
            raise self._bad_credentials()
        if user["locked_until"] and now < parse_iso(user["locked_until"]):
            verify_password(password, user["password_hash"])  # the same work; its answer changes nothing
            with self.ctx.db.write() as conn:
                self.ctx.audit(conn, user["username"], "login", "bloqueado", canal=origin.channel)
                _sign_in(conn, user["id"], now, origin, "bloqueado")
            raise self._bad_credentials()
        ok = verify_password(password, user["password_hash"])
        rehashed = None  # the password at the current cost, made outside the write lock
        if ok and user["member_status"] == "activo" and cost_of(user["password_hash"]) != current_cost(s):
            rehashed = hash_at(password, current_cost(s))
        with self.ctx.db.write() as conn:
            if not ok:
                failures = conn.execute(
                    "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = ? RETURNING failed_logins",
                    (user["id"],)).fetchone()[0]
                if failures >= s.max_failed_logins:
                    until = now + timedelta(minutes=s.lockout_minutes)
                    conn.execute("UPDATE users SET locked_until = ?, failed_logins = 0 WHERE id = ?",
                                 (iso(until), user["id"]))
                    self.ctx.audit(conn, user["username"], "login", "bloqueo", minutos=s.lockout_minutes)
                    _sign_in(conn, user["id"], now, origin, "bloqueo")
                    notices.queue(conn, user["member_id"], (
                        f"Cooprogreso: tu usuario de Cooprogreso en línea se bloqueó por {s.max_failed_logins} "
                        f"intentos fallidos. Podrás ingresar de nuevo en {s.lockout_minutes} minutos. Si no fuiste "
                        "tú, comunícate con la cooperativa."), iso(now))
                    failure: AuthError | None = self._bad_credentials()
                else:
                    self.ctx.audit(conn, user["username"], "login", "contrasena_incorrecta", intentos=failures)
                    _sign_in(conn, user["id"], now, origin, "contrasena_incorrecta")
                    failure = self._bad_credentials()
            elif user["member_status"] != "activo":
                self.ctx.audit(conn, user["username"], "login", "socio_inactivo")
                _sign_in(conn, user["id"], now, origin, "socio_inactivo")
                failure = AuthError("Tu registro de socio no está activo. Acércate a una agencia.",
                                    code="inactive")
            else:
                failure = None
                token = secrets.token_urlsafe(32)
                conn.execute("UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = ?"
                             " WHERE id = ?", (iso(now), user["id"]))
                session_id = conn.execute(
                    "INSERT INTO sessions (token_hash, user_id, started_at, last_seen_at, previous_login_at, channel,"
                    " client_address) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (token_hash(token), user["id"], iso(now), iso(now), user["last_login_at"], origin.channel,
                     origin.address)).fetchone()[0]
                _sign_in(conn, user["id"], now, origin, "ok", session_id)
                alert = conn.execute("SELECT sign_in_sms FROM security_alerts WHERE user_id = ?",
                                     (user["id"],)).fetchone()
                if alert and alert[0]:
                    notices.queue(conn, user["member_id"], (
                        f"Cooprogreso: ingresaste a Cooprogreso en línea el {now:%d/%m/%Y %H:%M} ({origin.label}). "
                        "Si no fuiste tú, elige «No fui yo» en tu Centro de seguridad o llama a la cooperativa."), iso(now))
                if rehashed:  # unless the password changed meanwhile (an access reset)
                    conn.execute("UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?",
                                 (rehashed, user["id"], user["password_hash"]))
                self.ctx.audit(conn, user["username"], "login", "ok", canal=origin.channel,
                               **({"hash_actualizado": 1} if rehashed else {}))
        if failure:
            raise failure
        previous = parse_iso(user["last_login_at"]) if user["last_login_at"] else None
        theme = user["theme"] if user["theme"] in THEMES else None
        return SignedIn(token, user["username"], f"{user['first_names']} {user['last_names']}", previous,
                        theme=theme)

    def staff_code(self, ticket: str, code: str) -> SignedIn:
        """Second step of a staff sign-in: the code of the authenticator app."""
        token, username, name, role, previous, theme = self.staff_directory.code_step(ticket, code)
        return SignedIn(token, username, f"{name} · {ROLE_LABELS[role]}", previous, role,
                        theme=theme if theme in THEMES else None)

    def staff(self, token: str, roles: tuple[str, ...] = STAFF_ROLES) -> Principal:
        """The staff user a token stands for, if their role is one of `roles`; members are refused."""
        return self.staff_directory.principal(token, tuple(roles))

    def _bad_credentials(self) -> AuthError:
        return bad_credentials(self.ctx.settings)

    def _unknown_actor(self, username: object) -> str:
        """How the audit names a sign-in as nobody: a keyed digest, so a password typed in the user
        field is never written down, yet repeated tries of one name can be correlated."""
        raw = username if isinstance(username, str) else repr(username)
        digest = hmac.new(self.ctx.secret("otp_pepper"), b"usuario:" + raw.strip().encode("utf-8", "surrogatepass"),
                          "sha256").hexdigest()[:12]
        return f"desconocido:{digest}"

    def logout(self, token: str, reason: str = "salir") -> None:
        if self.staff_directory.logout(token, reason):
            return
        with self.ctx.db.write() as conn:
            row = conn.execute(
                "SELECT s.id, u.username FROM sessions s JOIN users u ON u.id = s.user_id"
                " WHERE s.token_hash = ? AND s.ended_at IS NULL", (token_hash(token),)).fetchone()
            if row is None:
                return
            conn.execute("UPDATE sessions SET ended_at = ?, end_reason = ? WHERE id = ?",
                         (self.ctx.now_iso(), reason, row["id"]))
            self.ctx.audit(conn, row["username"], "logout", reason)

    def set_theme(self, token: str, theme: str) -> None:
        """Remember the display theme of whoever signed in (a member, or staff) for their next sign-in (not
        audited: it moves nothing)."""
        if theme not in THEMES:
            raise ValidationError("Ese tema no existe.", field="theme")
        if self.staff_directory.is_staff_token(token):
            self.staff_directory.set_theme(token, theme)
            return
        who = self.principal(token)
        with self.writing(who) as conn:
            conn.execute("UPDATE users SET theme = ? WHERE id = ?", (theme, who.user_id))

    def principal(self, token: str) -> Principal:
        """The member a token stands for (never a staff user); ends the session if it sat idle too long."""
        row = self.ctx.db.conn.execute(
            "SELECT s.id, s.user_id, s.last_seen_at, s.ended_at, s.end_reason, u.member_id, u.username FROM sessions s"
            " JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?", (token_hash(token or ""),)).fetchone()
        if row is None and self.staff_directory.is_staff_token(token):
            raise Forbidden("El personal de la cooperativa no puede operar como socio.", code=ROLE_REFUSED)
        if row is None or row["ended_at"]:
            raise SessionExpired(ENDED.get(row["end_reason"] if row else "", "Tu sesión terminó. Ingresa nuevamente."))
        now = self.ctx.now()
        idle = now - parse_iso(row["last_seen_at"])
        if idle > timedelta(seconds=self.ctx.settings.session_idle_seconds):
            self.logout(token, "inactividad")
            raise SessionExpired("Tu sesión terminó por inactividad. Ingresa nuevamente.")
        if idle >= timedelta(seconds=15):
            with self.ctx.db.write() as conn:
                conn.execute("UPDATE sessions SET last_seen_at = ? WHERE id = ?", (iso(now), row["id"]))
        self.ctx.db.act_for(row["member_id"])  # PostgreSQL: this thread's writes queue per member
        return Principal(row["user_id"], row["member_id"], row["username"], row["id"])

    @contextlib.contextmanager
    def writing(self, who: Principal) -> Iterator[Connection]:
        """The write transaction of a member's call: its session checked again once the lock is held (`still_open`),
        so nothing is written for a session another one ended while this call waited."""
        with self.ctx.db.write() as conn:
            self.still_open(conn, who)
            yield conn

    @staticmethod
    def still_open(conn: Connection, who: Principal) -> None:
        """Under the write lock: the session `who` signed in with has not ended since `principal` checked it.

        Another session's «No fui yo», «Cerrar las demás sesiones» or password change can commit while this call
        waits at the lock; what it would write then is refused with the reason its next call would give. A staff
        user's session likewise (signed out elsewhere, idle limit, user disabled): `staff_only` checks it this way
        before each of the call's writes commits."""
        if who.is_staff:
            row = conn.execute("SELECT s.ended_at, s.end_reason, u.status FROM staff_sessions s JOIN staff_users u"
                               " ON u.id = s.staff_id WHERE s.id = ?", (who.session_id,)).fetchone()
            if row is None or row[0] or row[2] != "activo":
                raise SessionExpired(STAFF_ENDED.get(row[1] if row and row[0] else "",
                                                     "Tu sesión terminó. Ingresa nuevamente."))
            return
        row = conn.execute("SELECT ended_at, end_reason FROM sessions WHERE id = ?", (who.session_id,)).fetchone()
        if row is None or row[0]:
            raise SessionExpired(ENDED.get(row[1] if row else "", "Tu sesión terminó. Ingresa nuevamente."))


# What a staff session ended while a call waited says (by `staff_sessions.end_reason`), as `staff` would.
STAFF_ENDED = {"inactividad": "Tu sesión terminó por inactividad. Ingresa nuevamente."}

# What a session ended elsewhere says at its next action (by `sessions.end_reason`).
ENDED = {
    "cerrada_por_socio": "Cerraste esta sesión desde otra de tus sesiones («Cerrar las demás sesiones»). "
                         "Ingresa nuevamente.",
    "cambio_contrasena": "Tu contraseña cambió, así que esta sesión se cerró. Ingresa con tu nueva contraseña.",
    "bloqueo": "Tu usuario se bloqueó por intentos fallidos de tu contraseña. Podrás ingresar más tarde.",
    "no_fui_yo": "Bloqueaste tu acceso en línea («No fui yo»). Para volver a ingresar, acércate a una agencia "
                 "con tu cédula.",
}


def _sign_in(conn: Any, user_id: int, now: datetime, origin: Origin, result: str,
             session_id: int | None = None) -> None:
    """One attempt on a known user, for the member's «Centro de seguridad» (the audit keeps it too)."""
    conn.execute("INSERT INTO sign_ins (user_id, at, channel, client_address, result, session_id)"
                 " VALUES (?, ?, ?, ?, ?, ?)", (user_id, iso(now), origin.channel, origin.address, result, session_id))


def token_hash(token: str) -> str:
    """Sessions are kept by the hash of their token, so a copy of the database signs no one in."""
    return hashlib.sha256(token.encode()).hexdigest()

