"""How a message reaches a member's phone: the embedded outbox, or an SMS gateway over HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from backend.core import http, redaction
from backend.core.errors import DeliveryError

if TYPE_CHECKING:
    from backend.core.db import Database
    from backend.core.settings import Settings


@dataclass(frozen=True)
class OutboxChannel:
    """Stores the message in the database; `cooprogreso outbox` (or the demo phone) shows it."""

    name = "outbox"

    def send(self, db: Database, recipient: str, body: str, at: str) -> int:
        """Store the message; returns its outbox id. A message showing a code is listed to be masked
        (backend/core/redaction.py) in the same transaction, so no crash leaves a code that nothing will mask."""
        with db.write() as conn:
            outbox_id = conn.execute(
                "INSERT INTO outbox (created_at, channel, recipient, body) VALUES (?, 'outbox', ?, ?) RETURNING id",
                (at, recipient, body),
            ).fetchone()[0]
            redaction.hold(conn, outbox_id, body, at)
        return outbox_id


@dataclass(frozen=True)
class HttpChannel:
    """POSTs `{"to", "message"}` as JSON to an SMS gateway; any failure changes nothing."""

    url: str
    token: str = ""
    timeout: float = 5.0
    name = "http"

    def send(self, db: Database, recipient: str, body: str, at: str) -> None:
        """Hand the message to the gateway; nothing is stored here, so there is nothing to mask later."""
        import httpx  # deferred: only deployments with a gateway pay its import (~60 ms)

        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            response = http.post(
                self.url, json={"to": recipient, "message": body}, headers=headers, timeout=self.timeout
            )
        except httpx.TimeoutException as exc:
            raise DeliveryError(
                "El servicio de mensajes no respondió a tiempo; no se envió el código. Intenta de nuevo."
            ) from exc
        except httpx.HTTPError as exc:
            raise DeliveryError(
                "No pudimos comunicarnos con el servicio de mensajes; no se envió el código."
            ) from exc
        if response.status_code >= 300:
            raise DeliveryError(
                f"El servicio de mensajes rechazó el envío (código {response.status_code}); "
                "no se envió el código. Intenta más tarde."
            )


def channel_for(settings: Settings) -> OutboxChannel | HttpChannel:
    if settings.otp_channel == "http":
        if not settings.sms_gateway_url:
            raise DeliveryError("Falta configurar sms_gateway_url para el canal http.")
        return HttpChannel(settings.sms_gateway_url, settings.sms_gateway_token, settings.sms_timeout_seconds)
    if settings.otp_channel != "outbox":
        raise DeliveryError(f"Canal de mensajes desconocido: {settings.otp_channel}")
    return OutboxChannel()
