"""The app's background passes (settlement, SMS delivery, card cycles, keep-alive, logout, demo phone).

A pass that fails, or that runs but reports trouble (a gateway refusing every message), is written to
the log file every time and said on screen once per distinct problem — not once per retry. A pass
that keeps raising backs off (doubling, up to ten minutes) instead of hammering a misconfigured gateway
every few seconds; the first pass that succeeds again lifts the back-off and clears the problem.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger("cooprogreso")
MAX_BACKOFF_SECONDS = 600.0


class _State:
    """A job's back-off and what was said of it. A plain class, not a dataclass (start-up time, #23: the app
    imports this module before the sign-in's first frame; nothing compares or prints a _State)."""

    __slots__ = ("failures", "paused_until", "said")

    def __init__(self) -> None:
        self.failures = 0
        self.paused_until = 0.0
        self.said: set[str] = set()


class BackgroundJobs:
    def __init__(self, say: Callable[[str], None], now: Callable[[], float] = time.monotonic,
                 base_backoff: float = 15.0):
        self.say = say
        self.now = now
        self.base_backoff = base_backoff
        self._jobs: dict[str, _State] = {}

    def _state(self, name: str) -> _State:
        return self._jobs.setdefault(name, _State())

    def due(self, name: str) -> bool:
        """False while a failing job is backing off."""
        return self.now() >= self._state(name).paused_until

    def succeeded(self, name: str) -> None:
        state = self._state(name)
        if state.failures:
            log.info("background job %s works again after %d failures", name, state.failures)
            state.said.clear()
        state.failures, state.paused_until = 0, 0.0

    def failed(self, name: str, error: BaseException, message: str) -> None:
        """The pass raised: log it with its traceback, say it once, back off."""
        state = self._state(name)
        state.failures += 1
        backoff = min(MAX_BACKOFF_SECONDS, self.base_backoff * 2 ** (state.failures - 1))
        state.paused_until = self.now() + backoff
        log.error("background job %s failed (%d in a row; next try in %.0f s)", name, state.failures, backoff,
                  exc_info=error)
        self._say_once(state, message)

    def problem(self, name: str, message: str | None) -> None:
        """The pass ran but something outside is wrong (or, with None, nothing is any more)."""
        state = self._state(name)
        if message is None:
            state.said.clear()
            return
        log.warning("background job %s: %s", name, message)
        self._say_once(state, message)

    def _say_once(self, state: _State, message: str) -> None:
        if message not in state.said:
            state.said.add(message)
            self.say(message)
