"""A `cooprogreso backup` that stops itself (SIGSTOP) at one of its steps, for a test to kill -9 it there.

usage (through tests/fork_server.py start_scripts): backup_until.py TARGET FILE STEP
Steps: 0 the copy made, before the manifest is replaced; 1 after; 2 before the copy is renamed over FILE;
3 after. Prints «PAUSA pid» before stopping.
"""

import os
import signal
import sys
from pathlib import Path

from backend.core import backup
from backend.core.db import target_of

target, to, stop_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.stdin.readline()
reached = [0]
replace = os.replace


def point() -> None:
    if reached[0] == stop_at:
        print(f"PAUSA {os.getpid()}", flush=True)
        os.kill(os.getpid(), signal.SIGSTOP)
    reached[0] += 1


def paused_replace(src, dst):
    point()
    replace(src, dst)
    point()


os.replace = paused_replace
backup.take(target_of(target), Path(to), taken_at="2026-11-25 10:00:00")
print("FIN", flush=True)
