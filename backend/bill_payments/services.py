"""Section 3, Pago de Servicios: registered services, consulta de deuda, paying bills, the payment history.

Registering a service and paying go through the one authorised-operation flow (`backend.security.operations`):
this module's handlers derive the figures a code is bound to and book them. A consulta's answer is
kept (`bill_presentments`), so the amounts a member confirms are the entity's, re-read under the write
lock without calling the network there. Scheduled payments live in `backend.bill_payments.scheduled`.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backend.bill_payments import billers as cat
from backend.bill_payments import payments as pay
from backend.bill_payments.bill_gateway import Bill, GatewayUnavailable, Recaudacion, UnknownIdentifier, gateway_for
from backend.bill_payments.requests import ServicePaymentRequest, ServiceRegistrationRequest
from backend.core import files
from backend.core.accounts import booking_accounts_columns
from backend.core.clock import iso, parse_iso
from backend.core.context import Context, Principal
from backend.core.daily_quota import Quota
from backend.core.db import IntegrityError
from backend.core.errors import NotFound, OtpError, ServiceError, ValidationError
from backend.core.identity import mask_account
from backend.core.money import format_money, format_plain
from backend.core.periods import within_days
from backend.core.text import clean_text, csv_cell
from backend.security.operations import CHANGED, Pending, Prepared, parse_request
from backend.security.receipts import Receipt

if TYPE_CHECKING:
    from backend.core.db import Connection
    from backend.security.auth import AuthService
    from backend.security.operations import OperationsService, Pending

MAX_ALIAS = 30


@dataclass(frozen=True)
class Origin:
    account_id: int
    number: str
    available: int


@dataclass(frozen=True)
class RegisteredService:
    id: int
    biller_code: str
    biller_name: str
    category: str
    id_label: str
    identifier: str
    alias: str
    account_id: int
    account_masked: str


@dataclass(frozen=True)
class Presentment:
    id: int
    biller: cat.Biller
    identifier: str
    holder: str
    bills: tuple[Bill, ...]


@dataclass(frozen=True)
class PaymentSummary:
    id: int
    reference: str
    created_at: datetime
    biller_name: str
    identifier: str
    amount: int
    commission: int
    origin: str
    state: str
    reason: str | None

    @property
    def state_label(self) -> str:
        return {"pagado": "Pagado", "pendiente": "Pendiente", "fallido": "Fallido"}[self.state]


@dataclass(frozen=True)
class ServiceRegistration:
    """The plan of a service registration: the row it adds."""

    biller_code: str
    identifier: str
    alias: str
    account_id: int


def owned_savings(conn: Connection, who: Principal, account_id: object) -> tuple[int, str, int]:
    """(id, number, available) of one of the member's active savings accounts, or an error at «account»."""
    return pay.member_savings(conn, who.member_id, account_id)


class ServiceRegistrationHandler:
    kind = "registro_servicio"
    otp_label = "registrar tu servicio"

    def __init__(self, ctx: Context):
        self.ctx = ctx

    def prepare(self, conn: Connection, who: Principal, request: dict[str, Any]) -> Prepared[ServiceRegistration]:
        req = parse_request(ServiceRegistrationRequest, request)
        biller = cat.get(conn, req.biller)
        identifier = cat.normalize(biller, req.identifier)
        alias = clean_text(req.alias, field="alias", label="El alias", max_len=MAX_ALIAS)
        account_id, number, _ = owned_savings(conn, who, req.account_id)
        twin = conn.execute("SELECT alias FROM bill_services WHERE user_id = ? AND biller_code = ? AND identifier = ?",
                            (who.user_id, biller.code, identifier)).fetchone()
        if twin:
            raise ValidationError(f"Ya tienes registrado ese servicio ({biller.name} {identifier}"
                                  f"{', «' + twin[0] + '»' if twin[0] else ''}).", field="identifier", code="duplicate")
        lines = [("Categoría", biller.category), ("Entidad", biller.name), (biller.id_label, identifier),
                 ("Alias", alias or "—"), ("Cuenta de débito", f"Ahorros {mask_account(number)}")]
        return Prepared(details={"biller": biller.code, "identifier": identifier, "alias": alias, "account": number},
                        title="Confirma el registro del servicio", lines=lines,
                        plan=ServiceRegistration(biller.code, identifier, alias, account_id))

    def execute(self, conn: Connection, who: Principal, plan: ServiceRegistration, key: str) -> int:
        now = self.ctx.now_iso()
        try:
            service_id = conn.execute(
                "INSERT INTO bill_services (user_id, biller_code, identifier, alias, account_id, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (who.user_id, plan.biller_code, plan.identifier, plan.alias, plan.account_id, now, now)).fetchone()[0]
        except IntegrityError:
            raise ValidationError("Ya tienes registrado ese servicio.", field="identifier", code="duplicate") from None
        self.ctx.audit(conn, who.username, "servicio.registrar", "ok", servicio=service_id, entidad=plan.biller_code,
                       identificador=plan.identifier)
        return service_id

    def receipt(self, conn: Connection, who: Principal, result_id: int) -> Receipt:
        row = conn.execute(
            "SELECT s.*, b.name, b.category, b.id_label, a.number FROM bill_services s JOIN billers b"
            " ON b.code = s.biller_code JOIN accounts a ON a.id = s.account_id WHERE s.id = ? AND s.user_id = ?",
            (result_id, who.user_id)).fetchone()
        if row is None:
            raise NotFound("El servicio no existe o no te pertenece.")
        lines = [("Categoría", row["category"]), ("Entidad", row["name"]), (row["id_label"], row["identifier"]),
                 ("Alias", row["alias"] or "—"), ("Cuenta de débito", f"Ahorros {mask_account(row['number'])}"),
                 ("Estado", "Registrado")]
        from backend.security.receipts import make

        return make(self.ctx.secret("receipt_secret"), kind=self.kind, title="Registro de Servicio", lines=lines,
                    reference=f"RS{row['id']:08d}", created_at=parse_iso(row["created_at"]), result_id=row["id"])


class ServicePaymentHandler:
    kind = "pago_servicio"
    otp_label = "tu pago de servicio"

    def __init__(self, ctx: Context, gateway: Recaudacion) -> None:
        self.ctx = ctx
        self.gateway = gateway

    def booking(self, conn: Connection, who: Principal, request: ServicePaymentRequest) -> tuple[pay.Booking, str]:
        """Everything the payment will book, checked; and the debit account's number."""
        pid = request.presentment_id
        if isinstance(pid, bool) or not isinstance(pid, int):
            raise ValidationError("Consulta primero los valores pendientes.", field="bills")
        # The consulta, its entity, what `check_payment` reads and the parts of the co-op's accounts the payment
        # credits (the entity's collection account and the commissions'), in one statement (issue #23: each costs
        # the client and the server more than its work); an entity or member not found reads as NULLs.
        (member, member_params), (join, join_params) = pay.member_columns(self.ctx, user_id=who.user_id,
                                                                          account_id=request.account_id)
        internal, internal_params, _ = booking_accounts_columns((("b.account_id", ()), "comisiones"), who.member_id)
        row = conn.execute(
            f"SELECT p.identifier, p.holder, p.bills, p.fetched_at, {', '.join('b.' + c for c in cat.ROW_COLUMNS)},"
            f" {member}{internal} FROM bill_presentments p LEFT JOIN billers b ON b.code = p.biller_code"
            f" LEFT JOIN members m ON m.id = ?{join} WHERE p.id = ? AND p.user_id = ?",
            (*member_params, *internal_params, who.member_id, *join_params, pid, who.user_id)).fetchone()
        if row is None:
            raise NotFound("La consulta no existe o no te pertenece.")
        if self.ctx.now() - parse_iso(row["fetched_at"]) > timedelta(minutes=self.ctx.settings.services_presentment_minutes):
            raise ValidationError("La consulta de valores expiró; consulta de nuevo.", field="bills", code="stale")
        width = len(cat.ROW_COLUMNS)
        found = None if row[4] is None else tuple(row[4:4 + width])
        checks, internal_row = [found, tuple(row[4 + width:11 + width])], tuple(row[11 + width:])
        if found is None or not found[width - 1]:  # as `cat.get` refuses it (`active`, its last column)
            raise ValidationError("Selecciona una entidad de la lista.", field="biller")
        biller = cat.from_row(found)
        presented = {b.number: b for b in (Bill.from_json(x) for x in json.loads(row["bills"]))}
        wanted = request.bills or []
        if not isinstance(wanted, list) or not all(isinstance(n, str) for n in wanted) or len(set(wanted)) != len(wanted):
            raise ValidationError("Selecciona las facturas a pagar.", field="bills")
        if biller.is_topup:
            amount = request.amount
            if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
                raise ValidationError("Ingresa el monto de la recarga.", field="amount")
            chosen: tuple[Bill, ...] = ()
        else:
            if not wanted or any(n not in presented for n in wanted):
                raise ValidationError("Selecciona al menos una de las facturas pendientes.", field="bills")
            chosen = tuple(presented[n] for n in sorted(wanted, key=list(presented).index))
            amount = sum(b.amount for b in chosen)
        biller, account_id, number = pay.check_payment(
            self.ctx, conn, user_id=who.user_id, member_id=who.member_id, biller_code=biller.code,
            identifier=row["identifier"], bills=chosen, account_id=request.account_id, amount=amount, rows=checks)
        return pay.Booking(who.user_id, who.member_id, who.username, biller, row["identifier"], row["holder"], chosen,
                           account_id, amount, account_number=number, internal=(internal_row,)), number

    def prepare(self, conn: Connection, who: Principal, request: dict[str, Any]) -> Prepared[pay.Booking]:
        req = parse_request(ServicePaymentRequest, request)
        b, number = self.booking(conn, who, req)
        lines = [("Entidad", b.biller.name), (b.biller.id_label, b.identifier), ("Titular", b.holder),
                 ("Facturas" if len(b.bills) > 1 else "Factura", pay.bills_text(b.bills)),
                 ("Cuenta de débito", f"Ahorros {mask_account(number)}"), ("Monto", format_money(b.amount)),
                 ("Comisión", format_money(b.biller.commission)), ("Total a debitar", format_money(b.total))]
        details = {"biller": b.biller.code, "identifier": b.identifier, "bills": [x.number for x in b.bills],
                   "amount": b.amount, "commission": b.biller.commission, "account": number,
                   "presentment": req.presentment_id}
        return Prepared(details=details, title="Confirma el pago del servicio", lines=lines, plan=b)

    def recheck(self, conn: Connection, who: Principal, plan: pay.Booking) -> pay.Booking:
        """Under the write lock, what can change after the confirmation's `prepare` (before it): the entity still
        collecting with the same commission and collection account, the member's status, the day's cupo, the debit
        account's state and funds, the bills not paid meanwhile: `check_payment`'s reads, in one round trip. The
        consulta and what the member chose are the code's details, checked by the flow."""
        biller, _, number = pay.check_payment(
            self.ctx, conn, user_id=who.user_id, member_id=who.member_id, biller_code=plan.biller.code,
            identifier=plan.identifier, bills=plan.bills, account_id=plan.account_id, amount=plan.amount)
        if (biller.commission, biller.account_id, number) != (plan.biller.commission, plan.biller.account_id,
                                                              plan.account_number):
            raise OtpError(CHANGED, code="otp_details_changed")
        return plan

    def execute(self, conn: Connection, who: Principal, plan: pay.Booking, key: str) -> int:
        return pay.book(self.ctx, conn, plan, key)

    def after(self, who: Principal, result_id: int) -> None:
        """Tell the entity, outside the write lock; a payment it did not answer is sent again by `resend_pending`."""
        pay.submit(self.ctx, self.gateway, result_id)

    def receipt(self, conn: Connection, who: Principal, result_id: int) -> Receipt:
        return pay.receipt(self.ctx, conn, who.user_id, result_id)


class ServicesService:
    def __init__(self, ctx: Context, auth: AuthService, ops: OperationsService, gateway: Recaudacion | None = None) -> None:
        self.ctx = ctx
        self.auth = auth
        self.ops = ops
        self.gateway = gateway or gateway_for(ctx)
        ops.register(ServiceRegistrationHandler(ctx))
        ops.register(ServicePaymentHandler(ctx, self.gateway))

    # -- the catalogue and the member's accounts -------------------------------------------------
    def categories(self, token: str) -> list[str]:
        self.auth.principal(token)
        return cat.categories(self.ctx.db.conn)

    def billers(self, token: str, category: str) -> list[cat.Biller]:
        self.auth.principal(token)
        return cat.in_category(self.ctx.db.conn, category)

    def biller(self, token: str, code: str) -> cat.Biller:
        self.auth.principal(token)
        return cat.get(self.ctx.db.conn, code)

    def origins(self, token: str) -> list[Origin]:
        who = self.auth.principal(token)
        return [Origin(*r) for r in self.ctx.db.conn.execute(
            "SELECT id, number, balance - held FROM accounts WHERE member_id = ? AND kind = 'ahorros'"
            " AND status = 'activa' ORDER BY number", (who.member_id,))]

    def quota(self, token: str) -> Quota:
        return self._quota(self.ctx.db.conn, self.auth.principal(token))

    def _quota(self, conn: Connection, who: Principal) -> Quota:
        return pay.quota(self.ctx, conn, who.user_id)

    # -- registered services -------------------------------------------------------------------------
    def services(self, token: str) -> list[RegisteredService]:
        who = self.auth.principal(token)
        return [RegisteredService(r["id"], r["biller_code"], r["name"], r["category"], r["id_label"], r["identifier"],
                                  r["alias"], r["account_id"], mask_account(r["number"]))
                for r in self.ctx.db.conn.execute(
                    "SELECT s.*, b.name, b.category, b.id_label, a.number FROM bill_services s"
                    " JOIN billers b ON b.code = s.biller_code JOIN accounts a ON a.id = s.account_id"
                    " WHERE s.user_id = ? ORDER BY b.sort_order, s.identifier, s.id", (who.user_id,))]

    def prepare_registration(self, token: str, request: ServiceRegistrationRequest) -> Pending:
        self.auth.principal(token)
        return self.ops.prepare(token, ServiceRegistrationHandler.kind, asdict(request))

    def rename(self, token: str, service_id: int, alias: str) -> RegisteredService:
        who = self.auth.principal(token)
        alias = clean_text(alias, field="alias", label="El alias", max_len=MAX_ALIAS)
        with self.auth.writing(who) as conn:
            if conn.execute("UPDATE bill_services SET alias = ?, updated_at = ? WHERE id = ? AND user_id = ?"
                            " RETURNING id", (alias, self.ctx.now_iso(), service_id, who.user_id)).fetchone() is None:
                raise NotFound("El servicio no existe o no te pertenece.")
            self.ctx.audit(conn, who.username, "servicio.alias", "ok", servicio=service_id)
        return next(s for s in self.services(token) if s.id == service_id)

    def delete(self, token: str, service_id: int) -> None:
        who = self.auth.principal(token)
        with self.auth.writing(who) as conn:
            if conn.execute("DELETE FROM bill_services WHERE id = ? AND user_id = ? RETURNING id",
                            (service_id, who.user_id)).fetchone() is None:
                raise NotFound("El servicio no existe o no te pertenece.")
            self.ctx.audit(conn, who.username, "servicio.eliminar", "ok", servicio=service_id)

    # -- consulta and payment ------------------------------------------------------------------------
    def consulta(self, token: str, biller_code: str, identifier: str) -> Presentment:
        """Ask the entity what the identifier owes (outside any transaction) and keep the answer."""
        who = self.auth.principal(token)
        biller = cat.get(self.ctx.db.conn, biller_code)
        identifier = cat.normalize(biller, identifier)
        try:
            statement = self.gateway.statement(biller, identifier)
        except UnknownIdentifier:
            raise ValidationError(f"{biller.name} no tiene registrado {biller.id_label.lower()} {identifier}. "
                                  f"Revísalo: {biller.hint}", field="identifier", code="unknown_identifier") from None
        except GatewayUnavailable:
            raise ServiceError(f"{biller.name} no responde en este momento. Intenta de nuevo en unos minutos.",
                               code="gateway") from None
        conn = self.ctx.db.conn
        open_bills = tuple(b for b in statement.bills if not conn.execute(
            "SELECT 1 FROM bill_payment_items WHERE biller_code = ? AND identifier = ? AND bill_number = ?"
            " AND released = 0", (biller.code, identifier, b.number)).fetchone())
        with self.auth.writing(who) as conn:
            pid = conn.execute(
                "INSERT INTO bill_presentments (user_id, biller_code, identifier, holder, bills, fetched_at)"
                " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (who.user_id, biller.code, identifier, statement.holder,
                 json.dumps([b.to_json() for b in open_bills]), self.ctx.now_iso())).fetchone()[0]
        return Presentment(pid, biller, identifier, statement.holder, open_bills)

    def prepare_payment(self, token: str, request: ServicePaymentRequest) -> Pending:
        self.auth.principal(token)
        return self.ops.prepare(token, ServicePaymentHandler.kind, asdict(request))

    def resend_pending(self) -> int:
        """Back-office pass: send again payments the entity did not answer (same key)."""
        return pay.resend_due(self.ctx, self.gateway)

    # -- history -------------------------------------------------------------------------------------
    def history(self, token: str, date_from: date | None = None, date_to: date | None = None,
                biller: str | None = None, origin: str | None = None, limit: int = 500) -> list[PaymentSummary]:
        who = self.auth.principal(token)
        sql = ("SELECT p.id, p.reference, p.created_at, b.name, p.identifier, p.amount, p.commission, p.origin,"
               " p.state, p.reason FROM bill_payments p JOIN billers b ON b.code = p.biller_code WHERE p.user_id = ?")
        params: list = [who.user_id]
        days, day_params = within_days("p.created_at", date_from, date_to)
        sql += days
        params += day_params
        if biller:
            sql += " AND p.biller_code = ?"
            params.append(biller)
        if origin:
            if origin not in pay.ORIGINS:
                raise ValidationError("Origen no válido.", field="origin")
            sql += " AND p.origin = ?"
            params.append(origin)
        sql += " ORDER BY p.created_at DESC, p.id DESC LIMIT ?"
        params.append(max(1, min(int(limit), 5000)))
        return [PaymentSummary(r[0], r[1], parse_iso(r[2]), *r[3:]) for r in self.ctx.db.conn.execute(sql, params)]

    def export_history(self, token: str, directory: str | Path, date_from: date | None = None,
                       date_to: date | None = None, biller: str | None = None, origin: str | None = None) -> str:
        items = self.history(token, date_from, date_to, biller, origin, limit=5000)
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["Fecha", "Hora", "Entidad", "Identificador", "Monto", "Comisión", "Origen", "Estado",
                         "Motivo", "Referencia"])
        for p in items:
            writer.writerow([f"{p.created_at:%d/%m/%Y}", f"{p.created_at:%H:%M:%S}", csv_cell(p.biller_name),
                             csv_cell(p.identifier), format_plain(p.amount), format_plain(p.commission),
                             pay.ORIGINS[p.origin], p.state_label, csv_cell(p.reason or ""), p.reference])
        path = files.write_private(directory, f"pagos-servicios-{self.ctx.now():%Y%m%d}", ".csv",
                                   buf.getvalue().encode("utf-8"))
        who = self.auth.principal(token)
        self.ctx.audit_now(who.username, "servicio.historial.exportar", "ok", filas=len(items))
        return str(path)

    def receipt(self, token: str, payment_id: int) -> Receipt:
        who = self.auth.principal(token)
        if isinstance(payment_id, bool) or not isinstance(payment_id, int):
            raise NotFound("El pago no existe o no te pertenece.")
        return pay.receipt(self.ctx, self.ctx.db.conn, who.user_id, payment_id)

    def save_receipt(self, token: str, payment_id: int, directory: str) -> str:
        self.auth.principal(token)
        return self.ops.save_receipt(token, ServicePaymentHandler.kind, payment_id, directory)


__all__ = ["ServicesService", "ServiceRegistrationHandler", "ServicePaymentHandler", "asdict", "iso"]
