"""Running backend calls off the UI thread, with one place that turns failures into messages."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from textual.worker import Worker, WorkerState

from backend.errors import ServiceError, SessionExpired

from .messages import ServiceDone

log = logging.getLogger("cooprogreso")
UNEXPECTED = "Ocurrió un error inesperado. Intenta de nuevo; si continúa, comunícate con la cooperativa."


class ServiceCalls:
    """Mixin for screens: `self.call("tag", fn, ...)` runs fn in a thread, then `done_tag(result)`.

    Failures arrive in `failed_<tag>(error)` when the screen defines it, else as a notification; an
    unexpected exception is logged and handed on as a ServiceError with a generic Spanish message.
    """

    def call(self, tag: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Worker:
        def work() -> Any:
            result = fn(*args, **kwargs)
            self.post_message(ServiceDone(tag, result))
            return result

        return self.run_worker(work, name=tag, group=tag, thread=True, exclusive=True, exit_on_error=False)

    # Handlers by name, not @on: a plain mixin is not seen by Textual's decorator collection.
    def on_service_done(self, message: ServiceDone) -> None:
        message.stop()
        getattr(self, f"done_{message.tag}")(message.result)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        if isinstance(error, SessionExpired):
            self.app.end_session(error.message)
            return
        if not isinstance(error, ServiceError):
            log.error("unexpected failure in %s", event.worker.name, exc_info=error)
            error = ServiceError(UNEXPECTED, code="unexpected")
        handler = getattr(self, f"failed_{event.worker.name}", None)
        if handler is not None:
            handler(error)  # the screen puts the message where it belongs and re-enables its buttons
        else:
            self.notify(error.message, severity="error", markup=False)
