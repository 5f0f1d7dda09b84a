"""The catalogue of entities whose bills members pay (recaudaciones), and each one's identifier rule.

The catalogue is data (`backend/data/ecuador-billers.csv`, updatable with `cooprogreso billers --load`):
category, entity, the label of what the member types, the rule that checks and normalises it, whether
the amount comes from the bill or is chosen (top-ups), commission and the maximum per payment. Every
entity has its own internal collection account (what the co-op owes it), so `cooprogreso check` covers it.

Identifiers are checked here before anything is sent anywhere: a wrong one is refused with the
entity's own hint. Look-alike digits are folded to ASCII; letters must be plain ASCII.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from backend.core.errors import ValidationError
from backend.core.files import MAX_CSV_BYTES, csv_rows, read_text_limited
from backend.core.money import parse_money

if TYPE_CHECKING:
    from backend.core.db import Connection, Database, Row
    from pathlib import Path

CATEGORIES = ("Luz", "Agua", "Telefonía fija e Internet", "TV por cable", "Telefonía móvil",
              "Impuestos y matrícula", "IESS", "Pensión alimenticia")
AMOUNT_MODES = ("factura", "recarga")  # the bill fixes the amount / the member chooses it
COLUMNS = ("code", "category", "name", "id_label", "rule", "hint", "amount_mode", "commission", "max_amount")
# Ecuadorian plates start with the province letter; D and F are not used.
PROVINCE_LETTERS = "ABCEGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class Biller:
    code: str
    category: str
    name: str
    id_label: str
    rule: str
    hint: str
    amount_mode: str
    commission: int
    max_amount: int
    account_id: int
    active: bool = True

    @property
    def is_topup(self) -> bool:
        return self.amount_mode == "recarga"


# -- identifier rules ---------------------------------------------------------------------------------
def _fold(value: object) -> str:
    """Uppercase ASCII letters and digits only; separators dropped; anything else refused."""
    if not isinstance(value, str):
        raise ValueError
    out = []
    for ch in unicodedata.normalize("NFC", value).strip():
        if ch in " -./()+":
            continue
        if ch.isdecimal():
            out.append(str(unicodedata.decimal(ch)))
        elif ch.isascii() and ch.isalpha():
            out.append(ch.upper())
        else:
            raise ValueError
    return "".join(out)


def _digits(text: str, low: int, high: int) -> str | None:
    return text if re.fullmatch(rf"\d{{{low},{high}}}", text) else None


def _cedula_ruc(text: str) -> str | None:
    from stdnum.ec import ci, ruc  # deferred: stdnum is slow to import

    if len(text) == 10 and text.isdigit() and ci.is_valid(text):
        return text
    if len(text) == 13 and text.isdigit() and ruc.is_valid(text):
        return text
    return None


def _plate(text: str) -> str | None:
    """`abc-123` → `ABC0123`: three letters (province first) and three or four digits."""
    match = re.fullmatch(r"([A-Z]{3})(\d{3,4})", text)
    if not match or match.group(1)[0] not in PROVINCE_LETTERS:
        return None
    return match.group(1) + match.group(2).zfill(4)


def _ramv(text: str) -> str | None:
    """RAMV of a vehicle not yet plated: 6 to 12 letters and digits, at least one of each."""
    if re.fullmatch(r"[A-Z]{3}\d{3,4}", text):  # shaped like a plate: a plate or nothing
        return None
    if re.fullmatch(r"[A-Z0-9]{6,12}", text) and re.search(r"\d", text) and re.search(r"[A-Z]", text):
        return text
    return None


def _passport(text: str) -> str | None:
    return text if re.fullmatch(r"[A-Z0-9]{6,12}", text) else None


def _landline(text: str) -> str | None:
    """0 + area code (2–7) + 7 digits; the leading 0 may be left out."""
    if re.fullmatch(r"[2-7]\d{7}", text):
        text = "0" + text
    return text if re.fullmatch(r"0[2-7]\d{7}", text) else None


def _mobile(text: str) -> str | None:
    if re.fullmatch(r"9\d{8}", text):
        text = "0" + text
    if text.startswith("5939") and len(text) == 12:
        text = "0" + text[3:]
    return text if re.fullmatch(r"09\d{8}", text) else None


def normalize_with(rule: str, value: object) -> str | None:
    """The canonical identifier under `rule`, or None when it does not follow it."""
    try:
        text = _fold(value)
    except ValueError:
        return None
    name, _, arg = rule.partition(":")
    low, _, high = arg.partition("-")
    if name == "digits":
        return _digits(text, int(low), int(high or low))
    if name == "cedula_ruc":
        return _cedula_ruc(text)
    if name == "contrato_cedula_ruc":  # a short contract number, or a 10/13-digit cédula/RUC
        if len(text) in (10, 13):
            return _cedula_ruc(text)
        return _digits(text, int(low), int(high or low))
    if name == "fijo":
        return _landline(text)
    if name == "movil":
        return _mobile(text)
    if name == "placa_ramv":
        return _plate(text) or _ramv(text)
    if name == "placa_id":  # plate, cédula, RUC or passport
        if text.isdigit() and len(text) in (10, 13):
            return _cedula_ruc(text)
        if re.fullmatch(r"[A-Z]{3}\d{3,4}", text):
            return _plate(text)
        return _passport(text)
    if name == "alnum":
        return text if re.fullmatch(rf"[A-Z0-9]{{{low},{high or low}}}", text) and re.search(r"\d", text) else None
    raise ValueError(f"regla desconocida: {rule}")


RULE_NAMES = ("digits", "cedula_ruc", "contrato_cedula_ruc", "fijo", "movil", "placa_ramv", "placa_id", "alnum")


def _check_rule(rule: str) -> None:
    name, _, arg = rule.partition(":")
    if name not in RULE_NAMES:
        raise ValidationError(f"Regla de identificador desconocida: «{rule}».")
    if name in ("digits", "contrato_cedula_ruc", "alnum"):
        if not re.fullmatch(r"\d{1,2}(-\d{1,2})?", arg):
            raise ValidationError(f"La regla «{rule}» necesita un largo, p. ej. digits:10 o digits:6-12.")


def normalize(biller: Biller, value: object) -> str:
    """The canonical identifier, or the entity's own hint as a Spanish error at the identifier field."""
    number = normalize_with(biller.rule, value)
    if number is None:
        raise ValidationError(f"{biller.id_label} no válido para {biller.name}: {biller.hint}", field="identifier")
    return number


# -- the catalogue ------------------------------------------------------------------------------------
ROW_COLUMNS = ("code", "category", "name", "id_label", "rule", "hint", "amount_mode", "commission", "max_amount",
               "account_id", "active")  # what `from_row` reads, in its order
_SELECT = f"SELECT {', '.join(ROW_COLUMNS)} FROM billers"


SELECT = _SELECT  # for a caller that reads an entity with its own statements (`conn.fetch_each`), then `from_row`


def from_row(row: Row | tuple[Any, ...]) -> Biller:
    return _biller(row)


def _biller(row: Row | tuple[Any, ...]) -> Biller:
    code, category, name, id_label, rule, hint, mode, commission, max_amount, account_id, active = row
    return Biller(code, category, name, id_label, rule, hint, mode, commission, max_amount, account_id, bool(active))


def ensure_loaded(db: Database) -> None:
    if db.conn.execute("SELECT 1 FROM billers LIMIT 1").fetchone():
        return
    text = resources.files("backend").joinpath("data/ecuador-billers.csv").read_text(encoding="utf-8")
    load_text(db, text)


def load_csv(db: Database, path: str | Path) -> int:
    return load_text(db, read_text_limited(path, max_bytes=MAX_CSV_BYTES, what="El archivo de entidades"))


def load_text(db: Database, text: str) -> int:
    """Add or update entities; all rows are checked before any is written. Returns how many."""
    rows = [_parse_row(n, r) for n, r in csv_rows(text)]
    if not rows:
        raise ValidationError("El archivo no tiene entidades.")
    from backend.core.accounts import insert_account  # the back office's one way to open an account row

    with db.write() as conn:
        for order, row in enumerate(rows):
            existing = conn.execute("SELECT account_id FROM billers WHERE code = ?", (row["code"],)).fetchone()
            if existing is None:
                account = insert_account(conn, None, "interna", f"Recaudación por pagar {row['name']}"[:80],
                                          "2000-01-01")
                conn.execute(
                    "INSERT INTO billers (code, category, name, id_label, rule, hint, amount_mode, commission,"
                    " max_amount, account_id, sort_order) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*[row[c] for c in COLUMNS], account, order))
            else:
                conn.execute(
                    "UPDATE billers SET category = ?, name = ?, id_label = ?, rule = ?, hint = ?, amount_mode = ?,"
                    " commission = ?, max_amount = ?, sort_order = ?, active = 1 WHERE code = ?",
                    (*[row[c] for c in COLUMNS[1:]], order, row["code"]))
    return len(rows)


def _parse_row(line: int, raw: dict) -> dict:
    def field(name: str) -> str:
        value = (raw.get(name) or "").strip()
        if not value:
            raise ValidationError(f"Línea {line}: falta «{name}».")
        if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in value):
            raise ValidationError(f"Línea {line}: «{name}» contiene caracteres de control.")
        return value

    code = field("code")
    if not re.fullmatch(r"[A-Z0-9-]{2,20}", code):
        raise ValidationError(f"Línea {line}: código de entidad no válido «{code}» (A-Z, 0-9 y guiones).")
    category = field("category")
    if category not in CATEGORIES:
        raise ValidationError(f"Línea {line}: categoría desconocida «{category}» ({', '.join(CATEGORIES)}).")
    rule = field("rule")
    _check_rule(rule)
    mode = field("amount_mode")
    if mode not in AMOUNT_MODES:
        raise ValidationError(f"Línea {line}: amount_mode debe ser factura o recarga.")
    try:
        commission = parse_money(raw.get("commission") or "0", allow_zero=True)
        max_amount = parse_money(field("max_amount"))
    except ValidationError as exc:
        raise ValidationError(f"Línea {line}: {exc.message}") from exc
    return dict(code=code, category=category, name=field("name")[:80], id_label=field("id_label")[:60], rule=rule,
                hint=field("hint")[:200], amount_mode=mode, commission=commission, max_amount=max_amount)


def categories(conn: Connection) -> list[str]:
    present = {r[0] for r in conn.execute("SELECT DISTINCT category FROM billers WHERE active = 1")}
    return [c for c in CATEGORIES if c in present]


def in_category(conn: Connection, category: str) -> list[Biller]:
    return [_biller(r) for r in conn.execute(
        _SELECT + " WHERE category = ? AND active = 1 ORDER BY sort_order, name", (category,))]


def all_billers(conn: Connection) -> list[Biller]:
    return [_biller(r) for r in conn.execute(_SELECT + " WHERE active = 1 ORDER BY sort_order, name")]


def find(conn: Connection, code: object) -> Biller | None:
    """The entity whatever its state (a schedule's runner must know one the co-op stopped collecting for)."""
    row = conn.execute(_SELECT + " WHERE code = ?", (str(code or ""),)).fetchone()
    return _biller(row) if row else None


def get(conn: Connection, code: object) -> Biller:
    row = conn.execute(_SELECT + " WHERE code = ? AND active = 1", (str(code or ""),)).fetchone()
    if row is None:
        raise ValidationError("Selecciona una entidad de la lista.", field="biller")
    return _biller(row)
