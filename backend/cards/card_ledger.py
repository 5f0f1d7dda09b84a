"""The Cooprogreso card's books: two member accounts per card, purchases, and what `check` verifies.

A card owes on two ledger accounts, both `accounts` rows so `cooprogreso check` re-derives them:
- the card account itself (`cards.account_id`): the revolving balance (saldo rotativo) — purchases,
  payments, interest and the cuotas billed each cycle;
- its installment account (`cards.installment_account_id`): the capital of deferred purchases not
  billed yet (diferidos).
Both are negative while the member owes. Deferring moves debt from the first to the second and each
cycle close moves one cuota's capital back: no money enters or leaves the co-op. Cupo disponible is
the credit limit minus both debts.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import accumulate
from types import ModuleType
from typing import TYPE_CHECKING, Any

from backend.core.accounts import CARD_INSTALLMENTS_NAME, insert_account, internal_account
from backend.core.card_debt import card_debt
from backend.core import invariants
from backend.core.errors import NotFound, ValidationError
from backend.core.invariants import Since
from backend.core.ledger import Leg, post
from backend.core.pan import card_number_digits, luhn_ok, mask_pan, pan_digest, pan_secret  # noqa: F401 (re-exported)
from backend.core.money import format_money

if TYPE_CHECKING:
    from backend.core.db import Connection, Row

PURCHASE = "consumo_tarjeta"
PAYMENT = "pago_tarjeta"
DEFERRAL = "diferido_tarjeta"
CYCLE = "cierre_tarjeta"
INSTALLMENT_NAME = CARD_INSTALLMENTS_NAME  # opened with the card (backend.core.accounts.open_card)


@dataclass(frozen=True)
class CardBalances:
    card_id: int
    credit_limit: int
    revolving: int  # owed on the revolving balance (positive = owed; negative = saldo a favor)
    installments: int  # deferred capital not billed yet

    @property
    def owed(self) -> int:
        return self.revolving + self.installments

    @property
    def available(self) -> int:
        return max(0, self.credit_limit - self.owed)


def installment_account(conn: Connection, card_id: int) -> int:
    """The card's diferidos account, created on first use (cards opened before it existed)."""
    row = conn.execute("SELECT c.installment_account_id, a.member_id, a.opened_on FROM cards c"
                       " JOIN accounts a ON a.id = c.account_id WHERE c.account_id = ?", (card_id,)).fetchone()
    if row is None:
        raise NotFound("La tarjeta no existe.")
    if row[0] is not None:
        return row[0]
    account = insert_account(conn, row[1], "tarjeta", INSTALLMENT_NAME, row[2])
    conn.execute("UPDATE cards SET installment_account_id = ? WHERE account_id = ?", (account, card_id))
    return account


def balances(conn: Connection, card_id: int) -> CardBalances:
    debt = card_debt(conn, card_id)  # the one computation every screen shows (backend/core/card_debt.py)
    if debt is None:
        raise NotFound("La tarjeta no existe.")
    return CardBalances(card_id, debt.credit_limit, debt.consumos, debt.diferidos)


def record_purchase(conn: Connection, card_id: int, *, amount: int, description: str, at: str, actor: str,
                    interest_free_months: int = 0) -> int:
    """A consumo: the card owes it, the merchants' settlement account is owed. Refused above the cupo."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValidationError("El valor del consumo debe ser mayor que cero.", field="monto")
    state = conn.execute("SELECT a.status, c.status FROM accounts a JOIN cards c ON c.account_id = a.id"
                         " WHERE a.id = ?", (card_id,)).fetchone()
    if state is None:
        raise NotFound("La tarjeta no existe.")
    if state[0] != "activa" or state[1] != "Activo":
        raise ValidationError("La tarjeta no está activa.")
    available = balances(conn, card_id).available
    if amount > available:
        raise ValidationError(f"Cupo insuficiente: el cupo disponible es {format_money(available)}.",
                              field="monto", code="cupo")
    entry = post(conn, kind=PURCHASE, description=description, posted_at=at, actor=actor,
                 legs=[Leg(card_id, -amount, description),
                       Leg(internal_account(conn, "comercios"), amount, description)])
    return conn.execute(
        "INSERT INTO card_purchases (card_id, posted_at, description, amount, interest_free_months, entry_id)"
        " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        (card_id, at, description, amount, interest_free_months, entry)).fetchone()[0]


def check(conn: Any) -> list[str]:
    """Every way the card books can disagree with the ledger, in Spanish; empty when sound."""
    return _check(conn, None)


def check_since(conn: Any, since: Since) -> list[str]:
    """The same over what moved since the last close's checkpoint: cards with a posting since, purchases and
    deferrals booked since, statements closed since (each against the one before it)."""
    return _check(conn, since)


def _check(conn: Any, since: Since | None) -> list[str]:
    touched, new = "", ""
    args: tuple[int, ...] = ()
    if since is not None:
        touched = (" WHERE c.account_id IN (SELECT account_id FROM postings WHERE id > ?)"
                   " OR c.installment_account_id IN (SELECT account_id FROM postings WHERE id > ?)")
        new, args = " WHERE {t}.entry_id > ?", (since.entry_id,)
    problems: list[str] = []
    for number, kept, owed in conn.execute(
            "SELECT a.number, -i.balance, COALESCE(SUM(q.capital), 0) FROM cards c"
            " JOIN accounts a ON a.id = c.account_id JOIN accounts i ON i.id = c.installment_account_id"
            " LEFT JOIN card_deferrals d ON d.card_id = c.account_id"
            f" LEFT JOIN card_deferral_cuotas q ON q.deferral_id = d.id AND q.statement_id IS NULL{touched}"
            " GROUP BY a.number, i.balance HAVING -i.balance != COALESCE(SUM(q.capital), 0)",
            (since.posting_id, since.posting_id) if since else ()):
        problems.append(f"tarjeta {number}: saldo diferido {format_money(kept)} ≠ capital de cuotas por facturar "
                        f"{format_money(owed)}")
    # `+p.account_id`: the same condition, not usable for an index, so SQLite seeks each purchase's entry by
    # postings_entry (a few rows) rather than scanning every posting of its card (purchases × postings)
    for purchase_id, amount, booked in conn.execute(
            "SELECT cp.id, cp.amount, COALESCE(SUM(p.amount), 0) FROM card_purchases cp"
            f" LEFT JOIN postings p ON p.entry_id = cp.entry_id AND +p.account_id = cp.card_id{new.format(t='cp')}"
            " GROUP BY cp.id, cp.amount HAVING COALESCE(SUM(p.amount), 0) != -cp.amount", args):
        problems.append(f"consumo {purchase_id}: {format_money(amount)} registrado ≠ {format_money(-booked)} en el libro")
    for deferral_id, principal, interest, capital, charged in conn.execute(
            "SELECT d.id, d.principal, d.total_interest, COALESCE(SUM(q.capital), 0), COALESCE(SUM(q.interest), 0)"
            f" FROM card_deferrals d LEFT JOIN card_deferral_cuotas q ON q.deferral_id = d.id{new.format(t='d')}"
            " GROUP BY d.id, d.principal, d.total_interest"
            " HAVING d.principal != COALESCE(SUM(q.capital), 0) OR d.total_interest != COALESCE(SUM(q.interest), 0)",
            args):
        problems.append(f"diferido {deferral_id}: capital {format_money(principal)} / interés {format_money(interest)}"
                        f" ≠ cuotas {format_money(capital)} / {format_money(charged)}")
    problems += _check_statements(conn, since.day if since else "")
    return problems


_STATEMENTS = ("SELECT s.*, a.number, c.installment_account_id AS inst FROM card_statements s"
               " JOIN accounts a ON a.id = s.card_id JOIN cards c ON c.account_id = s.card_id")
PAGE = 500  # statements read at a time: `cooprogreso check`'s memory stays flat however many there are


def _statements(conn: Any, closed_since: str) -> Iterator[Row]:
    """Every statement closed from `closed_since` on, by card and cut date, a page at a time (keyset on the
    UNIQUE (card_id, cut_date) index): never the whole table in memory, on either engine."""
    card, cut = 0, ""
    while True:
        page = conn.execute(f"{_STATEMENTS} WHERE s.closed_at >= ? AND s.card_id >= ?"  # a seek, not a scan
                            " AND (s.card_id > ? OR s.cut_date > ?) ORDER BY s.card_id, s.cut_date LIMIT ?",
                            (closed_since, card, card, cut, PAGE)).fetchall()
        yield from page
        if len(page) < PAGE:
            return
        card, cut = page[-1]["card_id"], page[-1]["cut_date"]


class _CardPostings:
    """One card's postings, read once for all its statements (each used to cost six queries, the cards' check was
    most of `cooprogreso check`): every posting of the card account with its entry's kind, and of its diferidos
    account, in time order. A slice by `posted_at` is what the per-statement queries selected (`posted_at > since
    AND posted_at <= until`): Python compares the text as SQLite does and as PostgreSQL does in the C collation
    (.ci/pg-cluster); the app writes one ISO layout, which sorts alike under any collation."""

    def __init__(self, conn: Any, card: int, installments: int | None) -> None:
        rows = conn.execute("SELECT p.posted_at, COALESCE(e.kind, ''), p.amount FROM postings p"
                            " LEFT JOIN entries e ON e.id = p.entry_id WHERE p.account_id = ?"
                            " ORDER BY p.posted_at, p.id", (card,)).fetchall()
        self.card = [(r[0], r[1], r[2]) for r in rows]
        self.card_at = [r[0] for r in self.card]
        self.card_sums = list(accumulate((r[2] for r in self.card), initial=0))
        inst = conn.execute("SELECT posted_at, amount FROM postings WHERE account_id = ? ORDER BY posted_at, id",
                            (installments,)).fetchall() if installments is not None else []
        self.inst_at = [r[0] for r in inst]
        self.inst_sums = list(accumulate((r[1] for r in inst), initial=0))
        self.cuota_interest = {r[0]: r[1] for r in conn.execute(
            "SELECT statement_id, COALESCE(SUM(interest), 0) FROM card_deferral_cuotas WHERE statement_id IN"
            " (SELECT id FROM card_statements WHERE card_id = ?) GROUP BY statement_id", (card,))}

    def cycle(self, since: str, until: str) -> list[tuple[str, str, int]]:
        """The card postings with since < posted_at <= until."""
        return self.card[bisect_right(self.card_at, since):bisect_right(self.card_at, until)]

    def booked(self, installments: bool, until: str) -> int:
        """What the account owes by its postings through `until` (the card's, or its diferidos')."""
        times, sums = (self.inst_at, self.inst_sums) if installments else (self.card_at, self.card_sums)
        return -sums[bisect_right(times, until)]


def _check_statements(conn: Any, closed_since: str) -> list[str]:
    """Each statement re-derived, against the one before it; `closed_since`: only those closed from that day on.
    Statements come in card order, so only the current card's previous statement and postings are kept."""
    from backend.cards import card_arrears

    problems: list[str] = []
    card: int | None = None
    before: Row | None = None  # the current card's statement before `s` (None: its first)
    postings: _CardPostings | None = None
    rates: dict[date, Decimal] = {}  # the mora rate on each cut day: the same for every card
    for s in _statements(conn, closed_since):
        if s["card_id"] != card or postings is None:
            card = s["card_id"]
            before = None
            postings = _CardPostings(conn, card, s["inst"])
            if closed_since:  # the statement before the first one looked at
                before = conn.execute(f"{_STATEMENTS} WHERE s.card_id = ? AND s.cut_date < ? ORDER BY s.cut_date"
                                      " DESC LIMIT 1", (card, s["cut_date"])).fetchone()
        label = f"estado de cuenta {s['number']} al {s['cut_date']}"
        parts = (s["previous_balance"] + s["purchases"] - s["payments"] - s["deferred"] + s["installments"]
                 + s["interest"] + s["late_interest"] + s["other"])
        if parts != s["total_due"]:
            problems.append(f"{label}: sus rubros suman {format_money(parts)} ≠ pago total {format_money(s['total_due'])}")
        if s["previous_balance"] != (before["total_due"] if before is not None else 0):
            problems.append(f"{label}: saldo anterior ≠ pago total del estado anterior")
        problems += _check_arrears(conn, s, before, label, card_arrears, postings, rates)
        before = s
        until = f"{s['cut_date']} 23:59:59"
        for installments, kept, what in ((False, s["total_due"], "pago total"),
                                         (True, s["installment_balance"], "saldo diferido")):
            booked = postings.booked(installments, until)
            if booked != kept:
                problems.append(f"{label}: {what} {format_money(kept)} ≠ {format_money(booked)} según el libro al corte")
    return problems


def _check_arrears(conn: Connection, s: Row, prev: Row | None, label: str, card_arrears: ModuleType,
                   postings: _CardPostings, rates: dict[date, Decimal]) -> list[str]:
    """The statement's mora, valor vencido and what it owes apart from capital, re-derived from the postings."""
    problems: list[str] = []
    since = f"{prev['cut_date']} 23:59:59" if prev is not None else ""
    until = f"{s['cut_date']} 23:59:59"
    cycle = postings.cycle(since, until)
    booked = card_arrears.mora_in(cycle)
    if booked != s["late_interest"]:
        problems.append(f"{label}: interés de mora {format_money(s['late_interest'])} ≠ {format_money(booked)} "
                        "en el libro")
    if prev is None or not s["arrears_kept"] or not prev["arrears_kept"]:  # closed before arrears were kept
        return problems

    cut = date.fromisoformat(s["cut_date"])
    if cut not in rates:
        rates[cut] = card_arrears.daily_mora_rate(card_arrears.rotativo_quote(conn, None, cut))
    r = card_arrears.replay_from(prev, card_arrears.cycle_events(cycle), cut, rates[cut])
    cuota_interest = postings.cuota_interest.get(s["id"], 0)
    derived = {"interés de mora": (s["late_interest"], r.mora), "valor vencido": (s["overdue"], r.overdue),
               "capital vencido": (s["overdue_capital"], r.state.overdue), "mora adeudada": (s["mora_owed"], r.state.mora),
               "intereses adeudados": (s["interest_owed"], r.state.interest + s["interest"] + cuota_interest)}
    for what, (kept, again) in derived.items():
        if kept != again:
            problems.append(f"{label}: {what} {format_money(kept)} ≠ {format_money(again)} según los pagos")
    return problems


invariants.register("tarjetas", check, check_since)
