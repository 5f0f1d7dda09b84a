"""What a screen may ask of the running app, as a Protocol: screens never import the app module."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from backend.security.auth import SignedIn
    from backend.security.origins import Origin
    from backend.service import Backend
    from screens.help.help import About


class CoopApp(Protocol):
    """The parts of `CooprogresoApp` screens use (`self.coop`): mypy checks both sides against it."""

    backend: Backend
    export_dir: str
    signed_in: SignedIn | None

    @property
    def token(self) -> str: ...

    def about(self) -> About: ...

    def sign_in_origin(self) -> Origin: ...

    def start_session(self, signed: SignedIn) -> None: ...

    def sign_out(self) -> None: ...

    def end_session(self, message: str) -> None: ...

    def show_demo_phone(self, challenge_id: str = "") -> None: ...

    def hide_demo_phone(self) -> None: ...

    def idle_seconds(self) -> float: ...

    def hold_keys(self, owner: object) -> None: ...

    def release_keys(self, owner: object) -> None: ...
