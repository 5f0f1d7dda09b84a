"""What a card owes, one way for every screen: consumos (the revolving balance), diferidos pendientes, total.

Products (backend/products), the card's statement and Pago de Tarjetas (backend/cards) all show a card's debt;
they live in different areas, so the figure is computed here, from the ledger accounts `check` verifies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.core.db import Connection


@dataclass(frozen=True)
class CardDebt:
    consumos: int  # the revolving balance: purchases, interest, mora and billed cuotas not paid (negative = a favor)
    diferidos: int  # deferred capital not billed yet
    credit_limit: int

    @property
    def total(self) -> int:
        return self.consumos + self.diferidos

    @property
    def available(self) -> int:
        return max(0, self.credit_limit - self.total)


def card_debt(conn: Connection, card_id: int) -> CardDebt | None:
    """None when there is no such card."""
    row = conn.execute(
        "SELECT c.credit_limit, a.balance, COALESCE(i.balance, 0) FROM cards c JOIN accounts a ON a.id = c.account_id"
        " LEFT JOIN accounts i ON i.id = c.installment_account_id WHERE c.account_id = ?", (card_id,)).fetchone()
    if row is None:
        return None
    return CardDebt(-row[1], -row[2], row[0])
