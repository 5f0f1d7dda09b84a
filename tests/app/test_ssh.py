"""SSH to a branch server, for real: OpenSSH's sshd on 127.0.0.1 with deploy/ssh/ as shipped, `ssh -tt`
inside tmux at 80×24. Skipped without root or sshd on a developer's machine; CI (CI=true) runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from tests.channels import make_demo, need
from tests.ssh_harness import EXTRA_MEMBERS, PASSWORD, BranchServer, missing

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def branch(tmp_path_factory):
    reason = missing()
    need(reason is None, reason or "")
    demo = make_demo(tmp_path_factory.mktemp("ssh") / "demo.sqlite3")
    server = BranchServer(alive_interval=1, alive_count=3).start(demo)
    yield server
    server.stop()


def sign_in(branch: BranchServer, name: str, username: str = "demo", password: str = "Demo-2026!") -> None:
    branch.wait(name, "Usuario")
    for _ in range(20):  # keys sent while the app still sets up the terminal are dropped: wait for the echo
        branch.type(name, username)
        time.sleep(0.5)
        if username in branch.screen(name):
            break
        branch.keys(name, "C-u")
    branch.keys(name, "Enter")
    time.sleep(1)  # Enter moves the focus after the keys queued behind it: a person's pause
    branch.type(name, password)
    branch.keys(name, "Enter")
    branch.wait(name, "Menú de opciones")


def test_member_signs_in_over_ssh_and_out(branch):
    name = branch.open("uno")
    sign_in(branch, name)
    assert branch.warm_sessions(), f"not started by the warm server:\n{branch.process_tree()}"
    shown = branch.screen(name)
    assert "1. Productos" in shown and "Lucía Estefanía Guamán Torres" in shown
    assert len(shown.splitlines()) <= 24 and all(len(line) <= 80 for line in shown.splitlines())
    branch.keys(name, "C-s")
    branch.wait(name, "Cerraste tu sesión")
    branch.keys(name, "C-q")
    branch.wait(name, "¿Cerrar Cooprogreso en Línea?")  # the sign-in asks first; it starts on «Seguir aquí»
    branch.keys(name, "Tab")
    branch.keys(name, "Enter")
    deadline = time.monotonic() + 20
    while branch.app_processes():
        assert time.monotonic() < deadline, branch.app_processes()
        time.sleep(0.2)


def test_no_terminal_no_app(branch):
    out = subprocess.run(branch.ssh_command(tty=False), capture_output=True, text=True, timeout=60,
                         stdin=subprocess.DEVNULL)
    assert out.returncode != 0 and "necesita una terminal" in out.stderr


def test_terminal_user_cannot_read_the_database(branch):
    for path in (branch.db, branch.db.parent):
        probe = subprocess.run(["runuser", "-u", branch.term_user, "--", "head", "-c", "16", str(path)],
                               capture_output=True, timeout=30)
        assert probe.returncode != 0 and b"SQLite" not in probe.stdout
    # nor run anything else through sudo: the rule names one command with its arguments
    other = subprocess.run(["runuser", "-u", branch.term_user, "--", "sudo", "-n", "-u", branch.app_user,
                            str(branch.app), "check", "--db", str(branch.db)], capture_output=True, timeout=30)
    assert other.returncode != 0


def test_four_sessions_transfer_against_one_database(branch):
    members = ["demo", *EXTRA_MEMBERS]
    names = [branch.open(f"t{i}") for i in range(len(members))]
    try:
        _four_sessions(branch, members, names)
    finally:
        for name in names:  # closing the terminals ends their apps
            subprocess.run(["tmux", "-S", str(branch.base / "tmux.sock"), "kill-session", "-t", name],
                           capture_output=True)
    deadline = time.monotonic() + 30
    while branch.app_processes():
        assert time.monotonic() < deadline, f"left behind:\n{branch.process_tree()}"
        time.sleep(0.2)


def _four_sessions(branch, members, names) -> None:
    for name, user in zip(names, members):
        sign_in(branch, name, user, "Demo-2026!" if user == "demo" else PASSWORD)
    for name in names:  # «Transferencias a mis Cuentas»: menu key 2 lands on it, Enter opens it
        branch.keys(name, "2", "Enter")
    for name in names:
        branch.wait(name, "Cupo disponible hoy")
    # A key that moves the focus is handled after the keys already queued behind it reach the old
    # field, so a person's pause follows each Tab; each field's echo is awaited.
    for name in names:
        branch.keys(name, "Tab", "Tab")
    time.sleep(1)
    for i, name in enumerate(names):
        branch.type(name, f"{i + 1}.25")
        branch.wait(name, f"{i + 1}.25")
        branch.keys(name, "Tab")
    time.sleep(1)
    for i, name in enumerate(names):
        branch.type(name, f"Sesion SSH {i + 1}")
        branch.wait(name, f"Sesion SSH {i + 1}")
        branch.keys(name, "Enter")
    for name in names:
        branch.wait(name, "Confirma")
    for name in names:  # the confirmation opens on «Cancelar»: Tab to «Confirmar», then Enter
        branch.keys(name, "Tab")
    time.sleep(1)
    for name in names:
        branch.keys(name, "Enter")
    for name in names:
        branch.wait(name, "código")
    for name, user in zip(names, members):
        branch.type(name, branch.code_for(user))
    for name in names:  # the four codes are spent as close together as tmux can type
        branch.keys(name, "Enter")
    for i, name in enumerate(names):
        branch.wait(name, "Comprobante")
        branch.wait(name, f"${i + 1}.25")  # the receipt's amount, once its lines are drawn
    for name in names:
        branch.keys(name, "Escape")
    for name in names:  # a lone Escape is only known as such after a pause: wait for the receipt to close
        deadline = time.monotonic() + 30
        while "Guardar comprobante" in branch.screen(name):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        branch.keys(name, "C-s")
    for name in names:
        branch.wait(name, "Cerraste tu sesión")
    check = branch.as_service("check", "--db", str(branch.db))
    assert check.returncode == 0, check.stdout + check.stderr
    import sqlite3

    with sqlite3.connect(f"file:{branch.db}?mode=ro", uri=True) as conn:
        motives = {r[0] for r in conn.execute("SELECT motive FROM transfers WHERE motive LIKE 'Sesion SSH %'")}
    assert motives == {f"Sesion SSH {i + 1}" for i in range(4)}


def _gone(branch: BranchServer, what, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while what():
        assert time.monotonic() < deadline, f"left behind:\n{branch.process_tree()}"
        time.sleep(0.2)


def _close(branch: BranchServer, *names: str) -> None:
    for name in names:
        subprocess.run(["tmux", "-S", str(branch.base / "tmux.sock"), "kill-session", "-t", name], capture_output=True)
    _gone(branch, branch.app_processes)


def _left_of_box(shown: str) -> int:
    return next(line.index("╭") for line in shown.splitlines() if "╭" in line)


def test_a_warm_session_follows_the_terminal_size(branch):
    """The session is not in the SSH session's process group (it cannot take the pty as its terminal): the
    size change reaches it through its client (SIGWINCH relayed over the socket)."""
    name = branch.open("resize")
    try:
        before = _left_of_box(branch.wait(name, "Usuario"))
        branch.tmux("resize-window", "-t", name, "-x", "100", "-y", "30")
        deadline = time.monotonic() + 20
        while _left_of_box(branch.screen(name)) != before + 10:  # the sign-in box stays centred
            assert time.monotonic() < deadline, branch.screen(name)
            time.sleep(0.1)
    finally:
        _close(branch, name)


def test_a_dead_warm_server_keeps_its_sessions_and_the_next_ones_start_cold(branch):
    name = branch.open("before-crash")
    cold = "cold"
    try:
        sign_in(branch, name)
        assert branch.warm_sessions()
        branch.kill_warm()  # kill -9: its socket file stays behind, nobody listens on it
        assert branch.socket.exists()
        branch.keys(name, "C-s")  # the member signed in before the crash carries on
        branch.wait(name, "Cerraste tu sesión")
        sign_in(branch, branch.open(cold), "socio.uno", PASSWORD)  # started cold: nobody is locked out
        assert any(" warm " not in line and " --db " in line for line in branch.app_processes())
    finally:
        _close(branch, name, cold)
        branch.start_warm()  # the stale socket file is replaced
    name = branch.open("after-restart")
    try:
        branch.wait(name, "Usuario")
        assert branch.warm_sessions()
    finally:
        _close(branch, name)


@pytest.mark.parametrize("victim", ["session", "client"])
def test_kill_9_of_a_warm_session_or_its_client_ends_both(branch, victim):
    name = branch.open(f"kill-{victim}")
    try:
        branch.wait(name, "Usuario")
        [session] = branch.warm_sessions()
        clients = subprocess.run(["pgrep", "-u", branch.app_user, "-f", "cooprogreso-session"], capture_output=True,
                                 text=True).stdout.split()
        assert len(clients) == 1
        os.kill(session if victim == "session" else int(clients[0]), signal.SIGKILL)
        _gone(branch, branch.app_processes)  # the client ends with its session; the session with its client (EOF)
    finally:
        _close(branch, name)


PROBE = r"""import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
try:
    s.connect(sys.argv[1])
except OSError as exc:
    print(type(exc).__name__)
    raise SystemExit
body = json.dumps({"args": ["--db", sys.argv[2]], "env": {"TERM": "xterm"}}).encode()
message = {"garbage": b"GET / HTTP/1.0\r\n\r\n", "request": b"COOPROGRESO-WARM-1 " + body}[sys.argv[3]]
try:
    s.sendmsg([message], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("3i", 0, 1, 2))])
    print(repr(s.recv(16)))
except OSError as exc:
    print(type(exc).__name__)
"""


def test_only_the_service_account_gets_a_warm_session(branch):
    def probe(user: str | None, what: str) -> str:
        run = ["runuser", "-u", user, "--"] if user else []
        done = subprocess.run([*run, "/usr/bin/python3", "-c", PROBE, str(branch.socket), str(branch.db), what],
                              capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL, cwd="/")
        return done.stdout.strip() or done.stderr

    assert probe(branch.term_user, "request") == "PermissionError"  # the runtime folder is the account's alone
    # root passes any mode: the server's peer check refuses it (closed unread: EOF or reset)
    assert probe(None, "request") in ("b''", "ConnectionResetError", "BrokenPipeError")
    assert probe(branch.app_user, "garbage") == "b'N'"
    assert branch.warm_sessions() == []
    name = branch.open("after-garbage")  # the server still serves
    try:
        branch.wait(name, "Usuario")
        assert branch.warm_sessions()
    finally:
        _close(branch, name)


@pytest.mark.parametrize("how", ["killed", "frozen", "frozen-at-login"])
def test_a_dead_client_leaves_no_app_behind(branch, how):
    """Cut within sshd's keep-alive window (ClientAliveInterval × ClientAliveCountMax, short here): also at
    the login screen, where a blinking cursor once kept sshd from ever seeing the link idle (issue 20)."""
    name = branch.open(f"dead-{how}", under_shell=True)
    if how == "frozen-at-login":
        branch.wait(name, "Usuario")
        time.sleep(2)  # the field has its focus (and its cursor) before the link freezes
    else:
        sign_in(branch, name)
    assert branch.app_processes()
    client = branch.client_pid(name)
    # killed: the client process dies (its socket closes); frozen: it stops answering, as when the
    # network drops, and only sshd's keep-alive can tell
    os.kill(client, signal.SIGKILL if how == "killed" else signal.SIGSTOP)
    try:
        deadline = time.monotonic() + branch.alive_window + 20
        while branch.app_processes():
            log_tail = (branch.base / "sshd.log").read_text()[-1500:]
            assert time.monotonic() < deadline, f"left behind:\n{branch.process_tree()}\n{log_tail}"
            time.sleep(0.2)
    finally:
        if how != "killed":
            os.kill(client, signal.SIGKILL)
    if how == "frozen-at-login":
        return
    # the member's session was closed as on SALIR, not left to expire
    import sqlite3

    with sqlite3.connect(f"file:{branch.db}?mode=ro", uri=True) as conn:
        last = conn.execute("SELECT action, outcome FROM audit_log WHERE actor = 'demo' ORDER BY id DESC"
                            " LIMIT 1").fetchone()
    assert last == ("logout", "cerrar_aplicacion")



def test_a_tellers_receipt_reaches_the_branch_printer_from_an_ssh_session(branch, cups):
    """Issue 22: over SSH «g» would save the receipt on the server; «Imprimir» puts it on the agency's printer
    (a real CUPS on loopback, cups-pdf queue). The app runs as the service account, whose CUPS client is
    pointed at the test server (~/.cups/client.conf), so cups-pdf writes into that account's ~/PDF."""
    from datetime import datetime

    from backend.core.clock import Clock
    from backend.core.settings import Settings
    from backend.security import totp
    from backend.service import Backend
    from tests.conftest import demo_cedula
    from tests.cups_helpers import printed
    from tests.staff_helpers import PASSWORD as STAFF_PASSWORD

    service_home = branch.base / "service"
    keys = service_home / ".config" / "cooprogreso" / "keys.json"
    backend = Backend(branch.db, Settings(scrypt_log_n=8, secret_key_file=str(keys)), Clock(), create=False)
    try:
        staff = backend.auth.staff_directory.add("cajerossh", "cajero", STAFF_PASSWORD, "Rosa Quispe")
        now = totp.step_at(datetime.now(backend.ctx.clock.zone), backend.ctx.clock.zone)
        ticket = backend.auth.login("cajerossh", STAFF_PASSWORD).ticket  # the till opened a step ago
        token = backend.auth.staff_code(ticket, totp.code_at(staff.secret, now - 1)).token
        backend.tills.open_till(token, "500")
        backend.auth.logout(token, "test")
        with backend.db.write() as conn:
            conn.execute("INSERT INTO agencies (code, name, city, address, hours, phone) VALUES ('MATRIZ',"
                         " 'Matriz Pomasqui', 'Quito', 'Av. Manuel Córdova Galarza', 'L-V', '(02) 399-8001')"
                         " ON CONFLICT (code) DO NOTHING")
            conn.execute("UPDATE agencies SET printer = ? WHERE code = 'MATRIZ'", (cups.queue,))
            conn.execute("UPDATE staff_users SET agency = 'MATRIZ' WHERE username = 'cajerossh'")
    finally:
        backend.close()
    client = service_home / ".cups"
    client.mkdir(exist_ok=True)
    (client / "client.conf").write_text(f"ServerName {cups.server}\n")
    subprocess.run(["chown", "-R", f"{branch.app_user}:{branch.app_user}", str(client), str(branch.db.parent)],
                   check=True)
    name = branch.open("cajero")
    branch.wait(name, "Usuario")
    for _ in range(20):
        branch.type(name, "cajerossh")
        time.sleep(0.5)
        if "cajerossh" in branch.screen(name):
            break
        branch.keys(name, "C-u")
    branch.keys(name, "Enter")
    time.sleep(1)
    branch.type(name, STAFF_PASSWORD)
    branch.keys(name, "Enter")
    branch.wait(name, "Verificación del personal")
    time.sleep(1)
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("America/Guayaquil")
    branch.type(name, totp.code_at(staff.secret, totp.step_at(datetime.now(zone).replace(tzinfo=None), zone)))
    branch.keys(name, "Enter")
    branch.wait(name, "Depósito en efectivo")
    branch.keys(name, "2")
    branch.wait(name, "Cédula, nombres")
    branch.type(name, demo_cedula())
    branch.keys(name, "Enter")
    branch.wait(name, "Verifica su identidad")
    time.sleep(1)
    branch.type(name, "12.34")
    branch.keys(name, "Enter")
    branch.wait(name, "Confirma")
    branch.keys(name, "Tab")
    time.sleep(1)
    branch.keys(name, "Enter")
    shown = branch.wait(name, "Comprobante")
    branch.wait(name, "Imprimir")
    branch.keys(name, "i")
    shown = branch.wait(name, "enviado a la impresora", timeout=90)
    import re

    job = re.search(r"trabajo\s+(\S+?)\)", " ".join(line.strip() for line in shown.splitlines())).group(1)
    text = printed(cups, job, "$12.34", out_dir=service_home / "PDF")
    assert "Depósito" in text and "Código del comprobante" in text and "Código de verificación" in text
