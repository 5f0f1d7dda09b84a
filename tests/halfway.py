"""kill -9 halfway through writing a file: a child's `os.fdopen` files write half of what they are given, say
«PAUSA <pid>» and wait; the test kills it there (tests/core/test_files_killed.py, the staff QR image)."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def child_code(body: str, first_bytes: bytes = b"") -> str:
    """A child's code: `body` runs with every file opened by `os.fdopen` stopping halfway through the first write
    whose data starts with `first_bytes` (other writes go through whole)."""
    return textwrap.dedent(f"""
        import os, time
        real = os.fdopen

        class Halfway:
            def __init__(self, fh):
                self.fh = fh
            def __enter__(self):
                return self
            def __exit__(self, *exc):
                return self.fh.__exit__(*exc)
            def write(self, data):
                if not bytes(data).startswith({first_bytes!r}):
                    return self.fh.write(data)
                self.fh.write(data[: len(data) // 2])
                self.fh.flush()
                print("PAUSA", os.getpid(), flush=True)
                time.sleep(60)
            def __getattr__(self, name):
                return getattr(self.fh, name)

        os.fdopen = lambda *a, **k: Halfway(real(*a, **k))
    """) + textwrap.dedent(body)


def kill_halfway(code: str, *args: str, timeout: float = 30) -> None:
    """Run `code` (from `child_code`) with `args`, SIGKILL it at its pause, and reap it."""
    child = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, cwd=ROOT)
    deadline = time.monotonic() + timeout
    line = ""
    while "PAUSA" not in line:
        assert time.monotonic() < deadline and child.poll() is None, child.stderr.read() if child.stderr else ""
        line = child.stdout.readline() if child.stdout else ""
    os.kill(int(line.split()[1]), signal.SIGKILL)
    child.wait(timeout=30)
