"""What a member asks for in Solicita tus Productos, one frozen dataclass per operation kind.

Screens build these; the service turns one into the JSON the operations flow keeps, and the kind's
handler reads it back with `operations.parse_request`. Only what the member chose: every figure
(rate, cuota, interest) is derived again by the handler, which checks every value, since a request
is data from outside.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProductRequest:
    """Solicitar (kind `solicitud_producto`): amount in cents (0 for a savings account), term in months
    or days as the product counts it (0 where it has none), method for a loan («frances», «aleman»),
    declared monthly income in cents, the purpose, the member's savings account (None: none chosen)."""

    product: str
    amount: int
    term: int
    purpose: str
    account_id: int | None
    method: str = ""
    income: int = 0
