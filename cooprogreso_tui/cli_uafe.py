"""`cooprogreso uafe --month AAAA-MM --out FILE`: the UAFE's monthly RESU, exported by a compliance officer.

Unlike the admin commands (staff, end-of-day), this one signs in as a staff user (password, then the
authenticator code): the report carries full IDs, so the service refuses every role but «cumplimiento», and the
audit names the person who exported it. Password and code are read from the terminal, or two lines of stdin.
"""

from __future__ import annotations

from backend.core.text import counted

from .cli import say
from .back_office import as_staff


def register(sub) -> None:
    uafe = sub.add_parser("uafe", help="RESU mensual para la UAFE (efectivo desde el umbral), solo oficial de cumplimiento")
    uafe.add_argument("--db", dest="target")
    uafe.add_argument("--month", required=True, metavar="AAAA-MM")
    uafe.add_argument("--out", required=True, metavar="ARCHIVO", help="archivo nuevo (permisos 0600)")
    uafe.add_argument("--user", required=True, help="usuario de personal (rol cumplimiento)")
    uafe.set_defaults(handler=_export)


def _export(cfg, args) -> int:
    from backend.branch.uafe import month_bounds

    code, done = as_staff(cfg, args.user, lambda backend, token: backend.uafe.export_resu(token, args.month, args.out),
                          check=lambda: month_bounds(args.month))  # a bad month before the password, not after
    if done is None:
        return code
    path, resu = done
    say(f"RESU {args.month}: {counted(len(resu.rows), 'operación', 'operaciones')} de "
        f"{counted(resu.depositors, 'depositante', 'depositantes')} en {path}")
    if not resu.verified_layout:
        say(f"Aviso: {resu.unverified} (backend/data/uafe_resu.toml)")
    return 0
