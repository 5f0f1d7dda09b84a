"""Helpers for the channel tests (browser, SSH, demo scripts): real processes, free ports, artifacts."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
# The one fast KDF setting for processes the tests start (the production default stays N = 2**17).
FAST_SET = ["--set", "scrypt_log_n=8"]


def need(condition: bool, reason: str) -> None:
    """Skip when a tool is missing on a developer's machine; in CI (CI=true) that is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI must run this test: {reason} (.ci/run installs it)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 20.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port}")


def artifacts(area: str) -> Path:
    """Where a test keeps what a person may want to look at afterwards (screenshots, casts)."""
    folder = Path(os.environ.get("COOPROGRESO_ARTIFACTS", ROOT / ".artifacts")) / area
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "cooprogreso_tui.cli", *FAST_SET, *args]


def make_demo(path: Path) -> Path:
    """The full demo co-op (as `cooprogreso demo-data` makes it), with the cheap KDF.

    Built once per test run and clock (the command takes a few seconds; tests/run_shared.py), then copied:
    every caller gets its own file in the same state. Its keys are in the run's key file: a test that points
    $COOPROGRESO_SECRET_KEY_FILE at a file of its own copies them there to open it."""
    from tests import run_shared
    from tests.conftest import NOW

    # A module-scoped fixture calls this before the test's own clock is set: the tests' day, never the real one.
    clock = os.environ.get("COOPROGRESO_CLOCK") or NOW.isoformat()

    def build(made: Path) -> None:
        subprocess.run(cli("demo-data", "--db", str(made)), check=True, capture_output=True, timeout=120,
                       env={**os.environ, "COOPROGRESO_CLOCK": clock,
                            "COOPROGRESO_SECRET_KEY_FILE": str(run_shared.key_file())})

    made = run_shared.file_once(f"demo-data-{re.sub(r'[^0-9A-Za-z]', '', clock)}.sqlite3", build)
    shutil.copy(made, path)
    return path


def which(name: str, *extra: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for candidate in extra:
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def cmdline(pid: int) -> list[bytes]:
    """A process's arguments, or [] once it has exited: /proc/<pid>/cmdline of a process ending during the read
    answers ESRCH (ProcessLookupError), of one gone, ENOENT."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (FileNotFoundError, ProcessLookupError):
        return []
