"""What every service shares: the database, policy, the clock, the message channel, the principal."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from backend.core.clock import Clock, iso
from backend.core.db import Database
from backend.core.settings import Settings
from backend.core import audit

if TYPE_CHECKING:
    from backend.core.db import Connection
    from backend.core.delivery import HttpChannel, OutboxChannel


class Principal:
    """The authenticated person behind a service call: a member (role "socio") or a staff user.

    For staff, `user_id` is the staff user's id and `member_id` is 0 (no member has it). Read-only, compared
    and hashed by value. Written out, not a frozen dataclass (start-up time, #23: this module is imported before
    the sign-in's first frame, and building a frozen dataclass there cost ~4M instructions).
    """

    user_id: int
    member_id: int
    username: str
    session_id: int
    role: str

    def __init__(self, user_id: int, member_id: int, username: str, session_id: int, role: str = "socio") -> None:
        values = self.__dict__
        values["user_id"], values["member_id"], values["username"] = user_id, member_id, username
        values["session_id"], values["role"] = session_id, role

    def _key(self) -> tuple[int, int, str, int, str]:
        return (self.user_id, self.member_id, self.username, self.session_id, self.role)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Principal is read-only: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Principal is read-only: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Principal) or other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"Principal(user_id={self.user_id!r}, member_id={self.member_id!r}, username={self.username!r}, "
                f"session_id={self.session_id!r}, role={self.role!r})")

    @property
    def is_staff(self) -> bool:
        return self.role != "socio"


class Authenticator(Protocol):
    """What a core service needs of `backend.security.auth.AuthService` (the core imports no security)."""

    def principal(self, token: str) -> Principal: ...


class Context:
    """A plain class, not a dataclass (start-up time: nothing compares or prints a Context)."""

    def __init__(self, db: Database, settings: Settings | None = None, clock: Clock | None = None,
                 meta: Mapping[str, str | None] | None = None) -> None:
        self.db = db
        self.settings = settings if settings is not None else Settings()
        self.clock = clock if clock is not None else Clock()
        self._channel: OutboxChannel | HttpChannel | None = None
        self._channel_lock = threading.Lock()
        # meta: keys.META_KEYS already read by the caller, in the one query of the open (backend/service.py)
        self._ensure_secrets(meta)  # an older database's data upgrades run after this, from above (backend/upgrades.py)

    @property
    def channel(self) -> OutboxChannel | HttpChannel:
        """How a code or notice reaches a member's phone (backend/core/delivery.py), built on first use: the
        sign-in screen sends none (start-up time). Its settings were checked with the Settings (a gateway has
        its URL), so building it later refuses nothing that building it at open would have."""
        channel = self._channel
        if channel is None:
            with self._channel_lock:  # two first sends at once get the one channel
                if self._channel is None:
                    from backend.core.delivery import channel_for

                    self._channel = channel_for(self.settings)
                channel = self._channel
        return channel

    @channel.setter
    def channel(self, channel: OutboxChannel | HttpChannel) -> None:
        self._channel = channel

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

    def _ensure_secrets(self, meta: Mapping[str, str | None] | None = None) -> None:
        from backend.core import keys

        self._keys = keys.load(self.db, keys.key_file_path(self.settings.secret_key_file), meta)
