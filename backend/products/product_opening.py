"""What an approved product request opens, inside the approval's own write transaction.

Loans disburse into the member's savings account with the schedule the member simulated (effective
annual rate, French or German, exact cents); a plazo fijo is funded from that account (refused with
the reason when the money is no longer there); a card gets its accounts and a masked number; an
additional savings account just opens. Money moves only through `ledger.post`, so `check` covers it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from backend.core import accounts, notices
from backend.core.amortization import schedule
from backend.core.context import Context
from backend.core.errors import ValidationError
from backend.core.identity import mask_account
from backend.core.money import format_money
from backend.core.rates import current_book, monthly_from_effective
from backend.products.simulators import product, product_name

if TYPE_CHECKING:
    from backend.core.db import Connection, Row

LOANS = ("consumo", "microcredito", "inmobiliario")
OPENS = (*LOANS, "plazo_fijo", "tarjeta", "ahorros")  # the product codes of «Solicita tus Productos»
CARD_CUTOFF_DAY = 15  # new cards: corte on the 15th, payment due `card_due_days` later


@dataclass(frozen=True)
class Opened:
    account_id: int
    entry_id: int | None  # the money movement, if the product moved money


def loan_schedule(row: Row | Mapping[str, Any], start: date) -> list[tuple[date, int, int]]:
    """The schedule the member simulated: (due date, capital, interest) per month, in cents."""
    monthly = monthly_from_effective(Decimal(row["rate_bp"]) / Decimal(10000))
    rows = schedule(row["method"], row["amount"], monthly, row["term"]).rows
    return [(accounts.add_months(start, r.number), r.capital, r.interest) for r in rows]


def _within_todays_cap(conn: Connection, row: Row, today: date) -> None:
    """The legal cap in force on the day the loan is paid out, not only on the day it was asked for: a
    lower cap published in between (a table loaded with `cooprogreso tasas`) makes the request's rate unlawful."""
    book = current_book(conn, upto=today)
    try:
        segment = book.offer(product(row["product"]).tariff, row["term"], today).segment
        book.check(segment, Decimal(row["rate_bp"]) / Decimal(10000), today)
    except ValidationError as exc:
        raise ValidationError(f"{exc.message} La tasa de la solicitud ya no se puede aplicar hoy: rechaza la "
                              "solicitud y pide que simule de nuevo.", code="tasa") from None


def _destination(conn: Connection, row: Row) -> tuple[int, str]:
    """The member's own active savings account named in the request (locked: its balance may move)."""
    account = conn.execute("SELECT id, number, balance, held FROM accounts WHERE id = ? AND member_id = ?"
                           " AND kind = 'ahorros' AND status = 'activa' FOR UPDATE",
                           (row["account_id"], row["member_id"])).fetchone()
    if account is None:
        raise ValidationError("La cuenta del socio indicada en la solicitud ya no está activa.", code="cuenta",
                              field="account")
    return account["id"], account["number"]


def open_product(conn: Connection, ctx: Context, row: Row, *, actor: str, pan_key: bytes, pan: str, number: str) -> Opened:
    product, amount, member = row["product"], row["amount"], row["member_id"]
    today, at = ctx.now().date(), ctx.now_iso()
    if product not in OPENS:
        raise ValidationError("Producto desconocido en la solicitud.", code="producto")
    label = product_name(product)
    if product != "ahorros" and amount <= 0:
        raise ValidationError("La solicitud no tiene monto.", code="monto")
    sms = f"Cooprogreso: tu solicitud {number} de {label} fue aprobada."
    if product in LOANS:
        if row["term"] <= 0:
            raise ValidationError("La solicitud no tiene plazo.", code="plazo")
        _within_todays_cap(conn, row, today)
        to_account, to_number = _destination(conn, row)
        rows = loan_schedule(row, today)
        if rows[0][1] + rows[0][2] != row["installment"]:
            raise ValidationError(f"La cuota de la tabla ({format_money(rows[0][1] + rows[0][2])}) no es la que el "
                                  f"socio aceptó ({format_money(row['installment'])}); rechaza la solicitud y pide "
                                  "que simule de nuevo.", code="cuota")
        account = accounts.open_loan(conn, member, to_account=to_account, principal=amount, rate_bp=row["rate_bp"],
                                     months=row["term"], start=today, actor=actor, product=product, schedule=rows,
                                     posted_at=at)
        sms += f" Acreditamos {format_money(amount)} en tu cuenta {mask_account(to_number)}."
    elif product == "plazo_fijo":
        if row["term"] <= 0:
            raise ValidationError("La solicitud no tiene plazo.", code="plazo")
        from_account, from_number = _destination(conn, row)
        available = conn.execute("SELECT balance - held FROM accounts WHERE id = ?", (from_account,)).fetchone()[0]
        if available < amount:
            raise ValidationError(f"Fondos insuficientes: la cuenta {mask_account(from_number)} tiene disponible "
                                  f"{format_money(available)} y el depósito es de {format_money(amount)}.",
                                  code="fondos", field="account")
        account = accounts.open_term_deposit(conn, member, from_account=from_account, principal=amount,
                                             rate_bp=row["rate_bp"], start=today, days=row["term"], actor=actor,
                                             posted_at=at)
        maturity = conn.execute("SELECT maturity_date FROM term_deposits WHERE account_id = ?",
                                (account,)).fetchone()[0]
        sms += (f" Debitamos {format_money(amount)} de tu cuenta {mask_account(from_number)}; vence el "
                f"{maturity[8:10]}/{maturity[5:7]}/{maturity[:4]}.")
    elif product == "tarjeta":
        due_day = (CARD_CUTOFF_DAY + ctx.settings.card_due_days - 1) % 28 + 1
        account = accounts.open_card(conn, member, pan=pan, credit_limit=amount, cutoff_day=CARD_CUTOFF_DAY,
                                        due_day=due_day, opened_on=today.isoformat(), secret=pan_key)
        sms += f" Tu tarjeta termina en {pan[-4:]}; retírala en tu agencia."
    else:
        account = accounts.open_savings(conn, member, today.isoformat())
    entry = conn.execute("SELECT entry_id FROM postings WHERE account_id = ? ORDER BY id LIMIT 1",
                         (account,)).fetchone()
    notices.queue(conn, member, sms, at)
    return Opened(account, entry[0] if entry else None)
