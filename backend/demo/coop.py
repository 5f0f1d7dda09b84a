"""A fictional co-op for demos, trainings and benchmarks: generated people with valid cédulas.

Everything is derived from the seed, so the same seed gives the same co-op.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from stdnum.ec import ci

from backend.core import accounts as acc
from backend.core import pan
from backend.core.clock import iso, system_clock
from backend.core.db import is_url, target_of
from backend.core.errors import ValidationError
from backend.core.ledger import Leg, post
from backend.core.settings import Settings
from backend.demo import cards as demo_cards
from backend.security.passwords import hash_password

if TYPE_CHECKING:
    from backend.core.db import Connection
    from backend.demo.cards import Step

    Event = tuple[datetime, int, Step]

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "Demo-2026!"
# The member who has products but no online user yet, so the sign-up can be tried.
UNAFFILIATED_CEDULA_BODY = "171003406"
DEMO_CEDULA_BODY = "170954321"

FIRST_F = ["María", "Lucía", "Gabriela", "Daniela", "Verónica", "Paola", "Andrea", "Carmen", "Rosa", "Diana",
           "Fernanda", "Estefanía", "Karina", "Jessica", "Mónica", "Silvia", "Patricia", "Sofía", "Valeria", "Elena"]
FIRST_M = ["José", "Luis", "Carlos", "Jorge", "Juan", "Diego", "Santiago", "Marco", "Fabián", "Edison",
           "Wilson", "Segundo", "Patricio", "Mauricio", "Ramiro", "Iván", "Byron", "Galo", "Hernán", "Rubén"]
LAST = ["Guamán", "Chicaiza", "Quishpe", "Toapanta", "Pilataxi", "Tipán", "Morocho", "Cando", "Simbaña",
        "Farinango", "Ruales", "Andrade", "Vega", "Torres", "Salazar", "Villacís", "Cevallos", "Espinosa",
        "Jácome", "Benalcázar", "Ortega", "Proaño", "Maldonado", "Paredes", "Naranjo", "Yánez", "Tapia",
        "Granda", "Almeida", "Zambrano"]
SHOPS = ["Supermaxi", "Tía", "Farmacias Cruz Azul", "Fybeca", "Gasolinera Primax", "Kywi", "De Prati",
         "Akí", "Sana Sana", "Almacenes Juan Eljuri", "Restaurante El Chacarero", "Librería Española"]


@dataclass(frozen=True)
class DemoSummary:
    members: int
    entries: int
    demo_username: str
    unaffiliated_cedula: str
    staff: tuple = ()  # (username, role, authenticator secret) of the demo staff


def cedula(body9: str) -> str:
    """Complete a 9-digit body with its check digit (the library validates; we search the digit)."""
    for digit in "0123456789":
        if ci.is_valid(body9 + digit):
            return body9 + digit
    raise ValueError(body9)


def demo_pan(rng: random.Random, last4: str | None = None) -> str:
    """A 16-digit Cooprogreso card number (prefix 3261) with a valid Luhn digit; `last4` fixes its end."""
    while True:
        body = "3261" + "".join(str(rng.randint(0, 9)) for _ in range(8))
        tail = last4 or f"{rng.randint(0, 9999):04d}"
        if pan.luhn_ok(body + tail):
            return body + tail
        if last4 is None:
            continue


def random_cedula(rng: random.Random) -> str:
    province = rng.randint(1, 24)
    return cedula(f"{province:02d}{rng.randint(0, 5)}{rng.randint(0, 999999):06d}")


def create_demo(path: str | Path, *, seed: int = 2026, members: int = 50, today: date | None = None,
                settings: Settings | None = None, progress: Callable[[int, int], None] | None = None) -> DemoSummary:
    """Create a new demo database at `path`; refuses to touch an existing file."""
    from backend.service import Backend  # deferred to keep import order one-way

    target = target_of(path)  # a file, or an empty PostgreSQL database
    if isinstance(target, Path) and target.exists():
        raise ValidationError(f"Ya existe {target}; no se sobrescribe. Elige otra ruta o bórrala.")
    if members < 2:
        raise ValidationError("Se necesitan al menos 2 socios.")
    settings = settings or Settings()
    rng = random.Random(seed)
    today = today or system_clock(settings.timezone).today()
    start = today - timedelta(days=365)
    backend = Backend(target, settings, migrate=True)
    db = backend.db
    if is_url(target) and db.conn.execute("SELECT 1 FROM members LIMIT 1").fetchone():
        backend.close()
        raise ValidationError(f"La base de datos {target} ya tiene socios; no se sobrescribe.")
    events: list[tuple[datetime, int, Callable]] = []
    with db.write() as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('demo', '1')"
                     " ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        conn.execute("INSERT INTO meta (key, value) VALUES ('demo_seed', ?)"
                     " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (str(seed),))
        caja = acc.internal_account(conn, "caja")
        comp = acc.internal_account(conn, "compensacion")
        acc.internal_account(conn, "comercios")
        acc.internal_account(conn, "intereses")
        pan_key = pan.pan_secret(backend.ctx.secret("pan_pepper"))
        people = [("Lucía Estefanía", "Guamán Torres", cedula(DEMO_CEDULA_BODY)),
                  ("Jorge Luis", "Chicaiza Vega", cedula(UNAFFILIATED_CEDULA_BODY))]
        seen = {p[2] for p in people}
        while len(people) < members:
            number = random_cedula(rng)
            if number in seen:
                continue
            seen.add(number)
            people.append((" ".join(rng.sample(rng.choice([FIRST_F, FIRST_M]), 2)), " ".join(rng.sample(LAST, 2)), number))
        starts: list[int] = []  # where each member's events begin in `events`
        for index, (first, last, number) in enumerate(people):
            starts.append(len(events))
            opened = start - timedelta(days=rng.randint(30, 2000))
            mid = acc.create_member(
                conn, id_type="cedula", id_number=number, first_names=first, last_names=last,
                mobile=f"09{rng.randint(0, 99999999):08d}",
                email=f"{first.split()[0].lower()}.{last.split()[0].lower()}{index}@correo.ec".translate(_ASCII),
                created_at=f"{opened.isoformat()} 09:00:00")
            savings = acc.open_savings(conn, mid, opened.isoformat())
            opening = rng.randint(50, 3000) * 100
            post(conn, kind="deposito", description="Saldo inicial", posted_at=f"{start.isoformat()} 08:00:00",
                 actor="demo", legs=[Leg(savings, opening, "Saldo inicial"), Leg(caja, -opening, "Saldo inicial")])
            second = acc.open_savings(conn, mid, opened.isoformat()) if index == 0 or rng.random() < 0.3 else None
            if second:
                amount = rng.randint(20, 800) * 100
                post(conn, kind="deposito", description="Depósito en ventanilla", actor="demo",
                     posted_at=f"{start.isoformat()} 08:30:00",
                     legs=[Leg(second, amount, "Depósito en ventanilla"), Leg(caja, -amount, "Depósito en ventanilla")])
            salary = rng.randint(460, 2400) * 100
            employer = rng.choice(["Municipio de Quito", "Comercial Andina S.A.", "Hospital Metropolitano",
                                   "Unidad Educativa Santa Clara", "Agroexport Cía. Ltda.", "Constructora Pichincha"])
            _plan_salary(events, rng, start, today, savings, comp, salary, employer)
            _plan_withdrawals(events, rng, start, today, savings, caja)
            if index == 0 or rng.random() < 0.35:
                acc.open_term_deposit(conn, mid, from_account=savings, principal=min(opening // 2, 200000) or 10000,
                                      rate_bp=rng.choice([550, 625, 700, 775]), start=start,
                                      months=rng.choice([6, 12, 18]), actor="demo")
            if index == 0 or rng.random() < 0.4:
                months = rng.choice([12, 18, 24, 36])
                loan = acc.open_loan(conn, mid, to_account=savings, principal=rng.randint(10, 80) * 10000,
                                     rate_bp=rng.choice([1150, 1325, 1550]), months=months,
                                     start=start, actor="demo")
                for _n, row in enumerate(conn.execute(
                        "SELECT due_date FROM loan_installments WHERE loan_id = ?", (loan,)).fetchall()):
                    due = date.fromisoformat(row[0])
                    if due < today:
                        events.append((datetime.combine(due, datetime.min.time()) + timedelta(hours=7), 2,
                                       _installment(loan, savings)))
            if index == 0 or rng.random() < 0.5:
                card = acc.open_card(
                    conn, mid, pan=demo_pan(rng, "6989" if index == 0 else None),
                    credit_limit=(3000 if index == 0 else rng.choice([500, 1000, 1500, 3000])) * 100,
                    cutoff_day=rng.choice([5, 15, 25]), due_day=rng.choice([1, 10, 20]),
                    opened_on=opened.isoformat(), secret=pan_key)
                demo_cards.plan(events, rng, backend.ctx, start, today, card, savings, demo_member=index == 0)
        if progress:
            progress(0, len(events))
    # Each member's history in time order, one member after another: an event touches only its member's
    # accounts and the co-op's own, so the outcome is the same as one global order, and each chunk writes
    # a few members' pages instead of one page per posting all over the file (which made it superlinear).
    events = [event for a, b in zip(starts, [*starts[1:], len(events)])
              for event in sorted(events[a:b], key=lambda e: (e[0], e[1]))]
    rebuild = _drop_time_index(db.conn)
    if rebuild:  # card statements still look postings up by account while replaying: an append-only order
        with db.write() as conn:
            conn.execute("CREATE INDEX demo_postings_account ON postings(account_id, id)")
    done = 0
    for chunk_start in range(0, len(events), 500):
        with db.write() as conn:
            for at, _, action in events[chunk_start:chunk_start + 500]:
                action(conn, iso(at))
        done = min(len(events), chunk_start + 500)
        if progress:
            progress(done, len(events))
    if rebuild:
        with db.write() as conn:
            conn.execute(rebuild)
            conn.execute("DROP INDEX demo_postings_account")
    with db.write() as conn:
        member_id = conn.execute("SELECT id FROM members ORDER BY id LIMIT 1").fetchone()[0]
        last_login = datetime.combine(today - timedelta(days=2), datetime.min.time()) + timedelta(hours=20, minutes=25)
        conn.execute("INSERT INTO users (member_id, username, password_hash, created_at, last_login_at)"
                     " VALUES (?, ?, ?, ?, ?)",
                     (member_id, DEMO_USERNAME, hash_password(DEMO_PASSWORD, log_n=settings.scrypt_log_n,
                                                              r=settings.scrypt_r, p=settings.scrypt_p),
                      f"{start.isoformat()} 12:00:00", iso(last_login)))
        entries = conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
    from backend.demo.staff import add_demo_staff

    staff = add_demo_staff(backend, rng)
    from backend.demo.services import add_demo_services

    add_demo_services(backend, DEMO_USERNAME, today, f"{start.isoformat()} 12:00:00")
    from backend.demo.product_requests import add_demo_requests

    add_demo_requests(backend, DEMO_USERNAME, today)
    from backend.demo.queues import add_demo_queues

    richest = db.conn.execute(  # the product requests' member: enough savings for the plazo fijo asked for
        "SELECT member_id FROM accounts WHERE kind = 'ahorros' AND member_id > (SELECT MIN(id) + 1 FROM members)"
        " ORDER BY balance DESC, id LIMIT 1").fetchone()
    add_demo_queues(backend, DEMO_USERNAME, today, richest[0] if richest else None)
    backend.close()
    return DemoSummary(members, entries, DEMO_USERNAME, cedula(UNAFFILIATED_CEDULA_BODY), staff)


def _drop_time_index(conn: Connection) -> str | None:
    """Drop the (account, time) index of postings for the history replay; returns the SQL to rebuild it.

    The co-op's own accounts take a posting from every member at every date, so keeping that index while
    replaying member after member inserts all over it (superlinear in members); one sort at the end is linear.
    Only on a new SQLite demo file, which nothing else reads while it is built.
    """
    if not isinstance(conn, sqlite3.Connection):
        return None
    row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'postings_account_time'"
                       ).fetchone()
    if row is None:
        return None
    conn.execute("DROP INDEX postings_account_time")
    return row[0]


_ASCII = str.maketrans("áéíóúñÁÉÍÓÚÑ", "aeiounAEIOUN")


def _balance(conn: Connection, account: int) -> int:
    row = conn.execute("SELECT balance - held FROM accounts WHERE id = ?", (account,)).fetchone()
    return row[0]


def _days(start: date, today: date) -> Iterator[date]:
    d = start + timedelta(days=1)
    while d < today:
        yield d
        d += timedelta(days=1)


def _plan_salary(events: list[Event], rng: random.Random, start: date, today: date, savings: int, comp: int,
                 salary: int, employer: str) -> None:
    for d in _days(start, today):
        if d.day in (15, 28) and d > start:
            half = salary // 2
            events.append((datetime(d.year, d.month, d.day, 6, rng.randint(0, 59)), 0,
                           _simple(savings, comp, half, f"Acreditación de sueldo {employer}", "sueldo")))


def _plan_withdrawals(events: list[Event], rng: random.Random, start: date, today: date, savings: int,
                      caja: int) -> None:
    for d in _days(start, today):
        if rng.random() < 0.12:
            amount = rng.choice([20, 40, 60, 80, 100, 150, 200]) * 100
            where = rng.choice(["Retiro cajero automático", "Retiro en ventanilla", "Débito servicio básico EEQ",
                                "Débito CNT telefonía", "Pago agua EPMAPS"])
            events.append((datetime(d.year, d.month, d.day, rng.randint(8, 20), rng.randint(0, 59)), 3,
                           _simple(savings, caja, -amount, where, "retiro", skip_if_short=True)))


def _simple(account: int, counter: int, amount: int, memo: str, kind: str, skip_if_short: bool = False) -> Step:
    def run(conn: Connection, at: str) -> None:
        if skip_if_short and _balance(conn, account) + amount < 0:
            return
        post(conn, kind=kind, description=memo, posted_at=at, actor="demo",
             legs=[Leg(account, amount, memo), Leg(counter, -amount, memo)])
    return run


def _installment(loan: int, savings: int) -> Step:
    def run(conn: Connection, at: str) -> None:
        inst = conn.execute("SELECT principal + interest FROM loan_installments WHERE loan_id = ?"
                            " AND paid_entry_id IS NULL ORDER BY number LIMIT 1", (loan,)).fetchone()
        if inst and _balance(conn, savings) >= inst[0]:
            acc.pay_installment(conn, loan, savings, at, "demo")
    return run
