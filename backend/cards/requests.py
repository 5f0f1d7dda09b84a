"""What a member asks for in Pago de Tarjetas and Diferidos, one frozen dataclass per operation kind.

Screens build these; the service turns one into the JSON the operations flow keeps, and the kind's
handler reads it back with `operations.parse_request`. Values are as typed (keys, ids, cents); the
handler checks every one, since a request is data from outside.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CardRegistrationRequest:
    """Registrar tarjeta (kind `registro_tarjeta`): kind «cooprogreso» needs the number alone;
    «otro_banco» also the institution, the holder's name and identification. The service seals the
    number for this member before the flow stores it."""

    kind: str
    number: str
    institution_code: str = ""
    holder_name: str = ""
    id_type: str = ""
    id_number: str = ""


@dataclass(frozen=True)
class CardPaymentRequest:
    """Pagar tarjeta (kind `pago_tarjeta`): the payable card's key («propia:12», «registrada:3»), the
    option (minimo, total, otro), the savings account debited and, for «otro», the amount in cents."""

    card: str
    option: str
    origin_id: int
    amount: int | None = None


@dataclass(frozen=True)
class DeferralRequest:
    """Diferir (kind `diferido`): «consumos» defers the chosen purchases, «rotativo» the revolving balance."""

    card_id: int
    kind: str
    months: int
    purchases: list[int] = field(default_factory=list)
