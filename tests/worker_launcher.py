"""Starts the racing worker processes of a test by forking them from one process that has already imported
the backend, instead of starting a fresh interpreter for each (which spends most of its time importing).

usage: worker_launcher.py SCRIPT OUT_DIR ARGS_JSON
ARGS_JSON holds one argument list per worker. Each child is a separate process with its own connections
(opened after the fork) and its own stdin, which gets «go» when the launcher reads «go» on its own stdin, so
they start together, as `sys.stdin.readline()` in the scripts expects. Child i writes OUT_DIR/i.out and i.err;
the launcher prints the children's exit codes as JSON.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import traceback

import backend.core.settings  # noqa: F401
import backend.service  # noqa: F401  (what every worker script imports first: loaded once, before the forks)
import backend.transfers.transfers  # noqa: F401


def _child(script: str, out_dir: str, index: int, args: list[str], go_read: int) -> None:
    os.dup2(go_read, 0)
    for fd, name in ((1, f"{index}.out"), (2, f"{index}.err")):
        target = os.open(os.path.join(out_dir, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(target, fd)
        os.close(target)
    sys.argv = [script, *args]
    code = 0
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main() -> None:
    script, out_dir, args_json = sys.argv[1], sys.argv[2], sys.argv[3]
    if "postgresql" in args_json:
        import psycopg  # noqa: F401
    children: list[tuple[int, int]] = []
    for index, args in enumerate(json.loads(args_json)):
        go_read, go_write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(go_write)
            for _, other in children:
                os.close(other)
            _child(script, out_dir, index, args, go_read)
        os.close(go_read)
        children.append((pid, go_write))
    sys.stdin.readline()
    for _, go_write in children:
        os.write(go_write, b"go\n")
        os.close(go_write)
    codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid, _ in children]
    print(json.dumps(codes), flush=True)


if __name__ == "__main__":
    main()
