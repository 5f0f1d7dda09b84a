"""The warm-start server (`cooprogreso warm`) and its client (`cooprogreso-session`) as real processes on this
machine: sessions in tmux at 80×24, requests of every wrong shape, a stale socket, a server already running.
Over SSH (sudo, the service account, kill -9 of each part): tests/app/test_ssh.py."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cooprogreso_tui import warm_client
from tests.channels import FAST_SET, cli, cmdline, make_demo, need

pytestmark = pytest.mark.slow
SESSION = str(Path(sys.executable).parent / "cooprogreso-session")


class Warm:
    def __init__(self, tmp: Path, demo: Path, cwd: Path | None = None) -> None:
        self.demo = demo
        self.cwd = cwd  # `-m` imports the app from here first (a copy of it, for the upgrade test)
        self.folder = tmp / "run"
        self.folder.mkdir(mode=0o700, exist_ok=True)
        self.socket = self.folder / "warm.sock"
        self.log = tmp / "warm.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Warm:
        out = open(self.log, "w")  # noqa: SIM115
        self.proc = subprocess.Popen(cli("warm", "--db", str(self.demo), "--socket", str(self.socket)),
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=self.cwd)
        out.close()
        deadline = time.monotonic() + 60
        while "listo en" not in self.log.read_text():
            assert self.proc.poll() is None and time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.05)
        return self

    @property
    def args(self) -> list[str]:
        """What each session's caller asks for: the server's own session arguments."""
        return [*FAST_SET, "--db", str(self.demo)]

    def client(self, *args: str) -> list[str]:
        return [SESSION, "--socket", str(self.socket), *(args or self.args)]

    def children(self) -> list[int]:
        assert self.proc is not None
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


@pytest.fixture
def server(tmp_path):
    need(shutil.which("tmux") is not None, "tmux is not installed")
    running = Warm(tmp_path, make_demo(tmp_path / "demo.sqlite3")).start()
    yield running
    running.stop()


def ask(path: Path, message: bytes, fds: tuple[int, ...] = (0, 1, 2)) -> bytes:
    """One raw request; what the server answers (b"" when it closes)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(10)
        conn.connect(str(path))
        rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack(f"{len(fds)}i", *fds))] if fds else []
        conn.sendmsg([message], rights)
        try:
            return conn.recv(16)
        except ConnectionResetError:
            return b""


def request(args: list[str], env: dict | None = None) -> bytes:
    import json

    return warm_client.PROTOCOL + b" " + json.dumps({"args": args, "env": env or {"TERM": "xterm"}}).encode()


def test_requests_of_the_wrong_shape_are_refused_and_the_server_goes_on(server):
    with open(os.devnull, "rb") as null:
        wrong = [
            b"GET / HTTP/1.0\r\n\r\n",
            warm_client.PROTOCOL + b" {not json",
            warm_client.PROTOCOL + b" " + b"[" * 60_000,
            request(["--db", "/tmp/otra.sqlite3"]),  # a database of the caller's choosing
            request([*server.args, "check"]),
            request(server.args, {"COOPROGRESO_DB": "/tmp/otra.sqlite3"}),  # nothing outside the allow-list
            request(server.args, {"TEXTUAL_DRIVER": "os:system"}),  # a driver is a module to import
            request(server.args, {"TERM": "x" * 10_000}),
        ]
        for message in wrong:
            assert ask(server.socket, message, (null.fileno(),) * 3) == b"N", message
        assert ask(server.socket, request(server.args), (null.fileno(),)) == b"N"  # not three descriptors
        assert ask(server.socket, request(server.args), ()) == b"N"
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # connects and says nothing: let go, not stuck
    silent.connect(str(server.socket))
    assert server.children() == []
    done = subprocess.run(server.client("--version"), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "cooprogreso" in done.stdout  # refused (other arguments): started cold
    silent.close()
    assert server.proc.poll() is None


def test_a_session_ends_with_its_status_and_its_messages(server, tmp_path):
    """The caller's stderr is the session's, its exit status the client's: here the database went away."""
    server.demo.rename(tmp_path / "moved.sqlite3")
    done = subprocess.run(server.client(), capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 2 and "No existe la base de datos" in done.stderr


def test_without_a_server_the_client_starts_cold(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir(mode=0o700)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # a socket file nobody listens on (a crash)
    stale.bind(str(folder / "warm.sock"))
    stale.close()
    for path in (folder / "warm.sock", folder / "none.sock", Path("/nonexistent/warm.sock")):
        done = subprocess.run([SESSION, "--socket", str(path), "--version"], capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0 and "cooprogreso" in done.stdout


def test_a_socket_in_a_folder_others_can_write_is_never_trusted(server):
    """Anyone who can write the folder could put their own socket there and receive the member's terminal."""
    server.folder.chmod(0o777)
    try:
        done = subprocess.run(server.client("--version"), capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and "cooprogreso" in done.stdout  # cold, not through that socket
        assert server.children() == []
    finally:
        server.folder.chmod(0o700)


def test_a_stale_socket_is_replaced_and_a_second_server_refused(server, tmp_path):
    second = subprocess.run(cli("warm", "--db", str(server.demo), "--socket", str(server.socket)),
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 2 and "ya hay un servidor" in second.stderr
    server.proc.kill()  # kill -9: the socket file stays
    server.proc.wait()
    assert server.socket.exists()
    server.start()
    open_folder = tmp_path / "open"
    open_folder.mkdir(mode=0o755)
    refused = subprocess.run(cli("warm", "--db", str(server.demo), "--socket", str(open_folder / "w.sock")),
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "0700" in refused.stderr


def test_twenty_sessions_at_once_each_with_its_own_terminal_only(server, tmp_path):
    tmux = ["tmux", "-S", str(tmp_path / "tmux.sock")]
    names = [f"s{i}" for i in range(20)]
    try:
        for name in names:
            subprocess.run([*tmux, "new-session", "-d", "-s", name, "-x", "80", "-y", "24",
                            " ".join(server.client())], check=True)
        deadline = time.monotonic() + 120
        for name in names:
            while "Usuario" not in subprocess.run([*tmux, "capture-pane", "-p", "-t", name], capture_output=True,
                                                  text=True).stdout:
                assert time.monotonic() < deadline, name
                time.sleep(0.2)
        sessions = server.children()
        assert len(sessions) == 20
        terminals = []
        for pid in sessions:  # no descriptor of the server or of another session: its own pty, nothing else
            fds = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
            ptys = {target for target in fds if target.startswith("/dev/pts/")}
            assert len(ptys) == 1 and not any("warm.sock" in target for target in fds), fds
            terminals.append(ptys.pop())
            assert os.getsid(pid) == pid  # its own session: no signal to the server's group reaches it
        assert len(set(terminals)) == 20
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
    deadline = time.monotonic() + 30  # their terminals closed: the clients went, each session got a hang-up
    while server.children():
        assert time.monotonic() < deadline, server.children()
        time.sleep(0.2)


def test_stopping_the_server_leaves_its_sessions_running(server, tmp_path):
    tmux = ["tmux", "-S", str(tmp_path / "tmux.sock")]
    try:
        subprocess.run([*tmux, "new-session", "-d", "-s", "one", "-x", "80", "-y", "24", " ".join(server.client())],
                       check=True)
        deadline = time.monotonic() + 60
        while not server.children():
            assert time.monotonic() < deadline
            time.sleep(0.1)
        [session] = server.children()
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(timeout=20)
        assert not server.socket.exists()
        time.sleep(0.5)
        os.kill(session, 0)  # still there
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)


def test_the_web_servers_own_warm_server_ends_with_it_even_killed(tmp_path):
    from tests.channels import free_port, wait_port

    demo = make_demo(tmp_path / "demo.sqlite3")
    port = free_port()
    web = subprocess.Popen(cli("web", "--db", str(demo), "--port", str(port)), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc=web, timeout=60)
        out = subprocess.run(["pgrep", "-P", str(web.pid)], capture_output=True, text=True).stdout.split()
        [zygote] = [int(pid) for pid in out if b"warm" in cmdline(pid)]
    finally:
        web.kill()  # kill -9: no chance to stop its child
        web.wait()
    deadline = time.monotonic() + 20
    while b"warm" in cmdline(zygote):
        assert time.monotonic() < deadline, "the web server's warm server outlived it"
        time.sleep(0.2)


def test_an_upgrade_under_the_server_ends_it_and_its_caller_starts_cold(tmp_path):
    """The sessions import most of the app after the fork, from disk: never a mix of two versions. The server
    runs a copy of the app's package, upgraded here: touching the checkout's own would end every other test's
    warm server running at the same time."""
    import cooprogreso_tui

    need(shutil.which("tmux") is not None, "tmux is not installed")
    copy = tmp_path / "app"
    shutil.copytree(Path(cooprogreso_tui.__file__).parent, copy / "cooprogreso_tui",
                    ignore=shutil.ignore_patterns("__pycache__"))
    server = Warm(tmp_path, make_demo(tmp_path / "demo.sqlite3"), cwd=copy).start()
    try:
        os.utime(copy / "cooprogreso_tui" / "__init__.py")  # what reinstalling the package does to each of its files
        with open(os.devnull, "rb") as null:
            assert ask(server.socket, request(server.args), (null.fileno(),) * 3) == b"N"
        assert server.proc.wait(timeout=20) == 3  # systemd (Restart=on-failure) starts it again
    finally:
        server.stop()
