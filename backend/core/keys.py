"""The co-op's secret keys live in a key file beside the configuration, never in the member database.

With the OTP pepper and the receipt key out of the database, a copy of the database alone can neither
forge a receipt nor test the codes of the challenges it holds. The file (JSON, mode 0600, created with
O_EXCL) keeps one entry per database, found by the database's random, non-secret `database_id`, so the
demo and a real co-op can share one configuration directory. Databases that still hold the keys in
`meta` (older versions) have them moved into the file, then erased from the database file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backend.core.errors import ServiceError, os_reason
from backend.core.files import read_limited

if TYPE_CHECKING:
    from backend.core.db import Database

KEY_NAMES = ("otp_pepper", "receipt_secret")
ENV_VAR = "COOPROGRESO_SECRET_KEY_FILE"
FILE_NAME = "keys.json"


class KeyFileError(ServiceError):
    code = "key_file"


def key_file_path(setting: str = "") -> Path:
    """The key file: the `secret_key_file` setting, else $COOPROGRESO_SECRET_KEY_FILE, else the config dir."""
    if setting:
        return Path(setting).expanduser()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    import platformdirs

    return platformdirs.user_config_path("cooprogreso") / FILE_NAME


FINGERPRINT_META = "key_fingerprint"
# Rows that only the keys of their database can read or verify: a database holding any of them is never given
# new keys, even before it has a recorded fingerprint (an older version's database whose key file went missing).
KEYED_TABLES = ("staff_users", "operations", "registered_cards", "card_payments", "otp_challenges")


class KeySet(dict):
    """The keys in use (`otp_pepper`, `receipt_secret`, `pan_pepper`) and every receipt key a receipt may have
    been signed with (the current one first, then those retired by `keys rotate`).

    `pan_pepper` keys the digests our own card numbers are found by (backend/cards/card_ledger.py): those
    numbers are never stored, so their digests cannot be recomputed and that key is never rotated (it is the
    database's first `otp_pepper`)."""

    receipt_secrets: tuple[bytes, ...] = ()


def fingerprint(entry: dict) -> str:
    """A keyed digest naming a set of keys without revealing them: HMAC of a constant under both keys."""
    try:
        key = bytes.fromhex(entry["otp_pepper"]) + bytes.fromhex(entry["receipt_secret"])
    except (KeyError, TypeError, ValueError):
        return "?"
    digest = hmac_sha256(key, b"cooprogreso key fingerprint v1")[:16].upper()
    return "-".join(digest[i:i + 4] for i in range(0, 16, 4))


def hmac_sha256(key: bytes, message: bytes) -> str:
    """HMAC-SHA256 (RFC 2104) in hex, over the interpreter's built-in SHA-256 when it has one: hashlib and hmac
    load OpenSSL (~9 ms), and every open checks the key file's fingerprint before the sign-in's first frame
    (start-up time, #23). The same digest as `hmac.new(key, message, hashlib.sha256)` (tests/security/
    test_key_custody.py compares them); a build without the built-in hashes uses those."""
    import importlib

    sha256: Any = None
    for module in ("_sha2", "_sha256"):  # Python ≥ 3.12, 3.11
        try:
            sha256 = importlib.import_module(module).sha256
            break
        except (ImportError, AttributeError):
            continue
    if sha256 is None:
        import hashlib
        import hmac

        return hmac.new(key, message, hashlib.sha256).hexdigest()
    if len(key) > 64:  # SHA-256's block
        key = sha256(key).digest()
    key = key.ljust(64, b"\0")
    inner = sha256(bytes(b ^ 0x36 for b in key) + message).digest()
    return str(sha256(bytes(b ^ 0x5C for b in key) + inner).hexdigest())


def mismatch(path: Path, expected: str, found: str | None) -> KeyFileError:
    has = f"el archivo tiene la huella {found}" if found else "el archivo no tiene claves para esta base"
    return KeyFileError(f"El archivo de claves {path} no es el de esta base de datos: la base espera la huella "
                        f"{expected} y {has}. Indica el archivo correcto (ajuste secret_key_file o "
                        f"{ENV_VAR}); no se modificó nada.")


# The `meta` rows `load` reads: fetched in one query with the rest of what an open reads (`Database.get_metas`).
META_KEYS = (FINGERPRINT_META, "database_id", *KEY_NAMES)


def load(db: Database, path: Path, meta: Mapping[str, str | None] | None = None) -> KeySet:
    """This database's keys from the key file: created on first use, moved there from `meta` if old.

    A database that records a fingerprint opens only with the key file that matches it: any other file (or
    none) is refused before anything is written, the key file included. `meta`: the rows of META_KEYS already
    read by the caller (one round trip for the whole open), else read here."""
    if meta is None:
        meta = db.get_metas(META_KEYS)
    expected = meta[FINGERPRINT_META]
    if db.readonly and not expected:  # the keys would be filed and their fingerprint recorded: not on a copy only read
        raise KeyFileError("La base de datos aún no registra la huella de su archivo de claves y se abrió solo para "
                           "lectura: ábrela una vez con permiso de escritura (o revisa una copia que la tenga).")
    db_id = meta["database_id"] if expected else database_id(db, meta["database_id"])
    legacy = {name: meta[name] for name in KEY_NAMES}
    entry = peek(path, db_id) if db_id else None
    if expected:
        chosen = matching(entry, expected)
        if chosen is None or entry is None or db_id is None:  # no id: no entry was looked up
            raise mismatch(path, expected, fingerprint(entry) if entry else None)
        return _keyset(path, db_id, chosen, entry)
    assert db_id is not None  # not `expected`: database_id made one
    if entry is None or any(legacy.values()):
        with _locked(path):
            store = _read(path)
            entry = store.get(db_id)
            if entry is None:
                if all(legacy.values()):
                    entry = {name: str(legacy[name]) for name in KEY_NAMES}  # moved, so old receipts still verify
                elif _holds_keyed_rows(db):
                    raise KeyFileError(f"El archivo de claves {path} no tiene las claves de esta base de datos, "
                                       "que ya guarda datos protegidos con ellas. Indica el archivo correcto "
                                       f"(ajuste secret_key_file o {ENV_VAR}); no se modificó nada.")
                else:
                    import secrets  # only to make keys: opening a database with its keys filed needs none

                    entry = {name: secrets.token_hex(32) for name in KEY_NAMES}
                store[db_id] = entry
                _write(path, store)
        if any(legacy.values()):
            _erase_legacy(db)
    keyset = _keyset(path, db_id, entry, entry)
    with db.write() as conn:  # recorded once (a new database, or one from before fingerprints)
        conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                     (FINGERPRINT_META, fingerprint(entry)))
    return keyset


def verify(db: Database, path: Path) -> None:
    """Refuse, reading only, what `load` would refuse: run before an older database is migrated, so a wrong
    key file leaves it exactly as it was (no migration, no key file, no fingerprint written)."""
    expected = db.get_meta(FINGERPRINT_META)
    db_id = db.get_meta("database_id")
    entry = peek(path, db_id) if db_id else None
    if expected:
        if matching(entry, expected) is None:
            raise mismatch(path, expected, fingerprint(entry) if entry else None)
        return
    if entry is None and not all(db.get_meta(name) for name in KEY_NAMES) and _holds_keyed_rows(db):
        raise KeyFileError(f"El archivo de claves {path} no tiene las claves de esta base de datos, "
                           "que ya guarda datos protegidos con ellas. Indica el archivo correcto "
                           f"(ajuste secret_key_file o {ENV_VAR}); no se modificó nada.")


def matching(entry: dict | None, expected: str) -> dict | None:
    """The keys in an entry whose fingerprint is the database's: the current ones, or those a rotation
    interrupted after its database commit left pending."""
    if not isinstance(entry, dict):
        return None
    for candidate in (entry, entry.get("pending")):
        if isinstance(candidate, dict) and fingerprint(candidate) == expected:
            return candidate
    return None


def _keyset(path: Path, db_id: str, chosen: dict, entry: dict) -> KeySet:
    try:
        keyset = KeySet({name: bytes.fromhex(chosen[name]) for name in KEY_NAMES})
        keyset["pan_pepper"] = bytes.fromhex(entry.get("pan_pepper") or entry["otp_pepper"])
        others = [entry.get("receipt_secret"), (entry.get("pending") or {}).get("receipt_secret"),
                  *entry.get("retired_receipt_secrets", [])]
        extra = [bytes.fromhex(value) for value in others if value]
    except (KeyError, TypeError, ValueError, AttributeError):
        raise KeyFileError(f"El archivo de claves {path} está dañado (entrada {db_id}).") from None
    keyset.receipt_secrets = tuple(dict.fromkeys([keyset["receipt_secret"], *extra]))
    return keyset


# -- rotation (`cooprogreso keys rotate`) -------------------------------------------------------------------
# The key file keeps the old keys and the new ones («pending») until the database commit that re-seals every
# secret under the new keys and records their fingerprint is known; `load` takes whichever of the two the
# database's fingerprint names. So a kill at any instant leaves the old keys working (before the commit) or
# the new ones (after it), never a mix.
@contextlib.contextmanager
def rotation(db: Database, path: Path) -> Iterator[tuple[dict, dict]]:
    """New keys filed beside the current ones, yielded as (current, new) entries for the caller to re-seal
    the database under them and commit; then the file keeps only the keys the database names (and the retired
    receipt keys). The key file stays locked throughout: two rotations never interleave."""
    import secrets

    with _locked(path):
        expected = db.get_meta(FINGERPRINT_META)  # read under the lock: a rotation just finished counts
        db_id = db.get_meta("database_id")
        if not expected or not db_id:
            raise KeyFileError("Esta base de datos aún no registra la huella de sus claves: ábrela una vez con su "
                               "archivo de claves antes de rotarlas.")
        store = _read(path)
        entry = store.get(db_id)
        if not isinstance(entry, dict) or matching(entry, expected) is None:
            raise mismatch(path, expected, fingerprint(entry) if entry else None)
        entry = _settled(entry, expected)
        new = {name: secrets.token_hex(32) for name in KEY_NAMES}
        store[db_id] = {**entry, "pending": new}
        _write(path, store)
        yield entry, new
        _finish(db, path, db_id)


def _finish(db: Database, path: Path, db_id: str) -> None:
    """After the database commit (the key file locked): drop the keys the database no longer names."""
    store = _read(path)
    entry = store.get(db_id)
    expected = db.get_meta(FINGERPRINT_META)
    if isinstance(entry, dict) and expected and matching(entry, expected) is not None:
        settled = _settled(entry, expected)
        if settled != entry:
            store[db_id] = settled
            _write(path, store)


def _settled(entry: dict, expected: str) -> dict:
    """The entry without a pending rotation: promoted if the database already uses its keys, else dropped."""
    pending = entry.get("pending")
    base = {key: value for key, value in entry.items() if key != "pending"}
    if not isinstance(pending, dict) or fingerprint(pending) != expected:
        return base
    retired = [*base.get("retired_receipt_secrets", []), base["receipt_secret"]]
    return {**pending, "pan_pepper": base.get("pan_pepper") or base["otp_pepper"],
            "retired_receipt_secrets": list(dict.fromkeys(retired))}


def _holds_keyed_rows(db: Database) -> bool:
    """Any row sealed by this database's keys (an older schema may lack some of the tables)."""
    with db.read() as conn:
        return any(_has_table(conn, table) and conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone()
                   for table in KEYED_TABLES)


def _has_table(conn: Any, table: str) -> bool:
    if getattr(conn, "engine", "sqlite") == "sqlite":
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    else:
        sql = "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?"
    return conn.execute(sql, (table,)).fetchone() is not None


def database_id(db: Database, found: str | None = None) -> str:
    """A random id naming this database in the key file (not a secret); made once. `found`: the one already read."""
    found = found or db.get_meta("database_id")
    if found:
        return found
    import secrets

    with db.write() as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('database_id', ?) ON CONFLICT (key) DO NOTHING",
                     (secrets.token_hex(16),))
    made = db.get_meta("database_id")
    assert made is not None  # inserted just above, or by another process first
    return made


def _erase_legacy(db: Database) -> None:
    """Delete the keys from `meta`, overwriting them on disk too."""
    with scrubbing_write(db) as tx:
        tx.execute("DELETE FROM meta WHERE key IN ('otp_pepper', 'receipt_secret')")


@contextlib.contextmanager
def scrubbing_write(db: Database) -> Iterator:
    """A write transaction whose deleted or replaced values are overwritten on disk as well: SQLite
    keeps deleted rows in free pages and in the write-ahead log until they are reused."""
    conn = db.conn
    is_sqlite = isinstance(conn, sqlite3.Connection)
    if is_sqlite:
        conn.execute("PRAGMA secure_delete = ON")
    try:
        with db.write() as tx:
            yield tx
    finally:
        if is_sqlite:
            conn.execute("PRAGMA secure_delete = OFF")
    if is_sqlite:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def peek(path: Path, db_id: str) -> dict | None:
    """The entry without taking the lock (the common case: the file and the entry exist)."""
    if not os.path.lexists(path):
        return None
    entry = _read(path).get(db_id)
    return entry if isinstance(entry, dict) else None


def _read(path: Path) -> dict:
    def private(info: os.stat_result) -> None:
        if info.st_mode & 0o077:
            raise KeyFileError(f"El archivo de claves {path} es legible por otros usuarios; "
                               f"déjalo privado con: chmod 600 {path}")

    if not os.path.lexists(path):
        return {}
    raw = read_limited(path, max_bytes=4 * 2**20, what="El archivo de claves", nofollow=True, error=KeyFileError,
                       check=private)
    try:
        data = json.loads(raw.decode("utf-8"))
        databases = data["databases"]
        if not isinstance(databases, dict):
            raise TypeError
        return databases
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise KeyFileError(f"El archivo de claves {path} está dañado; no se modificó.") from None


def _write(path: Path, databases: dict) -> None:
    """Replace the file atomically with a new one that was 0600 from its first byte."""
    import secrets

    body = json.dumps({"version": 1, "databases": databases}, indent=1, sort_keys=True).encode()
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(tmp, flags, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(body)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise KeyFileError(f"No se pudo escribir el archivo de claves {path}: {os_reason(exc)}.") from None


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One process at a time creates or changes the key file (a lock file beside it)."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0),
                     0o600)
    except OSError as exc:
        raise KeyFileError(f"No se pudo preparar el archivo de claves {path}: {os_reason(exc)}.") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
