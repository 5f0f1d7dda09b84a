"""What a member asks for in Pago de Servicios, one frozen dataclass per operation kind.

Screens build these; the service turns one into the JSON the operations flow keeps, and the kind's
handler reads it back with `operations.parse_request`. Values are as typed (ids, cents, ISO dates);
the handler checks every one, since a request is data from outside.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ServiceRegistrationRequest:
    """Registro de Servicio (kind `registro_servicio`)."""

    biller: str
    identifier: str
    alias: str
    account_id: int


@dataclass(frozen=True)
class ServicePaymentRequest:
    """Pagar Servicios (kind `pago_servicio`): bills of a consulta, or a top-up's amount in cents."""

    presentment_id: int
    bills: list[str] = field(default_factory=list)
    account_id: int = 0
    amount: int = 0


@dataclass(frozen=True)
class ServiceScheduleRequest:
    """Programar Pagos (kind `pago_programado`): day None pays on each bill's due date; dates are ISO
    (AAAA-MM-DD), end optional; payments_limit None: no limit (1–600 otherwise; 0 is refused, never «no limit»)."""

    account_id: int
    biller: str
    identifier: str
    day: int | None
    max_amount: int
    start_date: str
    end_date: str | None = None
    payments_limit: int | None = None
