"""The institutions that take part in interbank transfers (bundled table; a deployment may add co-ops)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from backend.core.errors import ValidationError
from backend.core.files import csv_problem, read_limited
from backend.core.text import ascii_digits, clean_text

if TYPE_CHECKING:
    from backend.core.db import Connection, Database, Row
    from pathlib import Path

COOPROGRESO = "COOP"  # our own code in beneficiaries and transfers
# Published account-number lengths; institutions not listed take 5 to 20 digits.
ACCOUNT_DIGITS = {"0010": 10}


@dataclass(frozen=True)
class Institution:
    code: str
    name: str
    kind: str


def ensure_loaded(db: Database) -> None:
    if db.conn.execute("SELECT 1 FROM institutions LIMIT 1").fetchone():
        return
    text = resources.files("backend").joinpath("data/ecuador-institutions.csv").read_text(encoding="utf-8")
    rows = [(r["code"], r["name"], r["kind"], ACCOUNT_DIGITS.get(r["code"])) for r in csv.DictReader(text.splitlines())]
    with db.write() as conn:
        conn.executemany("INSERT INTO institutions (code, name, kind, account_digits) VALUES (?, ?, ?, ?)"
                         " ON CONFLICT (code) DO NOTHING", rows)


MAX_CSV_BYTES = 1 * 2**20
_CODE = re.compile(r"[0-9]{4}")
_KIND = re.compile(r"[a-z]{2,20}")


def load_csv(db: Database, path: str | Path) -> int:
    """Add or update institutions from a CSV with columns code,name,kind (e.g. the co-ops of a region).

    The whole file is checked before anything is written: UTF-8 text, each code four ASCII digits,
    each name clean text (no control or invisible characters), each kind lowercase letters.
    """
    rows = parse_csv(read_limited(path, max_bytes=MAX_CSV_BYTES, what="El archivo de instituciones"))
    with db.write() as conn:
        conn.executemany("INSERT INTO institutions (code, name, kind) VALUES (?, ?, ?) ON CONFLICT(code)"
                         " DO UPDATE SET name = excluded.name, kind = excluded.kind", rows)
    return len(rows)


def parse_csv(data: bytes) -> list[tuple[str, str, str]]:
    """The rows of an institutions CSV in canonical form, or a Spanish ValidationError naming the line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("El archivo de instituciones no está en UTF-8.", field="csv") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        records = list(reader)
    except csv.Error as exc:
        raise ValidationError(f"Línea {reader.line_num}: {csv_problem(exc)}.", field="csv") from None
    if not records or [h.strip().lower() for h in records[0]] != ["code", "name", "kind"]:
        raise ValidationError("El archivo de instituciones debe empezar con la fila code,name,kind.", field="csv")
    rows, seen = [], set()
    for line, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != 3:
            raise ValidationError(f"Línea {line}: se esperaban 3 columnas (code,name,kind).", field="csv")
        code, kind = record[0].strip(), record[2].strip()
        if not _CODE.fullmatch(code):
            raise ValidationError(f"Línea {line}: el código debe tener 4 dígitos.", field="csv")
        name = clean_text(record[1], field="csv", label=f"Línea {line}: el nombre", max_len=120, min_len=1)
        if not _KIND.fullmatch(kind):
            raise ValidationError(f"Línea {line}: el tipo debe ser una palabra en minúsculas (p. ej. bank).",
                                  field="csv")
        if code in seen:
            raise ValidationError(f"Línea {line}: el código {code} está repetido.", field="csv")
        seen.add(code)
        rows.append((code, name, kind))
    if not rows:
        raise ValidationError("El archivo de instituciones no tiene filas.", field="csv")
    return rows


def payable(conn: Connection) -> list[Institution]:
    """Institutions a member can send to (not the central bank itself)."""
    return [Institution(*r) for r in conn.execute(
        "SELECT code, name, kind FROM institutions WHERE kind != 'central' ORDER BY name")]


def get(conn: Connection, code: str) -> Institution:
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise ValidationError("Selecciona una institución financiera de la lista.", field="institution")
    row = conn.execute("SELECT code, name, kind FROM institutions WHERE code = ? AND kind != 'central'",
                       (code,)).fetchone()
    if row is None:
        raise ValidationError("Selecciona una institución financiera de la lista.", field="institution")
    return Institution(*row)


def destination_query(code: object) -> tuple[str, tuple[str]]:
    """The one statement `destination` reads (for a caller that sends it with others: `conn.fetch_each`)."""
    return ("SELECT code, name, kind, account_digits FROM institutions WHERE code = ?",
            (code if isinstance(code, str) and _CODE.fullmatch(code) else "",))


def destination_columns(code: object) -> tuple[str, str, tuple[str]]:
    """`destination_query` as columns (", …") and a LEFT JOIN (" …", alias `dest_i`) of a caller's own statement,
    with the join's parameter (a statement fewer: each costs the client and the server more than its work); what
    it found is `destination_row(row)`."""
    return (", dest_i.code AS dest_i_code, dest_i.name AS dest_i_name, dest_i.kind AS dest_i_kind,"
            " dest_i.account_digits AS dest_i_digits", " LEFT JOIN institutions dest_i ON dest_i.code = ?",
            destination_query(code)[1])


def destination_row(row: Row) -> dict[str, Any] | None:
    """The row `destination` reads, from a row that read `destination_columns`; None if there is no such institution."""
    if row["dest_i_code"] is None:
        return None
    return {"code": row["dest_i_code"], "name": row["dest_i_name"], "kind": row["dest_i_kind"],
            "account_digits": row["dest_i_digits"]}


_UNREAD = object()


def destination(conn: Connection, code: str, number: str, row: Row | None | object = _UNREAD) -> tuple[Institution, str]:
    """`get(code)` and `validate_account(code, number)` from one read: `row`, what `destination_query(code)` found,
    when the caller sent it with its own statements."""
    found: Any = conn.execute(*destination_query(code)).fetchone() if row is _UNREAD else row
    if not isinstance(code, str) or not _CODE.fullmatch(code) or found is None or found["kind"] == "central":
        raise ValidationError("Selecciona una institución financiera de la lista.", field="institution")
    return Institution(found["code"], found["name"], found["kind"]), _account_digits(number, found["account_digits"])


def validate_account(conn: Connection, code: str, number: str) -> str:
    """The ASCII digits of an account number at `code` (look-alike digits folded), or a field error."""
    row = conn.execute("SELECT account_digits FROM institutions WHERE code = ?",
                       (code if isinstance(code, str) and _CODE.fullmatch(code) else "",)).fetchone()
    return _account_digits(number, row[0] if row else None)


def _account_digits(number: str, digits: int | None) -> str:
    try:
        number = ascii_digits("" if number is None else number, field="account", label="El número de cuenta")
    except ValidationError:
        number = "?"
    if digits and not re.fullmatch(rf"[0-9]{{{digits}}}", number):
        raise ValidationError(f"Las cuentas de esta institución tienen {digits} dígitos.", field="account")
    if not re.fullmatch(r"[0-9]{5,20}", number):
        raise ValidationError("El número de cuenta debe tener de 5 a 20 dígitos, sin letras.", field="account")
    return number
