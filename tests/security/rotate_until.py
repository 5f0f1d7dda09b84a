"""A `keys rotate` that stops itself (SIGSTOP) at one of its steps, for a test to kill -9 it there.

usage (through tests/fork_server.py start_scripts): rotate_until.py TARGET KEY_FILE STEP
Steps, in the order they happen: 0 before the key file gets the new keys, 1 after; 2 inside the database
transaction, every secret re-sealed but not committed; 3 after the commit; 4 before the key file drops the old
keys, 5 after. Prints «PAUSA pid» before stopping.
"""

import os
import signal
import sys

from backend.security import card_numbers
from backend.core import keys
from backend.core.db import target_of
from backend.core.settings import Settings
from backend.service import Backend, rotate_keys

target, key_file, stop_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.stdin.readline()
reached = [0]


def point() -> None:
    if reached[0] == stop_at:
        print(f"PAUSA {os.getpid()}", flush=True)
        os.kill(os.getpid(), signal.SIGSTOP)
    reached[0] += 1


write, reseal, finish = keys._write, card_numbers.reseal_all, keys._finish


def paused_write(path, databases):
    point()
    write(path, databases)
    point()


def paused_reseal(tx, old, new):
    done = reseal(tx, old, new)
    point()
    return done


def paused_finish(db, path, db_id):
    point()
    finish(db, path, db_id)


keys._write, card_numbers.reseal_all, keys._finish = paused_write, paused_reseal, paused_finish
backend = Backend(target_of(target), Settings(secret_key_file=key_file), create=False)
rotate_keys(backend)
backend.close()
print("FIN", flush=True)
