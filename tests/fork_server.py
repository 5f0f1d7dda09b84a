"""Starts a test's processes (`cooprogreso` commands, worker scripts) by forking them from a server process that has
imported the backend (and the CLI) once, instead of a fresh interpreter each (~0.2-0.4 s of CPU, mostly imports).
Each is still a separate process with its own pid, connections, files and environment, started when the test
asks: kill -9, locks and leases stay real. The server has no threads and no open database.

Test side: `ForkServer(preload).start(entry, argv, env=..., out_dir=...)` gives a `Forked` with the
`subprocess.Popen` calls the tests use (pid, poll, wait, communicate, kill, returncode); `run_script` and
`start_scripts` run worker scripts from this test process's shared server (instead of an interpreter per
script). Server side: `main()`, one request at a time on a SOCK_SEQPACKET socket, the child's
stdio as passed descriptors. The server reaps its children, so their CPU is counted in the test process's
children only when the server is (module teardown, or the test process's exit for the shared one).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import runpy
import select
import signal
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Forked:
    """One forked command, as much of `subprocess.Popen` as the tests use; its output goes to two files."""

    def __init__(self, server: ForkServer, pid: int, args: list[str], out: Path, err: Path):
        self.server, self.pid, self.args, self.out, self.err = server, pid, args, out, err
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.server.collect(block=False)
            self.returncode = self.server.codes.get(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            self.server.collect(block=True, timeout=left)
        assert self.returncode is not None
        return self.returncode

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        self.wait(timeout)
        return self.out.read_text(), self.err.read_text()

    def kill(self) -> None:
        if self.poll() is None:
            os.kill(self.pid, signal.SIGKILL)


class ForkServer:
    """The server process, started once (per test module, say) with `preload` imported; `close` ends it."""

    def __init__(self, preload: list[str]):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock = ours
        self.codes: dict[int, int] = {}
        self.proc = subprocess.Popen([sys.executable, __file__, str(theirs.fileno()), *preload], pass_fds=[theirs.fileno()],
                                     cwd=ROOT, stdin=subprocess.DEVNULL)
        theirs.close()
        ready = json.loads(self.sock.recv(4096))  # the imports are done (or failed, said here)
        assert ready == {"ready": True}, ready
        self.count = 0

    def start(self, entry: str, argv: list[str], *, env: dict[str, str], out_dir: Path, cwd: str | Path = ROOT,
              out: Path | None = None, err: Path | None = None, stdin: int | None = None) -> Forked:
        """Run `entry` with `argv`: "module:function" as a console script names it (`sys.exit(function())`), or a
        script's path (run as `python SCRIPT` would). stdin: a descriptor to read (default /dev/null)."""
        self.count += 1
        out = out or out_dir / f"forked-{self.count}.out"
        err = err or out_dir / f"forked-{self.count}.err"
        with open(os.devnull, "rb") as null, open(out, "wb") as stdout, open(err, "wb") as stderr:
            request = json.dumps({"entry": entry, "argv": argv, "env": env, "cwd": str(cwd)}).encode()
            fds = [null.fileno() if stdin is None else stdin, stdout.fileno(), stderr.fileno()]
            socket.send_fds(self.sock, [request], fds)
            while True:  # exits of earlier children may come first
                message = json.loads(self.sock.recv(4096))
                if "started" in message:
                    return Forked(self, message["started"], [entry, *argv], out, err)
                self.codes[message["pid"]] = message["code"]

    def collect(self, *, block: bool, timeout: float | None = None) -> None:
        """Record the exits the server has reported (waiting up to `timeout` for one if `block`)."""
        ready, _, _ = select.select([self.sock], [], [], timeout if block else 0)
        while ready:
            data = self.sock.recv(4096)
            assert data, f"the fork server ended (exit {self.proc.poll()})"
            message = json.loads(data)
            self.codes[message["pid"]] = message["code"]
            ready, _, _ = select.select([self.sock], [], [], 0)

    def close(self) -> None:
        self.sock.close()  # the server ends when its socket does; its children have ended or been killed by then
        self.proc.wait(timeout=30)


_shared: ForkServer | None = None
WORKER_PRELOAD = ["backend.core.settings", "backend.service", "backend.transfers.transfers"]


def shared() -> ForkServer:
    """This test process's server for worker scripts (the backend imported), started on first use and ended
    (and waited for, so its children's CPU is counted) when the process exits."""
    global _shared
    if _shared is None or _shared.proc.poll() is not None:
        import atexit

        pg = ["psycopg"] if os.environ.get("COOPROGRESO_TEST_PG_URL") else []
        _shared = ForkServer(WORKER_PRELOAD + pg)
        atexit.register(_shared.close)
    return _shared


def start_scripts(script: str | Path, out_dir: Path, args_list: list[list[str]]) -> list[Forked]:
    """From the shared server: one process per argument list running `script`
    (its output in OUT_DIR/i.out and i.err), each reading «go» on its stdin once all have started."""
    server = shared()
    procs, gos = [], []
    try:
        for index, args in enumerate(args_list):
            go_read, go_write = os.pipe()
            gos.append(go_write)
            try:
                procs.append(server.start(str(script), args, env=dict(os.environ), out_dir=out_dir, cwd=os.getcwd(),
                                          out=out_dir / f"{index}.out", err=out_dir / f"{index}.err", stdin=go_read))
            finally:
                os.close(go_read)
        for go in gos:
            with contextlib.suppress(BrokenPipeError):  # one that died at once: its exit code tells
                os.write(go, b"go\n")
    except BaseException:
        for proc in procs:
            proc.kill()
        raise
    finally:
        for go in gos:
            os.close(go)
    return procs


def run_script(script: str | Path, out_dir: Path, args_list: list[list[str]], timeout: float = 180) -> list[int]:
    """`start_scripts`, then their exit codes (any still running after `timeout` is killed)."""
    procs = start_scripts(script, out_dir, args_list)
    try:
        return [proc.wait(timeout) for proc in procs]
    finally:
        for proc in procs:
            proc.kill()


def _child(sock: socket.socket, wake: int, request: dict, fds: list[int]) -> None:
    code = 1
    try:
        sock.close()
        os.close(wake)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        entry = request["entry"]
        sys.argv = [entry.split(":")[0], *request["argv"]]
        try:
            if entry.endswith(".py"):
                runpy.run_path(entry, run_name="__main__")
                code = 0
            else:
                module, function = entry.split(":")
                sys.exit(getattr(importlib.import_module(module), function)())
        except SystemExit as stop:
            if stop.code is None or isinstance(stop.code, int):
                code = stop.code or 0
            else:
                print(stop.code, file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        with contextlib.suppress(BaseException):
            traceback.print_exc()
            sys.stderr.flush()
    os._exit(code)


def main() -> None:
    sock = socket.socket(fileno=int(sys.argv[1]))
    for module in sys.argv[2:]:
        importlib.import_module(module)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    sock.send(json.dumps({"ready": True}).encode())
    live: set[int] = set()
    while True:
        ready, _, _ = select.select([sock, wake_read], [], [])
        if wake_read in ready:
            os.read(wake_read, 4096)
            for pid, code in _reap(block=False):
                live.discard(pid)
                _send(sock, {"pid": pid, "code": code})
        if sock in ready:
            data, fds, _, _ = socket.recv_fds(sock, 1 << 20, 3)
            if not data:
                break
            pid = os.fork()
            if pid == 0:
                _child(sock, wake_read, json.loads(data), fds)
            for fd in fds:
                os.close(fd)
            live.add(pid)
            _send(sock, {"started": pid})
    for pid in live:  # the test side went away (a failed test) with children running: none is left behind
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _reap(block=True)


def _send(sock: socket.socket, message: dict) -> None:
    with contextlib.suppress(OSError):  # the test side has gone: the loop ends at its next read
        sock.send(json.dumps(message).encode())


def _reap(*, block: bool) -> list[tuple[int, int]]:
    ended = []
    with contextlib.suppress(ChildProcessError):
        while True:
            pid, status = os.waitpid(-1, 0 if block else os.WNOHANG)
            if pid == 0:
                break
            ended.append((pid, os.waitstatus_to_exitcode(status)))
    return ended


if __name__ == "__main__":
    main()
