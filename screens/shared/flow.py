"""The one flow for authorised operations: confirm dialog → OTP modal → receipt.

A section calls `start_authorised(screen, prepare)` where `prepare()` asks its backend service for a
`Pending` operation. The flow shows the operation's own lines for confirmation, asks for the code
bound to it, books it through `backend.ops.authorise`, and shows the receipt. The screen never holds
more than the operation's id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from backend.core.errors import ServiceError
from backend.security.operations import Pending
from backend.security.receipts import Receipt
from screens.shared.confirm import ConfirmModal
from screens.shared.otp import OtpModal
from screens.shared.receipt import ReceiptModal
from screens.shared.safe_text import visible_lines

if TYPE_CHECKING:
    from screens.shared.calls import ServiceCalls


def confirm_text(lines: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> str:
    """Label/value lines as the confirm dialog shows them, aligned (ConfirmModal shows them as Text)."""
    width = max((len(label) for label, _ in lines), default=0) + 3
    return "\n".join(f"{(label + ':').ljust(width)}{value}" for label, value in lines)


class AuthorisedFlow:
    """One run of the flow for one operation, driven from `screen` (a ServiceCalls screen)."""

    def __init__(self, screen: ServiceCalls, prepare: Callable[[], Pending], *,
                 on_done: Callable[[Receipt], None] | None = None,
                 on_error: Callable[[ServiceError], None] | None = None,
                 on_cancel: Callable[[], None] | None = None,
                 otp_title: str = "Código de seguridad", accept: str = "Confirmar",
                 show_receipt: bool = True) -> None:
        self.screen = screen
        self.prepare = prepare
        self.on_done = on_done
        self.on_error = on_error or self._notify
        self.on_cancel = on_cancel
        self.otp_title = otp_title
        self.accept = accept
        self.show_receipt = show_receipt
        self.pending: Pending | None = None

    @property
    def app(self) -> Any:
        return self.screen.app

    def start(self) -> None:
        self.screen.call("flow_prepare", self.prepare, on_done=self._confirm, on_error=self.on_error)

    def _confirm(self, pending: Pending) -> None:
        self.pending = pending
        self.app.push_screen(ConfirmModal(pending.title, confirm_text(pending.lines), accept=self.accept),
                             self._confirmed)

    def _confirmed(self, yes: bool | None) -> None:
        if not yes:
            self._cancelled()
        elif self.pending is not None:
            ops, token = self.app.backend.ops, self.app.token
            self.screen.call("flow_code", ops.request_code, token, self.pending.id, on_done=self._ask_code,
                             on_error=self.on_error)

    def _ask_code(self, challenge: Any) -> None:
        assert self.pending is not None
        ops, token, op_id = self.app.backend.ops, self.app.token, self.pending.id
        self.app.push_screen(
            OtpModal(challenge, submit=lambda code: ops.authorise(token, op_id, code),
                     resend=lambda: ops.resend_code(token, op_id), title=self.otp_title, renewable=True),
            self._authorised)

    def _authorised(self, receipt: Receipt | None) -> None:
        if receipt is None:
            self._cancelled()  # cancelled, or the code can no longer be used: nothing was booked
            return
        self.pending = None
        if self.on_done is not None:
            self.on_done(receipt)  # first, so a form in a modal can close before the receipt opens
        if self.show_receipt:
            self.app.push_screen(ReceiptModal(receipt))

    def _cancelled(self) -> None:
        if self.on_cancel is not None:
            self.on_cancel()

    def _notify(self, error: ServiceError) -> None:
        self.screen.notify(visible_lines(error.message), severity="error", markup=False)


def start_authorised(screen: ServiceCalls, prepare: Callable[[], Pending], **options: Any) -> AuthorisedFlow:
    """Run the flow for the operation `prepare()` creates; see AuthorisedFlow for the options."""
    flow = AuthorisedFlow(screen, prepare, **options)
    flow.start()
    return flow
