"""Section 4, Pago de Tarjetas, and the card as a member sees it: cupo, statements, payable cards.

The member's own Cooprogreso cards are payable without registering. Another member's Cooprogreso
card or another institution's card is registered first (authorised operation «registro_tarjeta»);
paying any of them is the operation «pago_tarjeta» (backend/cards/card_payments.py). Card numbers are
always shown masked, first 4 and last 4: `3261 XXXX XXXX 6989`.
"""

from __future__ import annotations

import bisect

from dataclasses import asdict, dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from backend.cards.card_ledger import PAYMENT, balances
from backend.cards.requests import CardPaymentRequest, CardRegistrationRequest
from backend.core import institutions
from backend.core.clock import parse_iso
from backend.core.context import Context, Principal
from backend.core.errors import NotFound, ValidationError
from backend.core.identity import mask_name
from backend.core.money import format_money
from backend.security.auth import AuthService

if TYPE_CHECKING:
    from backend.core.db import Connection, Params, Row
    from backend.security.operations import Pending

OPTIONS = {"minimo": "Pago mínimo", "total": "Pago total", "otro": "Otro valor"}


@dataclass(frozen=True)
class Statement:
    cut_date: date
    due_date: date
    cycle_from: date
    previous_balance: int
    purchases: int
    payments: int
    deferred: int
    installments: int
    interest: int
    other: int
    total_due: int
    minimum_due: int
    installment_balance: int
    paid_since: int = 0  # payments and deferrals since the cut
    interest_owed: int = 0  # interest and mora owed apart from capital: they bear no interest (art. 2113)
    mora_owed: int = 0
    overdue: int = 0  # valor vencido: the previous pago mínimo left unpaid after its fecha máxima
    late_interest: int = 0  # interés de mora charged in this cycle
    mora_since_cut: int = 0  # interés de mora booked since the cut (at late payments)

    @property
    def total_left(self) -> int:
        return max(0, self.total_due - self.paid_since)

    @property
    def minimum_left(self) -> int:
        return max(0, min(self.minimum_due - self.paid_since, self.total_left))


@dataclass(frozen=True)
class CardInfo:
    account_id: int
    masked_pan: str
    holder: str
    status: str
    credit_limit: int
    revolving: int
    installments: int
    cutoff_day: int
    statement: Statement | None

    @property
    def owed(self) -> int:
        return self.revolving + self.installments

    @property
    def available(self) -> int:
        return max(0, self.credit_limit - self.owed)


@dataclass(frozen=True)
class CardPurchase:
    id: int
    posted_at: datetime
    description: str
    amount: int
    deferred: bool


class Unknown:
    """Not read yet (`payment_options`' account): distinct from None, which means another institution's card."""


UNKNOWN = Unknown()


@dataclass(frozen=True)
class PayableCard:
    key: str  # "propia:<card id>" or "registrada:<registered card id>"
    group: str  # "cooprogreso" or "otros"
    masked_pan: str
    holder: str
    institution: str
    own: bool


@dataclass(frozen=True)
class PaymentOptions:
    card: PayableCard
    minimum: int | None  # only for the member's own Cooprogreso cards
    total: int | None
    due_date: date | None
    owed: int | None  # the most «otro valor» may be on a Cooprogreso card: its consumos (revolving balance)
    diferidos: int | None = None  # the card's diferidos pendientes (billed later as cuotas), shown beside `owed`

    @property
    def options(self) -> tuple[str, ...]:
        """What the member may choose: a mínimo or total already covered is not offered as $0.00."""
        if self.minimum is None:
            return ("otro",)
        return tuple(k for k, v in (("minimo", self.minimum), ("total", self.total)) if v) + ("otro",)

    @property
    def minimum_covered(self) -> bool:
        """The statement's pago mínimo is paid (what is still owed may be more)."""
        return self.minimum == 0 and self.due_date is not None

    @property
    def total_covered(self) -> bool:
        """The statement's pago total is paid (purchases since the cut may still be owed)."""
        return self.total == 0 and self.due_date is not None

    def refusal(self, option: str) -> str:
        """Why `option` is not offered, in the member's words."""
        owed = f" Tu deuda actual es {format_money(self.owed)}: puedes pagarla con «Otro valor»." if self.owed else ""
        if option == "minimo" and self.minimum_covered and self.total:
            return (f"Tu pago mínimo ya está cubierto. Si quieres, paga el total pendiente "
                    f"({format_money(self.total)}) u otro valor.")
        if option in ("minimo", "total") and self.due_date is not None and not self.total:
            return "Ya pagaste el total de tu estado de cuenta." + owed
        if option in ("minimo", "total") and self.due_date is None and self.owed:
            return "Tu tarjeta aún no tiene estado de cuenta." + owed
        return "No tienes valores pendientes de pago en esta tarjeta."


class CardsService:
    def __init__(self, ctx: Context, auth: AuthService, ops: Any):
        """`ops` has the card operations registered (backend/service.py: card_payments builds on this module)."""
        self.ctx = ctx
        self.auth = auth
        self.ops = ops
        institutions.ensure_loaded(ctx.db)

    # -- the member's own cards --------------------------------------------------------------------
    def my_cards(self, token: str) -> list[CardInfo]:
        who = self.auth.principal(token)
        conn = self.ctx.db.conn
        ids = [r[0] for r in conn.execute(
            "SELECT c.account_id FROM cards c JOIN accounts a ON a.id = c.account_id WHERE a.member_id = ?"
            " AND a.status != 'cerrada' ORDER BY a.number", (who.member_id,))]
        return [card_info(conn, card_id) for card_id in ids]

    def card(self, token: str, card_id: int) -> CardInfo:
        who = self.auth.principal(token)
        check_own_card(self.ctx.db.conn, who, card_id)
        return card_info(self.ctx.db.conn, card_id)

    def statements(self, token: str, card_id: int, limit: int = 12) -> list[Statement]:
        who = self.auth.principal(token)
        conn = self.ctx.db.conn
        check_own_card(conn, who, card_id)
        rows = conn.execute("SELECT * FROM card_statements WHERE card_id = ? ORDER BY cut_date DESC LIMIT ?",
                            (card_id, max(1, min(limit, 120)))).fetchall()
        # each with what was paid of it before the next cut (the newest: until now), as the card's own figures
        after = paid_after_cuts(conn, card_id, [r["cut_date"] for r in rows])
        return [statement_from_row(r, *figures) for r, figures in zip(rows, after)]

    def purchases(self, token: str, card_id: int, limit: int = 100) -> list[CardPurchase]:
        who = self.auth.principal(token)
        conn = self.ctx.db.conn
        check_own_card(conn, who, card_id)
        return [CardPurchase(r[0], parse_iso(r[1]), r[2], r[3], r[4] is not None) for r in conn.execute(
            "SELECT id, posted_at, description, amount, deferral_id FROM card_purchases WHERE card_id = ?"
            " ORDER BY posted_at DESC, id DESC LIMIT ?", (card_id, max(1, min(limit, 1000))))]

    # -- 4. Pago de Tarjetas -----------------------------------------------------------------------
    def payable(self, token: str, group: str) -> list[PayableCard]:
        """Paso 2: the cards the member can pay in a group («cooprogreso» or «otros»)."""
        who = self.auth.principal(token)
        if group not in ("cooprogreso", "otros"):
            raise ValidationError("Selecciona Tarjetas Cooprogreso u Otros Bancos.", field="group")
        return payable_cards(self.ctx.db.conn, who, group)

    def payment_options(self, token: str, key: str) -> PaymentOptions:
        who = self.auth.principal(token)
        conn = self.ctx.db.conn
        return payment_options(conn, who, resolve(conn, who, key), self.ctx.now())

    def origins(self, token: str) -> list[tuple[int, str, int]]:
        """Savings accounts a payment can be debited from: (id, number, available)."""
        who = self.auth.principal(token)
        return [(r[0], r[1], r[2]) for r in self.ctx.db.conn.execute(
            "SELECT id, number, balance - held FROM accounts WHERE member_id = ? AND kind = 'ahorros'"
            " AND status = 'activa' ORDER BY number", (who.member_id,))]

    def institutions(self, token: str) -> list[institutions.Institution]:
        self.auth.principal(token)
        return institutions.payable(self.ctx.db.conn)

    def prepare_registration(self, token: str, request: CardRegistrationRequest) -> Pending:
        """The typed number is sealed before the pending operation stores its request."""
        from backend.security.card_numbers import REQUEST, is_sealed, number_key, seal

        who = self.auth.principal(token)
        if not isinstance(request, CardRegistrationRequest):
            raise ValidationError("La solicitud no es válida.")
        number = request.number
        if isinstance(number, str) and not is_sealed(number):  # sealed for this member: not movable to another's
            request = replace(request, number=seal(number_key(self.ctx.secret("otp_pepper")), number,
                                                   owner=who.user_id, place=REQUEST))
        return self.ops.prepare(token, "registro_tarjeta", asdict(request))

    def prepare_payment(self, token: str, request: CardPaymentRequest) -> Pending:
        return self.ops.prepare(token, "pago_tarjeta", asdict(request))


def card_info(conn: Connection, card_id: int) -> CardInfo:
    row = conn.execute(
        "SELECT c.*, m.first_names || ' ' || m.last_names AS holder FROM cards c JOIN accounts a ON a.id = c.account_id"
        " JOIN members m ON m.id = a.member_id WHERE c.account_id = ?", (card_id,)).fetchone()
    b = balances(conn, card_id)
    return CardInfo(card_id, row["masked_pan"], row["holder"], row["status"], b.credit_limit, b.revolving,
                    b.installments, row["cutoff_day"], last_statement(conn, card_id))


def last_statement(conn: Connection, card_id: int) -> Statement | None:
    row = conn.execute("SELECT * FROM card_statements WHERE card_id = ? ORDER BY cut_date DESC LIMIT 1",
                       (card_id,)).fetchone()
    if row is None:
        return None
    return statement_from_row(row, *paid_after_cuts(conn, card_id, [row["cut_date"]])[0])


def paid_after_cuts(conn: Connection, card_id: int, cuts: list[str]) -> list[tuple[int, int]]:
    """For each cut date (newest first), (paid, mora): payments and deferrals credited to the card after that cut and
    interés de mora booked then, until the next newer cut (the newest: until now). What a statement's «Por pagar» and
    minimum left are measured against. One query for all the cuts: the card's postings since the oldest."""
    if not cuts:
        return []
    ends = sorted(f"{cut} 23:59:59" for cut in cuts)  # a cut's day is in its own statement
    window = {end: [0, 0] for end in ends}
    for posted_at, amount, kind in conn.execute(
            "SELECT p.posted_at, p.amount, e.kind FROM postings p JOIN entries e ON e.id = p.entry_id"
            " WHERE p.account_id = ? AND p.posted_at > ? AND e.kind IN (?, ?, 'mora_tarjeta')",
            (card_id, ends[0], PAYMENT, "diferido_tarjeta")):
        figures = window[ends[bisect.bisect_left(ends, posted_at) - 1]]  # the newest cut before it
        if kind == "mora_tarjeta":
            figures[1] -= amount
        elif amount > 0:
            figures[0] += amount
    return [(window[f"{cut} 23:59:59"][0], window[f"{cut} 23:59:59"][1]) for cut in cuts]


def statement_from_row(r: Row, paid_since: int = 0, mora_since_cut: int = 0) -> Statement:
    """A statement row as the screen and the PDF read it (one reading, so paper and screen never disagree)."""
    return Statement(date.fromisoformat(r["cut_date"]), date.fromisoformat(r["due_date"]),
                     date.fromisoformat(r["cycle_from"]), r["previous_balance"], r["purchases"], r["payments"],
                     r["deferred"], r["installments"], r["interest"], r["other"], r["total_due"], r["minimum_due"],
                     r["installment_balance"], paid_since, r["interest_owed"] + r["mora_owed"], r["mora_owed"],
                     r["overdue"], r["late_interest"], mora_since_cut)


def check_own_card(conn: Connection, who: Principal, card_id: object) -> None:
    """Refuse (NotFound) a card id that is not one of this member's cards."""
    if isinstance(card_id, bool) or not isinstance(card_id, int) or conn.execute(
            "SELECT 1 FROM cards c JOIN accounts a ON a.id = c.account_id WHERE c.account_id = ? AND a.member_id = ?",
            (card_id, who.member_id)).fetchone() is None:
        raise NotFound("La tarjeta no existe o no te pertenece.")


def payable_cards(conn: Connection, who: Principal, group: str) -> list[PayableCard]:
    out: list[PayableCard] = []
    if group == "cooprogreso":
        for r in conn.execute(
                "SELECT c.account_id, c.masked_pan, m.first_names || ' ' || m.last_names AS holder FROM cards c"
                " JOIN accounts a ON a.id = c.account_id JOIN members m ON m.id = a.member_id"
                " WHERE a.member_id = ? AND a.status = 'activa' ORDER BY a.number", (who.member_id,)):
            out.append(PayableCard(f"propia:{r[0]}", "cooprogreso", r[1], r[2], "Cooprogreso", True))
    kind = "cooprogreso" if group == "cooprogreso" else "otro_banco"
    for r in conn.execute(
            "SELECT r.id, r.first4, r.last4, r.holder_name, COALESCE(i.name, 'Cooprogreso') FROM registered_cards r"
            " LEFT JOIN institutions i ON i.code = r.institution_code WHERE r.user_id = ? AND r.kind = ?"
            " ORDER BY r.created_at, r.id", (who.user_id, kind)):
        out.append(PayableCard(f"registrada:{r[0]}", group, f"{r[1]} XXXX XXXX {r[2]}", r[3], r[4], False))
    return out


def resolve(conn: Connection, who: Principal, key: object) -> PayableCard:
    """A card key from the member's lists back to the card, checking it is theirs to pay."""
    return resolved(key, conn.execute(*resolve_query(who, key)).fetchone())


def resolve_query(who: Principal, key: object, columns: tuple[str, Params] = ("", ()),
                  join: tuple[str, Params] = ("", ())) -> tuple[str, tuple[Any, ...]]:
    """The one statement `resolve` reads (for a caller that sends it with others): the card as the member's
    lists show it (`payable_cards`), only if it is in them; a registered card's row comes with it (`resolved`).
    `columns` (", col, col") and `join` (" LEFT JOIN …"), with their parameters: what a caller reads with the
    card in the same statement, after the card's own columns (each statement costs more than its work)."""
    if not isinstance(key, str) or ":" not in key:
        raise NotFound("Selecciona una tarjeta de la lista.")
    kind, _, raw = key.partition(":")
    if kind not in ("propia", "registrada") or not raw.isdecimal() or len(raw) > 18:
        raise NotFound("Selecciona una tarjeta de la lista.")
    if not raw.isascii() or raw != str(int(raw)):  # «٣», «007»: never a key the lists show
        raise NotFound("La tarjeta no existe o no te pertenece.")
    (more, more_params), (joined, join_params) = columns, join
    if kind == "propia":
        return ("SELECT c.account_id, c.masked_pan, m.first_names || ' ' || m.last_names AS holder" + more +
                " FROM cards c JOIN accounts a ON a.id = c.account_id JOIN members m ON m.id = a.member_id" + joined +
                " WHERE c.account_id = ? AND a.member_id = ? AND a.status = 'activa'",
                (*more_params, *join_params, int(raw), who.member_id))
    return ("SELECT r.*, COALESCE(i.name, 'Cooprogreso') AS institution, (SELECT member_id FROM accounts"
            " WHERE id = r.card_account_id) AS owner_member" + more + " FROM registered_cards r"
            " LEFT JOIN institutions i ON i.code = r.institution_code" + joined + " WHERE r.id = ? AND r.user_id = ?",
            (*more_params, *join_params, int(raw), who.user_id))


def resolved(key: object, row: Row | None) -> PayableCard:
    """The card `resolve_query(who, key)` found (`row`), as `payable_cards` lists it; refused if it is not there."""
    if row is None:
        raise NotFound("La tarjeta no existe o no te pertenece.")
    if str(key).startswith("propia:"):
        return PayableCard(f"propia:{row[0]}", "cooprogreso", row[1], row[2], "Cooprogreso", True)
    group = "cooprogreso" if row["kind"] == "cooprogreso" else "otros"
    return PayableCard(f"registrada:{row['id']}", group, f"{row['first4']} XXXX XXXX {row['last4']}",
                       row["holder_name"], row["institution"], False)


def card_account_of(conn: Connection, who: Principal, card: PayableCard) -> int | None:
    """The Cooprogreso card account behind a payable card; None for another institution's card."""
    kind, _, raw = card.key.partition(":")
    if kind == "propia":
        return int(raw)
    row = conn.execute("SELECT card_account_id FROM registered_cards WHERE id = ? AND user_id = ?",
                       (int(raw), who.user_id)).fetchone()
    return row[0] if row else None


def payment_options(conn: Connection, who: Principal, card: PayableCard, now: datetime,
                    account: int | None | Unknown = UNKNOWN) -> PaymentOptions:
    """`account`: the card's account (`card_account_of`) when the caller has it already."""
    if isinstance(account, Unknown):
        account = card_account_of(conn, who, card)
    if account is None:
        return PaymentOptions(card, None, None, None, None)
    from backend.cards import card_arrears
    from backend.core.clock import iso

    mora = card_arrears.pending_mora(conn, account, now.date(), iso(now))  # booked when the payment is
    owed = max(0, balances(conn, account).revolving + mora)
    if not card.own:  # another member's statement is theirs: only «otro valor», up to what is owed
        return PaymentOptions(card, None, None, None, owed)
    diferidos = balances(conn, account).installments
    st = last_statement(conn, account)
    if st is None:
        return PaymentOptions(card, 0, owed, None, owed, diferidos)
    since_cut = st.mora_since_cut + mora  # mora after the cut is owed on top of the statement's figures
    return PaymentOptions(card, min(st.minimum_left + since_cut, owed), min(st.total_left + since_cut, owed),
                          st.due_date, owed, diferidos)


def mask_holder(first_names: str, last_names: str) -> str:
    return mask_name(first_names, last_names)
