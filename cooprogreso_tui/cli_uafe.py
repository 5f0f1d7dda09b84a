"""`cooprogreso uafe --month AAAA-MM --out FILE`: the UAFE's monthly RESU, exported by a compliance officer.

Unlike the admin commands (staff, end-of-day), this one signs in as a staff user (password, then the
authenticator code): the report carries full IDs, so the service refuses every role but «cumplimiento», and the
audit names the person who exported it. Password and code are read from the terminal, or two lines of stdin.
"""

from __future__ import annotations

import getpass
import sys

from backend.core.text import counted

from .cli import say


def register(sub) -> None:
    uafe = sub.add_parser("uafe", help="RESU mensual para la UAFE (efectivo desde el umbral), solo oficial de cumplimiento")
    uafe.add_argument("--db", dest="target")
    uafe.add_argument("--month", required=True, metavar="AAAA-MM")
    uafe.add_argument("--out", required=True, metavar="ARCHIVO", help="archivo nuevo (permisos 0600)")
    uafe.add_argument("--user", required=True, help="usuario de personal (rol cumplimiento)")
    uafe.set_defaults(handler=_export)


def ask(prompt: str) -> str:
    """A line typed at the terminal, unechoed when it is one; piped input is read as it comes."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    return getpass.getpass(prompt)


def _export(cfg, args) -> int:
    from backend.core.errors import ServiceError
    from backend.security.staff import StaffChallenge

    from .cli import open_backend

    backend = open_backend(cfg.db_path, cfg.settings)
    if backend is None:
        return 2
    token = ""
    try:
        step = backend.auth.login(args.user, ask("Contraseña: "))
        if not isinstance(step, StaffChallenge):
            backend.auth.logout(step.token, "cli")
            say("Este comando es solo para el personal de la cooperativa.", err=True)
            return 1
        token = backend.auth.staff_code(step.ticket, ask("Código del autenticador: ")).token
        path, resu = backend.uafe.export_resu(token, args.month, args.out)
    except ServiceError as exc:
        say(exc.message, err=True)
        return 1
    finally:
        if token:
            backend.auth.logout(token, "cli")
        backend.close()
    say(f"RESU {args.month}: {counted(len(resu.rows), 'operación', 'operaciones')} de "
        f"{counted(resu.depositors, 'depositante', 'depositantes')} en {path}")
    if not resu.verified_layout:
        say(f"Aviso: {resu.unverified} (backend/data/uafe_resu.toml)")
    return 0
