"""The card's monthly cycle: at each fecha de corte an estado de cuenta is closed, once.

A cut date closes when its day has ended (a pass on day D closes every cut before D), so everything
posted up to `cut 23:59:59` is in it. Closing bills the next cuota of every deferral made before the
cut (its capital moves from the diferidos account back to the revolving balance, its interest is
charged), charges interest on the capital of the previous statement left unpaid (never on interest or
mora: Código Civil art. 2113), books the interés de mora on overdue capital (backend/cards/card_arrears.py)
and stores the statement: saldo anterior, consumos, pagos, diferidos, cuotas, intereses, interés de mora,
otros, valor vencido, pago total and pago mínimo (which carries the valor vencido forward).

Idempotent per card and cut: a statement is unique on (card, cut date). Several servers may run the
pass at once: each claims a card with `FOR UPDATE SKIP LOCKED` and closes one cut per transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from backend.cards import card_arrears
from backend.cards.card_ledger import CYCLE, DEFERRAL, PAYMENT, PURCHASE, installment_account
from backend.core import audit, business_days, notices
from backend.core.accounts import internal_account
from backend.core.context import Context
from backend.core.ledger import Leg, post
from backend.core.money import format_money
from backend.core.rates import RateBook, default_book

if TYPE_CHECKING:
    from backend.core.db import Connection

SYSTEM = "sistema:tarjetas"


@dataclass(frozen=True)
class CloseReport:
    cards: int = 0
    statements: int = 0
    busy: int = 0  # cards another server was closing at the same time


class _AlreadyClosed(Exception):
    """Another pass stored this statement first: roll this attempt back."""


def cut_on(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, 28))


def cuts_between(cutoff_day: int, after: date, before: date) -> list[date]:
    """The card's cut dates C with after < C < before, in order."""
    out: list[date] = []
    year, month = after.year, after.month
    while True:
        c = cut_on(year, month, cutoff_day)
        if c >= before:
            return out
        if c > after:
            out.append(c)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def pending_cuts(conn: Connection, card_id: int, today: date) -> list[date]:
    row = conn.execute("SELECT cutoff_day FROM cards WHERE account_id = ?", (card_id,)).fetchone()
    last = conn.execute("SELECT MAX(cut_date) FROM card_statements WHERE card_id = ?", (card_id,)).fetchone()[0]
    if last:
        start = date.fromisoformat(last)
    else:
        first = conn.execute("SELECT MIN(posted_at) FROM postings WHERE account_id = ?", (card_id,)).fetchone()[0]
        if first is None:
            return []  # a card never used has no statement yet
        start = date.fromisoformat(first[:10]) - timedelta(days=1)
    return cuts_between(row[0], start, today)


def close_statement(conn: Connection, ctx: Context, card_id: int, cut: date, *, book: RateBook | None = None,
                    notify: bool = True, at: str | None = None) -> int | None:
    """Close one cut of one card inside the caller's write transaction; None if it was closed already.

    `at` is when the pass runs (default: now); demo data passes the simulated day.
    """
    at = at or ctx.now_iso()
    if conn.execute("SELECT 1 FROM card_statements WHERE card_id = ? AND cut_date = ?",
                    (card_id, cut.isoformat())).fetchone():
        return None
    book = book or default_book()
    s = ctx.settings
    inst = installment_account(conn, card_id)
    until = f"{cut.isoformat()} 23:59:59"
    prev = card_arrears.previous_statement(conn, card_id, cut.isoformat())
    if prev is not None:  # the mora accrued through the cut and not booked by a payment yet
        card_arrears.accrue_mora(conn, card_id, cut, until, actor=SYSTEM, book=book)
    arrears = card_arrears.cycle_replay(conn, card_id, cut, book=book, prev=prev, until=until)
    since = f"{prev['cut_date']} 23:59:59" if prev else ""
    previous = prev["total_due"] if prev else 0
    sums = {k: v for k, v in conn.execute(
        "SELECT e.kind, SUM(p.amount) FROM postings p JOIN entries e ON e.id = p.entry_id"
        " WHERE p.account_id = ? AND p.posted_at > ? AND p.posted_at <= ? GROUP BY e.kind",
        (card_id, since, until))}
    purchases, payments, deferred = -sums.get(PURCHASE, 0), sums.get(PAYMENT, 0), sums.get(DEFERRAL, 0)
    late_interest = -sums.get(card_arrears.MORA, 0)
    other = -sum(sums.values()) - purchases + payments + deferred - late_interest

    legs: list[Leg] = []
    intereses = internal_account(conn, "intereses")
    cuotas = conn.execute(
        "SELECT q.deferral_id, q.number, q.capital, q.interest, d.months, d.reference FROM card_deferral_cuotas q"
        " JOIN card_deferrals d ON d.id = q.deferral_id WHERE d.card_id = ? AND d.created_at <= ?"
        # unary + keeps the planner on this card's deferrals, not on every unbilled cuota of the co-op
        " AND +q.statement_id IS NULL AND q.number = (SELECT MIN(number) FROM card_deferral_cuotas"
        " WHERE deferral_id = q.deferral_id AND statement_id IS NULL) ORDER BY q.deferral_id",
        (card_id, until)).fetchall()
    installments = cuota_interest = cuota_capital = 0
    for q in cuotas:
        what = f"Cuota {q['number']}/{q['months']} diferido {q['reference']}"
        if q["capital"]:
            legs += [Leg(inst, q["capital"], what), Leg(card_id, -q["capital"], f"{what} (capital)")]
        if q["interest"]:
            legs += [Leg(card_id, -q["interest"], f"{what} (interés)"), Leg(intereses, q["interest"], what)]
        installments += q["capital"] + q["interest"]
        cuota_capital += q["capital"]
        cuota_interest += q["interest"]
    state = arrears.state
    # interest on the previous statement's capital left unpaid: its interest and mora bear none (art. 2113)
    prev_capital = previous - (prev["interest_owed"] + prev["mora_owed"] if prev else 0)
    unpaid = prev_capital - state.capital_paid
    interest = 0
    if unpaid > 0:
        monthly = card_arrears.rotativo_quote(conn, book, cut).monthly  # the caps in force, loaded ones too
        interest = int((Decimal(unpaid) * monthly).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if interest:
        legs += [Leg(card_id, -interest, "Interés sobre saldo rotativo"),
                 Leg(intereses, interest, "Interés sobre saldo rotativo de tarjeta")]
    entry = None
    if legs:
        entry = post(conn, kind=CYCLE, description=f"Cierre de ciclo al {cut:%d/%m/%Y}", legs=legs,
                     posted_at=until, actor=SYSTEM)
    total = previous + purchases - payments - deferred + installments + interest + late_interest + other
    interest_owed = state.interest + interest + cuota_interest
    mora_owed = state.mora
    overdue_capital = state.overdue
    current = total - interest_owed - mora_owed - overdue_capital - cuota_capital
    share = (Decimal(max(current, 0)) * Decimal(s.card_minimum_share_bp) / Decimal(10000))
    minimum = (int(share.quantize(Decimal(1), rounding=ROUND_CEILING)) + cuota_capital + interest_owed + mora_owed
               + overdue_capital)
    minimum = max(0, min(minimum, total))
    inst_balance = -conn.execute("SELECT COALESCE(SUM(amount), 0) FROM postings WHERE account_id = ?"
                                 " AND posted_at <= ?", (inst, until)).fetchone()[0]
    cycle_from = date.fromisoformat(prev["cut_date"]) + timedelta(days=1) if prev else \
        date.fromisoformat((conn.execute("SELECT MIN(posted_at) FROM postings WHERE account_id = ?",
                                         (card_id,)).fetchone()[0] or until)[:10])
    # the fecha máxima de pago is stored rolled to a business day (statements made before this rule keep theirs)
    due = business_days.current(conn).roll(cut + timedelta(days=s.card_due_days))
    row = conn.execute(
        "INSERT INTO card_statements (card_id, cycle_from, cut_date, due_date, previous_balance, purchases, payments,"
        " deferred, installments, interest, other, total_due, minimum_due, installment_balance, entry_id, closed_at,"
        " interest_owed, mora_owed, overdue_capital, overdue, late_interest, arrears_kept)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT (card_id, cut_date)"
        " DO NOTHING RETURNING id",
        (card_id, cycle_from.isoformat(), cut.isoformat(), due.isoformat(), previous, purchases, payments, deferred,
         installments, interest, other, total, minimum, inst_balance, entry, at, interest_owed, mora_owed,
         overdue_capital, arrears.overdue, late_interest)).fetchone()
    if row is None:
        raise _AlreadyClosed()
    statement_id = row[0]
    for q in cuotas:
        conn.execute("UPDATE card_deferral_cuotas SET statement_id = ? WHERE deferral_id = ? AND number = ?",
                     (statement_id, q["deferral_id"], q["number"]))
    card = conn.execute("SELECT c.masked_pan, a.member_id FROM cards c JOIN accounts a ON a.id = c.account_id"
                        " WHERE c.account_id = ?", (card_id,)).fetchone()
    audit.record(conn, at=at, actor=SYSTEM, action="tarjeta.cierre_ciclo", outcome="ok", tarjeta=card["masked_pan"],
                 corte=cut.isoformat(), pago_total=total, pago_minimo=minimum, valor_vencido=arrears.overdue,
                 interes_mora=late_interest)
    if notify and total > 0:
        notices.queue(conn, card["member_id"],
                      f"Cooprogreso: estado de cuenta de tu tarjeta {card['masked_pan']} al {cut:%d/%m/%Y}: "
                      f"pago total {format_money(total)}, pago mínimo {format_money(minimum)}, "
                      f"fecha máxima de pago {due:%d/%m/%Y}.", at)
    return statement_id


class CycleService:
    """`cooprogreso close-cycle` and the app's background pass."""

    def __init__(self, ctx: Context, book: RateBook | None = None):
        self.ctx = ctx
        self.book = book or default_book()

    def close_due(self, today: date | None = None) -> CloseReport:
        today = today or self.ctx.now().date()
        card_ids = [r[0] for r in self.ctx.db.conn.execute("SELECT account_id FROM cards ORDER BY account_id")]
        closed = busy = 0
        for card_id in card_ids:
            while True:
                try:
                    with self.ctx.db.write() as conn:
                        claimed = conn.execute("SELECT account_id FROM cards WHERE account_id = ?"
                                               " FOR UPDATE SKIP LOCKED", (card_id,)).fetchone()
                        if claimed is None:
                            busy += 1
                            break
                        cuts = pending_cuts(conn, card_id, today)
                        if not cuts:
                            break
                        if close_statement(conn, self.ctx, card_id, cuts[0], book=self.book) is not None:
                            closed += 1
                except _AlreadyClosed:
                    continue
        return CloseReport(len(card_ids), closed, busy)

