"""What one test run builds once for all its processes (#23): the demo co-ops that tests copy (SQLite files, the
PostgreSQL template) and the key file that opens them. Each xdist worker built its own, about 5 s of CPU each;
now the first process to ask builds it while the others wait on a lock, then every one copies the same thing.

The run's folder is made by the process that configures first (the xdist controller, or the only process with
`-n0`) and handed to the workers in the environment; it holds the key file (shared: it takes one entry per
database, written under its own lock, as on a branch server with several processes) and what was built."""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

RUN_ENV = "COOPROGRESO_TEST_RUN"
FOLDER_PREFIX = "cooprogreso-run-"


def start(is_worker: bool) -> str | None:
    """The run's folder, in the environment (and the key file in it); returns it when this process made it (and
    so removes it at the end: `finish`). A worker takes its controller's."""
    given = os.environ.get(RUN_ENV) if is_worker else None
    made = None
    if not given:
        made = tempfile.mkdtemp(prefix=FOLDER_PREFIX)
        os.environ[RUN_ENV] = made
    os.environ["COOPROGRESO_SECRET_KEY_FILE"] = str(key_file())
    return made


def folder() -> Path:
    return Path(os.environ[RUN_ENV])


def key_file() -> Path:
    """The run's key file: what is built to be shared names it, not $COOPROGRESO_SECRET_KEY_FILE, which a test
    may have pointed elsewhere (its own key file) when it happens to be the first to ask."""
    return folder() / "keys.json"


PG_PREFIX = "cp_run_"


def pg_name(what: str) -> str:
    """A PostgreSQL database shared by the run's processes: named after the run's folder (mkdtemp's suffix is
    lower-case letters, digits and `_`), so that `finish`, or a later run once the folder is gone, finds it."""
    return f"{PG_PREFIX}{_suffix(folder())}__{what}"


def _suffix(run: Path) -> str:
    return run.name.removeprefix(FOLDER_PREFIX).lower()


def built_once(name: str, build: Callable[[], None]) -> None:
    """`build()` once in this run, by whichever process asks first; the others wait until it is done. A builder
    killed halfway leaves no mark of done: the next one to ask builds again (`build` starts from nothing)."""
    run = folder()
    done = run / f"{name}.done"
    if done.exists():
        return
    with open(run / f"{name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            build()
            done.touch()


def file_once(name: str, build: Callable[[Path], None]) -> Path:
    """A file of the run's folder, made by `build(path)` once: at a name of its own, renamed when whole (a builder's
    child process orphaned by a killed worker may still be writing at its own name)."""
    path = folder() / name

    def fresh() -> None:
        draft = Path(tempfile.mkdtemp(prefix="build-", dir=folder())) / name
        build(draft)
        os.replace(draft, path)

    built_once(name, fresh)
    return path


def finish(made: str | None, pg_url: str) -> None:
    """The run's folder goes, and its PostgreSQL databases with it (by the process that made the folder, after
    the workers have ended)."""
    if not made:
        return
    _drop_databases(pg_url, lambda suffix: suffix == _suffix(Path(made)))
    shutil.rmtree(made, ignore_errors=True)


def sweep(pg_url: str) -> None:
    """The databases of runs that ended without `finish` (killed, SIGTERM from a timeout): their folder is gone."""
    base = Path(tempfile.gettempdir())
    _drop_databases(pg_url, lambda suffix: not (base / f"{FOLDER_PREFIX}{suffix}").exists())


def _drop_databases(pg_url: str, whose: Callable[[str], bool]) -> None:
    if not pg_url:
        return
    import psycopg

    try:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            names = [row[0] for row in admin.execute(
                "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (PG_PREFIX,))]
            for name in names:
                suffix = name.removeprefix(PG_PREFIX).rsplit("__", 1)[0]
                if whose(suffix):
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except psycopg.OperationalError:
        pass  # the server went first (the CI stops it at the end): its databases went with it
