"""Python under Debian's libfaketime, for `.ci/run`'s runs of the date-sensitive tests at other dates.

`.ci/run` moves only the wall clock (FAKETIME_DONT_FAKE_MONOTONIC=1): with the monotonic clock faked too,
every lock or event wait with a timeout hangs (libfaketime 0.9.10 does not translate `sem_clockwait`).
With it real, libfaketime's `clock_nanosleep` answers EINVAL, which is what `time.sleep` calls: sleep
here waits in `select` instead. This directory is on PYTHONPATH only in those runs.
"""

import os

if "faketime" in os.environ.get("LD_PRELOAD", ""):
    import select
    import time

    def _sleep(seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            select.select([], [], [], left)

    time.sleep = _sleep
