"""Who receives money: Cooprogreso accounts found by number, shown masked (the payee check)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from backend.core.errors import ValidationError
from backend.core.identity import ID_TYPES, is_valid_account_number, mask_id, mask_name
from backend.core.text import ascii_digits

if TYPE_CHECKING:
    from backend.core.db import Connection, Row


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


def coop_account(conn: Connection, number: str, *, looked_up: tuple | None = None) -> CoopPayee:
    """An active Cooprogreso savings account by its number, or a Spanish error at the account field.

    `looked_up`: `(row,)` when the caller already ran `lookup_query(number)` with other reads (one round trip)."""
    row = looked_up[0] if looked_up is not None else _lookup(conn, account_digits(number))
    if row is None or row["kind"] != "ahorros":
        raise ValidationError("No existe una cuenta de ahorros Cooprogreso con ese número.", field="account")
    if row["status"] != "activa" or row["member_status"] != "activo":
        raise ValidationError("La cuenta de destino no está activa.", field="account")
    return _payee(row)


def account_digits(number: object) -> str:
    """A Cooprogreso account number's ASCII digits, its format and check digit checked (public rules)."""
    try:
        digits = ascii_digits("" if number is None else number, field="account", label="El número de cuenta")
    except ValidationError:
        digits = ""
    if not is_valid_account_number(digits):
        raise ValidationError("El número de cuenta Cooprogreso tiene 10 dígitos y uno de ellos es verificador; "
                              "revísalo.", field="account")
    return digits


def lookup_query(number: object) -> tuple[str, tuple] | None:
    """The statement `coop_account` runs for `number` (for `conn.fetch_each`), or None for a number it refuses."""
    try:
        return _LOOKUP, (account_digits(number),)
    except ValidationError:
        return None


_LOOKUP = ("SELECT a.id, a.member_id, a.number, a.kind, a.status, m.first_names, m.last_names, m.id_type, m.id_number,"
           " m.status AS member_status FROM accounts a JOIN members m ON m.id = a.member_id WHERE a.number = ?")


def _lookup(conn: Connection, number: str) -> Row | None:
    return conn.execute(_LOOKUP, (number,)).fetchone()


def _payee(row: Row) -> CoopPayee:
    return CoopPayee(row["id"], row["member_id"], row["number"], row["first_names"], row["last_names"],
                     row["id_type"], row["id_number"])


NOT_THE_HOLDERS = ("No encontramos una cuenta de ahorros Cooprogreso activa con ese número a nombre de esa "
                   "identificación; revisa los dos datos.")


def holder_account(conn: Connection, number: str, id_type: str, id_number: str, member_id: int) -> CoopPayee:
    """The account a member names together with its holder's identification (adding a beneficiary).

    One answer for «no such account», «not active» and «the identification is not the holder's», after the
    same single lookup: otherwise anyone could learn which numbers, and whose cédulas, belong to members.
    The member's own account is the one case told apart (the member knows their own accounts)."""
    row = _lookup(conn, account_digits(number))
    usable = row is not None and row["kind"] == "ahorros" and row["status"] == "activa" \
        and row["member_status"] == "activo"
    if usable and row is not None and row["member_id"] == member_id:
        raise ValidationError("Esa cuenta es tuya: usa Transferencias a mis Cuentas.", field="account")
    if not usable or row is None or (row["id_type"], row["id_number"]) != (id_type, id_number):
        raise ValidationError(NOT_THE_HOLDERS, field="account")
    return _payee(row)
