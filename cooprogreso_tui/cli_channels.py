"""`cooprogreso web` (the app in a browser, via textual-serve) and `cooprogreso play` (scripted demos)."""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import sys
import tempfile
from pathlib import Path


def db_arguments(target, environ=os.environ) -> list[str]:
    """How each browser tab's process is told the database. A file: `--db PATH`. A PostgreSQL URL may hold a
    password: `str()` prints it masked (the child could not connect) and a command line is visible to `ps`, so
    the URL goes to the children through the environment (COOPROGRESO_DB) instead."""
    from backend.core.db import DatabaseUrl

    if isinstance(target, DatabaseUrl):
        environ["COOPROGRESO_DB"] = target.url
        return []
    return ["--db", str(target)]


def register(sub) -> None:
    web = sub.add_parser("web", help="servir la aplicación en el navegador (textual-serve)")
    web.add_argument("--host", default="127.0.0.1", help="dirección local (por defecto 127.0.0.1)")
    web.add_argument("--port", type=int, default=8000)
    web.add_argument("--db", dest="target", help="ruta de la base de datos")
    web.add_argument("--public-url", help="URL pública https del proxy inverso (obligatoria fuera de loopback)")
    web.add_argument("--behind-proxy", action="store_true",
                     help="declara que un proxy inverso TLS con autenticación está delante")
    web.add_argument("--trusted-proxy", action="append", default=[], metavar="IP",
                     help="dirección del proxy inverso cuyo X-Forwarded-For se cree (de nadie más)")
    web.add_argument("--demo", action="store_true", dest="web_demo",
                     help="usar la cooperativa de demostración (se crea si falta)")
    web.add_argument("--play", metavar="GUION", help="cada pestaña reproduce este guion de demostración")
    web.add_argument("--speed", type=float, default=1.0, help="con --play: velocidad de reproducción (2 = el doble)")
    web.set_defaults(handler=_web)

    warm = sub.add_parser("warm", help="servidor de arranque en caliente de las sesiones SSH y web "
                                       "(systemd: cooprogreso-warm)")
    warm.add_argument("--db", dest="target", help="base de datos de las sesiones (si no, la de la configuración)")
    warm.add_argument("--socket", required=True, help="socket unix (en una carpeta 0700 de esta cuenta)")
    warm.add_argument("--until-parent-exits", action="store_true", help=argparse.SUPPRESS)
    warm.set_defaults(handler=_warm)

    play = sub.add_parser("play", help="reproducir un guion de demostración (TOML)")
    play.add_argument("script", metavar="GUION")
    play.add_argument("--db", dest="target", help="base de datos (por defecto una demostración nueva y temporal)")
    play.add_argument("--speed", type=float, default=1.0, help="velocidad de reproducción (2 = el doble)")
    play.add_argument("--headless", action="store_true", help="sin pantalla (CI): tan rápido como responda la app")
    play.add_argument("--screenshots", metavar="DIR", help="guardar capturas SVG de los pasos screenshot y del fallo")
    play.add_argument("--record", metavar="ARCHIVO", help="grabar la sesión en formato asciicast v2")
    play.set_defaults(handler=_play)


# -- web -----------------------------------------------------------------------------------------
def _web(cfg, args) -> int:
    from . import web

    try:
        origins = web.check_bind(args.host, args.port, args.public_url, args.behind_proxy)
        trusted = web.trusted_proxies(args.trusted_proxy)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.speed <= 0:
        print("--speed debe ser mayor que 0", file=sys.stderr)
        return 2
    demo = args.demo or args.web_demo
    if demo and args.play is None and not args.target and not cfg.db_path.exists():
        from .cli import demo_data

        code = demo_data(cfg, cfg.db_path, 2026, 50)
        if code:
            return code
    if args.play is None and not cfg.db_path.exists():
        print(f"No existe la base de datos {cfg.db_path}. Crea una con: cooprogreso demo-data --db {cfg.db_path}",
              file=sys.stderr)
        return 2
    base = [sys.executable, "-m", "cooprogreso_tui.cli"]
    for pair in args.set:
        base += ["--set", pair]
    if args.play is not None:
        command = base + ["play", str(Path(args.play).resolve()), "--speed", f"{args.speed:g}"]
        if args.target:
            command += db_arguments(cfg.db_path)
    else:
        command = base + db_arguments(cfg.db_path)
    from .worker import in_thread

    # a demo co-op is one command, as `cooprogreso --demo` is: its worker runs in a thread of the server (a
    # worker already running beside it keeps the lease; this one waits as its standby). A real co-op's
    # worker is its own service (deploy/systemd); the scripted demos (--play) each run their own.
    with contextlib.ExitStack() as stack:
        if args.play is None:  # each tab forked by a warm server of its own, started already (#23)
            command = stack.enter_context(_warm_sessions(cfg, args, command[3:]))
            if _is_demo(cfg):
                stack.enter_context(in_thread(cfg.db_path, cfg.settings))
        server = web.CooprogresoServer(shlex.join(command), host=args.host, port=args.port,
                                       public_url=args.public_url, origins=origins, trusted=trusted,
                                       prestart=args.play is None)
        server.serve()
    return 0


def _is_demo(cfg) -> bool:
    from backend.core.errors import ServiceError
    from backend.service import Backend

    try:
        backend = Backend(cfg.db_path, cfg.settings, create=False, migrate=False)
    except ServiceError:
        return False  # each tab's app says what is wrong with the database
    try:
        return backend.ctx.is_demo
    finally:
        backend.close()


# -- warm ----------------------------------------------------------------------------------------
def session_arguments(cfg, args) -> list[str]:
    """What a cold session runs `cooprogreso` with, as the caller (sudoers, the web command) writes it: a warm
    session starts only for a caller asking for exactly these (the database is the server's choice)."""
    out = []
    for pair in args.set:
        out += ["--set", pair]
    return out + db_arguments(cfg.db_path) if args.target is None else out + ["--db", args.target]


def _warm(cfg, args) -> int:
    from . import warm

    if isinstance(cfg.db_path, Path) and not cfg.db_path.exists():
        print(f"No existe la base de datos {cfg.db_path}.", file=sys.stderr)
        return 2
    return warm.serve(Path(args.socket), session_arguments(cfg, args), with_parent=args.until_parent_exits)


@contextlib.contextmanager
def _warm_sessions(cfg, args, cold: list[str]):
    """`cooprogreso web`'s own warm server, a child process: each tab's command asks it for the session (`cold`
    is what that command starts when it gets none). It ends with the web server, even one killed with -9."""
    import subprocess
    import time

    folder = Path(tempfile.mkdtemp(prefix="cooprogreso-warm-"))  # 0700, this account's
    path = folder / "warm.sock"
    # the tabs' own arguments before the command: its sessions are asked for exactly those
    command = [sys.executable, "-m", "cooprogreso_tui.cli", *cold, "warm", "--socket", str(path),
               "--until-parent-exits"]
    server = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    session = Path(sys.executable).parent / "cooprogreso-session"
    client = [str(session)] if session.exists() else [sys.executable, "-m", "cooprogreso_tui.warm_client"]
    try:
        deadline = time.monotonic() + 30  # tabs opened before it is ready start cold: no wait is needed for them
        while not path.exists() and server.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        yield [*client, "--socket", str(path), *cold]
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(folder, ignore_errors=True)


# -- play ----------------------------------------------------------------------------------------
def _play(cfg, args) -> int:
    from . import play

    try:
        script = play.load(args.script)
    except play.ScriptError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.speed <= 0:
        print("--speed debe ser mayor que 0", file=sys.stderr)
        return 2
    if args.target:
        if not cfg.db_path.exists():
            print(f"No existe la base de datos {cfg.db_path}.", file=sys.stderr)
            return 2
        return _play_on(cfg, cfg.db_path, script, args)
    # A fresh demo co-op for every run: a demo always starts from the same state.
    with tempfile.TemporaryDirectory(prefix="cooprogreso-demo-") as folder:
        from backend.demo.coop import create_demo

        path = Path(folder) / "demo.sqlite3"
        create_demo(path, seed=2026, members=50, settings=cfg.settings)
        return _play_on(cfg, path, script, args)


def _play_on(cfg, path: Path, script, args) -> int:
    from backend.core.errors import ServiceError
    from backend.service import Backend

    from . import play
    from .app import CooprogresoApp

    try:
        backend = Backend(path, cfg.settings, create=False)
    except ServiceError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    record = open(args.record, "w", encoding="utf-8") if args.record else None  # noqa: SIM115
    app = CooprogresoApp(backend, export_dir=cfg.export_dir)
    size = script.size if args.headless else None
    width, height = size or _terminal_size(script.size)
    recorder = play.Recorder(record, width, height, script.title) if record else None
    player = play.Player(script, pacing=play.Pacing.for_speed(args.speed, args.headless),
                         show_captions=not args.headless or record is not None,
                         screenshots=Path(args.screenshots) if args.screenshots else None,
                         recorder=recorder, log=sys.stdout if args.headless else None)
    from .worker import in_thread

    try:  # a scripted demo is one command: the worker runs in a thread beside it
        with in_thread(path, cfg.settings):
            app.run(headless=args.headless, size=size, auto_pilot=player)
    finally:
        if app.signed_in:
            backend.auth.logout(app.token, "cerrar_aplicacion")
        backend.close()
        if record:
            record.close()
    failure = player.failure
    if failure is None and player.done < len(script.steps):
        print(f"La demostración «{script.title}» terminó antes de tiempo (paso {player.done + 1}).", file=sys.stderr)
        return 1
    if failure is not None:
        from backend.core.text import visible

        print(visible(f"La demostración «{script.title}» falló en el {failure.step.describe()}: {failure.message}"),
              file=sys.stderr)
        print("Pantalla en ese momento:", file=sys.stderr)
        for line in failure.screen.splitlines():
            print(visible(line), file=sys.stderr)
        return 1
    if args.headless:
        print(f"Demostración «{script.title}» completa: {len(script.steps)} pasos.")
    return 0


def _terminal_size(default: tuple[int, int]) -> tuple[int, int]:
    import shutil

    size = shutil.get_terminal_size(default)
    return size.columns, size.lines
