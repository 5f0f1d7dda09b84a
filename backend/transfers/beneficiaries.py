"""Administración de Beneficiarios: saved payees of one user, never visible to another."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from backend.core import institutions
from backend.core.clock import parse_iso
from backend.core.context import Context, Principal
from backend.core.db import IntegrityError
from backend.core.errors import NotFound, ValidationError
from backend.core.identity import ID_TYPES, mask_account, normalize_id
from backend.core.text import clean_text
from backend.security.auth import AuthService
from backend.security.operations import OperationsService, Pending, Prepared
from backend.security.receipts import Receipt, make
from backend.transfers.payees import holder_account

if TYPE_CHECKING:
    from backend.core.db import Connection, Row

SERVICES = {"terceros": "Transferencia Terceros", "interbancaria": "Transferencias Interbancarias"}
OPERATION = "beneficiario"
ACCOUNT_TYPES = {"ahorros": "Ahorros", "corriente": "Corriente"}


@dataclass(frozen=True)
class BeneficiaryForm:
    """What the member typed in the add/edit modal."""

    service: str
    name: str
    id_type: str
    id_number: str
    account_number: str
    institution_code: str = institutions.COOPROGRESO
    account_type: str = "ahorros"


@dataclass(frozen=True)
class Beneficiary:
    id: int
    service: str
    name: str
    id_type: str
    id_number: str
    institution_code: str
    institution_name: str
    account_type: str
    account_number: str

    @property
    def service_label(self) -> str:
        return SERVICES[self.service]

    @property
    def id_type_label(self) -> str:
        return ID_TYPES[self.id_type]

    @property
    def account_masked(self) -> str:
        return mask_account(self.account_number)


class BeneficiariesService:
    def __init__(self, ctx: Context, auth: AuthService, ops: OperationsService):
        self.ctx = ctx
        self.auth = auth
        self.ops = ops
        ops.register(BeneficiaryHandler(self))

    def list(self, token: str) -> list[Beneficiary]:
        who = self.auth.principal(token)
        return [_row(r) for r in self.ctx.db.conn.execute(
            _SELECT + " WHERE b.user_id = ? ORDER BY lower(b.name), b.id", (who.user_id,))]

    def get(self, token: str, beneficiary_id: int) -> Beneficiary:
        return self._own(self.auth.principal(token), beneficiary_id)

    def validate(self, token: str, form: BeneficiaryForm, editing_id: int | None = None) -> BeneficiaryForm:
        """Normalise and check a form; raises ValidationError naming the field at fault."""
        who = self.auth.principal(token)
        return self._validate(self.ctx.db.conn, who, form, editing_id)

    def needs_code(self, token: str, form: BeneficiaryForm, editing_id: int | None = None) -> bool:
        """Validate the form, then say whether it must be confirmed with a code: adding, or changing
        anything but the name."""
        who = self.auth.principal(token)
        form = self._validate(self.ctx.db.conn, who, form, editing_id)
        return editing_id is None or _key_fields(self._own(who, editing_id)) != _key_fields(form)

    def prepare_save(self, token: str, form: BeneficiaryForm, editing_id: int | None = None) -> Pending:
        """Adding a beneficiary, or changing where the money goes, is an authorised operation."""
        self.auth.principal(token)
        if not isinstance(form, BeneficiaryForm):
            raise ValidationError("El formulario no es válido.")
        return self.ops.prepare(token, OPERATION, {"form": asdict(form), "editing_id": editing_id})

    def save(self, token: str, form: BeneficiaryForm, editing_id: int) -> Beneficiary:
        """Rename a beneficiary: the only change that needs no code."""
        who = self.auth.principal(token)
        form = self._validate(self.ctx.db.conn, who, form, editing_id)
        if _key_fields(self._own(who, editing_id)) != _key_fields(form):
            raise ValidationError("Este cambio se confirma con el código de seguridad.", code="otp_required")
        with self.auth.writing(who) as conn:
            if _key_fields(self._own(who, editing_id, conn)) != _key_fields(self._validate(conn, who, form, editing_id)):
                raise ValidationError("Este cambio se confirma con el código de seguridad.", code="otp_required")
            saved = self._write(conn, who, form, editing_id)
        return self._own(who, saved)

    def _write(self, conn: Connection, who: Principal, form: BeneficiaryForm, editing_id: int | None) -> int:
        now = self.ctx.now_iso()
        fields = asdict(form)
        if editing_id is None:
            new_id = conn.execute(
                "INSERT INTO beneficiaries (user_id, service, name, id_type, id_number, institution_code,"
                " account_type, account_number, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " RETURNING id",
                (who.user_id, form.service, form.name, form.id_type, form.id_number, form.institution_code,
                 form.account_type, form.account_number, now, now)).fetchone()[0]
            self.ctx.audit(conn, who.username, "beneficiario.agregar", "ok", beneficiario=new_id,
                           cuenta=mask_account(form.account_number), servicio=form.service)
            return new_id
        conn.execute(
            "UPDATE beneficiaries SET service = ?, name = ?, id_type = ?, id_number = ?, institution_code = ?,"
            " account_type = ?, account_number = ?, updated_at = ? WHERE id = ? AND user_id = ?",
            (*[fields[k] for k in ("service", "name", "id_type", "id_number", "institution_code",
                                    "account_type", "account_number")], now, editing_id, who.user_id))
        self.ctx.audit(conn, who.username, "beneficiario.editar", "ok", beneficiario=editing_id,
                       cuenta=mask_account(form.account_number))
        return editing_id

    def delete(self, token: str, ids: Iterable[int]) -> int:
        """Delete several at once: all of them, or none if any is not the member's."""
        who = self.auth.principal(token)
        ids = sorted(set(ids))
        if not ids:
            raise ValidationError("Selecciona al menos un beneficiario.")
        with self.auth.writing(who) as conn:
            marks = ",".join("?" * len(ids))
            owned = conn.execute(f"SELECT COUNT(*) FROM beneficiaries WHERE user_id = ? AND id IN ({marks})",
                                 (who.user_id, *ids)).fetchone()[0]
            if owned != len(ids):
                raise NotFound("El beneficiario no existe o no te pertenece.")
            conn.execute(f"DELETE FROM beneficiaries WHERE user_id = ? AND id IN ({marks})", (who.user_id, *ids))
            self.ctx.audit(conn, who.username, "beneficiario.eliminar", "ok", beneficiarios=ids)
        return len(ids)

    # -- helpers ---------------------------------------------------------------------------------
    def _own(self, who: Principal, beneficiary_id: int, conn: Connection | None = None) -> Beneficiary:
        if isinstance(beneficiary_id, bool) or not isinstance(beneficiary_id, int) or not 0 < beneficiary_id < 2**63:
            raise NotFound("El beneficiario no existe o no te pertenece.")
        row = (conn or self.ctx.db.conn).execute(_SELECT + " WHERE b.id = ? AND b.user_id = ?",
                                                 (beneficiary_id, who.user_id)).fetchone()
        if row is None:
            raise NotFound("El beneficiario no existe o no te pertenece.")
        return _row(row)

    def _validate(self, conn: Connection, who: Principal, form: BeneficiaryForm, editing_id: int | None) -> BeneficiaryForm:
        if form.service not in SERVICES:
            raise ValidationError("Selecciona el servicio.", field="service")
        name = clean_text(form.name, field="name", label="El nombre del beneficiario", min_len=3, max_len=80)
        id_number = normalize_id(form.id_type, form.id_number)
        if form.account_type not in ACCOUNT_TYPES:
            raise ValidationError("Selecciona el tipo de cuenta.", field="account_type")
        if form.service == "terceros":
            payee = holder_account(conn, form.account_number, form.id_type, id_number, who.member_id)
            clean = replace(form, name=name, id_number=id_number, account_number=payee.number,
                            institution_code=institutions.COOPROGRESO, account_type="ahorros")
        else:
            institutions.get(conn, form.institution_code)
            number = institutions.validate_account(conn, form.institution_code, form.account_number)
            clean = replace(form, name=name, id_number=id_number, account_number=number)
        duplicate = conn.execute(
            "SELECT name FROM beneficiaries WHERE user_id = ? AND service = ? AND institution_code = ?"
            " AND account_number = ? AND id != ?",
            (who.user_id, clean.service, clean.institution_code, clean.account_number, editing_id or 0)).fetchone()
        if duplicate:
            raise ValidationError(
                f"Ya tienes registrada esa cuenta como «{duplicate[0]}» ({SERVICES[clean.service]}, cuenta "
                f"{mask_account(clean.account_number)}).", field="account", code="duplicate")
        return clean


_SELECT = ("SELECT b.*, COALESCE(i.name, 'Cooprogreso') AS institution_name FROM beneficiaries b"
           " LEFT JOIN institutions i ON i.code = b.institution_code")


def _row(r: Row) -> Beneficiary:
    return Beneficiary(r["id"], r["service"], r["name"], r["id_type"], r["id_number"], r["institution_code"],
                       r["institution_name"], r["account_type"], r["account_number"])


def _key_fields(b: Beneficiary | BeneficiaryForm) -> tuple[object, ...]:
    return (b.service, b.id_type, b.id_number, b.institution_code, b.account_type, b.account_number)


@dataclass(frozen=True)
class BeneficiaryPlan:
    """The plan of a beneficiary operation: the form as validated under the lock, and the beneficiary it
    changes (None: a new one)."""

    form: BeneficiaryForm
    editing_id: int | None


def _details(form: BeneficiaryForm, editing_id: int | None) -> dict:
    return {"op": "editar" if editing_id else "agregar", "beneficiario": editing_id, **asdict(form)}


class BeneficiaryHandler:
    """Adding a beneficiary, or changing its account, as an authorised operation."""

    kind = OPERATION
    otp_label = "registrar o cambiar tu beneficiario"  # one purpose for both: the SMS said «registrar» to a change

    def __init__(self, service: BeneficiariesService):
        self.service = service

    def prepare(self, conn: Connection, who: Principal, request: dict[str, Any]) -> Prepared[BeneficiaryPlan]:
        try:
            form = BeneficiaryForm(**request["form"])
            editing_id = request.get("editing_id")
        except (TypeError, KeyError) as exc:
            raise ValidationError("El formulario no es válido.") from exc
        if editing_id is not None:
            self.service._own(who, editing_id, conn)
        clean = self.service._validate(conn, who, form, editing_id)
        institution = institutions.get(conn, clean.institution_code).name \
            if clean.service == "interbancaria" else "Cooprogreso"
        lines = [("Servicio", SERVICES[clean.service]), ("Nombre", clean.name),
                 ("Identificación", f"{ID_TYPES[clean.id_type]} {clean.id_number}"), ("Institución", institution),
                 ("Cuenta", f"{ACCOUNT_TYPES[clean.account_type]} {mask_account(clean.account_number)}")]
        title = "Confirma el nuevo beneficiario" if editing_id is None else "Confirma los cambios del beneficiario"
        return Prepared(details=_details(clean, editing_id), title=title, lines=lines, plan=BeneficiaryPlan(clean, editing_id))

    def execute(self, conn: Connection, who: Principal, plan: BeneficiaryPlan, key: str) -> int:
        try:
            return self.service._write(conn, who, plan.form, plan.editing_id)
        except IntegrityError:  # the member's lock makes a twin wait and be refused above; a backstop all the same
            raise ValidationError("Ya tienes registrada esa cuenta.", field="account", code="duplicate") from None

    def receipt(self, conn: Connection, who: Principal, result_id: int) -> Receipt:
        b = self.service._own(who, result_id, conn)
        row = conn.execute("SELECT updated_at FROM beneficiaries WHERE id = ?", (result_id,)).fetchone()
        lines = [("Servicio", b.service_label), ("Beneficiario", b.name),
                 ("Identificación", f"{b.id_type_label} {b.id_number}"), ("Institución", b.institution_name),
                 ("Cuenta", f"{ACCOUNT_TYPES[b.account_type]} {b.account_masked}")]
        return make(self.service.ctx.secret("receipt_secret"), kind=OPERATION, title="Registro de Beneficiario",
                    lines=lines, reference=f"B{b.id:08d}", created_at=parse_iso(row[0]), result_id=b.id)
