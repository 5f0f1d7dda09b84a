"""«Declaración de licitud de fondos»: a cash deposit at or above `cash_declaration_threshold` records
where the money comes from and who physically brings it (Ecuadorian practice; reported to the UAFE in the RESU,
backend/branch/uafe.py).

The threshold counts the cash the same person brought (by their ID, whoever's account it went into, at any till)
over the window the rule sets (`window_days` in backend/data/uafe_resu.toml: several operations within 30 days
add up, with its source), so deposits just under it (structuring, «fraccionamiento») into one or several
members' accounts add up to one that needs the declaration. The declaration travels with the deposit's request,
is stored in its counter operation, printed on the receipt and written to the audit log (ID masked); without it
such a deposit is refused with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import TYPE_CHECKING

from backend.core import regulatory_data
from backend.core.errors import ValidationError
from backend.core.identity import ID_TYPES, mask_id, normalize_id
from backend.core.money import format_money
from backend.core.text import clean_text

if TYPE_CHECKING:
    from backend.core.db import Connection


@dataclass(frozen=True)
class Declaration:
    origin: str  # origen de los fondos, in the depositor's words
    name: str  # who physically deposits
    id_type: str
    id_number: str

    def as_request(self) -> dict:
        return {"origen_fondos": self.origin, "depositante": self.name, "depositante_tipo_id": self.id_type,
                "depositante_id": self.id_number}

    def lines(self) -> tuple[tuple[str, str], ...]:
        return (("Origen de los fondos", self.origin),
                ("Depositado por", f"{self.name} · {ID_TYPES[self.id_type]} {mask_id(self.id_number)}"))


@dataclass(frozen=True)
class Rule:
    """The RESU rule as data (backend/data/uafe_resu.toml, with its sources and what is not verified)."""

    legal_threshold: int
    window_days: int
    due_days_after_month: int
    verified_layout: bool  # `verificado` in the file
    columns: tuple[tuple[str, str], ...]
    unverified: str  # what is missing, in Spanish (shown with the export)


@cache
def rule() -> Rule:
    data = regulatory_data.load("uafe_resu.toml")
    return Rule(int(data["legal_threshold_cents"]), int(data["window_days"]), int(data["due_days_after_month"]),
                data["verificado"], tuple((str(h), str(f)) for h, f in data["columns"]),
                regulatory_data.provenance("uafe_resu.toml").unverified)


@dataclass(frozen=True)
class Depositor:
    """Who physically brings the cash: the declared person, another person the teller identified, or the owner."""

    id_type: str
    id_number: str
    name: str


def depositor_lock(who: Depositor) -> str:
    """The named lock one depositor's cash queues on, so two tills at once cannot both count below the threshold."""
    return f"depositor:{who.id_type}:{who.id_number}"


def window_start(day: str) -> str:
    return (date.fromisoformat(day) - timedelta(days=rule().window_days - 1)).isoformat()


def deposited_by(conn: Connection, who: Depositor, day: str) -> int:
    """Cents `who` brought in cash to any member's account at any till in the window ending on business day `day`."""
    return conn.execute(
        "SELECT COALESCE(SUM(o.amount), 0) FROM counter_ops o JOIN entries e ON e.id = o.entry_id"
        " WHERE o.depositor_id = ? AND o.depositor_type = ? AND o.kind = 'deposito' AND o.state = 'ejecutada'"
        " AND e.business_date >= ? AND e.business_date <= ?",
        (who.id_number, who.id_type, window_start(day), day)).fetchone()[0]


def required(kind: str, cents: int, earlier: int, threshold: int) -> bool:
    return kind == "deposito" and cents + earlier >= threshold


def parse_depositor(value: object) -> Depositor | None:
    """The person the teller says brings the cash (not the owner), checked; None when the owner brings it."""
    if value is None or (isinstance(value, dict) and not any(value.values())):
        return None
    if not isinstance(value, dict):
        raise ValidationError("Indica quién deposita.", field="depositante")
    name = clean_text(value.get("name", ""), field="depositante", label="El nombre de quien deposita", max_len=80,
                      min_len=5)
    if len(name.split()) < 2:
        raise ValidationError("Escribe nombres y apellidos de quien deposita.", field="depositante")
    id_type = value.get("id_type", "")
    return Depositor(id_type, normalize_id(id_type, value.get("id_number", "")), name)


def parse(value: object, threshold: int, earlier: int = 0) -> Declaration:
    """The declaration the teller typed, checked; refused with the field to fix."""
    if not isinstance(value, dict) or not any(value.values()):
        counted = (f" (con los {format_money(earlier)} que la misma persona depositó en efectivo en los últimos "
                   f"{rule().window_days} días, en cualquier cuenta)" if earlier else "")
        raise ValidationError(f"Los depósitos en efectivo desde {format_money(threshold)}{counted} requieren la "
                              "declaración de licitud de fondos: el origen del dinero y quién lo deposita.",
                              field="declaracion", code="declaracion")
    origin = clean_text(value.get("origin", ""), field="origen", label="El origen de los fondos", max_len=120,
                        min_len=5)
    name = clean_text(value.get("name", ""), field="depositante", label="El nombre de quien deposita", max_len=80,
                      min_len=5)
    if len(name.split()) < 2:
        raise ValidationError("Escribe nombres y apellidos de quien deposita.", field="depositante")
    id_type = value.get("id_type", "")
    number = normalize_id(id_type, value.get("id_number", ""))
    return Declaration(origin, name, id_type, number)


def declared_depositor(value: object) -> Depositor | None:
    """The depositor a declaration names, before the threshold is known (to sum and lock by them)."""
    if not isinstance(value, dict) or not value.get("id_number"):
        return None
    return parse_depositor({"name": value.get("name", ""), "id_type": value.get("id_type", ""),
                            "id_number": value.get("id_number", "")})


def from_request(request: dict) -> Declaration | None:
    """The declaration stored with a counter operation, if it has one."""
    if "origen_fondos" not in request:
        return None
    return Declaration(request["origen_fondos"], request["depositante"], request["depositante_tipo_id"],
                       request["depositante_id"])
