"""The shared flow pieces: the OTP modal while a code is checked, superseded workers, lost screens."""

import threading

from textual.widgets import Static

from screens.shared.base import MemberScreen
from screens.shared.otp import OtpModal
from tests.ui import SIZE, login, make_app, screen_text, settle


class Slow:
    """A submit that holds until released, like a booking waiting for the write lock."""

    def __init__(self, result="hecho"):
        self.release = threading.Event()
        self.result = result

    def __call__(self, code):
        self.release.wait(10)
        return self.result


def challenge(backend):
    from backend.security.otp import Challenge

    now = backend.now()
    from datetime import timedelta

    return Challenge("c", "transferencia", "09******78", now + timedelta(minutes=5), 3, now)


async def test_the_code_modal_cannot_be_dismissed_while_a_code_is_checked(backend):
    app = make_app(backend)
    outcome = []
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        slow = Slow()
        app.push_screen(OtpModal(challenge(backend), submit=slow, resend=lambda: None), outcome.append)
        await pilot.pause()
        app.screen.query_one("#otp-code").value = "123456"
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.click("#otp-cancel")
        await pilot.pause()
        assert isinstance(app.screen, OtpModal) and "verificando" in screen_text(app)
        slow.release.set()
        await settle(pilot)
        assert outcome == ["hecho"] and not isinstance(app.screen, OtpModal)


async def test_a_booking_whose_screen_went_away_is_announced_on_the_next_one(backend):
    class Done:
        title, reference = "Transferencia Cooprogreso", "2611250000042"

    app = make_app(backend)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await login(pilot)
        slow = Slow(Done())
        app.push_screen(OtpModal(challenge(backend), submit=slow, resend=lambda: None))
        await pilot.pause()
        app.screen.query_one("#otp-code").value = "123456"
        await pilot.press("enter")
        await pilot.pause()
        app.end_session("Tu sesión terminó por inactividad. Ingresa nuevamente.")  # e.g. the idle timer
        await pilot.pause()
        slow.release.set()
        await settle(pilot)
        text = screen_text(app)
        assert "2611250000042" in text and "se realizó" in text


class Pages(MemberScreen):
    """Two calls of one tag: the older, slower answer must never land over the newer one."""

    def compose_body(self):
        yield Static("", id="page")

    def on_mount(self):
        super().on_mount()
        self.gate = threading.Event()
        self.delivered = []

        def old():
            self.gate.wait(10)
            return "página vieja"

        self.call("page", old)
        self.call("page", lambda: "página nueva")

    def done_page(self, text):
        self.delivered.append(text)
        self.query_one("#page", Static).update(text)


async def test_a_superseded_result_is_dropped(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        screen = Pages()
        app.push_screen(screen)
        await settle(pilot)
        screen.gate.set()
        await settle(pilot)
        assert screen.delivered == ["página nueva"]
        assert "página nueva" in screen_text(app) and "página vieja" not in screen_text(app)


async def test_saving_a_receipt_keeps_its_buttons_on_screen(backend, tmp_path):
    from backend.transfers.transfers import TransferRequest
    from screens.shared.receipt import ReceiptModal
    from tests.transfer_helpers import demo_member, transfer

    who = demo_member(backend)
    receipt = transfer(backend, who, TransferRequest("propia", who.accounts[0], 1_00, "x",
                                                     dest_account_id=who.accounts[1]))
    app = make_app(backend, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        app.push_screen(ReceiptModal(receipt))
        await pilot.pause()
        await pilot.press("g")
        await settle(pilot)
        text = screen_text(app)
        assert "Guardado en" in text and "Guardar comprobante" in text and "Cerrar" in text
        await pilot.click("#close")
        await pilot.pause()
        assert not isinstance(app.screen, ReceiptModal)


async def test_a_code_voided_by_wrong_tries_stops_counting_down(backend):
    """After the third wrong code the dialog said the code was cancelled while «Vence en 4:54» went on counting."""
    from backend.core.errors import OtpError

    def wrong(code):
        raise OtpError("Este código fue anulado. Solicita uno nuevo.", code="otp_exhausted", tries_left=0)

    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        app.push_screen(OtpModal(challenge(backend), submit=wrong, resend=lambda: None))
        await pilot.pause()
        assert "Vence en" in screen_text(app)
        app.screen.query_one("#otp-code").value = "123456"
        await pilot.press("enter")
        await settle(pilot)
        text = screen_text(app)
        assert "anulado" in text and "Código sin validez" in text and "Vence en" not in text, text
