"""Comprobantes: a receipt's text carries a code computed over every character of it with the co-op's
secret, so a printed or saved receipt can be checked (`cooprogreso verify-receipt FILE`)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from .money import format_money

CODE_LABEL = "Código de verificación: "
KIND_LABELS = {"propia": "Transferencia a mis Cuentas", "terceros": "Transferencia Cooprogreso",
               "interbancaria": "Transferencia Interbancaria"}


@dataclass(frozen=True)
class Receipt:
    transfer_id: int
    reference: str
    created_at: datetime
    kind: str
    origin_masked: str
    dest_name: str
    dest_institution: str
    dest_account_masked: str
    amount: int
    fee: int
    motive: str
    state: str
    return_reason: str | None
    text: str  # the whole comprobante, verification code included

    @property
    def verification(self) -> str:
        return self.text.rsplit(CODE_LABEL, 1)[1].strip()


def body_lines(*, reference: str, created_at: datetime, kind: str, origin_masked: str, dest_name: str,
               dest_institution: str, dest_account_masked: str, amount: int, fee: int, motive: str, state: str,
               return_reason: str | None) -> list[str]:
    lines = [
        "COOPROGRESO · Cooperativa de Ahorro y Crédito",
        f"Comprobante de {KIND_LABELS[kind]}",
        "",
        f"Referencia:        {reference}",
        f"Fecha y hora:      {created_at:%d/%m/%Y %H:%M:%S}",
        f"Cuenta de origen:  {origin_masked}",
        f"Beneficiario:      {dest_name}",
        f"Institución:       {dest_institution}",
        f"Cuenta de destino: {dest_account_masked}",
        f"Monto:             {format_money(amount)}",
        f"Comisión:          {format_money(fee)}",
        f"Total debitado:    {format_money(amount + fee)}",
        f"Motivo:            {motive}",
        f"Estado:            {state}",
    ]
    if return_reason:
        lines.append(f"Motivo devolución: {return_reason}")
    return lines


def sign(secret: bytes, body: str) -> str:
    digest = hmac.new(secret, body.encode("utf-8"), hashlib.sha256).hexdigest()[:20].upper()
    return "-".join(digest[i:i + 5] for i in range(0, 20, 5))


def render(secret: bytes, lines: list[str]) -> str:
    body = "\n".join(lines) + "\n"
    return f"{body}\n{CODE_LABEL}{sign(secret, body)}\n"


def verify(secret: bytes, text: str) -> bool:
    """True only if not one character of the receipt was changed."""
    if not text.endswith("\n") or "\n" not in text[:-1]:
        return False
    body, last = text[:-1].rsplit("\n", 1)
    if not last.startswith(CODE_LABEL):
        return False
    return hmac.compare_digest(sign(secret, body), last[len(CODE_LABEL):])
