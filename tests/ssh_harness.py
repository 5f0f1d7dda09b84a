"""A throwaway branch server on loopback: OpenSSH's sshd with deploy/ssh/ as shipped, the app installed
outside any home, a service account owning the database, a terminal user in the terminal group, the warm-start
server run as deploy/systemd/cooprogreso-warm.service runs it (the service account, its environment file's
HOME, a 0700 runtime folder), and tmux panes at 80×24 running `ssh -tt`. Used by tests/app/test_ssh.py and
bench/channels.py. Needs root.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.metadata
import os
import secrets
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy" / "ssh"
SYSTEM_PYTHON = "/usr/bin/python3"
SSHD = "/usr/sbin/sshd"
PASSWORD = "Clave2026x"
# Three more demo members with two savings accounts, affiliated here so each SSH session has its own.
EXTRA_MEMBERS = ("socio.uno", "socio.dos", "socio.tres")


def missing() -> str | None:
    """Why this machine cannot run a branch server, or None."""
    if os.geteuid() != 0:
        return "needs root (creates users, a sudoers rule and runs sshd)"
    for tool in (SSHD, SYSTEM_PYTHON):
        if not os.access(tool, os.X_OK):
            return f"{tool} is not installed"
    for tool in ("ssh", "ssh-keygen", "tmux", "sudo", "visudo", "useradd"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


def _run(*args: str, **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, timeout=kw.pop("timeout", 300), **kw)
    if done.returncode:
        raise RuntimeError(f"{' '.join(args)} exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    return done


def _direct_dependencies() -> list[str]:
    """The names of what the app requires when installed (no extras), from the test venv's metadata."""
    import re

    return [re.match(r"[A-Za-z0-9._-]+", req).group(0)  # type: ignore[union-attr]
            for req in importlib.metadata.requires("cooprogreso-tui") or () if "extra ==" not in req]


def _forget_the_project(wheels: Path) -> None:
    """The cache keeps the dependencies only: a wheel of the project there (an older run's, another checkout's, or
    the one the fallback just built with the dependencies) could be installed instead of this checkout's."""
    for wheel in wheels.glob("cooprogreso_tui-*.whl"):
        wheel.unlink(missing_ok=True)


def _own_folder(path: Path) -> Path | None:
    """`path` as a folder of this account's alone (made 0700 if missing), or None when it is someone else's,
    writable by others or a link: what is taken from it is installed and run."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        seen = path.lstat()
    except OSError:
        return None
    if not stat.S_ISDIR(seen.st_mode) or seen.st_uid != os.geteuid() or seen.st_mode & 0o022:
        return None
    return path


@contextlib.contextmanager
def _building():
    """pip builds the project's wheel in the checkout's own build/ folder: two runs of one checkout (two test
    sessions, a bench beside the suite) building at once broke each other's. One at a time (a lock on the checkout's
    folder), and build/ removed."""
    fd = os.open(ROOT, os.O_RDONLY | os.O_DIRECTORY)  # the checkout itself: no lock file another account could plant
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        shutil.rmtree(ROOT / "build", ignore_errors=True)  # a killed build's half
        yield
    finally:
        shutil.rmtree(ROOT / "build", ignore_errors=True)
        os.close(fd)


class BranchServer:
    def __init__(self, *, alive_interval: int = 1, alive_count: int = 3, warm: bool = True) -> None:
        tag = secrets.token_hex(3)
        self.group, self.app_user, self.term_user = f"cpt{tag}", f"cpa{tag}", f"cpu{tag}"
        self.base = Path(tempfile.mkdtemp(prefix="cooprogreso-branch-", dir="/tmp"))
        self.base.chmod(0o755)
        self.alive_window = alive_interval * alive_count
        self.alive = (alive_interval, alive_count)
        self.port = 0
        self.sshd: subprocess.Popen | None = None
        self.sudoers = Path(f"/etc/sudoers.d/cooprogreso-test-{tag}")
        self.sessions: list[str] = []
        self.users_made: list[str] = []
        self.group_made = False
        self.warm_wanted = warm
        self.warm: subprocess.Popen | None = None

    # -- setup ---------------------------------------------------------------------------------
    def start(self, demo_db: Path) -> BranchServer:
        try:
            self._install_app()
            self._accounts()
            self._database(demo_db)
            self._sudo()
            if self.warm_wanted:
                self.start_warm()
            self._sshd()
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def app(self) -> Path:
        return self.base / "venv" / "bin" / "cooprogreso"

    @property
    def socket(self) -> Path:
        return self.base / "run" / "warm.sock"

    @property
    def db(self) -> Path:
        return self.base / "data" / "coop.sqlite3"

    def _install_app(self) -> None:
        """As the README says: a venv on the system's Python, outside any home, readable by all.

        The test venv's pip does the work (one pip, already imported modules warm, no isolated build
        environment to make): the wheel is built with the test venv's setuptools and installed into a
        venv made without pip of its own; what ends up in the venv is the same."""
        cached = _own_folder(Path(os.environ.get("COOPROGRESO_SSH_VENV_CACHE", "/tmp/cooprogreso-ssh-venv")))
        venv = self.base / "venv"
        _run(SYSTEM_PYTHON, "-m", "venv", "--without-pip", str(venv))
        # the dependencies' wheels, kept between runs; in a cache another account could write to, they would be
        # installed and run as the app's: then a cache of this server's own, fetched again
        wheels = (cached and _own_folder(cached / "wheels")) or _own_folder(self.base / "wheels")
        assert wheels is not None  # the server's own folder, just made by this account
        own = self.base / "wheel"  # the project itself, from this checkout only (another may share the cache)
        # the app's own dependencies at the versions the tests run with, not whatever an older run left in the cache
        pins = self.base / "constraints.txt"
        pins.write_text("".join(f"{name}=={importlib.metadata.version(name)}\n" for name in _direct_dependencies()))
        pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
        install = [*pip, "--python", str(venv / "bin" / "python"), "install", "--no-index", "--find-links", str(own),
                   "--find-links", str(wheels), "--constraint", str(pins), "cooprogreso-tui"]
        # The project's own wheel alone, then the install from the cache: resolving every dependency against the
        # package index cost pip 6 s of CPU each run. Only when the cache lacks one (a fresh machine, a new or
        # newer dependency) are they fetched into it, and the install tried again.
        with _building():
            _run(*pip, "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(own), str(ROOT))
        _forget_the_project(wheels)
        try:
            _run(*install)
        except RuntimeError as first:
            if not any(lack in str(first) for lack in ("No matching distribution", "Could not find a version",
                                                       "ResolutionImpossible")):
                raise
            try:
                with _building():
                    _run(*pip, "wheel", "--no-build-isolation", "--find-links", str(wheels), "--wheel-dir",
                         str(wheels), "--constraint", str(pins), str(ROOT))
                _forget_the_project(wheels)
                _run(*install)
            except RuntimeError as second:
                raise RuntimeError(f"{second}\n(first, from the cache alone: {first})") from first
        bin_dir = self.base / "bin"
        bin_dir.mkdir(mode=0o755)
        shutil.copy(DEPLOY / "cooprogreso-ssh", bin_dir / "cooprogreso-ssh")
        (bin_dir / "cooprogreso-ssh").chmod(0o755)

    def _accounts(self) -> None:
        _run("groupadd", self.group)
        self.group_made = True
        home = self.base / "service"
        _run("useradd", "--system", "--home-dir", str(home), "--create-home", "--shell", "/usr/sbin/nologin",
             self.app_user)
        self.users_made.append(self.app_user)
        config = home / ".config" / "cooprogreso"
        config.mkdir(parents=True)
        (config / "config.toml").write_text("scrypt_log_n = 8\n")  # tests only: a cheap KDF
        _run("chown", "-R", f"{self.app_user}:{self.app_user}", str(home))
        term_home = self.base / "member"
        _run("useradd", "--home-dir", str(term_home), "--create-home", "--shell", "/bin/sh",
             "--groups", self.group, "--password", "*", self.term_user)
        self.users_made.append(self.term_user)
        ssh_dir = term_home / ".ssh"
        ssh_dir.mkdir(mode=0o700)
        self.key = self.base / "client_key"
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.key))
        shutil.copy(f"{self.key}.pub", ssh_dir / "authorized_keys")
        (ssh_dir / "authorized_keys").chmod(0o600)
        _run("chown", "-R", f"{self.term_user}:{self.term_user}", str(ssh_dir))

    def _database(self, demo_db: Path) -> None:
        from backend.core.settings import Settings
        from backend.service import Backend

        data = self.base / "data"
        data.mkdir(mode=0o700)
        shutil.copy(demo_db, self.db)
        # the co-op's keys live in the service account's key file, as on a branch server
        keys = self.base / "service" / ".config" / "cooprogreso" / "keys.json"
        keys.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # the copy opens only with its own keys
        shutil.copy(os.environ["COOPROGRESO_SECRET_KEY_FILE"], keys)
        keys.chmod(0o600)
        backend = Backend(self.db, Settings(scrypt_log_n=8, secret_key_file=str(keys)), create=False)
        try:
            cedulas = [r[0] for r in backend.db.conn.execute(
                "SELECT m.id_number FROM members m WHERE m.mobile IS NOT NULL AND m.id_type = 'cedula' AND m.status = 'activo'"
                " AND NOT EXISTS (SELECT 1 FROM users u WHERE u.member_id = m.id)"
                " AND (SELECT COUNT(*) FROM accounts a WHERE a.member_id = m.id AND a.kind = 'ahorros'"
                " AND a.status = 'activa') >= 2"
                " ORDER BY m.id LIMIT 3")]
            assert len(cedulas) == len(EXTRA_MEMBERS), "the demo co-op needs members with two savings accounts"
            for username, cedula in zip(EXTRA_MEMBERS, cedulas):
                start = backend.auth.start_affiliation("cedula", cedula)
                code = _code(backend.outbox(last=1)[-1].body)
                backend.auth.verify_affiliation_code(start.challenge.id, code)
                backend.auth.complete_affiliation(start.challenge.id, username, PASSWORD)
        finally:
            backend.close()
        for path in data.iterdir():
            path.chmod(0o600)
        _run("chown", "-R", f"{self.app_user}:{self.app_user}", str(data), str(self.base / "service"))

    def _sudo(self) -> None:
        rule = (DEPLOY / "cooprogreso.sudoers").read_text()
        rule = (rule.replace("%cooprogreso-terminal", f"%{self.group}").replace("(cooprogreso)", f"({self.app_user})")
                .replace("/opt/cooprogreso/venv/bin/cooprogreso", str(self.app))
                .replace("/var/lib/cooprogreso/cooprogreso.sqlite3", str(self.db))
                .replace("/run/cooprogreso/warm.sock", str(self.socket)))
        draft = self.base / "sudoers"
        draft.write_text(rule)
        _run("visudo", "-cf", str(draft))  # never install a rule sudo cannot parse
        shutil.copy(draft, self.sudoers)
        self.sudoers.chmod(0o440)

    def _sshd(self) -> None:
        from tests.channels import free_port

        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        host_key = self.base / "host_ed25519"
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key))
        drop_in = (DEPLOY / "cooprogreso.conf").read_text()
        drop_in = (drop_in.replace("Match Group cooprogreso-terminal", f"Match Group {self.group}")
                   .replace("/opt/cooprogreso/bin/cooprogreso-ssh /var/lib/cooprogreso/cooprogreso.sqlite3",
                            f"{self.base}/bin/cooprogreso-ssh {self.db} {self.app_user} {self.app} {self.socket}")
                   .replace("ClientAliveInterval 15", f"ClientAliveInterval {self.alive[0]}")
                   .replace("ClientAliveCountMax 4", f"ClientAliveCountMax {self.alive[1]}"))
        (self.base / "cooprogreso.conf").write_text(drop_in)
        self.port = free_port()
        config = self.base / "sshd_config"
        config.write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {host_key}\nPidFile {self.base}/sshd.pid\n"
            "AuthorizedKeysFile .ssh/authorized_keys\nPubkeyAuthentication yes\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes yes\n"
            f"AllowUsers {self.term_user}\nLogLevel VERBOSE\nInclude {self.base}/cooprogreso.conf\n")
        _run(SSHD, "-t", "-f", str(config))
        self.sshd_log = open(self.base / "sshd.log", "w")  # noqa: SIM115
        self.sshd = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=self.sshd_log,
                                     stderr=subprocess.STDOUT)
        from tests.channels import wait_port

        wait_port(self.port, proc=self.sshd)

    # -- the warm server ------------------------------------------------------------------------
    def start_warm(self, timeout: float = 60.0) -> None:
        """`cooprogreso warm` as its systemd unit starts it: the service account, the environment file's HOME
        and nothing else, a runtime folder 0700 of its own (RuntimeDirectory=); ready when its socket is."""
        import pwd

        run = self.socket.parent
        run.mkdir(mode=0o700, exist_ok=True)
        account = pwd.getpwnam(self.app_user)
        os.chown(run, account.pw_uid, account.pw_gid)
        log = self.base / "warm.log"
        seen = log.stat().st_size if log.exists() else 0  # a restart: only what this server says counts
        self.warm_log = open(log, "a")  # noqa: SIM115
        self.warm = subprocess.Popen(
            [str(self.app), "warm", "--db", str(self.db), "--socket", str(self.socket)],
            user=account.pw_uid, group=account.pw_gid, extra_groups=[], cwd="/",
            env={"PATH": "/usr/bin:/bin", "HOME": str(self.base / "service")},
            stdin=subprocess.DEVNULL, stdout=self.warm_log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while "listo en" not in log.read_text()[seen:]:
            if self.warm.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the warm server did not start:\n{(self.base / 'warm.log').read_text()}")
            time.sleep(0.05)

    def kill_warm(self) -> None:
        """kill -9 of the warm server: its socket file stays behind, as after a crash."""
        if self.warm is not None:
            self.warm.kill()
            self.warm.wait()
            self.warm = None
            self.warm_log.close()

    def warm_sessions(self) -> list[int]:
        """The sessions the warm server forked (its children) and still running."""
        if self.warm is None:
            return []
        out = subprocess.run(["pgrep", "-P", str(self.warm.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    # -- sessions ------------------------------------------------------------------------------
    def ssh_command(self, *, tty: bool = True) -> list[str]:
        return ["ssh", "-tt" if tty else "-T", "-p", str(self.port), "-i", str(self.key),
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
                "-o", "LogLevel=ERROR", "-o", "SendEnv=COLORTERM", f"{self.term_user}@127.0.0.1"]

    def tmux(self, *args: str) -> str:
        return _run("tmux", "-S", str(self.base / "tmux.sock"), *args, timeout=30).stdout

    def open(self, name: str, *, under_shell: bool = False) -> str:
        """A pane at 80×24 running ssh -tt. under_shell: ssh runs as the child of a shell, so that
        stopping it is not undone by tmux (which resumes a pane's own process when it stops)."""
        command = "env TERM=xterm-256color COLORTERM=truecolor " + " ".join(self.ssh_command())
        if under_shell:
            command = f"sh -c '{command}; exit 0'"
        if not self.sessions:
            # tmux's server exits with its last session; a pane opened just then meets a dying server
            # («server exited unexpectedly»): an idle session keeps it up until stop() kills it
            self.tmux("new-session", "-d", "-s", "keeper", "-x", "80", "-y", "24", "sleep 86400")
            self.sessions.append("keeper")
        self.tmux("new-session", "-d", "-s", name, "-x", "80", "-y", "24", command)
        self.sessions.append(name)
        return name

    def screen(self, name: str) -> str:
        return self.tmux("capture-pane", "-p", "-t", name)

    def wait(self, name: str, text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            shown = self.screen(name)
            if text in shown:
                return shown
            if time.monotonic() > deadline:
                raise AssertionError(f"«{text}» never appeared in {name}:\n{shown}\n--- sshd log ---\n"
                                     f"{(self.base / 'sshd.log').read_text()[-2000:]}")
            time.sleep(0.1)

    def keys(self, name: str, *keys: str) -> None:
        self.tmux("send-keys", "-t", name, *keys)

    def type(self, name: str, text: str) -> None:
        self.tmux("send-keys", "-t", name, "-l", text)

    def pane_pid(self, name: str) -> int:
        return int(self.tmux("display-message", "-p", "-t", name, "#{pane_pid}").strip())

    def client_pid(self, name: str) -> int:
        """The ssh client of a pane (the pane's process, or its child when opened under_shell)."""
        pane = self.pane_pid(name)
        children = subprocess.run(["pgrep", "-P", str(pane)], capture_output=True, text=True).stdout.split()
        return int(children[0]) if children else pane

    def app_processes(self) -> list[str]:
        """The service account's processes but the warm server: the sessions, warm or cold."""
        out = subprocess.run(["pgrep", "-a", "-u", self.app_user], capture_output=True, text=True)
        server = str(self.warm.pid) if self.warm is not None else None
        return [line for line in out.stdout.splitlines() if line.split(" ", 1)[0] != server]

    def as_service(self, *args: str) -> subprocess.CompletedProcess:
        """Run the app's CLI as the service account, with its own clean environment (as sudo gives it)."""
        return subprocess.run(["runuser", "-u", self.app_user, "--", "env", "-i", "PATH=/usr/bin:/bin",
                               f"HOME={self.base / 'service'}", str(self.app), *args],
                              capture_output=True, text=True, timeout=120)

    def process_tree(self) -> str:
        """The processes of this branch's accounts and their parents, for a failure message."""
        out = subprocess.run(["ps", "-e", "-o", "pid,ppid,pgid,sid,stat,user:10,wchan:16,args", "--forest"],
                             capture_output=True, text=True).stdout
        return "\n".join(line[:220] for line in out.splitlines()
                         if str(self.base) in line or self.term_user in line or self.app_user in line)

    def code_for(self, username: str) -> str:
        """The newest code the member's simulated phone received (the outbox of the demo database)."""
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True) as conn:
            body = conn.execute(
                "SELECT o.body FROM outbox o JOIN members m ON m.mobile = o.recipient JOIN users u"
                " ON u.member_id = m.id WHERE u.username = ? ORDER BY o.id DESC LIMIT 1", (username,)).fetchone()[0]
        return _code(body)

    # -- teardown ------------------------------------------------------------------------------
    def stop(self) -> None:
        if self.sessions:
            subprocess.run(["tmux", "-S", str(self.base / "tmux.sock"), "kill-server"], capture_output=True)
        self.kill_warm()
        if self.sshd is not None:
            self.sshd.terminate()
            try:
                self.sshd.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.sshd.kill()
                self.sshd.wait()
            self.sshd_log.close()
        # anything still running as the throwaway accounts was started by this harness
        for user in self.users_made:
            subprocess.run(["pkill", "-KILL", "-u", user], capture_output=True)
        self.sudoers.unlink(missing_ok=True)
        for user in self.users_made:
            subprocess.run(["userdel", user], capture_output=True)
        if self.group_made:
            subprocess.run(["groupdel", self.group], capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)


def _code(body: str) -> str:
    import re

    return re.search(r"(?<!\d)(\d{6})(?!\d)", body).group(1)
