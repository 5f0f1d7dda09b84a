"""Messages that carry results from worker threads back to the screen that asked."""

from __future__ import annotations

from typing import Any

from textual.message import Message
from textual.worker import Worker


class ServiceDone(Message):
    """A backend call finished in `worker`; `tag` names the call, `result` is what it returned."""

    def __init__(self, tag: str, result: Any, worker: Worker | None = None) -> None:
        super().__init__()
        self.tag = tag
        self.result = result
        self.worker = worker
