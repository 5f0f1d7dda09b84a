"""Cash at the counter: find the member, show who they are, deposit or withdraw against the teller's till.

Each movement is one entry between the member's savings account and the teller's till. A withdrawal
above `teller_approval_threshold` is left for a supervisor (maker-checker) and moves nothing until
approved. The teller's sign-in (password + authenticator code) plus the confirmation dialog authorise
the rest; the form's idempotency key makes a double submit book once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from backend.branch import cash_declaration, counter_ops
from backend.branch.tills import amount_cents, open_till_row, till_cash
from backend.core import invariants, notices, printing
from backend.core.clock import parse_iso
from backend.core.context import Context, Principal
from backend.core.db import member_lock
from backend.core.errors import Forbidden, NotFound, ServiceError, ValidationError
from backend.core.files import write_private
from backend.core.identity import ID_TYPES, mask_account, mask_id, mask_phone
from backend.core.ledger import Leg, post
from backend.core.money import format_money
from backend.core.name_search import MemberSearch, find_by_name
from backend.core.text import ascii_digits, clean_text
from backend.security import documents, receipts
from backend.security.roles import ATENCION, AUDITOR, CAJERO, SUPERVISOR, staff_only
from backend.security.staff_conflicts import refuse_own

if TYPE_CHECKING:
    from backend.core.db import Connection
    from backend.security.auth import AuthService

OPENING_LABELS = {"por_aprobar": "Espera la aprobación del supervisor (persona expuesta políticamente)",
                  "deposito_pendiente": "Pendiente del depósito de apertura",
                  "rechazada": "Registro rechazado por el supervisor"}
CASH_KINDS = {kind: counter_ops.KIND_LABELS[kind] for kind in ("deposito", "retiro")}  # one list of labels


@dataclass(frozen=True)
class MemberAccount:
    id: int
    number: str
    name: str
    available: int


@dataclass(frozen=True)
class MemberCard:
    """Who is at the counter: enough to recognise them, and questions only they can answer."""

    member_id: int
    name: str
    id_masked: str
    status: str
    accounts: tuple[MemberAccount, ...]
    check_questions: tuple[tuple[str, str], ...]  # (question to ask, the answer on file)
    opening: str | None = None  # a new member's account not yet open: what it waits for (Spanish)


@dataclass(frozen=True)
class CashQuote:
    kind: str
    title: str
    lines: tuple[tuple[str, str], ...]
    amount: int
    needs_approval: bool
    declaration: cash_declaration.Declaration | None = None  # licitud de fondos, for a large cash deposit
    depositor: cash_declaration.Depositor | None = None  # who brings the cash of a deposit (owner by default)
    opening: bool = False  # the new member's opening deposit (backend/branch/backoffice.py)


@dataclass(frozen=True)
class CashResult:
    op_id: int
    state: str  # ejecutada / por_aprobar
    reference: str
    receipt: receipts.Receipt | None  # the comprobante, once executed


def search_members(conn: Connection, query: str) -> tuple[list[int], int]:
    """(ids of the members found, how many matched): by cédula or account number, else by name."""
    text = clean_text(query, field="buscar", label="La búsqueda", max_len=80, min_len=3)
    digits = text.replace(" ", "").replace("-", "")
    if digits.isdecimal():
        number = ascii_digits(digits, field="buscar", label="La búsqueda")
        rows = conn.execute("SELECT id FROM members WHERE id_number = ? UNION SELECT member_id FROM accounts"
                            " WHERE number = ? AND member_id IS NOT NULL", (number, number)).fetchall()
        return sorted(r[0] for r in rows), len(rows)
    return find_by_name(conn, text)


def member_card(conn: Connection, member_id: int) -> MemberCard:
    m = conn.execute("SELECT * FROM members WHERE id = ?", (member_id,)).fetchone()
    if m is None:
        raise NotFound("El socio no existe.", field="socio")
    accs = conn.execute("SELECT id, number, name, balance - held FROM accounts WHERE member_id = ? AND kind = 'ahorros'"
                        " AND status = 'activa' ORDER BY id", (member_id,)).fetchall()
    questions = []
    if m["birth_date"]:
        questions.append(("¿Cuál es su fecha de nacimiento?", date.fromisoformat(m["birth_date"]).strftime("%d/%m/%Y")))
    if m["mobile"]:
        questions.append(("¿Cuáles son los 3 últimos dígitos de su celular?", m["mobile"][-3:]))
    questions.append(("¿En qué año se hizo socio?", m["created_at"][:4]))
    return MemberCard(m["id"], f"{m['first_names']} {m['last_names']}", mask_id(m["id_number"]), m["status"],
                      tuple(MemberAccount(a[0], a[1], a[2], a[3]) for a in accs), tuple(questions),
                      OPENING_LABELS.get(m["opening"]) if m["opening"] else None)


def book_cash(conn: Connection, ctx: Context, op: counter_ops.CounterOp, actor: str) -> int:
    """Move the cash of a counter operation; inside the caller's write transaction."""
    till = conn.execute("SELECT * FROM tills WHERE id = ?", (op.till_id,)).fetchone()
    if till is None or till["status"] != "abierta":
        raise ValidationError("La caja del cajero ya no está abierta.", code="sin_caja")
    if op.account_id is None or op.member_id is None:
        raise ValidationError("La operación no tiene cuenta de socio.", code="sin_cuenta")
    sign = 1 if op.kind == "deposito" else -1
    if sign < 0 and till_cash(conn, till["account_id"]) < op.amount:
        raise ValidationError("No hay suficiente efectivo en la caja para este retiro.", field="monto")
    memo = f"{CASH_KINDS[op.kind]} en ventanilla"
    entry = post(conn, kind=f"{op.kind}_ventanilla", description=f"{memo} ref. {op.reference}",
                 legs=[Leg(op.account_id, sign * op.amount, memo), Leg(till["account_id"], -sign * op.amount, memo)],
                 posted_at=ctx.now_iso(), actor=actor, idempotency_key=f"counter:{op.id}")
    counter_ops.mark_executed(conn, ctx, op.id, entry)
    number = conn.execute("SELECT number FROM accounts WHERE id = ?", (op.account_id,)).fetchone()[0]
    notices.queue(conn, op.member_id, f"Cooprogreso: {CASH_KINDS[op.kind].lower()} de {format_money(op.amount)} en "
                  f"tu cuenta {mask_account(number)}. Ref. {op.reference}. Si no la reconoces, llama a la "
                  "cooperativa.", ctx.now_iso())
    return entry


def opening_refusal(opening: str, kind: str, cents: int, minimum: int) -> None:
    """A member still opening their account: only a cash deposit of at least the minimum, once approved."""
    if opening == "por_aprobar":
        raise ValidationError("El socio es persona expuesta políticamente: su registro espera la aprobación del "
                              "supervisor antes del depósito de apertura.", field="cuenta")
    if opening != "deposito_pendiente":
        raise ValidationError("El registro del socio fue rechazado: la cuenta no se abre.", field="cuenta")
    if kind != "deposito":
        raise ValidationError("La cuenta aún no está abierta: el primer movimiento es el depósito de apertura.",
                              field="cuenta")
    if cents < minimum:
        raise ValidationError(f"El depósito de apertura mínimo es {format_money(minimum)}.", field="monto")


def open_account(conn: Connection, ctx: Context, member_id: int, account_id: int, entry: int) -> None:
    """The opening deposit just booked makes the member active; it must be the account's first movement."""
    first = conn.execute("SELECT entry_id FROM postings WHERE account_id = ? ORDER BY id LIMIT 1",
                         (account_id,)).fetchone()
    if first is None or first[0] != entry:
        raise ValidationError("La cuenta ya tiene movimientos: no es una apertura.", code="apertura")
    done = conn.execute("UPDATE members SET status = 'activo', opening = NULL, opening_entry_id = ? WHERE id = ?"
                        " AND opening = 'deposito_pendiente' RETURNING id", (entry, member_id)).fetchone()
    if done is None:
        raise ValidationError("El socio ya no espera su depósito de apertura.", code="apertura")
    notices.queue(conn, member_id, "Cooprogreso: bienvenido(a). Tu cuenta de ahorros ya está abierta; afíliate a "
                  "Cooprogreso en Línea con «Regístrate aquí».", ctx.now_iso())


def lock_member_of(conn: Connection, account_id: object) -> None:  # a Database.write() connection (it has `lock`)
    """Take the lock of the member who owns `account_id` before any row lock (see backend/core/db_pg.py)."""
    if isinstance(account_id, bool) or not isinstance(account_id, int):
        return  # the quote refuses it with a clear message
    row = conn.execute("SELECT member_id FROM accounts WHERE id = ?", (account_id,)).fetchone()
    if row is not None and row[0] is not None:
        conn.lock(member_lock(row[0]))


def hold_withdrawal(conn: Connection, account_id: int, cents: int) -> None:
    """Hold a queued withdrawal's money on the member's account: one conditional UPDATE, so two
    withdrawals at once cannot both hold the same money (the ledger then keeps every debit off it)."""
    row = conn.execute("UPDATE accounts SET held = held + ? WHERE id = ? AND balance - held >= ? RETURNING held",
                       (cents, account_id, cents)).fetchone()
    if row is None:
        available = conn.execute("SELECT balance - held FROM accounts WHERE id = ?", (account_id,)).fetchone()[0]
        raise ValidationError(f"Saldo insuficiente: el disponible es {format_money(available)}.", field="monto")


def release_withdrawal(conn: Connection, ctx: Context, op: counter_ops.CounterOp, *_: object) -> None:
    """The hold of a queued withdrawal goes back to the member's available balance (rejected or approved)."""
    row = conn.execute("UPDATE accounts SET held = held - ? WHERE id = ? AND held >= ? RETURNING held",
                       (op.amount, op.account_id, op.amount)).fetchone()
    if row is None:  # the books disagree with the queue: refuse rather than release someone else's hold
        raise ValidationError("La retención del retiro no coincide; revisa el cuadre (check).", code="retencion")


def approve_withdrawal(conn: Connection, ctx: Context, op: counter_ops.CounterOp, checker: Principal, note: str) -> int:
    release_withdrawal(conn, ctx, op)  # the held money is the money now paid out
    return book_cash(conn, ctx, op, checker.username)


def pending_withdrawals(conn: Connection, till_id: int) -> int:
    """Cash of the till already promised to withdrawals waiting for a supervisor."""
    return conn.execute("SELECT COALESCE(SUM(amount), 0) FROM counter_ops WHERE till_id = ? AND kind = 'retiro'"
                        " AND state = 'por_aprobar'", (till_id,)).fetchone()[0]


def check(conn: Connection) -> list[str]:
    """An invariant of the books (registered below). `accounts.held` is exactly the withdrawals waiting at the
    counter (the only holds so far); a member still opening has no movement, and an opened member's first movement
    is their opening deposit."""
    problems = [f"cuenta {number}: el socio aún no abre la cuenta pero tiene movimientos"
                for (number,) in conn.execute(
                    "SELECT DISTINCT a.number FROM members m JOIN accounts a ON a.member_id = m.id"
                    " JOIN postings p ON p.account_id = a.id WHERE m.opening IS NOT NULL")]
    problems += [f"cuenta {number}: su primer movimiento no es el depósito de apertura"
                 for (number,) in conn.execute(  # compared in SQL: only the accounts that disagree reach Python
                     "SELECT number FROM (SELECT a.number, m.opening_entry_id AS opening, (SELECT p.entry_id"
                     " FROM postings p WHERE p.account_id = a.id ORDER BY p.id LIMIT 1) AS first FROM members m"
                     " JOIN postings o ON o.entry_id = m.opening_entry_id"
                     " JOIN accounts a ON a.id = o.account_id AND a.member_id = m.id"
                     " WHERE m.opening_entry_id IS NOT NULL) AS f WHERE first IS NULL OR first != opening")]
    return problems + [
        f"cuenta {number}: retenido {format_money(held)} ≠ retiros por aprobar {format_money(pending)}"
        for number, held, pending in conn.execute(
            "SELECT a.number, a.held, COALESCE(SUM(o.amount), 0) FROM accounts a LEFT JOIN counter_ops o"
            " ON o.account_id = a.id AND o.kind = 'retiro' AND o.state = 'por_aprobar'"
            # only accounts that hold or should (no hold and nothing waiting agree): what waits, not the history
            " WHERE a.held != 0 OR a.id IN (SELECT account_id FROM counter_ops WHERE state = 'por_aprobar')"
            " GROUP BY a.id, a.number, a.held HAVING a.held != COALESCE(SUM(o.amount), 0)")]


def _depositor(conn: Connection, account_id: object, declaration: object,
               depositor: object) -> cash_declaration.Depositor | None:
    """Who brings a deposit's cash: the declared person, else the person the teller named, else the owner.
    None for an account that does not exist (the quote refuses it)."""
    declared = cash_declaration.declared_depositor(declaration)
    named = cash_declaration.parse_depositor(depositor)
    if declared and named and (declared.id_type, declared.id_number) != (named.id_type, named.id_number):
        raise ValidationError("La declaración debe ser de la misma persona que deposita.", field="depositante")
    if declared or named:
        return declared or named
    if isinstance(account_id, bool) or not isinstance(account_id, int):
        return None
    row = conn.execute("SELECT m.id_type, m.id_number, m.first_names, m.last_names FROM accounts a"
                       " JOIN members m ON m.id = a.member_id WHERE a.id = ?", (account_id,)).fetchone()
    return cash_declaration.Depositor(row[0], row[1], f"{row[2]} {row[3]}") if row else None


class CounterService:
    def __init__(self, ctx: Context, auth: AuthService) -> None:
        self.ctx = ctx
        self.auth = auth

    @staff_only(CAJERO, ATENCION, SUPERVISOR, AUDITOR)
    def find_member(self, who: Principal, query: str) -> MemberSearch[MemberCard]:
        """The members found (at most `name_search.LIMIT`, as `MemberCard`s) and how many matched."""
        with self.ctx.db.read() as conn:
            ids, total = search_members(conn, query)
            cards = tuple(member_card(conn, i) for i in ids)
        self.ctx.audit_now(who.username, "socio.buscar", "ok", rol=who.role, resultados=total)
        return MemberSearch(cards, total)

    @staff_only(CAJERO)
    def quote(self, who: Principal, kind: str, account_id: int, amount: str,
              declaration: dict | None = None, depositor: dict | None = None) -> CashQuote:
        with self.ctx.db.read() as conn:
            return self._quote(conn, who, kind, account_id, amount, declaration, depositor)

    @staff_only(CAJERO)
    def cash(self, who: Principal, kind: str, account_id: int, amount: str, key: str,
             declaration: dict | None = None, depositor: dict | None = None) -> CashResult:
        """Book the deposit or withdrawal now, or leave a large withdrawal for a supervisor.

        `depositor` ({name, id_type, id_number}) is the person bringing the cash when it is not the owner; a
        deposit's sum toward the declaration is theirs, under their lock (two tills at once queue)."""
        key = clean_text(key, field="key", label="La clave de la operación", max_len=64, min_len=8)
        if isinstance(account_id, int) and not isinstance(account_id, bool):
            owner = self.ctx.db.conn.execute("SELECT member_id FROM accounts WHERE id = ?", (account_id,)).fetchone()
            refuse_own(self.ctx, who, owner[0] if owner else None, action="ventanilla.operar",
                       message="No puedes atender en ventanilla una operación de tu propia cuenta.", cuenta=account_id)
        with self.ctx.db.write() as conn:
            lock_member_of(conn, account_id)  # first: queue with the member's own writes (PostgreSQL)
            if kind == "deposito":  # then the depositor's: their cash at any till adds up (see cash_declaration)
                brought = _depositor(conn, account_id, declaration, depositor)
                if brought is not None:
                    conn.lock(cash_declaration.depositor_lock(brought))
            # Then the till's row: two withdrawals at once cannot both count on the same cash.
            conn.execute("SELECT id FROM tills WHERE staff_id = ? AND status = 'abierta' FOR UPDATE", (who.user_id,))
            done = counter_ops.by_key(conn, f"{who.user_id}:{key}")
            if done is not None:  # the same form sent twice: the first result stands
                return self._result(conn, done)
            quote = self._quote(conn, who, kind, account_id, amount, declaration, depositor)
            till = open_till_row(conn, who.user_id)
            assert till is not None  # _quote refused a teller without an open till
            member = conn.execute("SELECT member_id FROM accounts WHERE id = ?", (account_id,)).fetchone()[0]
            state = "por_aprobar" if quote.needs_approval else "ejecutada"
            op_id = counter_ops.insert(conn, self.ctx, kind=kind, state=state, maker_id=who.user_id, member_id=member,
                                       key=f"{who.user_id}:{key}", account_id=account_id, till_id=till["id"],
                                       amount=quote.amount,
                                       request=quote.declaration.as_request() if quote.declaration else None,
                                       depositor=((quote.depositor.id_type, quote.depositor.id_number,
                                                   quote.depositor.name) if quote.depositor else None))
            op = counter_ops.get(conn, op_id)
            if state == "ejecutada":
                entry = book_cash(conn, self.ctx, op, who.username)
                if quote.opening:
                    open_account(conn, self.ctx, member, account_id, entry)
            else:  # the member's money waits with the supervisor, out of reach of any other debit
                hold_withdrawal(conn, account_id, quote.amount)
            declared: dict[str, object] = {}
            if quote.declaration:  # for the UAFE report: what was declared, the depositor's ID masked
                declared = {"origen_fondos": quote.declaration.origin, "depositante": quote.declaration.name,
                            "depositante_id": mask_id(quote.declaration.id_number)}
            elif quote.depositor and quote.depositor.id_number != self._owner_id(conn, account_id):
                declared = {"depositante": quote.depositor.name, "depositante_id": mask_id(quote.depositor.id_number)}
            if quote.opening:
                declared["apertura"] = True
            self.ctx.audit(conn, who.username, f"ventanilla.{kind}", state, rol=who.role, member_id=member,
                           cuenta=account_id, monto=quote.amount, operacion=op_id, **declared)
            return self._result(conn, counter_ops.get(conn, op_id))

    @staff_only(CAJERO)
    def my_operations(self, who: Principal) -> list[counter_ops.CounterOp]:
        with self.ctx.db.read() as conn:
            till = open_till_row(conn, who.user_id) or conn.execute(
                "SELECT * FROM tills WHERE staff_id = ? ORDER BY id DESC LIMIT 1", (who.user_id,)).fetchone()
            return list(reversed(counter_ops.of_till(conn, till["id"]))) if till else []

    @staff_only(CAJERO, SUPERVISOR, AUDITOR)
    def receipt(self, who: Principal, op_id: int) -> receipts.Receipt:
        return self._own_receipt(who, op_id)

    @staff_only(CAJERO)
    def save_receipt(self, who: Principal, op_id: int, directory: str) -> str:
        receipt = self._own_receipt(who, op_id)
        return str(write_private(directory, receipt.file_stem, ".txt", receipt.text.encode("utf-8")))

    @staff_only(CAJERO)
    def print_receipt(self, who: Principal, op_id: int) -> str:
        """«Imprimir»: the receipt as PDF on the teller's agency printer (CUPS); says where it went."""
        receipt = self._own_receipt(who, op_id)
        with self.ctx.db.read() as conn:
            agency, queue = printing.agency_printer(conn, who.user_id)
        name, ruc = documents.coop_identity(self.ctx.settings)
        data = documents.render_pdf(self.ctx.secret("receipt_secret"),
                                    documents.receipt_document(receipt, coop_name=name, coop_ruc=ruc))
        try:  # outside any transaction: a retried one would print twice
            job = printing.print_pdf(self.ctx.settings.print_command, queue, data, receipt.file_stem)
        except ServiceError as exc:
            self.ctx.audit_now(who.username, "comprobante.imprimir", "error", rol=who.role,
                               referencia=receipt.reference, impresora=queue, motivo=exc.code)
            raise
        self.ctx.audit_now(who.username, "comprobante.imprimir", "ok", rol=who.role, referencia=receipt.reference,
                           agencia=agency, impresora=queue, trabajo=job)
        return f"Comprobante enviado a la impresora {queue} de la agencia {agency} (trabajo {job})."

    def _own_receipt(self, who: Principal, op_id: int) -> receipts.Receipt:
        """The receipt of an executed cash operation, if `who` may see it (a cajero: only their own)."""
        with self.ctx.db.read() as conn:
            op = counter_ops.get(conn, op_id)
            if who.role == CAJERO and op.maker_id != who.user_id:
                raise Forbidden("Esa operación no es de tu caja.")
            if op.kind not in CASH_KINDS or op.state != "ejecutada":
                raise ValidationError("La operación no tiene comprobante.", code="sin_comprobante")
            return self._receipt(conn, op)

    # -- helpers ------------------------------------------------------------------------------------
    def _third_depositor(self, conn: Connection, op: counter_ops.CounterOp) -> list[tuple[str, str]]:
        row = conn.execute("SELECT depositor_type, depositor_id, depositor_name FROM counter_ops WHERE id = ?",
                           (op.id,)).fetchone()
        if not row or not row["depositor_id"] or op.account_id is None \
                or row["depositor_id"] == self._owner_id(conn, op.account_id):
            return []
        kind = ID_TYPES.get(row["depositor_type"], row["depositor_type"])
        return [("Depositado por", f"{row['depositor_name']} · {kind} {mask_id(row['depositor_id'])}")]

    def _owner_id(self, conn: Connection, account_id: int) -> str:
        return conn.execute("SELECT m.id_number FROM accounts a JOIN members m ON m.id = a.member_id WHERE a.id = ?",
                            (account_id,)).fetchone()[0]

    def _quote(self, conn: Connection, who: Principal, kind: str, account_id: int, amount: str,
               declaration: dict | None = None, depositor: dict | None = None) -> CashQuote:
        if kind not in CASH_KINDS:
            raise ValidationError("Operación desconocida.", field="kind")
        till = open_till_row(conn, who.user_id)
        if till is None:
            raise ValidationError("Abre tu caja antes de operar.", code="sin_caja")
        if conn.execute("SELECT 1 FROM counter_ops WHERE till_id = ? AND kind = 'cierre_caja' AND state = 'por_aprobar'",
                        (till["id"],)).fetchone():
            raise ValidationError("Tu caja está en cierre; espera al supervisor.", code="en_cierre")
        cents = amount_cents(amount, max_cents=self.ctx.settings.teller_max_operation)
        acc = conn.execute("SELECT a.*, m.first_names, m.last_names, m.id_number, m.status AS member_status,"
                           " m.opening FROM accounts a JOIN members m ON m.id = a.member_id WHERE a.id = ?",
                           (account_id,)).fetchone()
        if acc is None or acc["kind"] != "ahorros":
            raise NotFound("La cuenta de ahorros no existe.", field="cuenta")
        opening = acc["opening"] is not None  # a new member: this deposit opens the account
        if opening:
            opening_refusal(acc["opening"], kind, cents, self.ctx.settings.opening_deposit_min)
        elif acc["status"] != "activa" or acc["member_status"] != "activo":
            raise ValidationError("La cuenta o el socio no están activos.", field="cuenta")
        if kind == "retiro":
            if acc["balance"] - acc["held"] < cents:
                raise ValidationError(f"Saldo insuficiente: el disponible es "
                                      f"{format_money(acc['balance'] - acc['held'])}.", field="monto")
            if till_cash(conn, till["account_id"]) - pending_withdrawals(conn, till["id"]) < cents:
                raise ValidationError("No hay suficiente efectivo en tu caja para este retiro.", field="monto")
        needs = kind == "retiro" and cents > self.ctx.settings.teller_approval_threshold
        lines: tuple[tuple[str, str], ...] = (
            ("Socio", f"{acc['first_names']} {acc['last_names']}"), ("Identificación", mask_id(acc["id_number"])),
            ("Cuenta", acc["number"]), ("Monto", format_money(cents)))
        if needs:
            lines += (("Aprobación", "Requiere aprobación del supervisor"),)
        if opening:
            lines += (("Apertura", "Depósito de apertura: abre la cuenta"),)
        declared = None
        threshold = self.ctx.settings.cash_declaration_threshold
        brought = _depositor(conn, account_id, declaration, depositor) if kind == "deposito" else None
        earlier = (cash_declaration.deposited_by(conn, brought, counter_ops.business_date(conn, self.ctx))
                   if brought is not None else 0)
        if cash_declaration.required(kind, cents, earlier, threshold):
            declared = cash_declaration.parse(declaration, threshold, earlier)
            lines += declared.lines()
        elif brought is not None and brought.id_number != acc["id_number"]:
            lines += (("Depositado por", f"{brought.name} · {ID_TYPES[brought.id_type]} {mask_id(brought.id_number)}"),)
        title = "Confirma el depósito de apertura" if opening else f"Confirma el {CASH_KINDS[kind].lower()}"
        return CashQuote(kind, title, lines, cents, needs, declared, brought, opening)

    def _result(self, conn: Connection, op: counter_ops.CounterOp) -> CashResult:
        receipt = self._receipt(conn, op) if op.state == "ejecutada" else None
        return CashResult(op.id, op.state, op.reference, receipt)

    def _receipt(self, conn: Connection, op: counter_ops.CounterOp) -> receipts.Receipt:
        acc = conn.execute("SELECT number FROM accounts WHERE id = ?", (op.account_id,)).fetchone()
        mobile = conn.execute("SELECT mobile FROM members WHERE id = ?", (op.member_id,)).fetchone()[0]
        posted = conn.execute("SELECT posted_at FROM entries WHERE id = ?", (op.entry_id,)).fetchone()[0]
        lines = [("Socio", op.member_name or ""), ("Cuenta", mask_account(acc[0])),
                 ("Monto", format_money(op.amount)), ("Cajero", op.maker)]
        if op.checker:
            lines.append(("Aprobado por", op.checker))
        declared = cash_declaration.from_request(op.request)
        if declared:
            lines += declared.lines()
        elif op.kind == "deposito":  # cash brought by someone else than the owner: the paper says who, as the audit
            lines += self._third_depositor(conn, op)
        if mobile:
            lines.append(("Aviso SMS a", mask_phone(mobile)))
        return receipts.make(self.ctx.secret("receipt_secret"), kind=f"ventanilla_{op.kind}",
                             title=CASH_KINDS[op.kind], lines=lines, reference=op.reference,
                             created_at=parse_iso(posted), result_id=op.id)


# Its rows are the members and what waits at the counter, not the days' history: the end of day runs it whole.
invariants.register("ventanilla", check)
