"""A real CUPS server for the printing tests: our own cupsd on a loopback port, with its own configuration
and spool in a temporary folder, and one Debian `printer-driver-cups-pdf` queue (a virtual printer that
writes each job as a PDF into the job owner's ~/PDF). `.ci/run` installs cups and printer-driver-cups-pdf."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

CUPSD = "/usr/sbin/cupsd"
CUPS_PDF = "/usr/lib/cups/backend/cups-pdf"
PPD = "/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd"
CUPS_PDF_CONF = Path("/etc/cups/cups-pdf.conf")
CUPS_PDF_LOG = Path("/var/log/cups")  # cups-pdf's Log folder (Debian's default), one file per queue

CUPSD_CONF = """Listen 127.0.0.1:{port}
LogLevel warn
WebInterface No
Browsing No
DefaultAuthType None
<Location />
  Order allow,deny
  Allow 127.0.0.1
</Location>
<Location /admin>
  Order allow,deny
  Allow 127.0.0.1
</Location>
<Policy default>
  <Limit All>
    Order allow,deny
    Allow 127.0.0.1
  </Limit>
</Policy>
"""
FILES_CONF = """ServerRoot {root}
RequestRoot {root}/spool
CacheDir {root}/cache
StateDir {root}/state
TempDir {root}/tmp
AccessLog {root}/log/access_log
ErrorLog {root}/log/error_log
PageLog {root}/log/page_log
Printcap {root}/printcap
SystemGroup root
"""


@dataclass
class Cups:
    server: str  # host:port, for CUPS_SERVER
    queue: str
    out_dir: Path  # where cups-pdf writes the jobs of this process's user
    process: subprocess.Popen
    folder: Path
    log_from: int = 0  # cups-pdf's log of this queue's name may hold an older run's lines (ports are reused)

    def env(self) -> dict[str, str]:
        return {**os.environ, "CUPS_SERVER": self.server}


def why_not() -> str | None:
    """Why a private CUPS with a cups-pdf queue cannot run here (None: it can)."""
    for path in (CUPSD, CUPS_PDF, PPD):
        if not os.path.exists(path):
            return f"{path} missing (apt-get install cups printer-driver-cups-pdf)"
    if shutil.which("lp") is None or shutil.which("lpadmin") is None:
        return "CUPS client (lp, lpadmin) missing"
    if os.geteuid() != 0:
        return "cups-pdf runs as root under cupsd: these tests need root (CI runs as root)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start() -> Cups:
    """cupsd's filters run as the `lp` user: its folder must be reachable by lp (pytest's tmp folders are 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="cooprogreso-cups-"))
    folder.chmod(0o755)
    for sub in ("spool", "cache", "state", "tmp", "log"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    (folder / "tmp").chmod(0o1777)
    port = _free_port()
    # Every cupsd numbers its jobs from 1, and cups-pdf names a file by the job's title and number in one ~/PDF
    # shared by all: two test processes printing the same receipt reference as job 1 would write the same file.
    # Each cupsd starts its numbering at a value of its own (its port's), so no two running ones share a number.
    (folder / "cache" / "job.cache").write_text(f"# Job cache file for CUPS\nNextJobId {port * 1000}\n")
    (folder / "cupsd.conf").write_text(CUPSD_CONF.format(port=port))
    (folder / "cups-files.conf").write_text(FILES_CONF.format(root=folder))
    out_dir = _shared_folders()
    process = subprocess.Popen([CUPSD, "-f", "-c", str(folder / "cupsd.conf"), "-s", str(folder / "cups-files.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = f"127.0.0.1:{port}"
    queue = f"sucursal-{port}"
    deadline = time.monotonic() + 20
    while True:
        done = subprocess.run(["lpadmin", "-h", server, "-p", queue, "-v", "cups-pdf:/", "-P", PPD, "-E"],
                              capture_output=True, text=True)
        if done.returncode == 0:
            break
        if time.monotonic() > deadline or process.poll() is not None:
            process.terminate()
            raise RuntimeError(f"cupsd did not start: {done.stderr}")
        time.sleep(0.3)
    log = CUPS_PDF_LOG / f"cups-pdf-{queue}_log"
    return Cups(server, queue, out_dir, process, folder, log.stat().st_size if log.exists() else 0)


def _shared_folders() -> Path:
    """The folders every cups-pdf on the machine shares, made as cups-pdf makes them (its spool: 0751, group Grp;
    the owner's ~/PDF: 0700), before any cupsd runs. cups-pdf makes each at its first job, and a second one making
    it in the same instant fails (EEXIST), stopping its queue with the job held: on a fresh machine two test
    processes' first prints raced so. Returns where this user's jobs are written."""
    settings = {}
    if CUPS_PDF_CONF.exists():
        for line in CUPS_PDF_CONF.read_text(errors="replace").splitlines():
            key, _, value = line.strip().partition(" ")
            if key in ("Spool", "Grp"):
                settings[key] = value.strip()
    spool = Path(settings.get("Spool", "/var/spool/cups-pdf/SPOOL"))
    if not spool.is_dir():
        spool.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        spool.mkdir(mode=0o751, exist_ok=True)
        spool.chmod(0o751)
        try:
            os.chown(spool, 0, grp.getgrnam(settings.get("Grp", "lp")).gr_gid)  # cups-pdf's own default: lp
        except KeyError:
            pass  # no such group: cups-pdf keeps root's, as it would
    out_dir = Path(pwd.getpwuid(os.geteuid()).pw_dir) / "PDF"
    out_dir.mkdir(mode=0o700, exist_ok=True)
    return out_dir


def stop(cups: Cups) -> None:
    cups.process.terminate()
    try:
        cups.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        cups.process.kill()
    shutil.rmtree(cups.folder, ignore_errors=True)
    (CUPS_PDF_LOG / f"cups-pdf-{cups.queue}_log").unlink(missing_ok=True)  # one per port: they would pile up


def printed(cups: Cups, job: str, must_contain: str, timeout: float = 90, out_dir: Path | None = None) -> str:
    """The text (pdftotext) of the PDF cups-pdf wrote for `job` (e.g. «sucursal-1234-7»), once completed.

    Every private cupsd numbers its jobs from 1 and cups-pdf writes into the owner's one ~/PDF, so the file is
    told apart by its job number and by what it must say; it is removed once read."""
    deadline = time.monotonic() + timeout
    number = job.rsplit("-", 1)[1]
    while time.monotonic() < deadline:
        pending = subprocess.run(["lpstat", "-h", cups.server, "-o", cups.queue], capture_output=True,
                                 text=True).stdout
        if job in pending.split():
            _not_stopped(cups)
        else:
            for path in sorted((out_dir or cups.out_dir).glob(f"*job_{number}.pdf")):
                if not path.read_bytes().rstrip().endswith(b"%%EOF"):
                    continue
                text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                                      text=True).stdout
                if must_contain in text:
                    path.unlink(missing_ok=True)
                    return text
        time.sleep(0.5)
    raise AssertionError(f"job {job} not printed within {timeout} s")


def _not_stopped(cups: Cups) -> None:
    """A queue whose backend failed is stopped with its job held: say why at once, not after the whole timeout."""
    state = subprocess.run(["lpstat", "-h", cups.server, "-p", cups.queue], capture_output=True, text=True,
                           env={**os.environ, "LC_ALL": "C"}).stdout  # «disabled» in any locale
    if "disabled" in state:
        errors = []
        for log, start in ((CUPS_PDF_LOG / f"cups-pdf-{cups.queue}_log", cups.log_from),
                           (cups.folder / "log" / "error_log", 0)):
            if log.exists():
                with open(log, "rb") as seen:
                    seen.seek(start)
                    errors += [line for line in seen.read().decode(errors="replace").splitlines() if "E " in line[:2]
                               or "[ERROR]" in line]
        raise AssertionError(f"queue {cups.queue} stopped: {state.strip()} {errors[-5:]}")
