"""Who may call what: the staff roles and the one decorator that declares and enforces them.

A staff service method is written `def thing(self, who: Principal, ...)` and decorated with
`@staff_only(CAJERO, SUPERVISOR)`; callers pass the session token in `who`'s place. The decorator
resolves the token with `auth.staff(token, roles)` (members, signed-out callers and other roles are
refused before the body runs) and records the roles on the method, which is what the authorization
matrix test reads: a method without the declaration is expected to be members-only.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

SOCIO = "socio"
CAJERO = "cajero"
ATENCION = "atencion"
SUPERVISOR = "supervisor"
AUDITOR = "auditor"

STAFF_ROLES = (CAJERO, ATENCION, SUPERVISOR, AUDITOR)
ROLE_LABELS = {
    CAJERO: "Cajero",
    ATENCION: "Oficial de atención al socio",
    SUPERVISOR: "Supervisor",
    AUDITOR: "Auditor",
}

# The code of the Forbidden error raised when the caller's role may not call a method.
ROLE_REFUSED = "rol_no_autorizado"

F = TypeVar("F", bound=Callable[..., Any])


def staff_only(*roles: str) -> Callable[[F], F]:
    """Declare and enforce the staff roles allowed to call a service method (token first)."""
    unknown = set(roles) - set(STAFF_ROLES)
    if unknown or not roles:
        raise ValueError(f"unknown staff roles: {sorted(unknown)}")

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(self, token: str, *args: Any, **kwargs: Any) -> Any:
            who = self.auth.staff(token, roles=roles)
            return fn(self, who, *args, **kwargs)

        params = list(inspect.signature(fn).parameters.values())
        params[1] = params[1].replace(name="token", annotation=str)
        wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        wrapper.allowed_roles = tuple(roles)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
