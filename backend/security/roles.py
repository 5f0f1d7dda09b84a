"""Who may call what: the staff roles and the one decorator that declares and enforces them.

A staff service method is written `def thing(self, who: Principal, ...)` and decorated with
`@staff_only(CAJERO, SUPERVISOR)`; callers pass the session token in `who`'s place. The decorator
resolves the token with `auth.staff(token, roles)` (members, signed-out callers and other roles are
refused before the body runs), has each of the body's writes check the session again before it commits
(`auth.still_open`), and records the roles on the method, which is what the authorization
matrix test reads: a method without the declaration is expected to be members-only.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

if TYPE_CHECKING:
    from backend.core.context import Principal

SOCIO = "socio"
CAJERO = "cajero"
ATENCION = "atencion"
SUPERVISOR = "supervisor"
AUDITOR = "auditor"
CUMPLIMIENTO = "cumplimiento"  # compliance officer: the UAFE's reports with full IDs (backend/branch/uafe.py)

STAFF_ROLES = (CAJERO, ATENCION, SUPERVISOR, AUDITOR, CUMPLIMIENTO)
ROLE_LABELS = {
    CAJERO: "Cajero",
    ATENCION: "Oficial de atención al socio",
    SUPERVISOR: "Supervisor",
    AUDITOR: "Auditor",
    CUMPLIMIENTO: "Oficial de cumplimiento",
}

# The code of the Forbidden error raised when the caller's role may not call a method.
ROLE_REFUSED = "rol_no_autorizado"

S = TypeVar("S")
P = ParamSpec("P")
R = TypeVar("R")


def staff_only(*roles: str) -> Callable[[Callable[Concatenate[S, Principal, P], R]],
                                        Callable[Concatenate[S, str, P], R]]:
    """Declare and enforce the staff roles allowed to call a service method (token first)."""
    unknown = set(roles) - set(STAFF_ROLES)
    if unknown or not roles:
        raise ValueError(f"unknown staff roles: {sorted(unknown)}")

    def decorate(fn: Callable[Concatenate[S, Principal, P], R]) -> Callable[Concatenate[S, str, P], R]:
        @functools.wraps(fn)
        def wrapper(self: S, token: str, /, *args: P.args, **kwargs: P.kwargs) -> R:
            auth = self.auth  # type: ignore[attr-defined]
            who = auth.staff(token, roles=roles)
            # Checked again before each write commits, every lock held: a session ended (signed out elsewhere,
            # idle limit, user disabled) while the call waited at a member's lock writes nothing.
            with auth.ctx.db.checked_writes(lambda conn: auth.still_open(conn, who)):
                return fn(self, who, *args, **kwargs)

        params = list(inspect.signature(fn).parameters.values())
        params[1] = params[1].replace(name="token", annotation=str)
        wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        wrapper.allowed_roles = tuple(roles)  # type: ignore[attr-defined]
        return wrapper

    return decorate
