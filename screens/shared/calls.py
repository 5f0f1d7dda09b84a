"""Running backend calls off the UI thread, with one place that turns failures into messages."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from textual.worker import Worker, WorkerState, get_current_worker

from backend.core.errors import ServiceError, SessionExpired
from screens.shared.messages import ServiceDone
from screens.shared.safe_text import visible_lines

if TYPE_CHECKING:  # the app imports the screens, never the other way round at run time
    from textual.widget import Widget

    from screens.shared.coop import CoopApp

    _Mixin = Widget  # what the mixin is mixed into (a Screen or a ModalScreen), for the type checker
else:
    _Mixin = object

log = logging.getLogger("cooprogreso")
UNEXPECTED = "Ocurrió un error inesperado. Intenta de nuevo; si continúa, comunícate con la cooperativa."

Done = Callable[[Any], None]
Failed = Callable[[ServiceError], None]


class ServiceCalls(_Mixin):
    """Mixin for screens: `self.call("tag", fn, ...)` runs fn in a thread, then hands the result on.

    The result goes to `on_done` when given, else to `done_<tag>(result)`; a failure to `on_error`,
    else `failed_<tag>(error)`, else a notification. `hold_keys=True` (a search) makes the keys typed
    before its results wait for them. An unexpected exception is logged and handed on
    as a ServiceError with a generic Spanish message. Only the newest call of a tag delivers: the
    result of a call superseded by a newer one (an older page, an older reload) is dropped.
    """

    @property
    def coop(self) -> CoopApp:
        """The running app, typed: `self.coop.backend`, `self.coop.token` (mypy checks them)."""
        return cast("CoopApp", self.app)

    def call(self, tag: str, fn: Callable[..., Any], *args: Any, on_done: Done | None = None,
             on_error: Failed | None = None, hold_keys: bool = False, **kwargs: Any) -> Worker:
        def work() -> Any:
            result = fn(*args, **kwargs)
            self.post_message(ServiceDone(tag, result, get_current_worker()))
            return result

        worker = self.run_worker(work, name=tag, group=tag, thread=True, exclusive=True, exit_on_error=False)
        previous = self._service_call_table().get(tag)
        self._service_call_table()[tag] = (worker, on_done, on_error)
        if hold_keys:  # a search: keys typed before its results wait for them (the app lets them go)
            self.coop.hold_keys(worker)
        if previous is not None:  # superseded (a queue's filter set as it loads): a cancelled worker may never
            self.coop.release_keys(previous[0])  # say so, and its hold would keep the keys for HOLD_SECONDS
        return worker

    def _service_call_table(self) -> dict[str, tuple[Worker, Done | None, Failed | None]]:
        calls = self.__dict__.get("_service_calls")
        if calls is None:
            calls = self.__dict__["_service_calls"] = {}
        return calls

    def _service_call_entry(self, tag: str, worker: Worker | None) -> tuple[Worker, Done | None, Failed | None] | None:
        entry = self._service_call_table().get(tag)
        if entry is None or (worker is not None and entry[0] is not worker):
            return None  # superseded by a newer call of the same tag
        return entry

    # Handlers by name, not @on: a plain mixin is not seen by Textual's decorator collection.
    def on_service_done(self, message: ServiceDone) -> None:
        message.stop()
        entry = self._service_call_entry(message.tag, message.worker)
        if entry is None:
            return
        on_done = entry[1]
        if on_done is not None:
            on_done(message.result)
        else:
            getattr(self, f"done_{message.tag}")(message.result)
        # Held keys go on now too: a dialog that closes with its result (the declaration's check) is gone before
        # its worker's SUCCESS would reach it, and they would wait out HOLD_SECONDS.
        self.coop.release_keys(message.worker)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state in (WorkerState.SUCCESS, WorkerState.CANCELLED):
            self.coop.release_keys(event.worker)  # after done_<tag>, whose message came first
        if event.state != WorkerState.ERROR:
            return
        entry = self._service_call_entry(event.worker.name, event.worker)
        if entry is None:
            self.coop.release_keys(event.worker)
            return
        error = event.worker.error
        if isinstance(error, SessionExpired):
            self.coop.release_keys(event.worker)
            self.coop.end_session(error.message)
            return
        error = as_service_error(error, event.worker.name)
        handler = entry[2] or getattr(self, f"failed_{event.worker.name}", None)
        if handler is not None:
            handler(error)  # the screen puts the message where it belongs and re-enables its buttons
        else:
            self.notify(visible_lines(error.message), severity="error", markup=False)
        self.coop.release_keys(event.worker)


def as_service_error(error: BaseException | None, where: str) -> ServiceError:
    """A failure as the member may read it: unexpected ones are logged with their traceback."""
    if isinstance(error, ServiceError):
        return error
    log.error("unexpected failure in %s", where, exc_info=error)
    return ServiceError(UNEXPECTED, code="unexpected")
