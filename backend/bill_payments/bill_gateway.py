"""The recaudación network: bill presentment (consulta de deuda) and payment notice, behind one interface.

Gateways:
- `SimulatedRecaudacion` (default, embedded). Deterministic by the identifier's last digit, so every
  case can be tried (the README lists them): 0 owes nothing; 2 has two pending bills; 6 has one high
  bill (to try «monto máximo»); 7 leaves the payment pending on its first attempt (no answer) and
  confirms it on the next; 8 times out on the consulta; 9 is unknown to the entity; any other has one
  bill. Bills are for the month before the clock's month, due on the 20th.
- `HttpRecaudacion`: POST `{url}/consultas` and `{url}/pagos` as JSON with a bearer token; payments carry
  an `Idempotency-Key` (the payment's key), so re-sending after a timeout is never a second payment.

Answers are checked strictly: anything malformed counts as no answer (`GatewayUnavailable`), never as
a paid bill. A definitive refusal is `PaymentRejected` (the booking is then refunded).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

from backend.bill_payments.billers import Biller
from backend.core import http
from backend.core.context import Context
from backend.core.identity import mask_name

if TYPE_CHECKING:
    import httpx
    from backend.core.clock import Clock

MONTHS = ("Enero", "Febrero", "Marzo", "Abril", "Mayo", "Junio", "Julio", "Agosto", "Septiembre", "Octubre",
          "Noviembre", "Diciembre")


@dataclass(frozen=True)
class Bill:
    number: str
    period: str  # «Octubre 2026»
    due_date: date
    amount: int  # cents
    lines: tuple[tuple[str, int], ...] = ()  # breakdown (concepto, cents), when the biller gives it

    def to_json(self) -> dict:
        return {"number": self.number, "period": self.period, "due_date": self.due_date.isoformat(),
                "amount": self.amount, "lines": [list(line) for line in self.lines]}

    @classmethod
    def from_json(cls, data: dict) -> Bill:
        return cls(data["number"], data["period"], date.fromisoformat(data["due_date"]), int(data["amount"]),
                   tuple((str(a), int(b)) for a, b in data.get("lines", ())))


@dataclass(frozen=True)
class Statement:
    """What the entity says the identifier owes: the holder (masked) and the pending bills."""

    holder: str
    bills: tuple[Bill, ...]


@dataclass(frozen=True)
class Confirmation:
    authorization: str  # the entity's own reference for the payment


class GatewayUnavailable(Exception):
    """No usable answer (timeout, connection, 5xx, nonsense): try again later with the same key."""


class UnknownIdentifier(Exception):
    """The entity does not know this identifier."""


class PaymentRejected(Exception):
    """The entity refused the payment for good; the reason is for the member."""


@dataclass(frozen=True)
class PaymentNotice:
    key: str  # Idempotency-Key
    reference: str
    biller: str
    identifier: str
    bills: tuple[str, ...]
    amount: int


class Recaudacion(Protocol):
    """A recaudación network: the embedded simulation or the co-op's http gateway."""

    name: str

    def statement(self, biller: Biller, identifier: str) -> Statement: ...

    def pay(self, notice: PaymentNotice) -> Confirmation: ...


# -- the embedded network ---------------------------------------------------------------------------
_HOLDERS = [("María Fernanda", "Quishpe Andrade"), ("Luis Alberto", "Toapanta Vega"), ("Rosa Elena", "Simbaña Cando"),
            ("Carlos Andrés", "Morocho Tipán"), ("Diana Carolina", "Salazar Ruales"), ("Segundo Manuel", "Pilataxi Ortega")]


def _last_digit(identifier: str) -> str:
    digits = re.findall(r"\d", identifier)
    return digits[-1] if digits else ""


def _number(*parts: str, digits: int = 10) -> int:
    return int(hashlib.sha256("|".join(parts).encode()).hexdigest(), 16) % 10**digits


def _month_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


class SimulatedRecaudacion:
    name = "simulada"

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._unanswered: set[str] = set()  # keys whose first notice got no answer (case 7)

    def statement(self, biller: Biller, identifier: str) -> Statement:
        last = _last_digit(identifier)
        if last == "8":
            raise GatewayUnavailable("la entidad no respondió a tiempo")
        if last == "9":
            raise UnknownIdentifier(identifier)
        first, surname = _HOLDERS[_number(identifier, digits=4) % len(_HOLDERS)]
        holder = mask_name(first, surname)
        if biller.is_topup or last == "0":
            return Statement(holder, ())
        today = self.clock.now().date()
        count = 2 if last == "2" else 1
        bills = []
        for back in range(count, 0, -1):
            month = _month_before(today, back)
            due = date(today.year, today.month, 20) if back == 1 else date(month.year, month.month, 20)
            seed = _number(biller.code, identifier, month.isoformat(), digits=6)
            amount = 250_00 + seed % 250_00 if last == "6" else 8_00 + seed % 87_00
            base = amount * 88 // 100
            bills.append(Bill(f"{_number(biller.code, identifier, month.isoformat()):010d}",
                              f"{MONTHS[month.month - 1]} {month.year}", due, amount,
                              (("Consumo del período", base), ("Impuestos y tasas", amount - base))))
        return Statement(holder, tuple(bills))

    def pay(self, notice: PaymentNotice) -> Confirmation:
        if _last_digit(notice.identifier) == "7" and notice.key not in self._unanswered:
            self._unanswered.add(notice.key)
            raise GatewayUnavailable("la entidad no confirmó el pago a tiempo")
        return Confirmation(f"SIM{_number(notice.key, digits=9):09d}")


# -- the http network -------------------------------------------------------------------------------
_BILL_NUMBER = re.compile(r"[A-Za-z0-9-]{1,30}")
_AMOUNT = re.compile(r"\d{1,9}(\.\d{1,2})?")


def _cents(value: object) -> int:
    """«12.50» (string or number) → 1250; anything else is nonsense."""
    text = f"{value:.2f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not _AMOUNT.fullmatch(text):
        raise ValueError(value)
    whole, _, frac = text.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def _safe_text(value: object, limit: int) -> str:
    from backend.core.text import clean_text

    return clean_text(value, field="gateway", label="La respuesta", max_len=limit, min_len=1)


class HttpRecaudacion:
    name = "http"

    def __init__(self, url: str, token: str, timeout: float, retries: int):
        self.url, self.token, self.timeout, self.retries = url.rstrip("/"), token, timeout, max(0, retries)

    def _post(self, path: str, payload: dict[str, Any], key: str | None = None) -> httpx.Response:
        import httpx  # deferred: only deployments with a real network pay for it

        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if key:
            headers["Idempotency-Key"] = key
        last = "sin respuesta"
        for _ in range(self.retries + 1):
            try:
                response = http.post(f"{self.url}{path}", json=payload, headers=headers, timeout=self.timeout)
            except httpx.HTTPError as exc:
                last = f"sin respuesta de la red: {type(exc).__name__}"
                continue
            if response.status_code >= 500 or response.status_code in (408, 429):
                last = f"la red respondió {response.status_code}"
                continue
            return response
        raise GatewayUnavailable(last)

    def statement(self, biller: Biller, identifier: str) -> Statement:
        response = self._post("/consultas", {"entidad": biller.code, "identificador": identifier})
        if response.status_code == 404:
            raise UnknownIdentifier(identifier)
        if response.status_code >= 400:
            raise GatewayUnavailable(f"la red respondió {response.status_code}")
        try:
            data = response.json()
            holder = _safe_text(data["titular"], 80)
            bills = []
            for item in data.get("facturas") or []:
                number = str(item["numero"])
                if not _BILL_NUMBER.fullmatch(number):
                    raise ValueError(number)
                amount = _cents(item["valor"])
                if amount <= 0:
                    raise ValueError(amount)
                lines = tuple((_safe_text(line["concepto"], 40), _cents(line["valor"]))
                              for line in item.get("detalle") or [])
                bills.append(Bill(number, _safe_text(item["periodo"], 30), date.fromisoformat(item["vence"]),
                                  amount, lines))
        except Exception as exc:  # any shape we did not expect is no answer, not a bill
            raise GatewayUnavailable("respuesta ilegible de la entidad") from exc
        if len({b.number for b in bills}) != len(bills):
            raise GatewayUnavailable("la entidad repitió una factura")
        return Statement(_mask_holder(holder), tuple(bills))

    def pay(self, notice: PaymentNotice) -> Confirmation:
        response = self._post("/pagos", {"entidad": notice.biller, "identificador": notice.identifier,
                                         "facturas": list(notice.bills), "referencia": notice.reference,
                                         "valor": f"{notice.amount // 100}.{notice.amount % 100:02d}"},
                              key=notice.key)
        if response.status_code >= 400:
            reason = None
            try:
                reason = _safe_text(response.json().get("motivo"), 120)
            except Exception:
                pass
            raise PaymentRejected(reason or f"La entidad rechazó el pago (código {response.status_code}).")
        try:
            data = response.json()
            if data["estado"] != "pagado":
                raise ValueError(data["estado"])
            authorization = str(data["autorizacion"])
            if not _BILL_NUMBER.fullmatch(authorization):
                raise ValueError(authorization)
        except Exception as exc:
            raise GatewayUnavailable("respuesta ilegible de la entidad") from exc
        return Confirmation(authorization)


def _mask_holder(holder: str) -> str:
    """The network may send the full name; show only what identifies it to its owner."""
    words = holder.split()
    if len(words) >= 2 and "*" not in holder:
        return mask_name(words[0], words[-1] if len(words) < 4 else words[2])
    return holder


def gateway_for(ctx: Context) -> Recaudacion:
    s = ctx.settings
    if s.services_gateway == "http":
        if not s.services_url:
            raise ValueError("Falta configurar services_url para la pasarela http de recaudaciones.")
        return HttpRecaudacion(s.services_url, s.services_token, s.services_timeout_seconds, s.services_retries)
    return SimulatedRecaudacion(ctx.clock)

