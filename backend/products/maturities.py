"""End-of-day passes for what falls due on the business day: plazos fijos that mature (capital and
interest paid into the member's savings account, the deposit closed) and loan instalments (collected
from the member's savings account when its available balance covers them; otherwise left pending,
en mora, and never an overdraft).

Each item is one transaction, one double-entry `ledger.post`: it queues behind the member's own writes
(`member_lock`), claims its row `FOR UPDATE SKIP LOCKED`, re-checks it under the lock and books with an
idempotency key, so a pass run twice, or two passes at once, book each item once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from backend.core import accounts, notices
from backend.core.db import member_lock
from backend.core.identity import mask_account
from backend.core.ledger import Leg, post
from backend.core.money import format_money

if TYPE_CHECKING:
    from backend.core.context import Context
    from backend.core.db import Connection, Row

SYSTEM = "sistema:cierre_dia"
DEPOSIT_YEAR_DAYS = 360  # as the simulator prices a plazo fijo (backend.products.simulators)


def deposit_interest(principal: int, rate_bp: int, days: int) -> int:
    """Simple interest in cents, principal × rate × days / 360, rounded half-up once (as at opening)."""
    whole = 10_000 * DEPOSIT_YEAR_DAYS
    return (2 * principal * rate_bp * days + whole) // (2 * whole)


def _count(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"


@dataclass(frozen=True)
class MaturityReport:
    matured: int  # due on or before the day and still open when the pass looked
    paid: int
    paid_amount: int  # capital + interest credited, cents
    waiting: int  # no active savings account to pay into: stays open for the next pass
    busy: int  # taken by another pass at the same time

    def line(self) -> str:
        return ", ".join((_count(self.matured, "vencido", "vencidos"),
                          _count(self.paid, "pagado", "pagados") + f" ({format_money(self.paid_amount)})",
                          f"{self.waiting} sin cuenta de ahorros", _count(self.busy, "en curso", "en curso")))


@dataclass(frozen=True)
class CollectionReport:
    due: int
    collected: int
    collected_amount: int
    arrears: int  # unpaid instalments due on or before the day, after the pass (en mora)
    busy: int

    def line(self) -> str:
        return ", ".join((_count(self.due, "cuota vencida", "cuotas vencidas"),
                          _count(self.collected, "cobrada", "cobradas") + f" ({format_money(self.collected_amount)})",
                          f"{self.arrears} en mora"))


def _savings(conn: Connection, member_id: int, preferred: int | None = None) -> Row | None:
    """Where a plazo fijo pays out (the savings account that funded it, while it is the member's and active) or a
    cuota is collected: else the member's oldest active savings account. Locked."""
    return conn.execute("SELECT id, number, balance - held FROM accounts WHERE member_id = ? AND kind = 'ahorros'"
                        " AND status = 'activa' ORDER BY CASE WHEN id = ? THEN 0 ELSE 1 END, id LIMIT 1 FOR UPDATE",
                        (member_id, preferred or 0)).fetchone()


def mature_deposits(ctx: Context, day: date) -> MaturityReport:
    ctx.db.act_for(None)  # the pass acts for no member: it takes each member's lock itself
    with ctx.db.read() as conn:
        due = conn.execute("SELECT d.account_id, a.member_id FROM term_deposits d JOIN accounts a ON a.id = d.account_id"
                           " WHERE d.maturity_date <= ? AND a.status = 'activa' ORDER BY d.account_id",
                           (day.isoformat(),)).fetchall()
    paid = amount = waiting = busy = 0
    for account_id, member_id in due:
        with ctx.db.write() as conn:
            conn.lock(member_lock(member_id))
            acc = conn.execute("SELECT number, balance FROM accounts WHERE id = ? AND status = 'activa'"
                               " FOR UPDATE SKIP LOCKED", (account_id,)).fetchone()
            if acc is None:  # paid by another pass a moment ago, or being paid now
                busy += 1
                continue
            payout = conn.execute("SELECT payout_account_id FROM term_deposits WHERE account_id = ?",
                                  (account_id,)).fetchone()[0]
            savings = _savings(conn, member_id, payout)
            if savings is None:
                waiting += 1
                ctx.audit(conn, SYSTEM, "plazo_fijo.vencimiento", "sin_cuenta", member_id=member_id,
                          cuenta=acc["number"])
                continue
            d = conn.execute("SELECT principal, rate_bp, start_date, maturity_date, term_days FROM term_deposits"
                             " WHERE account_id = ?", (account_id,)).fetchone()
            # the contracted days (the quote); deposits opened before the calendar rolled maturities have none
            days = d["term_days"] or (date.fromisoformat(d["maturity_date"]) - date.fromisoformat(d["start_date"])).days
            capital, interest = acc["balance"], deposit_interest(d["principal"], d["rate_bp"], days)
            memo = f"Vencimiento plazo fijo {mask_account(acc['number'])}"
            legs = [Leg(account_id, -capital, memo)] if capital else []
            if interest:
                legs.append(Leg(accounts.internal_account(conn, "intereses_pagados"), -interest,
                                f"Intereses {memo.lower()}"))
            if capital + interest:
                legs.append(Leg(savings["id"], capital + interest, memo))
                post(conn, kind="vencimiento_plazo_fijo", description="Vencimiento de depósito a plazo fijo",
                     legs=legs, posted_at=ctx.now_iso(), actor=SYSTEM,
                     idempotency_key=f"vencimiento-plazo-fijo:{account_id}")
            conn.execute("UPDATE accounts SET status = 'cerrada' WHERE id = ?", (account_id,))
            ctx.audit(conn, SYSTEM, "plazo_fijo.vencimiento", "ok", member_id=member_id, cuenta=acc["number"],
                      capital=capital, interes=interest, destino=savings["number"])
            notices.queue(conn, member_id, f"Cooprogreso: tu depósito a plazo fijo {mask_account(acc['number'])}"
                          f" venció. Acreditamos {format_money(capital + interest)} (intereses "
                          f"{format_money(interest)}) en tu cuenta {mask_account(savings['number'])}.", ctx.now_iso())
            paid += 1
            amount += capital + interest
    return MaturityReport(len(due), paid, amount, waiting, busy)


def collect_instalments(ctx: Context, day: date) -> CollectionReport:
    ctx.db.act_for(None)
    with ctx.db.read() as conn:
        due = conn.execute("SELECT i.loan_id, i.number, a.member_id FROM loan_installments i"
                           " JOIN accounts a ON a.id = i.loan_id WHERE i.paid_entry_id IS NULL AND i.due_date <= ?"
                           " AND a.status = 'activa' ORDER BY i.loan_id, i.number", (day.isoformat(),)).fetchall()
    collected = amount = busy = 0
    behind: set[int] = set()  # loans with an unpaid earlier cuota this pass: later ones wait (paid in order)
    for loan_id, number, member_id in due:
        if loan_id in behind:
            continue
        with ctx.db.write() as conn:
            conn.lock(member_lock(member_id))
            inst = conn.execute("SELECT principal, interest FROM loan_installments WHERE loan_id = ? AND number = ?"
                                " AND paid_entry_id IS NULL FOR UPDATE SKIP LOCKED", (loan_id, number)).fetchone()
            if inst is None:
                busy += 1
                continue
            earlier = conn.execute("SELECT 1 FROM loan_installments WHERE loan_id = ? AND number < ?"
                                   " AND paid_entry_id IS NULL", (loan_id, number)).fetchone()
            savings = None if earlier else _savings(conn, member_id)
            total = inst["principal"] + inst["interest"]
            if savings is None or savings[2] < total:
                behind.add(loan_id)
                continue
            entry = accounts.pay_installment(conn, loan_id, savings["id"], ctx.now_iso(), SYSTEM,
                                             idempotency_key=f"cuota:{loan_id}:{number}")
            loan_number = conn.execute("SELECT number FROM accounts WHERE id = ?", (loan_id,)).fetchone()[0]
            ctx.audit(conn, SYSTEM, "credito.cuota", "ok", member_id=member_id, credito=loan_number, cuota=number,
                      monto=total, origen=savings["number"], asiento=entry)
            notices.queue(conn, member_id, f"Cooprogreso: debitamos {format_money(total)} de tu cuenta "
                          f"{mask_account(savings['number'])} por la cuota {number} de tu crédito "
                          f"{mask_account(loan_number)}.", ctx.now_iso())
            collected += 1
            amount += total
    with ctx.db.read() as conn:
        arrears = conn.execute("SELECT COUNT(*) FROM loan_installments WHERE paid_entry_id IS NULL AND due_date <= ?",
                               (day.isoformat(),)).fetchone()[0]
    return CollectionReport(len(due), collected, amount, arrears, busy)
