"""`cooprogreso warm`: a warm-start server (a zygote, as Emacs's daemon or Android's) for member sessions.

A cold session pays Python's start and the app's imports before its first frame; over SSH or in a browser
tab that comes on top of the channel's own costs (#23). This server pays them once: it imports what a session
needs and then, per request of `cooprogreso-session` (cooprogreso_tui/warm_client.py) of its own account, forks
a child that takes the caller's stdin/stdout/stderr (SCM_RIGHTS) and an allow-listed environment and runs
exactly what `cooprogreso --db X` runs. Before forking it opens no database, loads no key, starts no thread and
makes no event loop: nothing of one session is shared with the next. A child is its own session (setsid): it
outlives the server, and ends when its caller goes (EOF on the socket is a hang-up).
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import logging
import os
import signal
import socket
import stat
import struct
import sys
import threading
from pathlib import Path

from .warm_client import ALLOWED_ENV, EXITED, GO, MAX_REQUEST, PROTOCOL, RELAYED, REFUSED, STARTED

log = logging.getLogger("cooprogreso.warm")
REQUEST_SECONDS = 2.0  # a caller that connects and says nothing holds the server this long at most
MAX_ENV_VALUE = 512
# The only driver a caller may name (textual-serve's); any other would be a module to import chosen by the caller.
WEB_DRIVER = "textual.drivers.web_driver:WebDriver"
# The environment the server's own start may carry for a terminal: never passed on, only the caller's counts.
CALLER_ONLY = frozenset(ALLOWED_ENV) | {"LINES", "SUDO_USER", "SUDO_UID", "SUDO_GID", "SUDO_COMMAND"}
SIGNALS = {letter: signum for signum, letter in RELAYED.items()}


def preload() -> None:
    """What a session imports before its sign-in screen, imported once here (the point of the server)."""
    import hashlib  # noqa: F401
    import hmac  # noqa: F401
    import secrets  # noqa: F401  (its state is the kernel's: os.urandom, nothing to share across forks)

    import textual.drivers.linux_driver  # noqa: F401
    import textual.drivers.web_driver  # noqa: F401
    import textual.layouts.factory  # noqa: F401
    import textual.layouts.horizontal  # noqa: F401
    import textual.layouts.stream  # noqa: F401

    import backend.core.files  # noqa: F401
    import backend.core.keys  # noqa: F401
    import backend.service  # noqa: F401
    import screens.shared.size  # noqa: F401
    import screens.shared.themes  # noqa: F401

    from . import app, cli, config, dbcheck, logs  # noqa: F401


def check_folder(path: Path) -> str | None:
    """Why the socket's folder is unsafe (another account could replace the socket), or None."""
    try:
        folder = path.parent.stat()
    except OSError as exc:
        from backend.core.errors import os_reason

        return f"no se puede usar la carpeta {path.parent}: {os_reason(exc)}"
    if folder.st_uid != os.geteuid() or folder.st_mode & 0o077:
        return (f"la carpeta {path.parent} debe ser de esta cuenta y solo de ella (modo 0700), "
                "p. ej. RuntimeDirectory= de systemd")
    return None


def bind(path: Path) -> socket.socket:
    """The listening socket (0600). A socket file left by a server that died is replaced; one that answers is
    a server already running, and this one does not start."""
    if path.exists() or path.is_symlink():
        if not stat.S_ISSOCK(path.lstat().st_mode):
            raise ValueError(f"{path} existe y no es un socket")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.settimeout(1.0)
            probe.connect(str(path))
        except OSError:
            path.unlink()  # stale: nobody listens
        else:
            raise ValueError(f"ya hay un servidor en {path}")
        finally:
            probe.close()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        listener.bind(str(path))
    finally:
        os.umask(old)
    listener.listen(64)
    return listener


def serve(path: Path, session_args: list[str], *, with_parent: bool = False) -> int:
    """Answer requests until SIGTERM/SIGINT. session_args: the `cooprogreso` arguments of every session.
    with_parent: also end when the process that started this one does (`cooprogreso web`'s own server)."""
    for fd in (0, 1, 2):  # a received descriptor must never land on 0-2 before they are replaced
        try:
            os.fstat(fd)
        except OSError:
            os.open(os.devnull, os.O_RDWR)
    problem = check_folder(path)
    if problem:
        print(f"cooprogreso warm: {problem}", file=sys.stderr)
        return 2
    preload()
    try:
        listener = bind(path)
    except (ValueError, OSError) as exc:
        print(f"cooprogreso warm: {exc}", file=sys.stderr)
        return 2
    base_env = {k: v for k, v in os.environ.items() if k not in CALLER_ONLY and not k.startswith("TEXTUAL")}
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        listener.close()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel; none is waited for
    sys.stdout.flush()
    sys.stderr.flush()
    gc.collect()
    gc.freeze()  # the imported objects stay out of every child's collections: fewer pages copied per session
    parent = os.getppid()
    installed = _installed()
    if with_parent:
        listener.settimeout(1.0)
    print(f"cooprogreso warm: listo en {path}", file=sys.stderr, flush=True)
    try:
        while not stopping:
            try:
                conn, _ = listener.accept()
            except OSError:
                if stopping or (with_parent and os.getppid() != parent):
                    break
                continue
            conn.setblocking(True)
            with conn:
                if not _answer(conn, listener, session_args, base_env, installed):
                    print("cooprogreso warm: la aplicación se actualizó; el servidor termina para volver a "
                          "arrancar con ella", file=sys.stderr, flush=True)
                    return 3  # nonzero: systemd's Restart=on-failure starts it again, on the new code
    finally:
        with contextlib.suppress(OSError):
            if path.exists() and stat.S_ISSOCK(path.lstat().st_mode):
                path.unlink()
            if with_parent:  # `cooprogreso web`'s temporary folder, left behind if the web server was killed
                path.parent.rmdir()
    return 0


def _installed() -> tuple[int, int] | None:
    """Which installation of the app is on disk (an upgrade writes its files anew): the sessions import the rest
    of the app (each area's screens) from there, after the fork."""
    try:
        found = os.stat(Path(__file__).with_name("__init__.py"))
    except OSError:
        return None
    return found.st_ino, found.st_mtime_ns


def _answer(conn: socket.socket, listener: socket.socket, session_args: list[str], base_env: dict[str, str],
            installed: tuple[int, int] | None) -> bool:
    """One request: checked, then forked; every received descriptor is closed here whatever happens. False when
    the app was upgraded under this server: a session would mix old and new modules (it imports most of the app
    after the fork), so the caller is refused (it starts cold, on the new code) and the server must end."""
    fds: list[int] = []
    try:
        _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                              struct.calcsize("3i")))
        if uid != os.geteuid():  # the socket's mode already keeps others out; this is the second lock
            log.warning("warm: refused a caller of uid %s", uid)
            return True
        conn.settimeout(REQUEST_SECONDS)
        data, ancdata, flags, _ = conn.recvmsg(MAX_REQUEST, socket.CMSG_SPACE(3 * 4), socket.MSG_CMSG_CLOEXEC)
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.extend(struct.unpack(f"{len(payload) // 4}i", payload[:len(payload) - len(payload) % 4]))
        env = _request(data, session_args)
        current = _installed() == installed
        if env is None or len(fds) != 3 or flags & (socket.MSG_CTRUNC | socket.MSG_TRUNC) or not current:
            with contextlib.suppress(OSError):
                conn.sendall(REFUSED)
            return current
        pid = os.fork()
        if pid == 0:
            _child(conn, listener, fds, session_args, {**base_env, **env})  # never returns
    except OSError as exc:
        log.warning("warm: a request failed: %s", exc)
    finally:
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)
    return True


def _request(data: bytes, session_args: list[str]) -> dict[str, str] | None:
    """The caller's allow-listed environment, or None for anything but a well-formed request for this server's
    own session arguments."""
    head, sep, body = data.partition(b" ")
    if head != PROTOCOL or not sep:
        return None
    try:
        request = json.loads(body)
    except (ValueError, RecursionError):  # nested ten thousand deep is not a request either
        return None
    if not isinstance(request, dict) or request.get("args") != session_args or not isinstance(request.get("env"), dict):
        return None
    env = {}
    for name, value in request["env"].items():
        if name not in ALLOWED_ENV or not isinstance(value, str) or len(value) > MAX_ENV_VALUE or "\0" in value:
            return None
        env[name] = value
    if env.get("TEXTUAL_DRIVER", WEB_DRIVER) != WEB_DRIVER:
        return None
    return env


def _child(conn: socket.socket, listener: socket.socket, fds: list[int], session_args: list[str],
           env: dict[str, str]) -> None:
    """The session: the caller's descriptors as 0/1/2, its environment, a go-ahead, then `cooprogreso ARGS`."""
    code = 1
    try:
        listener.close()
        os.setsid()  # not the server's session nor process group: a signal to the server never reaches a member
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD, signal.SIGWINCH):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)  # dup2 clears close-on-exec, as a cold start's 0/1/2 are
        keep = conn.fileno()
        os.closerange(3, keep)  # nothing of the server's or another session's (only the listener was open)
        os.closerange(keep + 1, 1 << 16)
        os.environ.clear()
        os.environ.update(env)
        _std_streams()
        _textual_environment()
        conn.settimeout(REQUEST_SECONDS)
        conn.sendall(STARTED)
        if conn.recv(1) != GO:  # the caller gave up (and starts cold): this session never runs
            os._exit(0)
        conn.settimeout(None)
        threading.Thread(target=_relay, args=(conn,), daemon=True, name="warm-relay").start()
        from . import cli

        sys.argv = [str(Path(sys.executable).parent / "cooprogreso"), *session_args]  # as a cold start sees it
        code = cli.main(list(session_args))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 — a child must never return into the server's loop
        with contextlib.suppress(Exception):
            log.exception("warm: session failed")
    finally:
        try:
            for relayed in SIGNALS.values():  # a hang-up now (the caller leaving) must not run the app's handler
                signal.signal(relayed, signal.SIG_IGN)
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            conn.sendall(EXITED + b"%d\n" % (code & 0xFF))
        except BaseException:  # noqa: BLE001, S110 — whatever happens, never back into the server's loop
            pass
        finally:
            os._exit(code & 0xFF)


def _std_streams() -> None:
    """sys.std* as a cold start makes them for these descriptors (the server's were made for its own)."""
    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        old = getattr(sys, name)
        raw = io.FileIO(fd, mode, closefd=False)
        buffered = io.BufferedReader(raw) if mode == "r" else io.BufferedWriter(raw)
        tty = os.isatty(fd)
        stream = io.TextIOWrapper(buffered, encoding=getattr(old, "encoding", None) or "utf-8",
                                  errors=getattr(old, "errors", None) or "strict",
                                  line_buffering=tty or fd == 2, write_through=fd == 2)
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


def _textual_environment() -> None:
    """Textual reads TEXTUAL_* (driver, colours, frame rate) when imported, and the server imported it before
    any caller's environment existed: read again, so a browser tab gets the web driver."""
    import importlib

    import textual.constants

    importlib.reload(textual.constants)


def _relay(conn: socket.socket) -> None:
    """The caller's signals, raised here; its end (EOF: killed, or its connection dropped) is a hang-up."""
    while True:
        try:
            chunk = conn.recv(64)
        except OSError:
            chunk = b""
        if not chunk:
            os.kill(os.getpid(), signal.SIGHUP)
            return
        for letter in chunk:
            signum = SIGNALS.get(bytes([letter]))
            if signum is not None:
                os.kill(os.getpid(), signum)
