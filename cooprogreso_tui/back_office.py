"""How a back-office command signs a staff user in for one piece of work: password, then the authenticator
code, read from the terminal (unechoed) or as two lines of stdin; signed out and closed afterwards, whatever
happens. The service checks the role; the audit names the person."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .cli import open_backend, say

if TYPE_CHECKING:
    from backend.service import Backend

T = TypeVar("T")


NOTHING_TYPED = ("No se recibió {what} (la entrada está vacía o terminó): no se intentó el ingreso. Se escribe en la "
                 "terminal o, sin terminal, en su propia línea de la entrada.")


def ask(prompt: str) -> str:
    """A line typed at the terminal, unechoed when it is one; piped input is read as it comes. No input at all
    (stdin closed, Ctrl-D) is "": refused by the caller before it is tried."""
    if sys.stdin is None:
        return ""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    try:
        return getpass.getpass(prompt)
    except EOFError:
        return ""


def as_staff(cfg: Any, user: str, work: Callable[[Backend, str], T],
             check: Callable[[], object] | None = None) -> tuple[int, T | None]:
    """`work(backend, token)` done by `user` signed in as staff: (0, its result), or (exit code, None) after
    saying why in Spanish (2: the database can't be opened; 1: refused). `check()` refuses bad arguments (a
    ServiceError) before anything is asked; a password or code that never came (no terminal, empty input: a
    script, cron) is refused before it is tried, so it costs the person no attempt towards the lockout."""
    from backend.core.errors import ServiceError
    from backend.security.staff import StaffChallenge

    if check is not None:
        try:
            check()
        except ServiceError as exc:
            say(exc.message, err=True)
            return 1, None
    backend = open_backend(cfg.db_path, cfg.settings)
    if backend is None:
        return 2, None
    token = ""
    try:
        password = ask("Contraseña: ")
        if not password:
            say(NOTHING_TYPED.format(what="la contraseña"), err=True)
            return 1, None
        step = backend.auth.login(user, password)
        if not isinstance(step, StaffChallenge):
            backend.auth.logout(step.token, "cli")
            say("Este comando es solo para el personal de la cooperativa.", err=True)
            return 1, None
        code = ask("Código del autenticador: ")
        if not code.strip():
            say(NOTHING_TYPED.format(what="el código del autenticador"), err=True)
            return 1, None
        token = backend.auth.staff_code(step.ticket, code).token
        return 0, work(backend, token)
    except ServiceError as exc:
        say(exc.message, err=True)
        return 1, None
    finally:
        if token:
            backend.auth.logout(token, "cli")
        backend.close()
