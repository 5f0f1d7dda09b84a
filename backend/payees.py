"""Who receives money: Cooprogreso accounts found by number, shown masked (the payee check)."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ValidationError
from .identity import ID_TYPES, is_valid_account_number, mask_id, mask_name
from .text import ascii_digits


@dataclass(frozen=True)
class CoopPayee:
    account_id: int
    member_id: int
    number: str
    first_names: str
    last_names: str
    id_type: str
    id_number: str

    @property
    def masked(self) -> str:
        """`Andrés L**** · C.I. ******3057`: enough for the payer to recognise the payee."""
        label = "C.I." if self.id_type == "cedula" else ID_TYPES[self.id_type]
        return f"{mask_name(self.first_names, self.last_names)} · {label} {mask_id(self.id_number)}"

    @property
    def masked_name(self) -> str:
        return mask_name(self.first_names, self.last_names)


def coop_account(conn, number: str) -> CoopPayee:
    """An active Cooprogreso savings account by its number, or a Spanish error at the account field."""
    try:
        number = ascii_digits("" if number is None else number, field="account", label="El número de cuenta")
    except ValidationError:
        number = ""
    if not is_valid_account_number(number):
        raise ValidationError("El número de cuenta Cooprogreso tiene 10 dígitos y uno de ellos es verificador; "
                              "revísalo.", field="account")
    row = conn.execute(
        "SELECT a.id, a.member_id, a.number, a.kind, a.status, m.first_names, m.last_names, m.id_type, m.id_number,"
        " m.status AS member_status FROM accounts a JOIN members m ON m.id = a.member_id WHERE a.number = ?",
        (number,)).fetchone()
    if row is None or row["kind"] != "ahorros":
        raise ValidationError("No existe una cuenta de ahorros Cooprogreso con ese número.", field="account")
    if row["status"] != "activa" or row["member_status"] != "activo":
        raise ValidationError("La cuenta de destino no está activa.", field="account")
    return CoopPayee(row["id"], row["member_id"], row["number"], row["first_names"], row["last_names"],
                     row["id_type"], row["id_number"])
