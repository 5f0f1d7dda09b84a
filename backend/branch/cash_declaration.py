"""«Declaración de licitud de fondos»: a cash deposit at or above `cash_declaration_threshold` records
where the money comes from and who physically brings it (Ecuadorian practice; reported to the UAFE).

The threshold counts the member's cash deposits already made the same business day, so several deposits just
under it (structuring, «fraccionamiento») add up to one that needs the declaration. The declaration travels
with the deposit's request, is stored in its counter operation, printed on the receipt and written to the
audit log; without it such a deposit is refused with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.core.errors import ValidationError
from backend.core.identity import ID_TYPES, mask_id, normalize_id
from backend.core.money import format_money
from backend.core.text import clean_text


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


def deposited_today(conn, member_id: int, day: str) -> int:
    """Cents the member deposited in cash at any counter on business day `day` (executed operations)."""
    return conn.execute(
        "SELECT COALESCE(SUM(o.amount), 0) FROM counter_ops o JOIN entries e ON e.id = o.entry_id"
        " WHERE o.member_id = ? AND o.kind = 'deposito' AND o.state = 'ejecutada' AND e.business_date = ?",
        (member_id, day)).fetchone()[0]


def required(kind: str, cents: int, earlier_today: int, threshold: int) -> bool:
    return kind == "deposito" and cents + earlier_today >= threshold


def parse(value: object, threshold: int, earlier_today: int = 0) -> Declaration:
    """The declaration the teller typed, checked; refused with the field to fix."""
    if not isinstance(value, dict) or not any(value.values()):
        counted = (f" (con los {format_money(earlier_today)} depositados hoy por el socio)" if earlier_today else "")
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


def from_request(request: dict) -> Declaration | None:
    """The declaration stored with a counter operation, if it has one."""
    if "origen_fondos" not in request:
        return None
    return Declaration(request["origen_fondos"], request["depositante"], request["depositante_tipo_id"],
                       request["depositante_id"])
