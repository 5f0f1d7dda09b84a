"""Back-office operations that create members and products (used by demo data, tests and tellers).

Each function runs inside the caller's Database.write() so a product and its opening entry commit together.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from backend.core import business_days, name_search
from backend.core.errors import ValidationError
from backend.core.identity import account_number, normalize_id, validate_mobile
from backend.core.ledger import Leg, LedgerError, post

if TYPE_CHECKING:
    from collections.abc import Sequence

    from backend.core.db import Connection, Params, Row

LOAN_NAMES = {"consumo": "Crédito de Consumo", "microcredito": "Microcrédito", "inmobiliario": "Crédito Inmobiliario"}
PREFIX = {"ahorros": "41", "plazo_fijo": "42", "prestamo": "43", "tarjeta": "44", "interna": "99"}

# The co-op's own side of every entry.
INTERNAL = {
    "caja": "Caja y bancos",
    "compensacion": "Cámara de compensación",
    "cartera": "Cartera de créditos",
    "intereses": "Ingresos por intereses",
    "comercios": "Liquidación de comercios (tarjetas)",
    "intereses_pagados": "Intereses pagados a socios",
    "compensacion_interbancaria": "Transferencias interbancarias por liquidar",
    "comisiones": "Ingresos por comisiones",
    "bce": "Cuenta en el Banco Central del Ecuador",
    "faltantes_sobrantes": "Faltantes y sobrantes de caja",
    "intereses_mora": "Ingresos por interés de mora",
}


# A shared internal account (compensación interbancaria, comisiones, a biller's collection) is credited by every
# branch's bookings: one row, one lock queue (issue #23). A booking made for a member posts instead to one of
# SHARDS parts of it, chosen by the member (part 0 is the account's own row; the others are `account_shards`
# rows, internal accounts of their own created on first use), as high-volume ledgers split a hot account.
# `ledger.check` checks each part as it checks any account; whoever shows the account shows `balance()`: the sum.
SHARDS = 16


def internal_account(conn: Connection, key: str, member: int | None = None) -> int:
    """The id of an internal account, created on first use (index accounts_kind_name: no scan); for a
    booking made for `member`, the id of the part that member posts to (see SHARDS), in the same round trip."""
    return _internal_found(conn, key, member, conn.execute(*_internal_query(key, member)).fetchone())


def booking_accounts(conn: Connection, wanted: Sequence[str | int], member: int | None,
                     rows: Sequence[Row | None] | None = None) -> list[int]:
    """For a booking made for `member`, the part it posts to of each shared internal account in `wanted` (a key
    of INTERNAL, as `internal_account`; or an internal account's id, as `shard`), in one statement; a part (or
    account) not made yet is made as those two make it. `rows`: what `booking_accounts_queries` found for
    `wanted` or for a longer list that begins with it, when the caller sent it with its own reads (ids never
    change once made)."""
    if not wanted:
        return []
    if rows is None:
        rows = conn.fetch_each(booking_accounts_queries(wanted, member))
    found = _split(wanted, rows[0])
    return [_internal_found(conn, w, member, row) if isinstance(w, str) else _shard_found(conn, w, member, row)
            for w, row in zip(wanted, found)]


def booking_accounts_queries(wanted: Sequence[str | int | tuple[str, Params]],
                             member: int | None) -> list[tuple[str, Params]]:
    """The statement `booking_accounts` reads (one, whatever `wanted` holds: each statement costs the client and
    the server more than its work), for a caller that sends it with others (`conn.fetch_each`). An internal
    account's id may be given as (SQL, params) of a subquery that finds it (the caller's reads find it too)."""
    columns, params = _booking_columns(wanted, member)
    return [("SELECT " + ", ".join(columns), tuple(params))]


def _booking_columns(wanted: Sequence[str | int | tuple[str, Params]], member: int | None) -> tuple[list[str], list]:
    part, columns, params = _part(member), [], []
    for w in wanted:
        if isinstance(w, str):  # as `_internal_query`: the account, and its part
            columns += ["(SELECT id FROM accounts WHERE kind = 'interna' AND name = ?)",
                        "(SELECT s.account_id FROM account_shards s JOIN accounts a ON a.id = s.parent_id"
                        " WHERE a.kind = 'interna' AND a.name = ? AND s.shard = ?)"]
            params += [INTERNAL[w], INTERNAL[w], part]
        else:  # as `_shard_query`
            parent, given = (f"({w[0]})", list(w[1])) if isinstance(w, tuple) else ("?", [w])
            columns.append(f"(SELECT account_id FROM account_shards WHERE parent_id = {parent} AND shard = ?)")
            params += [*given, part]
    return columns, params


def booking_accounts_columns(wanted: Sequence[str | int | tuple[str, Params]],
                             member: int | None) -> tuple[str, Params, int]:
    """`booking_accounts_queries`' statement as columns of a caller's own statement (", col, …"), their
    parameters and how many they are: the caller passes those last columns of its row to `booking_accounts`
    as the one row it reads (a statement fewer)."""
    columns, params = _booking_columns(wanted, member)  # named apart: `id` would hide the caller's own
    return "".join(f", {c} AS booking_account_{n}" for n, c in enumerate(columns)), tuple(params), len(columns)


def _split(wanted: Sequence[str | int], row: Row | None) -> list[Any]:
    """The one row of `booking_accounts_queries` as the rows `_internal_query` and `_shard_query` would find."""
    found: list[Any] = []
    at = 0
    for w in wanted:
        if isinstance(w, str):
            account, own = (row[at], row[at + 1]) if row is not None else (None, None)
            found.append(None if account is None else (account, own))
            at += 2
        else:
            own = row[at] if row is not None else None
            found.append(None if own is None else (own,))
            at += 1
    return found


def _internal_query(key: str, member: int | None) -> tuple[str, tuple[int, str]]:
    return ("SELECT a.id, s.account_id FROM accounts a LEFT JOIN account_shards s ON s.parent_id = a.id"
            " AND s.shard = ? WHERE a.kind = 'interna' AND a.name = ?", (_part(member), INTERNAL[key]))


def _internal_found(conn: Connection, key: str, member: int | None, row: Row | None) -> int:
    """`internal_account`, given the row of `_internal_query`."""
    name, part = INTERNAL[key], _part(member)
    if row:
        return row[1] or (_new_shard(conn, row[0], part) if part else row[0])
    conn.lock("internal_account")  # two first uses at once on PostgreSQL: one creates, the other finds it
    row = conn.execute("SELECT id FROM accounts WHERE kind = 'interna' AND name = ?", (name,)).fetchone()
    parent = row[0] if row else insert_account(conn, None, "interna", name, "2000-01-01")
    return shard(conn, parent, member)


def shard(conn: Connection, account_id: int, member: int | None) -> int:
    """The part of the shared internal account `account_id` that a booking for `member` posts to (itself
    when there is no member)."""
    if not _part(member):
        return account_id
    return _shard_found(conn, account_id, member, conn.execute(*_shard_query(account_id, member)).fetchone())


def _shard_query(account_id: int, member: int | None) -> tuple[str, tuple[int, int]]:
    # part 0 is the account itself: the query then finds nothing, and `_shard_found` needs nothing
    return "SELECT account_id FROM account_shards WHERE parent_id = ? AND shard = ?", (account_id, _part(member))


def _shard_found(conn: Connection, account_id: int, member: int | None, row: Row | None) -> int:
    """`shard`, given the row of `_shard_query`."""
    part = _part(member)
    if not part:
        return account_id
    return row[0] if row else _new_shard(conn, account_id, part)


def balance(conn: Connection, account_id: int) -> int:
    """An account's balance with its parts' (see SHARDS): what the one row held before it was split."""
    row = conn.execute("SELECT a.balance + COALESCE((SELECT SUM(p.balance) FROM account_shards s JOIN accounts p"
                       " ON p.id = s.account_id WHERE s.parent_id = a.id), 0) FROM accounts a WHERE a.id = ?",
                       (account_id,)).fetchone()
    return row[0] if row else 0


def internal_balance(conn: Connection, key: str) -> int:
    """The balance of the internal account `key`, its parts included ($0 before its first use)."""
    row = conn.execute("SELECT id FROM accounts WHERE kind = 'interna' AND name = ?", (INTERNAL[key],)).fetchone()
    return balance(conn, row[0]) if row else 0


def _part(member: int | None) -> int:
    # Members numbered one after another fall on parts one after another: no two of SHARDS neighbours share one.
    return 0 if member is None else member % SHARDS


def _new_shard(conn: Connection, parent: int, part: int) -> int:
    conn.lock(f"account_shard:{parent}")  # two first uses at once on PostgreSQL: one creates, the other finds it
    row = conn.execute("SELECT s.account_id, a.name, a.opened_on, a.kind FROM accounts a LEFT JOIN account_shards s"
                       " ON s.parent_id = a.id AND s.shard = ? WHERE a.id = ?", (part, parent)).fetchone()
    if row is None or row[3] != "interna":  # a member's account is never split: its own lock is its member's
        raise LedgerError(f"La cuenta {parent} no es una cuenta interna de la cooperativa.")
    if row[0] is not None:
        return row[0]
    suffix = f" · parte {part + 1}"
    account = insert_account(conn, None, "interna", row[1][:80 - len(suffix)] + suffix, row[2])
    conn.execute("INSERT INTO account_shards (parent_id, shard, account_id) VALUES (?, ?, ?)", (parent, part, account))
    return account


def create_member(conn: Connection, *, id_type: str, id_number: str, first_names: str, last_names: str,
                  mobile: str | None, email: str | None, created_at: str, status: str = "activo") -> int:
    number = normalize_id(id_type, id_number)
    phone = validate_mobile(mobile) if mobile else None
    first_names, last_names = first_names.strip(), last_names.strip()
    member = conn.execute(
        "INSERT INTO members (id_type, id_number, first_names, last_names, mobile, email, status, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (id_type, number, first_names, last_names, phone, email, status, created_at)).fetchone()[0]
    name_search.remember(conn, member, first_names, last_names)
    return member


def insert_account(conn: Connection, member_id: int | None, kind: str, name: str, opened_on: str) -> int:
    """A new account row, numbered from its kind's counter: every kind of account, in every area, opens here."""
    # The next serial of this kind from a one-row counter (a COUNT here made demo-data quadratic).
    serial = conn.execute(
        "INSERT INTO account_serials (kind, last) VALUES (?, 1)"
        " ON CONFLICT (kind) DO UPDATE SET last = account_serials.last + 1 RETURNING last", (kind,)).fetchone()[0]
    return conn.execute(
        "INSERT INTO accounts (number, member_id, kind, name, opened_on) VALUES (?, ?, ?, ?, ?) RETURNING id",
        (account_number(PREFIX[kind], serial), member_id, kind, name, opened_on)).fetchone()[0]


def open_till_account(conn: Connection, username: str, opened_on: str) -> int:
    """A teller's till (caja de ventanilla): an internal account, so `cooprogreso check` covers it."""
    return insert_account(conn, None, "interna", f"Caja de ventanilla {username}", opened_on)


def open_savings(conn: Connection, member_id: int, opened_on: str) -> int:
    return insert_account(conn, member_id, "ahorros", "Cuenta de Ahorros", opened_on)


def open_term_deposit(conn: Connection, member_id: int, *, from_account: int, principal: int, rate_bp: int,
                      start: date, months: int = 0, days: int = 0, actor: str, posted_at: str | None = None) -> int:
    """A plazo fijo funded from a savings account; its term in months (demo data) or days (requests)."""
    acc = insert_account(conn, member_id, "plazo_fijo", "Depósito a Plazo Fijo", start.isoformat())
    nominal = start + timedelta(days=days) if days else add_months(start, months)
    # paid on a business day; the interest stays the one for the contracted days (term_days)
    maturity = business_days.current(conn).roll(nominal)
    conn.execute("INSERT INTO term_deposits (account_id, principal, rate_bp, start_date, maturity_date,"
                 " payout_account_id, term_days) VALUES (?, ?, ?, ?, ?, ?, ?)",
                 (acc, principal, rate_bp, start.isoformat(), maturity.isoformat(), from_account,
                  (nominal - start).days))
    post(conn, kind="plazo_fijo", description="Apertura de depósito a plazo fijo",
         legs=[Leg(from_account, -principal, "Apertura depósito a plazo fijo"),
               Leg(acc, principal, "Apertura depósito a plazo fijo")],
         posted_at=posted_at or f"{start.isoformat()} 09:00:00", actor=actor)
    return acc


def open_loan(conn: Connection, member_id: int, *, to_account: int, principal: int, rate_bp: int, months: int,
              start: date, actor: str, product: str = "consumo",
              schedule: list[tuple[date, int, int]] | None = None, posted_at: str | None = None) -> int:
    """Disburse a loan into a savings account and store its schedule: by default the French schedule at the
    nominal rate (demo data); a request's loan passes its own (effective rate, French or German)."""
    name = LOAN_NAMES[product]
    acc = insert_account(conn, member_id, "prestamo", name, start.isoformat())
    conn.execute("INSERT INTO loans (account_id, principal, rate_bp, term_months, start_date, product)"
                 " VALUES (?, ?, ?, ?, ?, ?)", (acc, principal, rate_bp, months, start.isoformat(), product))
    rows = schedule if schedule is not None else amortization(principal, rate_bp, months, start)
    if sum(cap for _, cap, _ in rows) != principal:
        raise ValueError("the schedule's capital does not add up to the principal")
    cal = business_days.current(conn)  # each cuota falls due on a business day; its amount does not change
    for n, (due, cap, interest) in enumerate(rows, start=1):
        conn.execute("INSERT INTO loan_installments (loan_id, number, due_date, principal, interest)"
                     " VALUES (?, ?, ?, ?, ?)", (acc, n, cal.roll(due).isoformat(), cap, interest))
    post(conn, kind="desembolso", description=f"Desembolso de {name.lower()}",
         legs=[Leg(acc, -principal, "Desembolso del crédito"), Leg(to_account, principal, "Desembolso de crédito")],
         posted_at=posted_at or f"{start.isoformat()} 09:30:00", actor=actor)
    return acc


def pay_installment(conn: Connection, loan_id: int, from_account: int, posted_at: str, actor: str,
                    idempotency_key: str | None = None) -> int | None:
    """Pay the oldest unpaid installment from a savings account; None if none is due."""
    inst = conn.execute("SELECT * FROM loan_installments WHERE loan_id = ? AND paid_entry_id IS NULL"
                        " ORDER BY number LIMIT 1", (loan_id,)).fetchone()
    if inst is None:
        return None
    total = inst["principal"] + inst["interest"]
    legs = [Leg(from_account, -total, f"Pago cuota {inst['number']} crédito"),
            Leg(loan_id, inst["principal"], f"Pago cuota {inst['number']} (capital)")]
    if inst["interest"]:
        legs.append(Leg(internal_account(conn, "intereses"), inst["interest"], f"Interés cuota {inst['number']}"))
    entry = post(conn, kind="cuota", description=f"Pago de cuota {inst['number']}", legs=legs,
                 posted_at=posted_at, actor=actor, idempotency_key=idempotency_key)
    conn.execute("UPDATE loan_installments SET paid_entry_id = ? WHERE loan_id = ? AND number = ?",
                 (entry, loan_id, inst["number"]))
    return entry


CARD_INSTALLMENTS_NAME = "Diferidos Tarjeta de Crédito Cooprogreso"


def open_card(conn: Connection, member_id: int, *, pan: str, credit_limit: int, cutoff_day: int, due_day: int,
              opened_on: str, secret: bytes) -> int:
    """A new Cooprogreso card with both its accounts (the card's and its diferidos'); the full number is kept
    only as a keyed digest. In the core: the cards and the product approvals (which issue one) both open cards."""
    from backend.core.pan import card_number_digits, luhn_ok, mask_pan, pan_digest

    digits = card_number_digits(pan)
    if not (13 <= len(digits) <= 19 and luhn_ok(digits)):
        raise ValidationError("Número de tarjeta no válido.", field="numero")
    card = insert_account(conn, member_id, "tarjeta", "Tarjeta de Crédito Cooprogreso", opened_on)
    conn.execute("INSERT INTO cards (account_id, masked_pan, credit_limit, cutoff_day, due_day, pan_digest)"
                 " VALUES (?, ?, ?, ?, ?, ?)",
                 (card, mask_pan(digits), credit_limit, cutoff_day, due_day, pan_digest(secret, digits)))
    installments = insert_account(conn, member_id, "tarjeta", CARD_INSTALLMENTS_NAME, opened_on)
    conn.execute("UPDATE cards SET installment_account_id = ? WHERE account_id = ?", (installments, card))
    return card


def amortization(principal: int, rate_bp: int, months: int, start: date) -> list[tuple[date, int, int]]:
    """(due date, principal, interest) per month, in cents: the French schedule of backend.core.amortization
    at the loan's nominal annual rate (basis points) over twelve."""
    from backend.core.amortization import french

    monthly = Decimal(rate_bp) / Decimal(120000)
    return [(add_months(start, r.number), r.capital, r.interest) for r in french(principal, monthly, months).rows]


def add_months(d: date, months: int) -> date:
    month = d.month - 1 + months
    year, month = d.year + month // 12, month % 12 + 1
    return date(year, month, min(d.day, 28))
