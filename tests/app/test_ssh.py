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
