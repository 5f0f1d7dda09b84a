"""Atención al socio: enrol a member (KYC) with a savings account, unlock or reset their online access,
and ask a supervisor to change their registered mobile (where account takeovers happen).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from backend.branch import counter_ops
from backend.core import accounts, notices
from backend.core.context import Context, Principal
from backend.core.db import member_lock
from backend.core.errors import Forbidden, NotFound, ValidationError
from backend.core.identity import ID_TYPES, mask_phone, normalize_id, validate_mobile
from backend.core.text import ascii_digits, clean_text
from backend.security import staff_conflicts
from backend.security.roles import ATENCION, SUPERVISOR, staff_only
from backend.security.staff_conflicts import refuse_own

_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


@dataclass(frozen=True)
class Enrolled:
    member_id: int
    name: str
    account_number: str


@dataclass(frozen=True)
class OnlineAccess:
    member_id: int
    username: str | None
    locked: bool
    reset_pending: bool
    mobile_masked: str


def _birth_date(text: str, today: date) -> str:
    raw = clean_text(text, field="birth_date", label="La fecha de nacimiento", max_len=10, min_len=1)
    try:
        born = datetime.strptime(raw, "%d/%m/%Y").date()
    except ValueError:
        raise ValidationError("La fecha de nacimiento debe ser dd/mm/aaaa.", field="birth_date") from None
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    if age < 18:
        raise ValidationError("El socio debe ser mayor de edad.", field="birth_date")
    if age > 120:
        raise ValidationError("Revisa la fecha de nacimiento.", field="birth_date")
    return born.isoformat()


class BackofficeService:
    def __init__(self, ctx: Context, auth):
        self.ctx = ctx
        self.auth = auth

    @staff_only(ATENCION)
    def enrol_member(self, who: Principal, form: dict) -> Enrolled:
        id_type = form.get("id_type", "")
        raw = form.get("id_number", "")
        if id_type in ("cedula", "ruc"):
            raw = ascii_digits(raw, field="id_number", label="La identificación")
        number = normalize_id(id_type, raw if isinstance(raw, str) else "")
        first = clean_text(form.get("first_names", ""), field="first_names", label="Los nombres", max_len=60, min_len=2)
        last = clean_text(form.get("last_names", ""), field="last_names", label="Los apellidos", max_len=60, min_len=2)
        born = _birth_date(form.get("birth_date", ""), self.ctx.clock.now().date())
        mobile = validate_mobile(ascii_digits(form.get("mobile", ""), field="mobile", label="El celular"))
        email = clean_text(form.get("email", ""), field="email", label="El correo", max_len=80, min_len=1)
        if not _EMAIL.match(email):
            raise ValidationError("El correo electrónico no es válido.", field="email")
        address = clean_text(form.get("address", ""), field="address", label="La dirección", max_len=120, min_len=5)
        staff = self.ctx.db.conn.execute("SELECT cedula, full_name FROM staff_users WHERE id = ?",
                                         (who.user_id,)).fetchone()
        if staff_conflicts.same_person(staff[0], staff[1], id_type, number, first, last):
            self.ctx.audit_now(who.username, "socio.registrar", "propia_rechazada", rol=who.role)
            raise Forbidden("No puedes registrarte tú mismo como socio: pídeselo a un compañero.",
                            code=staff_conflicts.CODE)
        with self.ctx.db.write() as conn:
            if conn.execute("SELECT 1 FROM members WHERE id_type = ? AND id_number = ?",
                            (id_type, number)).fetchone():
                raise ValidationError(f"Ya existe un socio con esa {ID_TYPES[id_type].lower()}.", field="id_number")
            day = counter_ops.business_date(conn, self.ctx)
            member = accounts.create_member(conn, id_type=id_type, id_number=number, first_names=first,
                                            last_names=last, mobile=mobile, email=email,
                                            created_at=self.ctx.now_iso())
            conn.execute("UPDATE members SET birth_date = ?, address = ? WHERE id = ?", (born, address, member))
            account = accounts.open_savings(conn, member, day)
            number_ = conn.execute("SELECT number FROM accounts WHERE id = ?", (account,)).fetchone()[0]
            notices.queue(conn, member, "Cooprogreso: bienvenido(a). Tu cuenta de ahorros ya está abierta; "
                          "afíliate a Cooprogreso en Línea con «Regístrate aquí».", self.ctx.now_iso())
            self.ctx.audit(conn, who.username, "socio.registrar", "ok", rol=who.role, member_id=member,
                           cuenta=number_)
        return Enrolled(member, f"{first} {last}", number_)

    @staff_only(ATENCION, SUPERVISOR)
    def online_access(self, who: Principal, member_id: int) -> OnlineAccess:
        with self.ctx.db.read() as conn:
            m = self._member(conn, member_id)
            u = conn.execute("SELECT username, locked_until, access_reset_at FROM users WHERE member_id = ?",
                             (member_id,)).fetchone()
        locked = bool(u and u["locked_until"] and u["locked_until"] > self.ctx.now_iso())
        return OnlineAccess(member_id, u["username"] if u and not u["access_reset_at"] else None, locked,
                            bool(u and u["access_reset_at"]), mask_phone(m["mobile"] or ""))

    @staff_only(ATENCION)
    def unlock_user(self, who: Principal, member_id: int) -> None:
        self._not_own(who, member_id, "socio.desbloquear")
        with self.ctx.db.write() as conn:
            self._member(conn, member_id, lock=True)
            done = conn.execute("UPDATE users SET locked_until = NULL, failed_logins = 0 WHERE member_id = ?"
                                " RETURNING id", (member_id,)).fetchone()
            if done is None:
                raise ValidationError("El socio no tiene usuario en línea.", code="sin_usuario")
            self.ctx.audit(conn, who.username, "socio.desbloquear", "ok", rol=who.role, member_id=member_id)

    @staff_only(ATENCION)
    def reset_access(self, who: Principal, member_id: int) -> None:
        """The online user can no longer sign in; the member affiliates again (code to their phone)."""
        self._not_own(who, member_id, "socio.restablecer_acceso")
        now = self.ctx.now_iso()
        with self.ctx.db.write() as conn:
            self._member(conn, member_id, lock=True)
            user = conn.execute("UPDATE users SET password_hash = '!', access_reset_at = ?, failed_logins = 0,"
                                " locked_until = NULL WHERE member_id = ? RETURNING id", (now, member_id)).fetchone()
            if user is None:
                raise ValidationError("El socio no tiene usuario en línea.", code="sin_usuario")
            conn.execute("UPDATE sessions SET ended_at = ?, end_reason = 'acceso_restablecido' WHERE user_id = ?"
                         " AND ended_at IS NULL", (now, user[0]))
            notices.queue(conn, member_id, "Cooprogreso: restablecimos tu acceso a Cooprogreso en Línea. Afíliate "
                          "de nuevo con «Regístrate aquí». Si no lo pediste, llama a la cooperativa.", now)
            self.ctx.audit(conn, who.username, "socio.restablecer_acceso", "ok", rol=who.role, member_id=member_id)

    @staff_only(ATENCION)
    def request_mobile_change(self, who: Principal, member_id: int, new_mobile: str, reason: str, key: str) -> int:
        """Leave the change for a supervisor; returns the pending operation's id."""
        self._not_own(who, member_id, "socio.cambio_celular")
        mobile = validate_mobile(ascii_digits(new_mobile, field="mobile", label="El celular"))
        reason = clean_text(reason, field="reason", label="El motivo", max_len=120, min_len=5)
        key = clean_text(key, field="key", label="La clave de la operación", max_len=64, min_len=8)
        with self.ctx.db.write() as conn:
            m = self._member(conn, member_id, lock=True)
            if m["mobile"] == mobile:
                raise ValidationError("Ese ya es el celular registrado.", field="mobile")
            done = counter_ops.by_key(conn, f"{who.user_id}:{key}")
            if done is not None:
                return done.id
            op = counter_ops.insert(conn, self.ctx, kind="cambio_celular", state="por_aprobar", maker_id=who.user_id,
                                    member_id=member_id, key=f"{who.user_id}:{key}",
                                    request={"new_mobile": mobile, "old_masked": mask_phone(m["mobile"] or ""),
                                             "reason": reason})
            self.ctx.audit(conn, who.username, "socio.cambio_celular", "por_aprobar", rol=who.role,
                           member_id=member_id, operacion=op)
            return op

    def _not_own(self, who: Principal, member_id: int, action: str) -> None:
        if isinstance(member_id, int) and not isinstance(member_id, bool):
            refuse_own(self.ctx, who, member_id, action=action,
                       message="No puedes atender tu propio registro de socio: pídeselo a un compañero.")

    def _member(self, conn: Any, member_id: int, *, lock: bool = False):
        """The member's row; `lock` (inside a write, first): queue with the member's own writes (PostgreSQL)."""
        if isinstance(member_id, bool) or not isinstance(member_id, int):
            raise NotFound("El socio no existe.", field="socio")
        if lock:
            conn.lock(member_lock(member_id))
        m = conn.execute("SELECT * FROM members WHERE id = ?", (member_id,)).fetchone()
        if m is None:
            raise NotFound("El socio no existe.", field="socio")
        return m


def approve_mobile_change(conn: sqlite3.Connection, ctx: Context, op, checker: Principal, note: str) -> None:
    """Both numbers hear of it; the member's online sessions end (whoever holds them)."""
    now = ctx.now_iso()
    notices.queue(conn, op.member_id, "Cooprogreso: el celular registrado de tu cuenta se cambió hoy. Si no lo "
                  "pediste, llama de inmediato a la cooperativa.", now)
    conn.execute("UPDATE members SET mobile = ? WHERE id = ?", (op.request["new_mobile"], op.member_id))
    conn.execute("UPDATE sessions SET ended_at = ?, end_reason = 'cambio_celular' WHERE ended_at IS NULL AND user_id"
                 " IN (SELECT id FROM users WHERE member_id = ?)", (now, op.member_id))
    notices.queue(conn, op.member_id, "Cooprogreso: este número es ahora tu celular registrado.", now)
    counter_ops.mark_executed(conn, ctx, op.id, None)
