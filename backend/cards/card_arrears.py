"""Arrears on the card: interest on capital only, the valor vencido carried forward, and interés de mora.

- Código Civil del Ecuador, art. 2113: no interest on interest (anatocismo). The cycle charges interest on the
  unpaid capital of the previous statement only; unpaid interest and mora are owed but bear nothing.
- Interés de mora (backend/data/mora_tarjeta.toml, with its source): on the overdue capital only, for each day
  from the day after the fecha máxima de pago (stored rolled to a business day) until the day it is paid.
- A payment covers, in this order: mora, interest, overdue capital (valor vencido), then current capital.

Everything here is re-derived from the previous statement and the card's postings by one pure function,
`replay`: the payment booking posts the mora accrued until that day before the payment (so the payment
covers it first), the cycle close posts what accrued until the cut, and `check` compares both with the books.
All figures stay on the card's own ledger account (the revolving debt); mora is income on its own internal
account («Ingresos por interés de mora»).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any
from typing import TYPE_CHECKING

from backend.core import regulatory_data
from backend.core.accounts import internal_account
from backend.core.ledger import Leg, post
from backend.core.rates import Quote, RateBook, current_book, default_book

if TYPE_CHECKING:
    from backend.core.db import Connection, Row

MORA = "mora_tarjeta"
PAYMENT = "pago_tarjeta"
DEFERRAL = "diferido_tarjeta"


@dataclass(frozen=True)
class MoraRule:
    factor: Decimal
    max_factor: Decimal
    valid_from: date
    source: str
    verified: bool  # `verificado` in the file: false until the resolution and its day brackets are checked
    unverified: str  # what is missing, in Spanish (backend/core/regulatory_data.py warns with it)


@cache
def mora_rule() -> MoraRule:
    data = regulatory_data.load("mora_tarjeta.toml")
    note = regulatory_data.provenance("mora_tarjeta.toml").unverified
    rule = MoraRule(Decimal(data["factor"]), Decimal(data["max_factor"]), date.fromisoformat(data["valid_from"]),
                    data["source"], data["verificado"], note)
    if not Decimal(1) <= rule.factor <= rule.max_factor:
        raise ValueError("mora_tarjeta.toml: factor outside 1 … max_factor (the rule's ceiling)")
    return rule


def rotativo_quote(conn: Any, book: RateBook | None, on: date) -> Quote:
    """The revolving rate on a day under the caps in force in this database (`cooprogreso tasas --load`), not
    only the shipped table. A debt already owed cannot be refused like a new simulation, so when a loaded cap
    is under the co-op's offer the card is priced at the cap (staff are warned of the offer by `check`)."""
    book = current_book(conn, book or default_book(), on)
    offer = book.offer("rotativo", 1, on)
    cap = book.cap(offer.segment, on)
    return Quote("rotativo", offer.segment, 1, min(offer.effective, cap.max_effective), cap, on)


def daily_mora_rate(quote: Quote) -> Decimal:
    """The day's mora rate: (factor × the card's effective annual rate) as a daily compound-equivalent rate."""
    return _daily_rate(quote.effective * mora_rule().factor)


@cache
def _daily_rate(annual: Decimal) -> Decimal:
    """A Decimal 365th root costs a quarter of a millisecond and `check` asks it for every card cycle it replays,
    always of the same few rates: each is worked out once per process (a pure function of the annual rate)."""
    return ((Decimal(1) + annual) ** (Decimal(1) / Decimal(365)) - Decimal(1)).quantize(Decimal("1e-12"))


@dataclass(frozen=True)
class Allocation:
    """How one payment is applied; the parts always sum to the payment."""

    mora: int
    interest: int
    overdue: int
    current: int


@dataclass(frozen=True)
class State:
    """What the card owes apart from current capital, at a moment of a cycle."""

    mora: int = 0  # interés de mora owed
    interest: int = 0  # interest owed (rotativo and cuotas), never bearing interest
    overdue: int = 0  # overdue capital (capital part of the valor vencido): bears mora
    minimum_left: int = 0  # of the last statement's pago mínimo
    capital_paid: int = 0  # payments of this cycle that reached capital (plus deferrals)
    mora_exact: Decimal = Decimal(0)  # mora accrued in this cycle, unrounded
    accrued_through: date | None = None  # last day mora was counted for

    def allocate(self, amount: int) -> tuple[State, Allocation]:
        return allocate(self, amount)


def _with(state: State, **changes: Any) -> State:
    """`dataclasses.replace` without its generic walk over the fields: `check` replays every cycle of every card,
    and that walk was half of it."""
    return State(**{**state.__dict__, **changes})


def allocate(state: State, amount: int) -> tuple[State, Allocation]:
    """Apply a payment: mora, interest, overdue capital, then current capital."""
    left = max(0, amount)
    to_mora = min(left, state.mora)
    left -= to_mora
    to_interest = min(left, state.interest)
    left -= to_interest
    to_overdue = min(left, state.overdue)
    left -= to_overdue
    new = _with(state, mora=state.mora - to_mora, interest=state.interest - to_interest,
                overdue=state.overdue - to_overdue, minimum_left=max(0, state.minimum_left - amount),
                capital_paid=state.capital_paid + to_overdue + left)
    return new, Allocation(to_mora, to_interest, to_overdue, left)


@dataclass(frozen=True)
class Replay:
    state: State
    mora: int  # mora accrued in the cycle until `through`, rounded once
    overdue: int  # valor vencido: what is left of the last pago mínimo after its fecha máxima (0 before it)


def _accrue(state: State, through: date, rate: Decimal) -> State:
    start = state.accrued_through
    if start is None or through <= start:
        return state
    days = (through - start).days
    exact = state.mora_exact + Decimal(state.overdue) * rate * days
    return _with(state, mora_exact=exact, accrued_through=through)


def _rounded(exact: Decimal) -> int:
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def replay(start: State, due: date | None, events: list[tuple[date, str, int]], through: date,
           rate: Decimal) -> Replay:
    """Walk a cycle from its statement (`start`, with that statement's fecha máxima `due`) through `through`.

    `events` are (day, kind, amount) credits to the card in time order: PAYMENT or DEFERRAL. Mora accrues on
    the overdue capital each day; it is added to what is owed when counted (at each event and at `through`).
    """
    state = start
    passed = False
    charged = [0]  # mora of this cycle already added to `state.mora` (rounded once, on the running total)

    def settle_mora(s: State, day: date) -> State:
        s = _accrue(s, day, rate)
        total = _rounded(s.mora_exact)
        s = _with(s, mora=s.mora + total - charged[0]) if total != charged[0] else s
        charged[0] = total
        return s

    def pass_due(s: State) -> State:
        # end of the fecha máxima: what is left of the minimum past its mora and interest is overdue capital
        # (mora accrued after the cut is not part of that minimum)
        noncapital = min(s.mora + s.interest, start.mora + start.interest)
        return _with(s, overdue=max(0, s.minimum_left - noncapital), accrued_through=due)

    for day, kind, amount in events:
        if due is not None and not passed and day > due:
            state = settle_mora(state, due)
            state, passed = pass_due(state), True
        state = settle_mora(state, day)
        if kind == DEFERRAL:  # a deferral moves capital to cuotas: it pays no mora, interest or arrears
            state = _with(state, minimum_left=max(0, state.minimum_left - amount),
                         capital_paid=state.capital_paid + amount)
        else:
            state, _ = allocate(state, amount)
    if due is not None and not passed and through >= due:
        state = settle_mora(state, due)
        state, passed = pass_due(state), True
    state = settle_mora(state, through)
    vencido = state.minimum_left if passed else 0
    return Replay(state, charged[0], vencido)


def _start(prev: Row | None) -> tuple[State, date | None]:
    if prev is None:
        return State(), None
    cut = date.fromisoformat(prev["cut_date"])
    return (State(mora=prev["mora_owed"], interest=prev["interest_owed"], overdue=prev["overdue_capital"],
                  minimum_left=prev["minimum_due"], accrued_through=cut),
            date.fromisoformat(prev["due_date"]))


def previous_statement(conn: Connection, card_id: int, before: str) -> Row | None:
    return conn.execute("SELECT * FROM card_statements WHERE card_id = ? AND cut_date < ? ORDER BY cut_date DESC"
                        " LIMIT 1", (card_id, before)).fetchone()


def cycle_replay(conn: Connection, card_id: int, through: date, *, book: RateBook | None = None,
                 prev: Row | None = None, until: str | None = None) -> Replay:
    """The replay of the open cycle (after the last statement before `through`) through that day."""
    prev = prev if prev is not None else previous_statement(conn, card_id, through.isoformat())
    since = f"{prev['cut_date']} 23:59:59" if prev is not None else ""
    until = until or f"{through.isoformat()} 23:59:59"
    events = [(date.fromisoformat(r[0][:10]), r[1], r[2]) for r in conn.execute(
        "SELECT p.posted_at, e.kind, p.amount FROM postings p JOIN entries e ON e.id = p.entry_id"
        " WHERE p.account_id = ? AND p.posted_at > ? AND p.posted_at <= ? AND p.amount > 0 AND e.kind IN (?, ?)"
        " ORDER BY p.posted_at, p.id", (card_id, since, until, PAYMENT, DEFERRAL))]
    rate = daily_mora_rate(rotativo_quote(conn, book, through))
    return replay_from(prev, events, through, rate)


def replay_from(prev: Row | None, events: list[tuple[date, str, int]], through: date, rate: Decimal) -> Replay:
    """`replay` from a statement row (None: the card's first cycle); `check` passes the events it read itself."""
    start, due = _start(prev)
    return replay(start, due, events, through, rate)


def cycle_events(postings: list[tuple[str, str, int]]) -> list[tuple[date, str, int]]:
    """The replay's events among a cycle's card postings (posted_at, entry kind, amount) in time order: the
    credits of payments and deferrals, as `cycle_replay` selects them."""
    return [(date.fromisoformat(at[:10]), kind, amount) for at, kind, amount in postings
            if amount > 0 and kind in (PAYMENT, DEFERRAL)]


def mora_in(postings: list[tuple[str, str, int]]) -> int:
    """The mora booked among a cycle's card postings, as `mora_posted` sums it."""
    return -sum(amount for _, kind, amount in postings if kind == MORA)


def mora_posted(conn: Connection, card_id: int, since: str, until: str) -> int:
    return -conn.execute(
        "SELECT COALESCE(SUM(p.amount), 0) FROM postings p JOIN entries e ON e.id = p.entry_id"
        " WHERE p.account_id = ? AND e.kind = ? AND p.posted_at > ? AND p.posted_at <= ?",
        (card_id, MORA, since, until)).fetchone()[0]


def accrue_mora(conn: Connection, card_id: int, through: date, at: str, *, actor: str, book: RateBook | None = None) -> int:
    """Post the mora accrued in the open cycle until `through` that is not booked yet; the amount posted."""
    prev = previous_statement(conn, card_id, through.isoformat())
    if prev is None:
        return 0
    r = cycle_replay(conn, card_id, through, book=book, prev=prev, until=at)
    owed = r.mora - mora_posted(conn, card_id, f"{prev['cut_date']} 23:59:59", at)
    if owed > 0:
        what = f"Interés de mora sobre capital vencido al {through:%d/%m/%Y}"
        post(conn, kind=MORA, description=what, posted_at=at, actor=actor,
             legs=[Leg(card_id, -owed, what), Leg(internal_account(conn, "intereses_mora"), owed, what)])
    return max(0, owed)


def due_now(conn: Connection, card_id: int, today: date, *, book: RateBook | None = None) -> State:
    """What is owed apart from current capital today, with the mora accrued through today counted."""
    prev = previous_statement(conn, card_id, today.isoformat())
    if prev is None:
        return State()
    return cycle_replay(conn, card_id, today, book=book, prev=prev,
                        until=f"{today.isoformat()} 23:59:59").state


def pending_mora(conn: Connection, card_id: int, today: date, at: str, *, book: RateBook | None = None) -> int:
    """Mora accrued until today and not booked yet (a payment today posts it first)."""
    prev = previous_statement(conn, card_id, today.isoformat())
    if prev is None:
        return 0
    r = cycle_replay(conn, card_id, today, book=book, prev=prev, until=at)
    return max(0, r.mora - mora_posted(conn, card_id, f"{prev['cut_date']} 23:59:59", at))
