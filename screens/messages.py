"""Messages that carry results from worker threads back to the screen that asked."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class ServiceDone(Message):
    """A backend call finished; `tag` names the handler `done_<tag>` that receives `result`."""

    def __init__(self, tag: str, result: Any) -> None:
        super().__init__()
        self.tag = tag
        self.result = result
