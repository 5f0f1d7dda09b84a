"""`cooprogreso`: run the app, create demo data, check the books, read the outbox."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from pathlib import Path

from . import __version__, config


def say(text: object = "", *, err: bool = False) -> None:
    """Print for a terminal: stored or typed text never steers it (controls shown as \\u…)."""
    from backend.core.text import visible

    print("\n".join(visible(line) for line in str(text).split("\n")), file=sys.stderr if err else sys.stdout)


def _count(value: str) -> int:
    """A --last N: a whole number, kept within what a listing can hold."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"se esperaba un número entero, no «{value}»") from None
    return max(1, min(number, MAX_LISTING))


MAX_LISTING = 100_000
MAX_DEMO_MEMBERS = 100_000
MAX_RECEIPT_BYTES = 2 * 2**20


def _pairs(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set espera clave=valor, no «{item}»")
        out[key.strip()] = value.strip()
    return out


def build_parser() -> argparse.ArgumentParser:
    from . import cli_spanish

    cli_spanish.install()  # argparse's own words (usage, its errors) in Spanish
    parser = argparse.ArgumentParser(prog="cooprogreso", description="Cooprogreso en Línea — edición terminal")
    parser.add_argument("--version", action="version", version=f"cooprogreso {__version__}",
                        help="muestra la versión y termina")
    parser.add_argument("--db", help="ruta de la base de datos")
    parser.add_argument("--demo", action="store_true", help="usar la cooperativa de demostración (se crea si falta)")
    parser.add_argument("--set", action="append", default=[], metavar="CLAVE=VALOR",
                        help="ajuste de configuración, p. ej. --set session_idle_seconds=120")
    sub = parser.add_subparsers(dest="command", action=_Commands)
    assert isinstance(sub, _Commands)
    demo = sub.add_parser("demo-data", help="crear una cooperativa de demostración")
    demo.add_argument("--db", required=True, dest="target")
    demo.add_argument("--seed", type=int, default=2026)
    demo.add_argument("--members", type=int, default=50)
    check = sub.add_parser("check", help="verificar que los saldos cuadran con las partidas")
    check.add_argument("--db", dest="target")
    outbox = sub.add_parser("outbox", help="mostrar los mensajes enviados (canal outbox)")
    outbox.add_argument("--db", dest="target")
    outbox.add_argument("--last", type=_count, default=10)
    audit = sub.add_parser("audit", help="mostrar la bitácora de auditoría")
    audit.add_argument("--db", dest="target")
    audit.add_argument("--last", type=_count, default=50)
    audit.add_argument("--actor", help="solo las entradas de este usuario o actor")
    settle = sub.add_parser("settle", help="una pasada de liquidación de transferencias interbancarias")
    settle.add_argument("--db", dest="target")
    settle.add_argument("--retry", metavar="REFERENCIA", action="append", default=[],
                        help="volver a enviar una operación marcada para revisión")
    for name in ("verify-receipt", "verify"):  # `verify`: the same check, for statements (PDF, CSV) too
        verify = sub.add_parser(name, help="verificar si un comprobante o estado de cuenta (texto, CSV o PDF) "
                                           "es auténtico")
        verify.add_argument("file")
        verify.add_argument("--db", dest="target")
    institutions = sub.add_parser("institutions", help="cargar instituciones (p. ej. cooperativas) desde un CSV")
    institutions.add_argument("--db", dest="target")
    institutions.add_argument("--load", required=True, metavar="CSV", help="columnas: code,name,kind")
    for area, commands in AREAS.items():
        sub.add_lazy(area, commands)
    return parser


class _Commands(argparse._SubParsersAction):
    """Subcommands whose area parsers are built on use. An area's names and helps are listed up front (for
    `--help` and a mistyped name); its module, and all it imports, loads only when one of its commands is
    the one given, so a member's plain start (locally, over SSH, in a browser tab) loads none (#23)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._lazy: dict[str, str] = {}

    def add_lazy(self, module: str, commands: tuple[tuple[str, str], ...]) -> None:
        for name, text in commands:
            self._lazy[name] = module
            self._name_parser_map[name] = None  # a known choice; its parser comes with the module
            self._choices_actions.append(self._ChoicesPseudoAction(name, (), text))

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        module = self._lazy.get(values[0])
        if module is not None:
            order = list(self._name_parser_map)
            for name in [n for n, m in self._lazy.items() if m == module]:
                del self._lazy[name], self._name_parser_map[name]
            listed = len(self._choices_actions)
            importlib.import_module(module).register(self)
            del self._choices_actions[listed:]  # already listed, in their place, by add_lazy
            parsers = dict(self._name_parser_map)  # each command back in its place, for a usage line
            self._name_parser_map.clear()
            for name in sorted(parsers, key=lambda n: order.index(n) if n in order else len(order)):
                self._name_parser_map[name] = parsers[name]
        super().__call__(parser, namespace, values, option_string)


# Each area adds its own subcommands: a module with `register(sub)` whose parsers
# `set_defaults(handler=fn)`; `fn(cfg, args) -> int` runs with the loaded configuration.
# Listed here by name and help, so the module loads only when one of them runs (test_start_path checks
# this list against what each module registers).
AREAS: dict[str, tuple[tuple[str, str], ...]] = {
    "cooprogreso_tui.cli_staff": (
        ("staff", "personal de la cooperativa: cajeros, atención al socio, supervisores, auditores, oficiales de "
                  "cumplimiento"),
        ("end-of-day", "cierre del día: cajas cerradas, liquidación, verificación, informe"),
    ),
    "cooprogreso_tui.cli_pg": (
        ("migrate", "actualizar el esquema de la base de datos (PostgreSQL o archivo)"),
        ("copy-db", "copiar la cooperativa de un archivo SQLite a PostgreSQL"),
    ),
    "cooprogreso_tui.cli_cards": (
        ("close-cycle", "cerrar los estados de cuenta de tarjetas cuya fecha de corte pasó"),
    ),
    "cooprogreso_tui.cli_services": (
        ("billers", "entidades de Pago de Servicios: listar o cargar/actualizar desde un CSV"),
        ("run-scheduled", "una pasada de los pagos programados que vencen (para cron)"),
    ),
    "cooprogreso_tui.cli_ops": (
        ("deliver", "una pasada de envío de los avisos SMS en cola"),
    ),
    "cooprogreso_tui.cli_contact": (
        ("contacto", "cargar los canales de atención y las agencias de la cooperativa"),
    ),
    "cooprogreso_tui.cli_channels": (
        ("web", "servir la aplicación en el navegador (textual-serve)"),
        ("warm", "servidor de arranque en caliente de las sesiones SSH y web (systemd: cooprogreso-warm)"),
        ("play", "reproducir un guion de demostración (TOML)"),
    ),
    "cooprogreso_tui.cli_calendar": (
        ("calendario", "ver el calendario de feriados o cargar años desde un CSV"),
    ),
    "cooprogreso_tui.cli_rates": (
        ("tasas", "ver las tasas máximas vigentes o cargar una tabla nueva desde un CSV"),
    ),
    "cooprogreso_tui.cli_simulate": (
        ("simulate", "simular días de una cooperativa de demostración (solo bases demo)"),
    ),
    "cooprogreso_tui.worker": (
        ("worker", "ejecutar los procesos de fondo (uno activo por base de datos)"),
    ),
    "cooprogreso_tui.cli_uafe": (
        ("uafe", "RESU mensual para la UAFE (efectivo desde el umbral), solo oficial de cumplimiento"),
    ),
    "cooprogreso_tui.cli_admin": (
        ("keys", "claves de la cooperativa (archivo de claves)"),
        ("backup", "copia consistente de la base (sin el archivo de claves)"),
        ("restore", "restaurar una copia en un archivo nuevo o una base PostgreSQL vacía"),
        ("status", "estado para monitoreo (sale con 0 bien, 1 aviso, 2 crítico)"),
    ),
    "cooprogreso_tui.cli_papers": (
        ("statement", "estado de cuenta mensual de una cuenta de ahorros o tarjeta (personal)"),
        ("printer", "impresora CUPS de una agencia, o la agencia de un usuario de personal"),
    ),
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    target = getattr(args, "target", None) or args.db
    try:
        cfg = config.load(db=target, overrides=_pairs(args.set), demo=(args.demo or getattr(args, "web_demo", False)) and not target)
    except (ValueError, OSError) as exc:
        if isinstance(exc, OSError):  # the OS's text is English: which file, and why, in Spanish
            from backend.core.errors import os_reason

            exc = ValueError(f"{exc.filename or 'archivo de configuración'}: {os_reason(exc)}")
        say(f"Error de configuración: {exc}", err=True)
        return 2
    from . import logs

    logs.setup(cfg.settings.log_dir)  # unexpected errors, with tracebacks, go to the log file
    try:
        return _dispatch(cfg, args)
    except KeyboardInterrupt:
        say("Interrumpido.", err=True)
        return 130
    except Exception as exc:  # one line for the operator, never a traceback
        from backend.core.errors import ServiceError

        if isinstance(exc, ServiceError):
            say(exc.message, err=True)
            return 1
        import logging
        import sqlite3

        logging.getLogger("cooprogreso").error("command %s failed", args.command, exc_info=exc)
        if isinstance(exc, sqlite3.Error):
            from backend.core.errors import sqlite_reason

            say(f"No se pudo usar la base de datos: {sqlite_reason(exc)}.", err=True)
            return 2
        say(f"Error inesperado ({type(exc).__name__}): {exc}", err=True)
        return 1


def _dispatch(cfg, args) -> int:
    handler = getattr(args, "handler", None)
    if handler is not None:
        return handler(cfg, args)
    if args.command == "demo-data":
        refusal = _new_file_refusal(cfg.db_path)
        if refusal:
            say(refusal, err=True)
            return 1  # as demo_data's own refusal of a taken path always did
        return demo_data(cfg, cfg.db_path, args.seed, args.members)
    if args.command == "check":
        return _check(cfg.db_path, cfg.settings)  # read-only commands never create or migrate a database
    if args.command == "outbox":
        return _outbox(cfg.db_path, args.last, cfg.settings)
    if args.command == "audit":
        return _audit(cfg.db_path, args.last, args.actor, cfg.settings)
    if args.command == "settle":
        return _settle(cfg, args.retry)
    if args.command in ("verify-receipt", "verify"):
        return _verify_receipt(cfg.db_path, Path(args.file), cfg.settings)
    if args.command == "institutions":
        return _institutions(cfg.db_path, Path(args.load), cfg.settings)
    return _run(cfg, args.demo)


def _new_file_refusal(path) -> str | None:
    """Why a new database file cannot be made at `path` as typed, said before anything starts: a mistyped
    folder is not created (nor the folders above it), a taken name is not touched. None for a URL."""
    from backend.core.db import is_url

    if is_url(path):
        return None
    path = Path(path)
    if os.path.lexists(path):
        return f"Ya existe {path}; no se sobrescribe. Elige otra ruta o bórrala."
    if not path.parent.is_dir():
        return f"No existe la carpeta {path.parent}: créala primero o elige otra ruta."
    return None


MIN_DEMO_MEMBERS = 50


def demo_data(cfg, path: Path, seed: int, members: int) -> int:
    """Build the demo co-op at `path`; also how `--demo` starts (here and in the web/SSH channels) with none yet."""
    from rich.progress import Progress

    if not MIN_DEMO_MEMBERS <= members <= MAX_DEMO_MEMBERS:
        say(f"Una cooperativa de demostración tiene de {MIN_DEMO_MEMBERS} a {MAX_DEMO_MEMBERS:,} socios.", err=True)
        return 2
    from backend.core.errors import ServiceError
    from backend.demo.coop import create_demo

    try:
        with Progress(transient=False) as progress:
            task = progress.add_task("Creando cooperativa de demostración", total=None)
            summary = create_demo(path, seed=seed, members=members, settings=cfg.settings,
                                  progress=lambda done, total: progress.update(task, completed=done, total=total))
    except ServiceError as exc:
        say(exc.message, err=True)
        return 1
    say(f"Listo: {path} · {summary.members} socios · {summary.entries} asientos")
    say(f"Usuario de demostración: {summary.demo_username} / Demo-2026!")
    say(f"Socio sin afiliar (para probar «Regístrate aquí»): cédula {summary.unaffiliated_cedula}")
    if summary.staff:
        from backend.demo.staff import DEMO_STAFF_PASSWORD

        say(f"Personal de demostración (contraseña {DEMO_STAFF_PASSWORD}; código: cooprogreso staff code "
              f"--db {path} --user USUARIO):")
        for username, role, secret in summary.staff:
            say(f"  {username:<12} {role:<12} secreto TOTP {secret}")
    return 0


def open_backend(path: Path, settings=None, readonly: bool = False, *, only_reads: bool = False):
    """The Backend over an existing database, or None after one Spanish line saying why not.

    `readonly`: never migrated. `only_reads`: the command never writes (check, audit, outbox, verify), so a
    database this user may not write (a backup on a read-only disk, an auditor's chmod a-w copy) is opened
    read-only (backend/core/db.py `read_only_uri`) and a PostgreSQL one always is: its session refuses every write.
    Any other command on a database it may not write is refused here, before it starts."""
    from backend.core.db import is_url
    from backend.core.errors import ServiceError
    from backend.service import Backend

    from .dbcheck import problem

    refusal = problem(path, write=not only_reads)  # missing, empty, foreign, newer: said first, whoever asks
    if refusal:
        say(refusal, err=True)
        return None
    read_only = only_reads and (is_url(path) or problem(path) is not None)
    try:
        backend = Backend(path, settings, create=False, migrate=False if readonly or only_reads else None,
                          readonly=read_only)
    except ServiceError as exc:
        say(exc.message, err=True)
        return None
    if not read_only:
        try:
            writable = backend.db.can_write()
        except Exception:
            backend.close()
            raise
        if not writable:  # PostgreSQL: a role with only SELECT, a read-only session or standby
            from backend.core.db import read_only_refusal

            backend.close()
            say(read_only_refusal(backend.db.target).message, err=True)
            return None
    return backend


def _check(path: Path, settings=None) -> int:
    backend = open_backend(path, settings, only_reads=True)
    if backend is None:
        return 2
    problems = backend.check()
    for warning in backend.calendar_warnings() + backend.rate_warnings() + backend.regulatory_warnings():  # told, never a failure
        say(f"Aviso: {warning}")
    if not problems:
        say(f"Contabilidad cuadrada: cada asiento suma cero y cada saldo es la suma de sus partidas ({path}).")
        return 0
    say(f"Se encontraron {len(problems)} problemas en {path}:")
    for problem in problems:
        say(f"- {problem}")
    return 1


def _outbox(path: Path, last: int, settings=None) -> int:
    from backend.core.clock import date_text

    backend = open_backend(path, settings, only_reads=True)
    if backend is None:
        return 2
    messages = backend.outbox(last=last)
    if not messages:
        say("No hay mensajes.")
    for m in messages:
        say(f"{date_text(m.created_at, time=True)}  {m.recipient}  {m.body}")
    return 0


def _audit(path: Path, last: int, actor: str | None, settings=None) -> int:
    from backend.core.clock import date_text

    backend = open_backend(path, settings, only_reads=True)
    if backend is None:
        return 2
    for entry in backend.audit_log(last=last, actor=actor):
        say(f"{date_text(entry.at, seconds=True)}  {entry.actor:<24} {entry.action:<28} {entry.outcome:<22} {entry.details}")
    return 0


def _settle(cfg, retry: list[str]) -> int:
    from backend.core.text import visible

    from .cli_ops import print_flagged

    backend = open_backend(cfg.db_path, cfg.settings)
    if backend is None:
        return 2
    for reference in retry:
        done = backend.clearing.requeue(reference, "cli")
        print(f"{visible(reference)}: {'se volverá a enviar' if done else 'no está marcada para revisión'}")
    r = backend.clearing.settle()
    say(f"Revisadas {r.checked} · acreditadas {r.credited} · devueltas {r.returned} · "
          f"en proceso {r.pending} · sin respuesta de la red {r.failed}")
    return 1 if print_flagged(backend) else 0


def _verify_receipt(path: Path, receipt: Path, settings=None) -> int:
    """A receipt's text, a statement's CSV or a PDF of ours (statement or receipt): intact or not."""
    from backend.core.errors import ServiceError
    from backend.core.files import read_limited
    from backend.security.documents import MAX_DOCUMENT_BYTES, verify

    try:  # the file first: a wrong path is said before the database is even opened
        data = read_limited(receipt, max_bytes=MAX_DOCUMENT_BYTES, what="El documento")
        if not data.startswith(b"%PDF-"):
            if len(data) > MAX_RECEIPT_BYTES:  # a receipt's text or a statement's CSV is far smaller
                say(f"El documento {receipt} es demasiado grande para ser un comprobante o estado de cuenta.",
                     err=True)
                return 2
            data.decode("utf-8")
    except ServiceError as exc:
        say(exc.message, err=True)
        return 2
    except UnicodeDecodeError:
        say(f"El documento {receipt} no es un texto UTF-8 ni un PDF: no es un documento de Cooprogreso.", err=True)
        return 2
    if not data.strip():
        say(f"El documento {receipt} está vacío.", err=True)
        return 2
    backend = open_backend(path, settings, only_reads=True)
    if backend is None:
        return 2
    what = "Documento" if data.startswith(b"%PDF-") or b"\nDocumento," in data else "Comprobante"
    if verify(backend.ctx.receipt_secrets(), data):  # signed before a rotation too
        say(f"{what} auténtico: su contenido coincide con el código de verificación.")
        return 0
    say(f"{what} ALTERADO o de otra cooperativa: el contenido no coincide con el código de verificación.")
    return 1


def _institutions(path: Path, csv_path: Path, settings=None) -> int:
    from backend.core import institutions
    from backend.core.errors import ServiceError

    backend = open_backend(path, settings)
    if backend is None:
        return 2
    try:
        count = institutions.load_csv(backend.db, csv_path)
    except ServiceError as exc:
        say(f"No se cargaron instituciones: {exc.message}", err=True)
        return 2 if exc.code == "file" else 1  # 2: the file itself is unusable, as for a receipt
    say(f"Instituciones cargadas o actualizadas: {count}")
    return 0


def _run(cfg, demo: bool) -> int:
    if demo and not cfg.db_path.exists():
        code = demo_data(cfg, cfg.db_path, 2026, 50)
        if code:
            return code
    if not cfg.db_path.exists():
        say(f"No existe la base de datos {cfg.db_path}. Crea una con: cooprogreso demo-data --db "
             f"{cfg.db_path}  (o usa cooprogreso --demo)", err=True)
        return 2
    backend = open_backend(cfg.db_path, cfg.settings)
    if backend is None:
        return 2
    from .app import CooprogresoApp

    app = CooprogresoApp(backend, export_dir=cfg.export_dir)
    end_on_hangup(app)
    try:  # a member session does no background work; `--demo` alone also runs the worker, in a thread
        with _worker_thread(cfg) if demo else contextlib.nullcontext():
            app.run()
    finally:
        if app.signed_in:  # closed without SALIR: the session must not outlive the terminal
            backend.auth.logout(app.token, "cerrar_aplicacion")
        backend.close()
    return 0


def _worker_thread(cfg):
    """`--demo`'s worker, loaded only then: a member's start loads no area command (#23)."""
    from .worker import in_thread

    return in_thread(cfg.db_path, cfg.settings)


def end_on_hangup(app, grace_seconds: float = 5.0) -> None:
    """SIGHUP (the SSH connection or terminal went away) and SIGTERM end the app like SALIR would:
    the member's session is closed in the database. If the app cannot finish within the grace
    period (its terminal is gone), the process ends anyway: no app is left behind."""
    import os
    import signal
    import threading

    def handler(signum, frame) -> None:
        loop = getattr(app, "_loop", None)
        if loop is not None:
            loop.call_soon_threadsafe(app.exit)
        timer = threading.Timer(grace_seconds, os._exit, args=(128 + signum,))
        timer.daemon = True
        timer.start()

    signal.signal(signal.SIGHUP, handler)
    signal.signal(signal.SIGTERM, handler)


if __name__ == "__main__":
    sys.exit(main())
