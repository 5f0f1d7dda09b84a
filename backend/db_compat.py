"""The engine-neutral IntegrityError, until `backend.db` exports it on every branch."""

try:
    from .db import IntegrityError  # noqa: F401
except ImportError:  # pragma: no cover - SQLite-only databases
    from sqlite3 import IntegrityError  # noqa: F401
