"""The two authorised operations of 4. Pago de Tarjetas: registering a card, and paying one.

- «registro_tarjeta»: another member's Cooprogreso card (found by the keyed digest of its number; the
  holder is shown masked before confirming) or another institution's card (Luhn, 13–19 digits, a
  prefix and length some card network issues: backend/cards/card_networks.py; holder name and identification).
- «pago_tarjeta»: from one of the member's savings accounts. A Cooprogreso card is credited in the
  same entry; another institution's card leaves through the interbank clearing (backend/transfers/clearing.py,
  queue `card_payments`: Enviada → Acreditada / Devuelta, refunded on return).
The code is bound to the card, the amount and the debit account (the operation's details).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from backend.cards import card_arrears, card_networks
from backend.security import card_numbers
from backend.cards.card_ledger import PAYMENT
from backend.cards.cards import OPTIONS, mask_holder, payment_options, resolve_query, resolved
from backend.cards.requests import CardPaymentRequest, CardRegistrationRequest
from backend.core.pan import luhn_ok, mask_pan, pan_digest, pan_secret
from backend.core import institutions, notices
from backend.core.accounts import booking_accounts, booking_accounts_columns
from backend.core.clock import parse_iso
from backend.core.context import Context, Principal
from backend.core.errors import InsufficientFunds, NotFound, OtpError, ValidationError
from backend.core.identity import ID_TYPES, mask_account, normalize_id
from backend.core.ledger import Leg, post
from backend.core.money import format_money
from backend.core.text import ascii_digits, clean_text
from backend.security import receipts
from backend.security.operations import CHANGED, Prepared, parse_request

if TYPE_CHECKING:
    from backend.core.db import Connection
    from backend.security.receipts import Receipt


def card_digits(value: object) -> str:
    digits = ascii_digits(value, field="numero", label="El número de tarjeta")
    if not 13 <= len(digits) <= 19:
        raise ValidationError("El número de tarjeta tiene de 13 a 19 dígitos.", field="numero")
    if not luhn_ok(digits):
        raise ValidationError("El número de tarjeta no es válido (dígito verificador); revísalo.", field="numero")
    return digits


@dataclass(frozen=True)
class CardRegistration:
    """The plan of a card registration: the registered_cards row, the number sealed for it."""

    kind: str
    card_account_id: int | None
    institution_code: str
    card_key: str
    sealed_number: str | None
    masked: str
    first4: str
    last4: str
    holder_name: str
    id_type: str
    id_number: str


@dataclass(frozen=True)
class CardPaymentPlan:
    """The plan of a card payment: what it debits and where it goes."""

    card: Any  # the payable card as `resolve` found it
    origin_id: int
    origin_number: str
    option: str
    amount: int
    fee: int
    card_account: int | None  # a Cooprogreso card's account; None: another institution's card
    dest: dict[str, Any] | None = None  # another institution's card: where the clearing sends the payment
    internal: tuple[Any, ...] = ()  # accounts.booking_accounts_columns(INTERNAL_LEGS) as one row, read with the card
    owner: int | None = None  # another member's Cooprogreso card: that member (told of the payment), read with it
    mora: int = 0  # the interés de mora the payment covers first (a Cooprogreso card of the member's own)
    request: CardPaymentRequest | None = None  # what the member asked for: a Cooprogreso card is prepared again


class CardRegistrationHandler:
    kind = "registro_tarjeta"
    otp_label = "el registro de tu tarjeta"

    def __init__(self, ctx: Context):
        self.ctx = ctx

    @property
    def number_key(self) -> bytes:
        return card_numbers.number_key(self.ctx.secret("otp_pepper"))

    def prepare(self, conn: Connection, who: Principal, request: dict[str, Any]) -> Prepared[CardRegistration]:
        req = parse_request(CardRegistrationRequest, request)
        kind, number = req.kind, req.number
        if card_numbers.is_sealed(number):  # as CardsService.prepare_registration keeps it in the request
            number = card_numbers.unseal(self.number_key, number, owner=who.user_id, place=card_numbers.REQUEST)
        digits = card_digits(number)
        key_secret = pan_secret(self.ctx.secret("pan_pepper"))
        if kind == "cooprogreso":
            card = conn.execute(
                "SELECT c.account_id, a.member_id, a.status, c.status AS card_status, m.first_names, m.last_names"
                " FROM cards c JOIN accounts a ON a.id = c.account_id JOIN members m ON m.id = a.member_id"
                " WHERE c.pan_digest = ?", (pan_digest(key_secret, digits),)).fetchone()
            if card is None or card["status"] != "activa" or card["card_status"] != "Activo":
                raise ValidationError("No existe una tarjeta Cooprogreso activa con ese número.", field="numero")
            if card["member_id"] == who.member_id:
                raise ValidationError("Esa tarjeta es tuya: ya aparece en tu lista sin registrarla.", field="numero")
            holder = mask_holder(card["first_names"], card["last_names"])
            fields = dict(card_account_id=card["account_id"], institution_code=institutions.COOPROGRESO,
                          institution="Cooprogreso", holder_name=holder, id_type="", id_number="",
                          card_key=f"coop:{card['account_id']}")
        elif kind == "otro_banco":
            card_networks.check_issued(digits)  # Luhn alone passes numbers nobody issues (all zeros)
            institution = institutions.get(conn, req.institution_code or "")
            holder = clean_text(req.holder_name, field="holder_name", label="El nombre del titular",
                                min_len=3, max_len=80)
            id_type = req.id_type
            if id_type not in ID_TYPES:
                raise ValidationError("Selecciona el tipo de identificación del titular.", field="id_type")
            id_number = normalize_id(id_type, ascii_digits(req.id_number, field="id_number",
                                                           label="La identificación") if id_type != "pasaporte"
                                     else str(req.id_number or ""))
            # the number itself is not in the details (their digest is unkeyed): the keyed card_key binds it
            fields = dict(card_account_id=None, institution_code=institution.code, institution=institution.name,
                          holder_name=holder, id_type=id_type, id_number=id_number,
                          card_key=pan_digest(key_secret, f"{institution.code}:{digits}"))
        else:
            raise ValidationError("Indica si la tarjeta es Cooprogreso o de otra institución.", field="kind")
        if conn.execute("SELECT 1 FROM registered_cards WHERE user_id = ? AND card_key = ?",
                        (who.user_id, fields["card_key"])).fetchone():
            raise ValidationError("Ya registraste esta tarjeta.", field="numero")
        masked = mask_pan(digits)
        lines = [("Tarjeta", masked), ("Institución", fields["institution"]), ("Titular", fields["holder_name"])]
        if fields["id_type"]:
            lines.append(("Identificación", f"{ID_TYPES[fields['id_type']]} {fields['id_number']}"))
        details = {"masked": masked, "first4": digits[:4], "last4": digits[-4:], "kind": kind, **fields}
        sealed = (card_numbers.seal(self.number_key, digits, owner=who.user_id, place=card_numbers.REGISTERED)
                  if kind == "otro_banco" else None)
        plan = CardRegistration(kind, fields["card_account_id"], fields["institution_code"], fields["card_key"], sealed,
                                masked, digits[:4], digits[-4:], fields["holder_name"], fields["id_type"],
                                fields["id_number"])
        return Prepared(details=details, title="Confirma el registro de la tarjeta", lines=lines, plan=plan)

    def execute(self, conn: Connection, who: Principal, plan: CardRegistration, key: str) -> int:
        row = conn.execute(
            "INSERT INTO registered_cards (user_id, kind, card_account_id, institution_code, card_key, number,"
            " first4, last4, holder_name, id_type, id_number, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (user_id, card_key) DO NOTHING RETURNING id",
            (who.user_id, plan.kind, plan.card_account_id, plan.institution_code, plan.card_key, plan.sealed_number,
             plan.first4, plan.last4, plan.holder_name, plan.id_type, plan.id_number, self.ctx.now_iso())).fetchone()
        if row is None:
            raise ValidationError("Ya registraste esta tarjeta.", field="numero")
        self.ctx.audit(conn, who.username, "tarjeta.registro", "ok", tarjeta=plan.masked, institucion=plan.institution_code)
        return row[0]

    def receipt(self, conn: Connection, who: Principal, result_id: int) -> Receipt:
        r = conn.execute("SELECT r.*, COALESCE(i.name, 'Cooprogreso') AS institution FROM registered_cards r"
                         " LEFT JOIN institutions i ON i.code = r.institution_code WHERE r.id = ? AND r.user_id = ?",
                         (result_id, who.user_id)).fetchone()
        if r is None:
            raise NotFound("La tarjeta no existe o no te pertenece.")
        lines = [("Tarjeta", f"{r['first4']} XXXX XXXX {r['last4']}"), ("Institución", r["institution"]),
                 ("Titular", r["holder_name"]), ("Estado", "Tarjeta registrada")]
        return receipts.make(self.ctx.secret("receipt_secret"), kind=self.kind, title="Registro de Tarjeta",
                             lines=lines, reference=f"R{r['id']:08d}", created_at=parse_iso(r["created_at"]),
                             result_id=r["id"])


# The co-op's accounts a payment of another institution's card credits: the payment, the fee.
INTERNAL_LEGS = ("compensacion_interbancaria", "comisiones")


def _details(plan: CardPaymentPlan) -> dict[str, Any]:
    """What the code is bound to: change any of it and the code is void."""
    return {"card": plan.card.key, "masked": plan.card.masked_pan, "origin": plan.origin_number,
            "origin_id": plan.origin_id, "amount": plan.amount, "fee": plan.fee, "option": plan.option,
            "card_account": plan.card_account, "mora": plan.mora}


class CardPaymentHandler:
    kind = "pago_tarjeta"
    otp_label = "tu pago de tarjeta"

    def __init__(self, ctx: Context):
        self.ctx = ctx

    def destination_number(self, who: Principal, sealed: str | None) -> str:
        """Another bank's registered card (`sealed`: its registered_cards row's number), its number sealed for the
        paying member's card_payments row.

        Opening it checks it was sealed for this member's registered_cards row (card_numbers.py): a number
        moved there from another member's row is refused before any code is sent and again at booking, and
        so is a number no card network issues."""
        key = card_numbers.number_key(self.ctx.secret("otp_pepper"))
        digits = card_numbers.unseal(key, sealed, owner=who.user_id, place=card_numbers.REGISTERED)
        card_networks.check_issued(digits)  # registered by an older version that checked Luhn only
        return card_numbers.seal(key, digits, owner=who.user_id, place=card_numbers.PAYMENT)

    def prepare(self, conn: Connection, who: Principal, request: dict[str, Any]) -> Prepared[CardPaymentPlan]:
        req = parse_request(CardPaymentRequest, request)
        # The card, the debit account (NULLs when it is not one of the member's active savings accounts) and the
        # co-op's accounts another bank's card is paid through, in one statement (issue #23: each costs the client
        # and the server more than its work); what they say is checked again under the row locks when booking.
        internal, internal_params, width = (booking_accounts_columns(INTERNAL_LEGS, who.member_id)
                                            if str(req.card).startswith("registrada:") else ("", (), 0))
        found = conn.execute(*resolve_query(
            who, req.card, (", o.id AS origin_id, o.number AS origin_number, o.balance - o.held AS origin_available"
                            + internal, internal_params),
            (" LEFT JOIN accounts o ON o.id = ? AND o.member_id = ? AND o.kind = 'ahorros' AND o.status = 'activa'",
             (req.origin_id if isinstance(req.origin_id, int) and not isinstance(req.origin_id, bool) else -1,
              who.member_id)))).fetchone()
        card = resolved(req.card, found)
        origin = None if found["origin_id"] is None else dict(
            id=found["origin_id"], number=found["origin_number"], available=found["origin_available"])
        account = found["card_account_id"] if not card.own else int(card.key.split(":")[1])
        opts = payment_options(conn, who, card, self.ctx.now(), account)
        option = req.option
        if option in ("minimo", "total") and opts.minimum is not None and option not in opts.options:
            raise ValidationError(opts.refusal(option), field="option")
        if option not in opts.options:
            raise ValidationError("Elige cuánto vas a pagar.", field="option")
        if option == "otro":
            amount = req.amount
            if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
                raise ValidationError("Ingresa el valor a pagar.", field="monto")
            if opts.owed == 0:
                raise ValidationError("No tienes valores pendientes de pago en esta tarjeta.", field="monto")
            if opts.owed is not None and amount > opts.owed:
                # what can be paid now is the consumos' debt: the screens' «Deuda total» adds the diferidos, which are
                # paid in their cuotas, so naming a «deuda actual» below it read as a contradiction
                raise ValidationError(f"El valor supera la deuda de consumos de la tarjeta ({format_money(opts.owed)}); "
                                      "los diferidos pendientes se pagan en sus cuotas.", field="monto")
        else:
            amount = (opts.minimum if option == "minimo" else opts.total) or 0  # offered only when above 0
        if amount > self.ctx.settings.card_payment_tx:
            raise ValidationError(f"El pago supera el máximo por transacción "
                                  f"({format_money(self.ctx.settings.card_payment_tx)}).", field="monto")
        if origin is None:
            raise ValidationError("Selecciona una de tus cuentas de ahorros para debitar el pago.", field="origin")
        dest = None
        if account is None:  # refused here if it is not this member's
            dest = dict(institution=found["institution_code"], number=self.destination_number(who, found["number"]),
                        name=found["holder_name"], id_type=found["id_type"], id_number=found["id_number"])
        fee = 0 if account is not None else self.ctx.settings.card_other_bank_fee
        if amount + fee > origin["available"]:
            raise InsufficientFunds(f"Saldo insuficiente: tu disponible es {format_money(origin['available'])} y el "
                                    f"pago necesita {format_money(amount + fee)}.", field="monto")
        lines = [("Tarjeta", card.masked_pan), ("Titular", card.holder), ("Institución", card.institution),
                 ("Cuenta de débito", mask_account(origin["number"])), ("Opción", OPTIONS[option]),
                 ("Valor a pagar", format_money(amount))]
        if opts.due_date:
            lines.append(("Fecha máxima de pago", f"{opts.due_date:%d/%m/%Y}"))
        mora = 0
        if account is not None and card.own:  # the pago covers the interés de mora first (card_arrears.allocate)
            mora = card_arrears.pending_mora(conn, account, self.ctx.now().date(), self.ctx.now_iso())
            if mora:
                lines.append(("Incluye interés de mora", format_money(mora)))
        if fee:
            lines += [("Comisión", format_money(fee)), ("Total a debitar", format_money(amount + fee))]
        owner = found["owner_member"] if account is not None and not card.own else None
        plan = CardPaymentPlan(card, origin["id"], origin["number"], option, amount, fee, account, dest,
                               (tuple(found[len(found) - width:]),) if width else (), owner, mora, req)
        return Prepared(details=_details(plan), title="Confirma el pago de tarjeta", lines=lines, plan=plan)

    def recheck(self, conn: Connection, who: Principal, plan: CardPaymentPlan) -> CardPaymentPlan:
        """Under the write lock, what can change after the confirmation's `prepare` (before it), refused as
        `prepare` refuses it. Another institution's card: the debit account's state and funds and the card still
        registered, in one statement (its number was opened and checked before the lock). A Cooprogreso card: what
        is owed, the mora and the options move with that card's own bookings, so it is prepared again here and
        refused if anything the code is bound to changed."""
        if plan.card_account is not None:
            assert plan.request is not None  # every plan `prepare` makes carries its request
            again = self.prepare(conn, who, asdict(plan.request)).plan
            if _details(again) != _details(plan):
                raise OtpError(CHANGED, code="otp_details_changed")
            return again
        row = conn.execute(
            "SELECT a.balance - a.held, (SELECT 1 FROM registered_cards WHERE id = ? AND user_id = ?) FROM accounts a"
            " WHERE a.id = ? AND a.member_id = ? AND a.kind = 'ahorros' AND a.status = 'activa'",
            (int(plan.card.key.split(":")[1]), who.user_id, plan.origin_id, who.member_id)).fetchone()
        if row is None:
            raise ValidationError("Selecciona una de tus cuentas de ahorros para debitar el pago.", field="origin")
        if row[1] is None:
            raise NotFound("La tarjeta no existe o no te pertenece.")
        if plan.amount + plan.fee > row[0]:
            raise InsufficientFunds(f"Saldo insuficiente: tu disponible es {format_money(row[0])} y el "
                                    f"pago necesita {format_money(plan.amount + plan.fee)}.", field="monto")
        return plan

    def execute(self, conn: Connection, who: Principal, plan: CardPaymentPlan, key: str) -> int:
        card = plan.card
        now = self.ctx.now_iso()
        origin, amount, fee = plan.origin_id, plan.amount, plan.fee
        if plan.card_account is not None:
            # mora accrued until today is booked before the payment, which then covers it first
            card_arrears.accrue_mora(conn, plan.card_account, self.ctx.now().date(), now, actor=who.username)
            legs = [Leg(origin, -amount, f"Pago tarjeta Cooprogreso {card.masked_pan}"),
                    Leg(plan.card_account, amount, "Pago recibido, gracias")]
            dest = dict(institution="COOP", number=card.masked_pan, name=card.holder, id_type="", id_number="")
        else:
            assert plan.dest is not None  # another institution's card: `prepare` found where it goes
            wanted = INTERNAL_LEGS[:2 if fee else 1]  # an account is made on first use: only those it credits
            compensacion, *comisiones = booking_accounts(conn, wanted, who.member_id, plan.internal or None)
            legs = [Leg(origin, -amount, f"Pago tarjeta {card.masked_pan} ({card.institution})"),
                    Leg(compensacion, amount, f"Pago tarjeta {card.institution}")]
            if fee:
                legs += [Leg(origin, -fee, "Comisión pago de tarjeta de otra institución"),
                         Leg(comisiones[0], fee, "Comisión pago de tarjeta de otra institución")]
            dest = plan.dest
        entry = post(conn, kind=PAYMENT, description="Pago de tarjeta de crédito", legs=legs, posted_at=now,
                     actor=who.username, idempotency_key=key)
        reference = f"P{now[2:4]}{now[5:7]}{now[8:10]}{entry:08d}"  # yymmdd of `now` (strftime costs more)
        own_bank, owner = plan.card_account is not None, plan.owner
        with conn.pipeline():  # PostgreSQL: the payment, its audit row and its notices in one round trip
            inserted = conn.execute(
                "INSERT INTO card_payments (reference, idempotency_key, user_id, origin_account_id, card_account_id,"
                " registered_card_id, option, masked, dest_institution, dest_account_type, dest_account_number,"
                " dest_name, dest_id_type, dest_id_number, motive, amount, fee, state, entry_id, created_at,"
                " settled_at, next_attempt_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'tarjeta', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (reference, key, who.user_id, origin, plan.card_account,
                 None if card.key.startswith("propia:") else int(card.key.split(":")[1]), plan.option,
                 card.masked_pan, dest["institution"], dest["number"], dest["name"], dest["id_type"],
                 dest["id_number"], "Pago de tarjeta de crédito", amount, fee,
                 "Acreditada" if own_bank else "Enviada", entry, now, now if own_bank else None,
                 None if own_bank else now))
            self.ctx.audit(conn, who.username, "tarjeta.pago", "ok", referencia=reference, tarjeta=card.masked_pan,
                           monto=amount, comision=fee, origen=mask_account(plan.origin_number),
                           institucion=dest["institution"])
            notices.queue(conn, who.member_id, f"Cooprogreso: pagaste {format_money(amount)} a la tarjeta "
                          f"{card.masked_pan}. Ref. {reference}.", now)
            if owner is not None:
                notices.queue(conn, owner, f"Cooprogreso: recibimos un pago de {format_money(amount)} a tu tarjeta "
                              f"{card.masked_pan}.", now)
        payment_id = inserted.fetchone()[0]
        return payment_id

    def receipt(self, conn: Connection, who: Principal, result_id: int) -> Receipt:
        r = conn.execute("SELECT p.*, a.number AS origin_number, COALESCE(i.name, 'Cooprogreso') AS institution"
                         " FROM card_payments p JOIN accounts a ON a.id = p.origin_account_id LEFT JOIN institutions i"
                         " ON i.code = p.dest_institution WHERE p.id = ? AND p.user_id = ?",
                         (result_id, who.user_id)).fetchone()
        if r is None:
            raise NotFound("El pago no existe o no te pertenece.")
        lines = [("Tarjeta", r["masked"]), ("Titular", r["dest_name"]), ("Institución", r["institution"]),
                 ("Cuenta de débito", mask_account(r["origin_number"])), ("Opción", OPTIONS[r["option"]]),
                 ("Valor pagado", format_money(r["amount"]))]
        if r["fee"]:
            lines += [("Comisión", format_money(r["fee"])), ("Total debitado", format_money(r["amount"] + r["fee"]))]
        lines.append(("Estado", r["state"]))
        if r["return_reason"]:
            lines.append(("Motivo devolución", r["return_reason"]))
        return receipts.make(self.ctx.secret("receipt_secret"), kind=self.kind, title="Pago de Tarjetas",
                             lines=lines, reference=r["reference"], created_at=parse_iso(r["created_at"]),
                             result_id=r["id"])
