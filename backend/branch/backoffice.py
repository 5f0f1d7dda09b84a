"""Atención al socio: enrol a member (KYC) with a savings account, unlock or reset their online access,
and ask a supervisor to change their registered mobile (where account takeovers happen).

Know your member («conozca a su socio», debida diligencia). Sources relied on (looked up with the `search`
tool, 2026-11; the text of the norms themselves was not at hand, so the field list below is the co-op's
reading, not a verified checklist):
- Ley Orgánica de Prevención, Detección y Erradicación del Delito de Lavado de Activos y del Financiamiento
  de Delitos (Registro Oficial 2S 802, 21/07/2016): co-ops are obliged subjects that must know their members.
- Its Reglamento (Decreto Ejecutivo 1331, RO 966, 20/03/2017), art. 42: a PEP is a natural person, Ecuadorian
  or foreign, who holds or held a prominent public function in Ecuador or abroad, or in an international
  organisation; their spouse/partner, relatives and close associates count too.
- SEPS, «Norma de control para la prevención, detección y combate del delito de lavado de activos y la
  financiación de otros delitos en las entidades del sector financiero popular y solidario» (RO 102,
  14/08/2025; summary at avl.com.ec): each co-op runs a risk system (SPARLAFD) with member risk profiles.
- The UAF's PEP instructivo (2012, summary at controlcapital.net): enhanced due diligence for every PEP,
  national or foreign. FATF/GAFI recommendation 12: a senior person approves the relationship with a PEP.
So before the account opens the co-op asks identity (cédula with its check digit), birth date, contact,
address, occupation, declared monthly income and the PEP declaration. Decision: a PEP is registered with
due diligence «reforzada» and waits for a supervisor's approval in the approvals queue before the opening
deposit is taken. The account opens only with a cash opening deposit at a till (backend/branch/counter.py):
the member stays `inactivo` (no transfers in, no online affiliation) until then, so that deposit is the
account's first movement; atención registers and the teller takes the cash (two people, the till balances).
The minimum opening deposit is the co-op's own policy (setting `opening_deposit_min`), not a legal figure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from backend.branch import counter_ops
from backend.branch.tills import amount_cents
from backend.core import accounts, notices
from backend.core.context import Context, Principal
from backend.core.db import member_lock
from backend.core.errors import Forbidden, NotFound, ValidationError
from backend.core.identity import ID_TYPES, mask_id, mask_phone, normalize_id, validate_mobile
from backend.core.money import format_money
from backend.core.text import ascii_digits, clean_text, fold_digits
from backend.security import staff_conflicts
from backend.security.roles import ATENCION, SUPERVISOR, staff_only
from backend.security.staff_conflicts import refuse_own

if TYPE_CHECKING:
    from backend.core.db import Connection, Row
    from backend.security.auth import AuthService

_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


MAX_MONTHLY_INCOME = 1_000_000_00  # cents: a typo guard, not a rule



@dataclass(frozen=True)
class Enrolled:
    member_id: int
    name: str
    account_number: str
    opening: str  # por_aprobar (PEP) / deposito_pendiente
    minimum_deposit: int


@dataclass(frozen=True)
class EnrolForm:
    """What the co-op knows before it opens the account: validated, nothing stored yet."""

    id_type: str
    id_number: str
    first_names: str
    last_names: str
    birth_date: str  # ISO
    mobile: str
    email: str
    address: str
    occupation: str
    monthly_income: int  # cents
    pep: bool
    pep_position: str | None

    @property
    def due_diligence(self) -> str:
        return "reforzada" if self.pep else "estandar"

    def lines(self, minimum: int) -> tuple[tuple[str, str], ...]:
        """For the confirmation before saving."""
        born = date.fromisoformat(self.birth_date).strftime("%d/%m/%Y")
        lines = [("Socio", f"{self.first_names} {self.last_names}"),
                 ("Identificación", f"{ID_TYPES[self.id_type]} {self.id_number}"), ("Nacimiento", born),
                 ("Celular", self.mobile), ("Correo", self.email), ("Dirección", self.address),
                 ("Ocupación", self.occupation), ("Ingreso mensual", format_money(self.monthly_income)),
                 ("Persona expuesta políticamente", f"Sí: {self.pep_position}" if self.pep else "No")]
        if self.pep:
            lines.append(("Debida diligencia", "Reforzada: requiere aprobación del supervisor"))
        lines.append(("Depósito de apertura", f"En caja, en efectivo; mínimo {format_money(minimum)}"))
        return tuple(lines)


@dataclass(frozen=True)
class EnrolReview:
    title: str
    lines: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class OnlineAccess:
    member_id: int
    username: str | None
    locked: bool
    reset_pending: bool
    mobile_masked: str


def _birth_date(text: str, today: date) -> str:
    raw = clean_text(text, field="birth_date", label="La fecha de nacimiento", max_len=10, min_len=1)
    raw = fold_digits(raw)  # «١٤/٠٣/١٩٨٨» is 14/03/1988, as the movement filter's dates and amounts read it
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
    def __init__(self, ctx: Context, auth: AuthService) -> None:
        self.ctx = ctx
        self.auth = auth

    @staff_only(ATENCION)
    def review_enrolment(self, who: Principal, form: dict) -> EnrolReview:
        """Validate the whole form and show what will be saved (the screen's confirmation); stores nothing."""
        parsed = self._form(who, form)
        with self.ctx.db.read() as conn:
            self._not_registered(conn, parsed)
        return EnrolReview("¿Registrar al socio?", parsed.lines(self.ctx.settings.opening_deposit_min))

    @staff_only(ATENCION)
    def enrol_member(self, who: Principal, form: dict) -> Enrolled:
        """Register the member and their (still empty) savings account; the account opens with the teller's
        cash opening deposit. A PEP waits for a supervisor first (counter_ops `socio_pep`)."""
        f = self._form(who, form)
        opening = "por_aprobar" if f.pep else "deposito_pendiente"
        with self.ctx.db.write() as conn:
            self._not_registered(conn, f)
            day = counter_ops.business_date(conn, self.ctx)
            member = accounts.create_member(conn, id_type=f.id_type, id_number=f.id_number, first_names=f.first_names,
                                            last_names=f.last_names, mobile=f.mobile, email=f.email,
                                            created_at=self.ctx.now_iso(), status="inactivo")
            conn.execute("UPDATE members SET birth_date = ?, address = ?, occupation = ?, monthly_income = ?, pep = ?,"
                         " pep_position = ?, due_diligence = ?, opening = ? WHERE id = ?",
                         (f.birth_date, f.address, f.occupation, f.monthly_income, int(f.pep), f.pep_position,
                          f.due_diligence, opening, member))
            account = accounts.open_savings(conn, member, day)
            number_ = conn.execute("SELECT number FROM accounts WHERE id = ?", (account,)).fetchone()[0]
            extra = {}
            if f.pep:
                extra["operacion"] = counter_ops.insert(
                    conn, self.ctx, kind="socio_pep", state="por_aprobar", maker_id=who.user_id, member_id=member,
                    key=f"socio_pep:{member}", account_id=account,
                    request={"pep_position": f.pep_position, "occupation": f.occupation,
                             "monthly_income": f.monthly_income})
            self.ctx.audit(conn, who.username, "socio.registrar", opening, rol=who.role, member_id=member,
                           cuenta=number_, pep=f.pep, debida_diligencia=f.due_diligence, **extra)
        return Enrolled(member, f"{f.first_names} {f.last_names}", number_, opening,
                        self.ctx.settings.opening_deposit_min)

    def _form(self, who: Principal, form: dict) -> EnrolForm:
        """Every field checked, in the form's order; a refusal names its field and changes nothing."""
        if not isinstance(form, dict):
            raise ValidationError("Formulario no válido.", field="id_number")
        id_type = form.get("id_type", "")
        raw = form.get("id_number", "")
        if id_type in ("cedula", "ruc"):
            raw = ascii_digits(raw, field="id_number", label="La identificación")
        number = normalize_id(id_type, raw if isinstance(raw, str) else "")  # the cédula's check digit
        first = clean_text(form.get("first_names", ""), field="first_names", label="Los nombres", max_len=60, min_len=2)
        last = clean_text(form.get("last_names", ""), field="last_names", label="Los apellidos", max_len=60, min_len=2)
        born = _birth_date(form.get("birth_date", ""), self.ctx.clock.now().date())
        mobile = validate_mobile(ascii_digits(form.get("mobile", ""), field="mobile", label="El celular"))
        email = clean_text(form.get("email", ""), field="email", label="El correo", max_len=80, min_len=1)
        if not _EMAIL.match(email):
            raise ValidationError("El correo electrónico no es válido.", field="email")
        address = clean_text(form.get("address", ""), field="address", label="La dirección", max_len=120, min_len=5)
        occupation = clean_text(form.get("occupation", ""), field="occupation", label="La ocupación", max_len=80,
                                min_len=3)
        income_text = form.get("monthly_income", "")
        if not isinstance(income_text, str) or not income_text.strip():
            raise ValidationError("Indica el ingreso mensual (0 si no tiene ingresos).", field="monthly_income")
        try:
            income = amount_cents(income_text, max_cents=MAX_MONTHLY_INCOME, allow_zero=True)
        except ValidationError as e:  # the money parser speaks of «el monto»: name this field
            raise ValidationError(f"Ingreso mensual: {e.message}", field="monthly_income") from None
        pep_answer = form.get("pep", "")
        if pep_answer not in ("si", "no"):
            raise ValidationError("Indica si es persona expuesta políticamente (Sí o No).", field="pep")
        position = None
        if pep_answer == "si":
            position = clean_text(form.get("pep_position", ""), field="pep_position",
                                  label="El cargo o función pública", max_len=80, min_len=3)
        staff = self.ctx.db.conn.execute("SELECT cedula, full_name FROM staff_users WHERE id = ?",
                                         (who.user_id,)).fetchone()
        if staff_conflicts.same_person(staff[0], staff[1], id_type, number, first, last):
            self.ctx.audit_now(who.username, "socio.registrar", "propia_rechazada", rol=who.role)
            raise Forbidden("No puedes registrarte tú mismo como socio: pídeselo a un compañero.",
                            code=staff_conflicts.CODE)
        return EnrolForm(id_type, number, first, last, born, mobile, email, address, occupation, income,
                         pep_answer == "si", position)

    @staticmethod
    def _not_registered(conn: Connection, f: EnrolForm) -> None:
        if conn.execute("SELECT 1 FROM members WHERE id_type = ? AND id_number = ?",
                        (f.id_type, f.id_number)).fetchone():
            raise ValidationError(f"Ya existe un socio con esa {ID_TYPES[f.id_type].lower()}.", field="id_number")

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
    def unlock_user(self, who: Principal, member_id: int, reason: str) -> None:
        """Unlocking skips the lockout that stops a guesser: the audit keeps why the member's word was taken."""
        self._not_own(who, member_id, "socio.desbloquear")
        reason = clean_text(reason, field="reason", label="El motivo", max_len=120, min_len=5)
        with self.ctx.db.write() as conn:
            self._member(conn, member_id, lock=True)
            done = conn.execute("UPDATE users SET locked_until = NULL, failed_logins = 0 WHERE member_id = ?"
                                " RETURNING id", (member_id,)).fetchone()
            if done is None:
                raise ValidationError("El socio no tiene usuario en línea.", code="sin_usuario")
            self.ctx.audit(conn, who.username, "socio.desbloquear", "ok", rol=who.role, member_id=member_id,
                           motivo=reason)

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

    def _member(self, conn: Connection, member_id: int, *, lock: bool = False) -> Row:
        """The member's row; `lock` (inside a write, first): queue with the member's own writes (PostgreSQL)."""
        if isinstance(member_id, bool) or not isinstance(member_id, int):
            raise NotFound("El socio no existe.", field="socio")
        if lock:
            conn.lock(member_lock(member_id))
        m = conn.execute("SELECT * FROM members WHERE id = ?", (member_id,)).fetchone()
        if m is None:
            raise NotFound("El socio no existe.", field="socio")
        return m


def approve_mobile_change(conn: Connection, ctx: Context, op: counter_ops.CounterOp, checker: Principal, note: str) -> None:
    """Both numbers hear of it; the member's online sessions end (whoever holds them)."""
    now = ctx.now_iso()
    assert op.member_id is not None  # a mobile change is always a member's
    notices.queue(conn, op.member_id, "Cooprogreso: el celular registrado de tu cuenta se cambió hoy. Si no lo "
                  "pediste, llama de inmediato a la cooperativa.", now)
    conn.execute("UPDATE members SET mobile = ? WHERE id = ?", (op.request["new_mobile"], op.member_id))
    conn.execute("UPDATE sessions SET ended_at = ?, end_reason = 'cambio_celular' WHERE ended_at IS NULL AND user_id"
                 " IN (SELECT id FROM users WHERE member_id = ?)", (now, op.member_id))
    notices.queue(conn, op.member_id, "Cooprogreso: este número es ahora tu celular registrado.", now)
    counter_ops.mark_executed(conn, ctx, op.id, None)


def approve_pep(conn: Connection, ctx: Context, op: counter_ops.CounterOp, checker: Principal, note: str) -> None:
    """A supervisor accepts the relationship with a PEP (enhanced due diligence): the opening deposit may follow."""
    done = conn.execute("UPDATE members SET opening = 'deposito_pendiente' WHERE id = ? AND opening = 'por_aprobar'"
                        " RETURNING id", (op.member_id,)).fetchone()
    if done is None:
        raise ValidationError("El registro del socio ya no espera aprobación.", code="decidida")
    counter_ops.mark_executed(conn, ctx, op.id, None)


def reject_pep(conn: Connection, ctx: Context, op: counter_ops.CounterOp, checker: Principal, note: str) -> None:
    """Rejected: the account never opens (the member stays inactive, the registration on file)."""
    conn.execute("UPDATE members SET opening = 'rechazada' WHERE id = ? AND opening = 'por_aprobar'", (op.member_id,))


def opening_lines(conn: Connection, op: counter_ops.CounterOp) -> tuple[tuple[str, str], ...]:
    """What the supervisor sees before deciding on a PEP's registration."""
    m = conn.execute("SELECT id_number, address FROM members WHERE id = ?", (op.member_id,)).fetchone()
    r = op.request
    return (("Identificación", mask_id(m[0])), ("Cargo o función pública", r.get("pep_position", "")),
            ("Ocupación", r.get("occupation", "")), ("Ingreso mensual", format_money(r.get("monthly_income", 0))),
            ("Dirección", m[1] or ""), ("Debida diligencia", "Reforzada"))
