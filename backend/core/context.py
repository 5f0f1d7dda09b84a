"""What every service shares: the database, policy, the clock, the message channel, the principal."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from backend.core.clock import Clock, iso
from backend.core.db import Database
from backend.core.delivery import channel_for
from backend.core.settings import Settings
from backend.core import audit

if TYPE_CHECKING:
    from backend.core.db import Connection


@dataclass(frozen=True)
class Principal:
    """The authenticated person behind a service call: a member (role "socio") or a staff user.

    For staff, `user_id` is the staff user's id and `member_id` is 0 (no member has it).
    """

    user_id: int
    member_id: int
    username: str
    session_id: int
    role: str = "socio"

    @property
    def is_staff(self) -> bool:
        return self.role != "socio"


class Authenticator(Protocol):
    """What a core service needs of `backend.security.auth.AuthService` (the core imports no security)."""

    def principal(self, token: str) -> Principal: ...


@dataclass
class Context:
    db: Database
    settings: Settings = field(default_factory=Settings)
    clock: Clock = field(default_factory=Clock)

    def __post_init__(self) -> None:
        self.channel = channel_for(self.settings)
        self._ensure_secrets()  # an older database's data upgrades run after this, from above (backend/upgrades.py)

    def now(self) -> datetime:
        return self.clock.now()

    def now_iso(self) -> str:
        return iso(self.clock.now())

    def audit(self, conn: Connection, actor: str, action: str, outcome: str, **details: object) -> None:
        audit.record(conn, at=self.now_iso(), actor=actor, action=action, outcome=outcome, **details)

    def audit_now(self, actor: str, action: str, outcome: str, **details: object) -> None:
        """Audit in a transaction of its own: for refusals, whose other work is rolled back."""
        with self.db.write() as conn:
            self.audit(conn, actor, action, outcome, **details)

    def secret(self, name: str) -> bytes:
        """A key of this database (`otp_pepper`, `receipt_secret`, `pan_pepper`), from the key file (backend/core/keys.py)."""
        return self._keys[name]

    def receipt_secrets(self) -> tuple[bytes, ...]:
        """Every key a receipt of this co-op may be signed with: the current one, then those `keys rotate` retired."""
        return self._keys.receipt_secrets

    @property
    def is_demo(self) -> bool:
        return self.db.get_meta("demo") == "1"

    def _ensure_secrets(self) -> None:
        from backend.core import keys

        self._keys = keys.load(self.db, keys.key_file_path(self.settings.secret_key_file))
