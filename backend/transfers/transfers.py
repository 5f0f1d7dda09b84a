"""Section 2, Transferencias: to own accounts, to other Cooprogreso members, and to other institutions.

A transfer is one kind of authorised operation (backend/security/operations.py): prepared (validated, fee and
payee shown), confirmed with a code bound to its origin, destination, amount and fee, and booked as one
journal entry in the same transaction that spends the code, once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from backend.core import audit, daily_quota, institutions
from backend.core.accounts import booking_accounts, booking_accounts_queries
from backend.core.clock import iso, parse_iso
from backend.core.context import Context, Principal
from backend.core.daily_quota import Quota
from backend.core.errors import InsufficientFunds, NotFound, ValidationError
from backend.core.identity import ID_TYPES, mask_account, normalize_id
from backend.core.ledger import Leg, post
from backend.core.money import format_money
from backend.core.periods import within_days
from backend.core.text import clean_text
from backend.security.auth import AuthService
from backend.security.operations import OperationsService, Pending, Prepared
from backend.security.receipts import Receipt, make
from backend.transfers.payees import coop_account, lookup_query

if TYPE_CHECKING:
    from backend.core.db import Connection, Params

KINDS = {"propia": "A mis Cuentas", "terceros": "Cooprogreso", "interbancaria": "Interbancaria"}
RECEIPT_TITLES = {"propia": "Transferencia a mis Cuentas", "terceros": "Transferencia Cooprogreso",
                  "interbancaria": "Transferencia Interbancaria"}
MAX_MOTIVE = 60
OPERATION = "transferencia"
INTERBANK_LEGS = ("compensacion_interbancaria", "comisiones")  # what an interbank transfer credits: amount, fee


@dataclass(frozen=True)
class TransferRequest:
    """What the member chose and typed; everything else is derived by the backend."""

    kind: str
    origin_id: int
    amount: int
    motive: str
    dest_account_id: int | None = None  # propia
    beneficiary_id: int | None = None  # terceros / interbancaria, from the saved list
    account_number: str = ""  # terceros / interbancaria, typed
    institution_code: str = ""
    account_type: str = "ahorros"
    holder_name: str = ""
    holder_id_type: str = "cedula"
    holder_id_number: str = ""


@dataclass(frozen=True)
class TransferDraft:
    """A validated transfer waiting for the member's confirmation and code."""

    request: TransferRequest
    origin_number: str
    origin_available: int
    payer_name: str
    dest_name: str  # as the receipt shows it: masked for a typed Cooprogreso account
    dest_payee_check: str  # «Andrés L**** · C.I. ******3057», or the holder typed for interbank
    dest_institution_code: str
    dest_institution: str
    dest_account_type: str
    dest_account_number: str
    dest_account_id: int | None  # a Cooprogreso account; None when it leaves for another institution
    dest_id_type: str
    dest_id_number: str
    amount: int
    fee: int
    motive: str
    quota_left: int

    @property
    def total(self) -> int:
        return self.amount + self.fee

    @property
    def origin_masked(self) -> str:
        return mask_account(self.origin_number)

    @property
    def dest_account_masked(self) -> str:
        return mask_account(self.dest_account_number)


@dataclass(frozen=True)
class Origin:
    account_id: int
    number: str
    available: int


@dataclass(frozen=True)
class TransferSummary:
    id: int
    reference: str
    created_at: datetime
    kind: str
    dest_name: str
    dest_institution: str
    amount: int
    fee: int
    state: str
    return_reason: str | None


class TransfersService:
    def __init__(self, ctx: Context, auth: AuthService, ops: OperationsService):
        self.ctx = ctx
        self.auth = auth
        self.ops = ops
        ops.register(TransferHandler(self))

    # -- what the forms offer --------------------------------------------------------------------
    def origins(self, token: str) -> list[Origin]:
        who = self.auth.principal(token)
        return [Origin(r[0], r[1], r[2]) for r in self.ctx.db.conn.execute(
            "SELECT id, number, balance - held FROM accounts WHERE member_id = ? AND kind = 'ahorros'"
            " AND status = 'activa' ORDER BY number", (who.member_id,))]

    def institutions(self, token: str) -> list[institutions.Institution]:
        self.auth.principal(token)
        return institutions.payable(self.ctx.db.conn)

    def quota(self, token: str, kind: str) -> Quota:
        who = self.auth.principal(token)
        return self._quota(self.ctx.db.conn, who, kind)

    # -- prepare; the operations service confirms and books --------------------------------------
    def prepare(self, token: str, request: TransferRequest) -> Pending:
        """A transfer waiting for its code; `pending.view` is the TransferDraft the member confirms."""
        self.auth.principal(token)
        if not isinstance(request, TransferRequest):
            raise ValidationError("La solicitud de transferencia no es válida.")
        return self.ops.prepare(token, OPERATION, asdict(request))

    # -- history and receipts --------------------------------------------------------------------
    def history(self, token: str, date_from: date | None = None, date_to: date | None = None,
                kind: str | None = None, limit: int = 200) -> list[TransferSummary]:
        who = self.auth.principal(token)
        sql = ("SELECT t.*, COALESCE(i.name, 'Cooprogreso') AS institution FROM transfers t"
               " LEFT JOIN institutions i ON i.code = t.dest_institution WHERE t.user_id = ?")
        params: list = [who.user_id]
        days, day_params = within_days("t.created_at", date_from, date_to)
        sql += days
        params += day_params
        if kind:
            if kind not in KINDS:
                raise ValidationError("Tipo de transferencia no válido.", field="kind")
            sql += " AND t.kind = ?"
            params.append(kind)
        sql += " ORDER BY t.created_at DESC, t.id DESC LIMIT ?"
        params.append(max(1, min(limit, 1000)))
        return [TransferSummary(r["id"], r["reference"], parse_iso(r["created_at"]), r["kind"], r["dest_name"],
                                r["institution"], r["amount"], r["fee"], r["state"], r["return_reason"])
                for r in self.ctx.db.conn.execute(sql, params)]

    def receipt(self, token: str, transfer_id: int) -> Receipt:
        return self.ops.receipt(token, OPERATION, transfer_id)

    def _receipt(self, conn: Connection, who: Principal, transfer_id: int) -> Receipt:
        row = conn.execute(
            "SELECT t.*, a.number AS origin_number, COALESCE(i.name, 'Cooprogreso') AS institution"
            " FROM transfers t JOIN accounts a ON a.id = t.origin_account_id"
            " LEFT JOIN institutions i ON i.code = t.dest_institution WHERE t.id = ? AND t.user_id = ?",
            (transfer_id, who.user_id)).fetchone()
        if row is None:
            raise NotFound("La transferencia no existe o no te pertenece.")
        lines = [("Cuenta de origen", mask_account(row["origin_number"])), ("Beneficiario", row["dest_name"]),
                 ("Institución", row["institution"]), ("Cuenta de destino", mask_account(row["dest_account_number"])),
                 ("Monto", format_money(row["amount"])), ("Comisión", format_money(row["fee"])),
                 ("Total debitado", format_money(row["amount"] + row["fee"])), ("Motivo", row["motive"]),
                 ("Estado", row["state"])]
        if row["return_reason"]:
            lines.append(("Motivo devolución", row["return_reason"]))
        return make(self.ctx.secret("receipt_secret"), kind=OPERATION, title=RECEIPT_TITLES[row["kind"]],
                    lines=lines, reference=row["reference"], created_at=parse_iso(row["created_at"]),
                    result_id=row["id"])

    # -- internals -------------------------------------------------------------------------------
    def _book(self, conn: Connection, who: Principal, request: TransferRequest, key: str,
              draft: TransferDraft | None = None) -> int:
        """The commit path, inside the write transaction: limits and funds under the lock, booked once.
        The clock is read once: the day whose cupo is checked is the day the booking is stamped with."""
        now = self.ctx.now()
        replay = ("SELECT id FROM transfers WHERE idempotency_key = ?", (key,))
        internal = (booking_accounts_queries(INTERBANK_LEGS, who.member_id) if request.kind == "interbancaria"
                    else [])  # the co-op's accounts it credits: with the same round trip
        if draft is not None:
            if not internal:
                again = conn.execute(*replay).fetchone()
                return again[0] if again else self._post(conn, who, draft, key, now)
            (sql, params), = internal  # one statement: the key's earlier booking as its first column
            row = conn.execute(f"SELECT ({replay[0]}), {sql.removeprefix('SELECT ')}", (*replay[1], *params)).fetchone()
            return row[0] if row[0] is not None else self._post(conn, who, draft, key, now, [row[1:]])
        reads = self._draft_reads(who, request, now.date().isoformat(), key)
        rows = conn.fetch_each([*reads, *internal])  # one round trip on PostgreSQL
        if rows[0] is not None:  # the origin row, with the transfer this key booked (if any)
            again = rows[0]["replay_id"]
        else:  # no such origin of this member's: a replay still returns what it booked, before the refusal
            row = conn.execute(*replay).fetchone()
            again = row[0] if row else None
        if again is not None:
            return again
        return self._post(conn, who, self._draft(conn, who, request, rows[:len(reads)]), key, now, rows[len(reads):])

    def _limits(self, kind: str) -> tuple[int, int]:
        s = self.ctx.settings
        return getattr(s, f"limit_{kind}_tx"), getattr(s, f"limit_{kind}_daily")

    def _quota(self, conn: Connection, who: Principal, kind: str) -> Quota:
        if kind not in KINDS:
            raise ValidationError("Tipo de transferencia no válido.", field="kind")
        per_tx, daily = self._limits(kind)
        return daily_quota.TRANSFERS.quota(conn, who.user_id, self.ctx.now().date().isoformat(), daily, kind=kind,
                                           per_transaction=per_tx)

    def _draft_reads(self, who: Principal, req: TransferRequest, day: str,
                     key: str | None = None) -> list[tuple[str, Params]]:
        """What `_draft` reads first: the origin with the day's usage (`used_today`) and, given the booking's
        key, the transfer already booked with it (`replay_id`), and a typed interbank destination's institution
        (`institutions.destination_columns`); then the payee (a typed Cooprogreso account). At most two
        statements, not four: each one costs more than its work (SQLite: under the write lock; PostgreSQL: the
        client's and the server's CPU)."""
        used_sql, used_params = daily_quota.TRANSFERS.used_query(who.user_id, day, req.kind)
        # a typed interbank destination's institution: with the origin, in the same statement (`_draft`)
        columns, join, joined = (institutions.destination_columns(req.institution_code)
                                 if req.beneficiary_id is None and req.kind == "interbancaria" else ("", "", ()))
        reads: list[tuple[str, Params]] = [(
            f"SELECT a.*, m.first_names || ' ' || m.last_names AS payer, COALESCE(({used_sql}), 0) AS used_today,"
            f" (SELECT id FROM transfers WHERE idempotency_key = ?) AS replay_id{columns}"
            f" FROM accounts a JOIN members m ON m.id = a.member_id{join} WHERE a.id = ? AND a.member_id = ?",
            (*used_params, key, *joined, req.origin_id, who.member_id))]
        payee = lookup_query(req.account_number) if req.kind == "terceros" and req.beneficiary_id is None else None
        if payee:
            reads.append(payee)
        return reads

    def _draft(self, conn: Connection, who: Principal, req: TransferRequest, reads: list | None = None) -> TransferDraft:
        """`reads`: the rows of `_draft_reads`, when the caller sent them with its own statements."""
        if req.kind not in KINDS:
            raise ValidationError("Tipo de transferencia no válido.", field="kind")
        per_tx, daily = self._limits(req.kind)
        if reads is None:
            reads = conn.fetch_each(self._draft_reads(who, req, self.ctx.now().date().isoformat()))  # one round trip on PostgreSQL
        origin, *looked_up = reads
        if origin is None:
            raise NotFound("La cuenta de origen no existe o no te pertenece.")
        if req.beneficiary_id is None and req.kind == "interbancaria":  # read with the origin (`_draft_reads`)
            looked_up = [institutions.destination_row(origin)]
        quota = Quota(daily, origin["used_today"], per_tx)
        if origin["kind"] != "ahorros" or origin["status"] != "activa":
            raise ValidationError("La cuenta de origen debe ser una cuenta de ahorros activa.", field="origin")
        motive = clean_text(req.motive, field="motive", label="El motivo", min_len=1, max_len=MAX_MOTIVE)
        dest = self._destination(conn, who, req, tuple(looked_up) or None)
        if dest["dest_account_number"] == origin["number"]:
            raise ValidationError("La cuenta de destino no puede ser la misma de origen.", field="destination")
        amount = req.amount
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise ValidationError("El monto debe ser mayor que cero.", field="amount")
        quota.check(amount)
        fee = self.ctx.settings.interbank_fee if req.kind == "interbancaria" else 0
        available = origin["balance"] - origin["held"]
        _funds(available, amount, fee)
        return TransferDraft(request=req, origin_number=origin["number"], origin_available=available,
                             payer_name=origin["payer"],
                             amount=amount, fee=fee, motive=motive, quota_left=quota.left_today, **dest)

    def _recheck(self, conn: Connection, who: Principal, d: TransferDraft) -> TransferDraft:
        """Under the write lock, what can change after `d` was drafted before it (its details are bound by the
        code, checked in this transaction): the origin's state and funds, the destination account's state, in
        one statement. The day's cupo is guarded by the usage upsert (`_post`); the key's earlier booking by
        `_book`; the session and the operation's state by the operations service."""
        req = d.request
        row = conn.execute(
            "SELECT a.kind, a.status, a.balance - a.held AS available, (SELECT CASE WHEN c.status = 'activa'"
            " AND m.status = 'activo' THEN 1 ELSE 0 END FROM accounts c JOIN members m ON m.id = c.member_id"
            " WHERE c.id = ?) AS dest_open FROM accounts a WHERE a.id = ? AND a.member_id = ?",
            (d.dest_account_id, req.origin_id, who.member_id)).fetchone()
        if row is None:
            raise NotFound("La cuenta de origen no existe o no te pertenece.")
        if row["kind"] != "ahorros" or row["status"] != "activa":
            raise ValidationError("La cuenta de origen debe ser una cuenta de ahorros activa.", field="origin")
        if d.dest_account_id is not None and row["dest_open"] != 1:
            raise ValidationError("La cuenta de destino no está activa.", field="destination")
        _funds(row["available"], d.amount, d.fee)
        return d

    def _destination(self, conn: Connection, who: Principal, req: TransferRequest, looked_up: tuple | None = None) -> dict:
        if req.kind == "propia":
            row = conn.execute("SELECT * FROM accounts WHERE id = ? AND member_id = ?",
                               (req.dest_account_id, who.member_id)).fetchone()
            if row is None or row["kind"] != "ahorros" or row["status"] != "activa":
                raise ValidationError("Selecciona una de tus cuentas de ahorros como destino.", field="destination")
            me = conn.execute("SELECT first_names, last_names, id_type, id_number FROM members WHERE id = ?",
                              (who.member_id,)).fetchone()
            return dict(dest_name="Cuenta propia", dest_payee_check="Cuenta propia",
                        dest_institution_code=institutions.COOPROGRESO, dest_institution="Cooprogreso",
                        dest_account_type="ahorros", dest_account_number=row["number"], dest_account_id=row["id"],
                        dest_id_type=me["id_type"], dest_id_number=me["id_number"])
        saved = None
        if req.beneficiary_id is not None:
            saved = conn.execute("SELECT * FROM beneficiaries WHERE id = ? AND user_id = ?",
                                 (req.beneficiary_id, who.user_id)).fetchone()
            if saved is None:
                raise NotFound("El beneficiario no existe o no te pertenece.")
            expected = "terceros" if req.kind == "terceros" else "interbancaria"
            if saved["service"] != expected:
                raise ValidationError("Ese beneficiario es de otro tipo de transferencia.", field="destination")
        if req.kind == "terceros":
            payee = coop_account(conn, saved["account_number"] if saved else req.account_number, looked_up=looked_up)
            if payee.member_id == who.member_id:
                raise ValidationError("Esa cuenta es tuya: usa Transferencias a mis Cuentas.", field="destination")
            return dict(dest_name=saved["name"] if saved else payee.masked_name, dest_payee_check=payee.masked,
                        dest_institution_code=institutions.COOPROGRESO, dest_institution="Cooprogreso",
                        dest_account_type="ahorros", dest_account_number=payee.number,
                        dest_account_id=payee.account_id, dest_id_type=payee.id_type, dest_id_number=payee.id_number)
        if req.kind != "interbancaria":
            raise ValidationError("Tipo de transferencia no válido.", field="kind")
        if saved:
            code, acc_type, number = saved["institution_code"], saved["account_type"], saved["account_number"]
            name, id_type, id_number = saved["name"], saved["id_type"], saved["id_number"]
        else:
            code, acc_type, number = req.institution_code, req.account_type, req.account_number
            name, id_type, id_number = req.holder_name, req.holder_id_type, req.holder_id_number
        if looked_up and not saved:  # the institution's row, read with the origin (`_draft_reads`)
            institution, number = institutions.destination(conn, code, number, looked_up[0])
        else:
            institution, number = institutions.destination(conn, code, number)
        if acc_type not in ("ahorros", "corriente"):
            raise ValidationError("Selecciona el tipo de cuenta.", field="account_type")
        name = clean_text(name, field="holder_name", label="El nombre del titular", min_len=3, max_len=80)
        id_number = normalize_id(id_type, id_number)
        return dict(dest_name=name, dest_payee_check=f"{name} · {ID_TYPES[id_type]} {id_number}",
                    dest_institution_code=institution.code, dest_institution=institution.name,
                    dest_account_type=acc_type, dest_account_number=number, dest_account_id=None,
                    dest_id_type=id_type, dest_id_number=id_number)

    def _post(self, conn: Connection, who: Principal, d: TransferDraft, key: str, at: datetime,
              parts: list | None = None) -> int:
        """`parts`: what booking_accounts_queries(INTERBANK_LEGS) found, for an interbank transfer."""
        now = iso(at)
        origin, kind = d.request.origin_id, d.request.kind
        if kind == "interbancaria":
            wanted = INTERBANK_LEGS[:2 if d.fee else 1]  # an account is made on first use: only those it credits
            compensacion, *comisiones = booking_accounts(conn, wanted, who.member_id, parts or None)
            legs = [Leg(origin, -d.amount, f"Transferencia a {d.dest_name} ({d.dest_institution}) · {d.motive}"),
                    Leg(compensacion, d.amount, f"Transferencia interbancaria {d.dest_institution}")]
            if d.fee:
                legs += [Leg(origin, -d.fee, "Comisión transferencia interbancaria"),
                         Leg(comisiones[0], d.fee, "Comisión transferencia interbancaria")]
        else:
            if kind == "propia":
                out_memo = f"Transferencia a mi cuenta {d.dest_account_masked} · {d.motive}"
                in_memo = f"Transferencia desde mi cuenta {d.origin_masked} · {d.motive}"
            else:
                out_memo = f"Transferencia a {d.dest_name} · {d.motive}"
                in_memo = f"Transferencia de {d.payer_name} · {d.motive}"
            assert d.dest_account_id is not None  # a transfer inside the co-op always has its account
            legs = [Leg(origin, -d.amount, out_memo), Leg(d.dest_account_id, d.amount, in_memo)]
        entry = post(conn, kind=f"transferencia_{kind}", description=f"Transferencia {KINDS[kind]}", legs=legs,
                     posted_at=now, actor=who.username, idempotency_key=key)
        reference = f"{now[2:4]}{now[5:7]}{now[8:10]}{entry:08d}"  # yymmdd of `now` (strftime costs more)
        state = "Enviada" if kind == "interbancaria" else "Acreditada"
        per_tx, daily = self._limits(kind)
        with conn.pipeline():  # PostgreSQL: these three rows in one round trip
            used = daily_quota.TRANSFERS.add_within(conn, who.user_id, now[:10], d.amount, daily, kind)
            audit.record(conn, at=now, actor=who.username, action=f"transferencia.{kind}", outcome="ok",
                         referencia=reference, monto=d.amount, comision=d.fee, origen=d.origin_masked,
                         destino=d.dest_account_masked, institucion=d.dest_institution_code)
            inserted = conn.execute(
                "INSERT INTO transfers (reference, idempotency_key, user_id, kind, origin_account_id, dest_account_id,"
                " dest_institution, dest_account_type, dest_account_number, dest_name, dest_id_type, dest_id_number,"
                " amount, fee, motive, state, entry_id, created_at, settled_at, next_attempt_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (reference, key, who.user_id, kind, origin, d.dest_account_id, d.dest_institution_code,
                 d.dest_account_type, d.dest_account_number, d.dest_name, d.dest_id_type, d.dest_id_number, d.amount,
                 d.fee, d.motive, state, entry, now, None if kind == "interbancaria" else now,
                 now if kind == "interbancaria" else None))
        if used.fetchone() is None:  # past the day's cupo (a booking committed since the draft): all rolled back
            Quota(daily, daily_quota.TRANSFERS.used(conn, who.user_id, now[:10], kind), per_tx).check(d.amount)
            raise ValidationError("El monto supera tu cupo disponible hoy.", field="amount", code="limit_daily")
        return inserted.fetchone()[0]


def _funds(available: int, amount: int, fee: int) -> None:
    if amount + fee > available:
        with_fee = f" (incluye la comisión de {format_money(fee)})" if fee else ""
        raise InsufficientFunds(f"Saldo insuficiente: tu disponible es {format_money(available)} y la "
                                f"transferencia necesita {format_money(amount + fee)}{with_fee}.", field="amount")


def _details(d: TransferDraft) -> dict:
    """What the code is bound to: change any of it and the code is void."""
    return {"kind": d.request.kind, "origin": d.origin_number, "institution": d.dest_institution_code,
            "destination": d.dest_account_number, "amount": d.amount, "fee": d.fee}


def _confirm_lines(d: TransferDraft) -> list[tuple[str, str]]:
    from backend.transfers.beneficiaries import ACCOUNT_TYPES

    lines = [("Desde", f"Ahorros {d.origin_masked}"), ("Para", d.dest_payee_check),
             ("Institución", d.dest_institution),
             ("Cuenta", f"{ACCOUNT_TYPES[d.dest_account_type]} {d.dest_account_masked}"),
             ("Monto", format_money(d.amount))]
    if d.fee:
        lines += [("Comisión", format_money(d.fee)), ("Total", format_money(d.total))]
    lines.append(("Motivo", d.motive))
    return lines


class TransferHandler:
    """Transfers as an authorised operation."""

    kind = OPERATION
    otp_label = "tu transferencia"

    def __init__(self, service: TransfersService):
        self.service = service

    def prepare(self, conn: Connection, who: Principal, request: dict[str, Any]) -> Prepared[TransferDraft]:
        try:
            req = TransferRequest(**request)
        except TypeError as exc:
            raise ValidationError("La solicitud de transferencia no es válida.") from exc
        draft = self.service._draft(conn, who, req)
        return Prepared(details=_details(draft), title="Confirma la transferencia", lines=_confirm_lines(draft),
                        plan=draft, view=draft)

    def recheck(self, conn: Connection, who: Principal, plan: TransferDraft) -> TransferDraft:
        return self.service._recheck(conn, who, plan)

    def execute(self, conn: Connection, who: Principal, plan: TransferDraft, key: str) -> int:
        return self.service._book(conn, who, plan.request, key, plan)

    def receipt(self, conn: Connection, who: Principal, result_id: int) -> Receipt:
        return self.service._receipt(conn, who, result_id)
