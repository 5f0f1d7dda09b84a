"""The audit log lives in the core (backend/core/audit.py): `Context.audit` writes it and the core imports no
security piece. This name stays for callers that still import it from here."""

from backend.core.audit import record

__all__ = ["record"]
