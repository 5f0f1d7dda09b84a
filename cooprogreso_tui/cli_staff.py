"""`cooprogreso staff add|list|link|disable|reset-totp|code` (the co-op's staff users) and `cooprogreso end-of-day`.

`add` shows the authenticator secret once (otpauth:// URI and a QR code for the phone); nothing
shows it again. `reset-totp` enrols a new one for a user who lost theirs (the old one is void at once).
`code` prints a user's current code, in demo databases only (trainings).
"""

from __future__ import annotations

import getpass
import os
import sys

from backend.core.clock import date_text
from backend.core.text import visible

from .cli import say


QR_PNG_HELP = ("guardar además el código QR como imagen PNG (archivo nuevo, legible solo por ti: 0600); "
               "bórrala en cuanto el autenticador lo haya leído")


def register(sub) -> None:
    staff = sub.add_parser("staff", help="personal de la cooperativa: cajeros, atención al socio, supervisores, auditores, "
                                            "oficiales de cumplimiento")
    verbs = staff.add_subparsers(dest="staff_command", required=True)
    add = verbs.add_parser("add", help="crear un usuario de personal (muestra su secreto de autenticador una vez)")
    add.add_argument("--db", dest="target")
    add.add_argument("--user", required=True)
    add.add_argument("--role", required=True, choices=["cajero", "atencion", "supervisor", "auditor", "cumplimiento"])
    add.add_argument("--name", default="", help="nombre completo")
    add.add_argument("--cedula", default=None,
                     help="cédula de la persona: no podrá decidir nada sobre su propio registro de socio")
    add.add_argument("--password-stdin", action="store_true", help="leer la contraseña de la entrada estándar")
    add.add_argument("--no-qr", action="store_true", help="no dibujar el código QR")
    add.add_argument("--qr-png", metavar="FILE", help=QR_PNG_HELP)
    add.set_defaults(handler=_add)
    lst = verbs.add_parser("list", help="listar el personal")
    lst.add_argument("--db", dest="target")
    lst.set_defaults(handler=_list)
    link = verbs.add_parser("link", help="vincular a su cédula un usuario creado sin ella (una sola vez)")
    link.add_argument("--db", dest="target")
    link.add_argument("--user", required=True)
    link.add_argument("--cedula", required=True)
    link.set_defaults(handler=_link)
    disable = verbs.add_parser("disable", help="deshabilitar un usuario de personal (cierra sus sesiones)")
    disable.add_argument("--db", dest="target")
    disable.add_argument("--user", required=True)
    disable.set_defaults(handler=_disable)
    reset = verbs.add_parser("reset-totp", help="nuevo secreto de autenticador para un usuario (teléfono perdido);"
                             " el anterior deja de valer y sus sesiones se cierran")
    reset.add_argument("--db", dest="target")
    reset.add_argument("--user", required=True)
    reset.add_argument("--no-qr", action="store_true", help="no dibujar el código QR")
    reset.add_argument("--qr-png", metavar="FILE", help=QR_PNG_HELP)
    reset.set_defaults(handler=_reset_totp)
    code = verbs.add_parser("code", help="código actual del autenticador de un usuario (solo demostración)")
    code.add_argument("--db", dest="target")
    code.add_argument("--user", required=True)
    code.set_defaults(handler=_code)
    eod = sub.add_parser("end-of-day", help="cierre del día: cajas cerradas, liquidación, verificación, informe")
    eod.add_argument("--db", dest="target")
    eod.set_defaults(handler=_end_of_day)


def _backend(cfg):
    from .cli import open_backend

    return open_backend(cfg.db_path, cfg.settings)


def _password(from_stdin: bool) -> str | None:
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Contraseña: ")
    if getpass.getpass("Repite la contraseña: ") != first:
        say("Las contraseñas no coinciden.", err=True)
        return None
    return first


def _add(cfg, args) -> int:
    from backend.core.errors import ServiceError

    backend = _backend(cfg)
    if backend is None:
        return 2
    password = _password(args.password_stdin)
    if password is None:
        backend.close()
        return 1
    if not _png_path_free(args.qr_png):
        backend.close()
        return 1
    try:
        enrolment = backend.auth.staff_directory.add(args.user, args.role, password, args.name, cedula=args.cedula)
    except ServiceError as exc:
        say(exc.message, err=True)
        return 1
    finally:
        backend.close()
    say(f"Usuario de personal creado: {enrolment.username} ({args.role})")
    if args.cedula is None:
        say("Aviso: sin --cedula solo se compara su nombre con el de los socios; vincúlala con «staff link».")
    return 0 if _show_secret(enrolment, qr=not args.no_qr, png_path=args.qr_png) else 1


def _png_path_free(path: str | None) -> bool:
    """Whether the QR image may be saved at `path`, checked before anything is enrolled (so a bad path changes
    nothing): a new name (never an existing file or a planted symlink: the image holds the secret, so it must not
    land in a file someone else can read or has planted) in a folder we can write. The image itself is written
    after enrolment, whole or not at all (files.write_private_file: 0600, refused again if the name got taken)."""
    if path is None:
        return True
    if os.path.lexists(path):
        say(f"Ya existe {visible(path)}: elige un archivo nuevo para la imagen del código QR.", err=True)
        return False
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK | os.X_OK):
        say(f"No se puede crear {visible(path)}: la carpeta {visible(folder)} no existe o no se puede escribir.",
            err=True)
        return False
    return True


def _show_secret(enrolment, *, qr: bool, png_path: str | None = None) -> bool:
    """Show the new secret; False if the QR image could not be saved (the secret shown still holds)."""
    from backend.core.errors import ServiceError
    from backend.core.files import write_private_file
    from backend.security import totp

    say("Registra este secreto en la aplicación autenticadora AHORA: no se volverá a mostrar.")
    say(f"Secreto: {enrolment.secret}")
    say(f"URI: {enrolment.uri}")
    if qr:
        say(totp.qr_text(enrolment.uri))
    if png_path is not None:
        try:
            write_private_file(png_path, totp.qr_png(enrolment.uri))
        except ServiceError as exc:
            say(f"{visible(exc.message)} No se guardó la imagen del código QR: usa el secreto mostrado arriba.",
                err=True)
            return False
        say(f"Código QR guardado en {visible(png_path)} (solo tú puedes leerlo); bórralo cuando el autenticador "
            "lo haya leído.")
    return True


def _reset_totp(cfg, args) -> int:
    from backend.core.errors import ServiceError

    backend = _backend(cfg)
    if backend is None:
        return 2
    if not _png_path_free(args.qr_png):
        backend.close()
        return 1
    try:
        enrolment = backend.auth.staff_directory.reset_totp(args.user)
    except ServiceError as exc:
        say(exc.message, err=True)
        return 1
    finally:
        backend.close()
    say(f"Nuevo autenticador para {enrolment.username}: el secreto anterior ya no vale y sus sesiones se cerraron.")
    return 0 if _show_secret(enrolment, qr=not args.no_qr, png_path=args.qr_png) else 1


def _list(cfg, args) -> int:
    backend = _backend(cfg)
    if backend is None:
        return 2
    people = backend.auth.staff_directory.list()
    backend.close()
    if not people:
        say("No hay personal registrado.")
    for p in people:
        state = "bloqueado" if p.locked else p.status
        say(f"{visible(p.username):<20} {p.role_label:<30} {state:<10} {visible(p.full_name)}"
              f"  último ingreso: {date_text(p.last_login_at, time=True) or '-'}{'' if p.linked else '  (sin cédula)'}")
    return 0


def _link(cfg, args) -> int:
    from backend.core.errors import ServiceError

    backend = _backend(cfg)
    if backend is None:
        return 2
    try:
        backend.auth.staff_directory.link(args.user, args.cedula)
    except ServiceError as exc:
        say(exc.message, err=True)
        return 1
    finally:
        backend.close()
    say(f"Usuario {visible(args.user)} vinculado a su cédula.")
    return 0


def _disable(cfg, args) -> int:
    from backend.core.errors import ServiceError

    backend = _backend(cfg)
    if backend is None:
        return 2
    try:
        backend.auth.staff_directory.disable(args.user)
    except ServiceError as exc:
        say(exc.message, err=True)
        return 1
    finally:
        backend.close()
    say(f"Usuario {visible(args.user)} deshabilitado; sus sesiones se cerraron.")
    return 0


def _code(cfg, args) -> int:
    from backend.core.errors import ServiceError

    backend = _backend(cfg)
    if backend is None:
        return 2
    try:
        say(backend.auth.staff_directory.current_code(args.user))
    except ServiceError as exc:
        say(exc.message, err=True)
        return 1
    finally:
        backend.close()
    return 0


def _end_of_day(cfg, args) -> int:
    from rich.progress import Progress

    from backend.branch import end_of_day
    from backend.core.errors import ServiceError
    from backend.core.money import format_money

    backend = _backend(cfg)
    if backend is None:
        return 2
    try:
        with Progress(transient=False) as progress:
            task = progress.add_task("Cierre del día", total=None)

            def step(done: int, total: int, label: str) -> None:
                progress.update(task, completed=done, total=total, description=label)

            report = end_of_day.run(backend.ctx, backend, "cli", step)
    except ServiceError as exc:
        say(exc.message, err=True)
        return 1
    finally:
        backend.close()
    say(f"Día {date_text(report.day)} cerrado; nuevo día de negocio: {date_text(report.next_day)}")
    for label, summary in report.passes:
        say(f"  {label}: {visible(summary) or 'hecho'}")
    say("Totales del día por tipo de operación:")
    for t in report.totals:
        noun = "asiento " if t.entries == 1 else "asientos"
        say(f"  {t.label:<34} {t.entries:>6} {noun}  {format_money(t.amount):>16}")
    if not report.totals:
        say("  (sin operaciones)")
    return 0
