"""`cooprogreso`: run the app, create demo data, check the books, read the outbox."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from . import __version__, config


def _pairs(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set espera clave=valor, no «{item}»")
        out[key.strip()] = value.strip()
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cooprogreso", description="Cooprogreso en Línea — edición terminal")
    parser.add_argument("--version", action="version", version=f"cooprogreso {__version__}")
    parser.add_argument("--db", help="ruta de la base de datos")
    parser.add_argument("--demo", action="store_true", help="usar la cooperativa de demostración (se crea si falta)")
    parser.add_argument("--set", action="append", default=[], metavar="CLAVE=VALOR",
                        help="ajuste de configuración, p. ej. --set session_idle_seconds=120")
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser("demo-data", help="crear una cooperativa de demostración")
    demo.add_argument("--db", required=True, dest="target")
    demo.add_argument("--seed", type=int, default=2026)
    demo.add_argument("--members", type=int, default=50)
    check = sub.add_parser("check", help="verificar que los saldos cuadran con las partidas")
    check.add_argument("--db", dest="target")
    outbox = sub.add_parser("outbox", help="mostrar los mensajes enviados (canal outbox)")
    outbox.add_argument("--db", dest="target")
    outbox.add_argument("--last", type=int, default=10)
    audit = sub.add_parser("audit", help="mostrar la bitácora de auditoría")
    audit.add_argument("--db", dest="target")
    audit.add_argument("--last", type=int, default=50)
    audit.add_argument("--actor", help="solo las entradas de este usuario o actor")
    settle = sub.add_parser("settle", help="una pasada de liquidación de transferencias interbancarias")
    settle.add_argument("--db", dest="target")
    verify = sub.add_parser("verify-receipt", help="verificar si un comprobante guardado es auténtico")
    verify.add_argument("file")
    verify.add_argument("--db", dest="target")
    institutions = sub.add_parser("institutions", help="cargar instituciones (p. ej. cooperativas) desde un CSV")
    institutions.add_argument("--db", dest="target")
    institutions.add_argument("--load", required=True, metavar="CSV", help="columnas: code,name,kind")
    for area in AREAS:
        importlib.import_module(area).register(sub)
    return parser


# Each area adds its own subcommands: a module with `register(sub)` whose parsers
# `set_defaults(handler=fn)`; `fn(cfg, args) -> int` runs with the loaded configuration.
AREAS: tuple[str, ...] = ("cooprogreso_tui.cli_staff", "cooprogreso_tui.cli_pg", "cooprogreso_tui.cli_cards")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    target = getattr(args, "target", None) or args.db
    try:
        cfg = config.load(db=target, overrides=_pairs(args.set), demo=args.demo and not target)
    except (ValueError, OSError) as exc:
        print(f"Error de configuración: {exc}", file=sys.stderr)
        return 2
    handler = getattr(args, "handler", None)
    if handler is not None:
        return handler(cfg, args)
    if args.command == "demo-data":
        return _demo_data(cfg, cfg.db_path, args.seed, args.members)
    if args.command == "check":
        return _check(cfg.db_path)  # read-only commands never create or migrate a database
    if args.command == "outbox":
        return _outbox(cfg.db_path, args.last)
    if args.command == "audit":
        return _audit(cfg.db_path, args.last, args.actor)
    if args.command == "settle":
        return _settle(cfg)
    if args.command == "verify-receipt":
        return _verify_receipt(cfg.db_path, Path(args.file))
    if args.command == "institutions":
        return _institutions(cfg.db_path, Path(args.load))
    return _run(cfg, args.demo)


MIN_DEMO_MEMBERS = 50


def _demo_data(cfg, path: Path, seed: int, members: int) -> int:
    from rich.progress import Progress

    if members < MIN_DEMO_MEMBERS:
        print(f"Una cooperativa de demostración tiene al menos {MIN_DEMO_MEMBERS} socios.", file=sys.stderr)
        return 2
    from backend.demo import create_demo
    from backend.errors import ServiceError

    try:
        with Progress(transient=False) as progress:
            task = progress.add_task("Creando cooperativa de demostración", total=None)
            summary = create_demo(path, seed=seed, members=members, settings=cfg.settings,
                                  progress=lambda done, total: progress.update(task, completed=done, total=total))
    except ServiceError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    print(f"Listo: {path} · {summary.members} socios · {summary.entries} asientos")
    print(f"Usuario de demostración: {summary.demo_username} / Demo-2026!")
    print(f"Socio sin afiliar (para probar «Regístrate aquí»): cédula {summary.unaffiliated_cedula}")
    if summary.staff:
        from backend.staff_demo import DEMO_STAFF_PASSWORD

        print(f"Personal de demostración (contraseña {DEMO_STAFF_PASSWORD}; código: cooprogreso staff code "
              f"--db {path} --user USUARIO):")
        for username, role, secret in summary.staff:
            print(f"  {username:<12} {role:<11} secreto TOTP {secret}")
    return 0


def _open(path: Path, settings=None, readonly: bool = False):
    from backend.errors import ServiceError
    from backend.service import Backend

    if not path.exists():
        print(f"No existe la base de datos {path}.", file=sys.stderr)
        return None
    try:
        return Backend(path, settings, create=False, migrate=False if readonly else None)
    except ServiceError as exc:
        print(exc.message, file=sys.stderr)
        return None


def _check(path: Path) -> int:
    backend = _open(path, readonly=True)
    if backend is None:
        return 2
    problems = backend.check()
    if not problems:
        print(f"Contabilidad cuadrada: cada asiento suma cero y cada saldo es la suma de sus partidas ({path}).")
        return 0
    print(f"Se encontraron {len(problems)} problemas en {path}:")
    for problem in problems:
        print(f"- {problem}")
    return 1


def _outbox(path: Path, last: int) -> int:
    backend = _open(path, readonly=True)
    if backend is None:
        return 2
    messages = backend.outbox(last=max(1, last))
    if not messages:
        print("No hay mensajes.")
    for m in messages:
        print(f"{m.created_at}  {m.recipient}  {m.body}")
    return 0


def _audit(path: Path, last: int, actor: str | None) -> int:
    backend = _open(path, readonly=True)
    if backend is None:
        return 2
    for entry in backend.audit_log(last=max(1, last), actor=actor):
        print(f"{entry.at}  {entry.actor:<24} {entry.action:<28} {entry.outcome:<22} {entry.details}")
    return 0


def _settle(cfg) -> int:
    backend = _open(cfg.db_path, cfg.settings)
    if backend is None:
        return 2
    r = backend.clearing.settle()
    print(f"Revisadas {r.checked} · acreditadas {r.credited} · devueltas {r.returned} · "
          f"en proceso {r.pending} · sin respuesta de la red {r.failed}")
    return 0


def _verify_receipt(path: Path, receipt: Path) -> int:
    from backend.receipts import verify

    backend = _open(path, readonly=True)
    if backend is None:
        return 2
    try:
        text = receipt.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"No se pudo leer el comprobante: {exc}", file=sys.stderr)
        return 2
    if verify(backend.ctx.secret("receipt_secret"), text):
        print("Comprobante auténtico: su contenido coincide con el código de verificación.")
        return 0
    print("Comprobante ALTERADO o de otra cooperativa: el contenido no coincide con el código de verificación.")
    return 1


def _institutions(path: Path, csv_path: Path) -> int:
    from backend import institutions
    from backend.errors import ServiceError

    backend = _open(path)
    if backend is None:
        return 2
    try:
        count = institutions.load_csv(backend.db, csv_path)
    except (ServiceError, OSError, KeyError) as exc:
        print(f"No se cargaron instituciones: {exc}", file=sys.stderr)
        return 1
    print(f"Instituciones cargadas o actualizadas: {count}")
    return 0


def _run(cfg, demo: bool) -> int:
    from backend.errors import ServiceError
    from backend.service import Backend

    if demo and not cfg.db_path.exists():
        code = _demo_data(cfg, cfg.db_path, 2026, 50)
        if code:
            return code
    if not cfg.db_path.exists():
        print(f"No existe la base de datos {cfg.db_path}. Crea una con: cooprogreso demo-data --db "
              f"{cfg.db_path}  (o usa cooprogreso --demo)", file=sys.stderr)
        return 2
    try:
        backend = Backend(cfg.db_path, cfg.settings, create=False)
    except ServiceError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    from .app import CooprogresoApp

    app = CooprogresoApp(backend, export_dir=cfg.export_dir)
    try:
        app.run()
    finally:
        if app.signed_in:  # closed without SALIR: the session must not outlive the terminal
            backend.auth.logout(app.token, "cerrar_aplicacion")
        backend.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
