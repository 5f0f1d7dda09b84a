"""The institutions that take part in interbank transfers (bundled table; a deployment may add co-ops)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from importlib import resources

from .errors import ValidationError

COOPROGRESO = "COOP"  # our own code in beneficiaries and transfers
# Published account-number lengths; institutions not listed take 5 to 20 digits.
ACCOUNT_DIGITS = {"0010": 10}


@dataclass(frozen=True)
class Institution:
    code: str
    name: str
    kind: str


def ensure_loaded(db) -> None:
    if db.conn.execute("SELECT 1 FROM institutions LIMIT 1").fetchone():
        return
    text = resources.files("backend").joinpath("data/ecuador-institutions.csv").read_text(encoding="utf-8")
    rows = [(r["code"], r["name"], r["kind"], ACCOUNT_DIGITS.get(r["code"])) for r in csv.DictReader(text.splitlines())]
    with db.write() as conn:
        conn.executemany("INSERT INTO institutions (code, name, kind, account_digits) VALUES (?, ?, ?, ?)"
                         " ON CONFLICT (code) DO NOTHING", rows)


def load_csv(db, path) -> int:
    """Add or update institutions from a CSV with columns code,name,kind (e.g. the co-ops of a region)."""
    with open(path, encoding="utf-8", newline="") as fh:
        rows = [(r["code"].strip(), r["name"].strip(), r["kind"].strip()) for r in csv.DictReader(fh)]
    for code, name, _ in rows:
        if not re.fullmatch(r"\d{4}", code) or not name:
            raise ValidationError(f"Institución no válida en el archivo: «{code}» «{name}».")
    with db.write() as conn:
        conn.executemany("INSERT INTO institutions (code, name, kind) VALUES (?, ?, ?) ON CONFLICT(code)"
                         " DO UPDATE SET name = excluded.name, kind = excluded.kind", rows)
    return len(rows)


def payable(conn) -> list[Institution]:
    """Institutions a member can send to (not the central bank itself)."""
    return [Institution(*r) for r in conn.execute(
        "SELECT code, name, kind FROM institutions WHERE kind != 'central' ORDER BY name")]


def get(conn, code: str) -> Institution:
    row = conn.execute("SELECT code, name, kind FROM institutions WHERE code = ? AND kind != 'central'",
                       (code,)).fetchone()
    if row is None:
        raise ValidationError("Selecciona una institución financiera de la lista.", field="institution")
    return Institution(*row)


def validate_account(conn, code: str, number: str) -> str:
    number = (number or "").strip().replace(" ", "").replace("-", "")
    row = conn.execute("SELECT account_digits FROM institutions WHERE code = ?", (code,)).fetchone()
    digits = row[0] if row else None
    if digits and not re.fullmatch(rf"\d{{{digits}}}", number):
        raise ValidationError(f"Las cuentas de esta institución tienen {digits} dígitos.", field="account")
    if not re.fullmatch(r"\d{5,20}", number):
        raise ValidationError("El número de cuenta debe tener de 5 a 20 dígitos, sin letras.", field="account")
    return number
