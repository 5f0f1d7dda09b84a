"""`cooprogreso-session`: one member session (SSH or a browser tab) started by the warm server (`cooprogreso warm`),
or, when that server is absent, silent or answers nonsense, by a cold start of `cooprogreso` as before.

    cooprogreso-session --socket PATH [ARGS…]     # ARGS: what a cold start passes to `cooprogreso` (e.g. --db DB)

It hands the server its terminal (or textual-serve's pipes) as stdin/stdout/stderr and an allow-listed environment,
relays SIGWINCH/SIGHUP/SIGTERM/SIGINT to the session over the socket and exits with the session's status. The
server only starts a session when ARGS are the ones it was started for: the database is the server's, never this
client's choice. Standard library only, imported by nothing else: it runs before every warm session (#23).
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import stat
import struct
import sys

PROTOCOL = b"COOPROGRESO-WARM-1"
MAX_REQUEST = 64 * 1024
# What a session may take from the caller's environment; everything else is the server's (its deployment's).
ALLOWED_ENV = ("TERM", "COLORTERM", "SSH_CONNECTION", "TEXTUAL_DRIVER", "TEXTUAL_FPS", "TEXTUAL_COLOR_SYSTEM",
               "TERM_PROGRAM", "TERM_PROGRAM_VERSION", "COLUMNS", "ROWS", "COOPROGRESO_WEB_CLIENT")
# The signals a session gets from its caller, one byte each over the socket (same letters both ends).
RELAYED: dict[int, bytes] = {signal.SIGWINCH: b"W", signal.SIGHUP: b"H", signal.SIGTERM: b"T", signal.SIGINT: b"I"}
STARTED, GO, REFUSED, EXITED = b"S", b"G", b"N", b"X"
CONNECT_SECONDS = 1.0
ANSWER_SECONDS = 3.0  # a fork and a few syscalls: a server this slow is treated as absent


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 2 or argv[0] != "--socket":
        print("uso: cooprogreso-session --socket RUTA [ARGUMENTOS…]", file=sys.stderr)
        return 2
    path, cold = argv[1], argv[2:]
    conn = _connect(path, cold)
    if conn is None:
        return _cold(cold)
    return _follow(conn)


def _cold(args: list[str]) -> int:
    """Today's start: the app's own entry point beside this one, in this process (exec: no process left over)."""
    app = os.path.join(os.path.dirname(sys.executable), "cooprogreso")
    if os.access(app, os.X_OK):
        os.execv(app, [app, *args])
    os.execv(sys.executable, [sys.executable, "-m", "cooprogreso_tui.cli", *args])
    return 1  # not reached


def _connect(path: str, cold: list[str]) -> socket.socket | None:
    """A socket to a session that waits for GO, or None (then: a cold start). Only a server of this same account
    is believed: a socket planted by anyone else would otherwise receive the member's terminal."""
    try:
        folder = os.stat(os.path.dirname(path) or ".")
        if folder.st_uid != os.geteuid() or folder.st_mode & 0o022 or not stat.S_ISSOCK(os.stat(path).st_mode):
            return None
    except OSError:
        return None
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.settimeout(CONNECT_SECONDS)
        conn.connect(path)
        _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                              struct.calcsize("3i")))
        if uid != os.geteuid():
            conn.close()
            return None
        env = {name: os.environ[name] for name in ALLOWED_ENV if name in os.environ}
        request = PROTOCOL + b" " + json.dumps({"args": cold, "env": env}).encode()
        if len(request) > MAX_REQUEST:
            conn.close()
            return None
        conn.settimeout(ANSWER_SECONDS)
        conn.sendmsg([request], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("3i", 0, 1, 2))])
        if conn.recv(1) != STARTED:  # refused (not the server's arguments), closed, or nonsense
            conn.close()
            return None
        conn.sendall(GO)  # from here on the session is the server's child: no cold start any more
    except OSError:
        conn.close()
        return None
    return conn


def _follow(conn: socket.socket) -> int:
    """Relay signals to the session until it ends; its status is this process's."""
    conn.settimeout(None)
    pending: list[bytes] = []
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)

    def relay(signum: int, _frame: object) -> None:
        pending.append(RELAYED[signum])
        try:
            os.write(wake_w, b".")
        except OSError:
            pass

    for signum in RELAYED:
        signal.signal(signum, relay)
    received = b""
    while True:
        while pending:
            try:
                conn.sendall(pending.pop(0))
            except OSError:
                pending.clear()
        try:
            ready, _, _ = select.select([conn.fileno(), wake_r], [], [])
        except InterruptedError:
            continue
        if wake_r in ready:
            os.read(wake_r, 512)
        if conn.fileno() in ready:
            try:
                chunk = conn.recv(64)
            except OSError:
                chunk = b""
            if not chunk:  # the session ended without a status (killed): a failure, as a killed app's would be
                return _status(received)
            received = (received + chunk)[-64:]


def _status(received: bytes) -> int:
    """The session's exit status from its last «X<code>\\n», or 1 when it sent none."""
    _, sep, tail = received.rpartition(EXITED)
    line = tail.split(b"\n", 1)[0]
    if sep and line.isdigit() and len(line) <= 3:
        return min(int(line), 255)
    return 1


if __name__ == "__main__":
    sys.exit(main())
