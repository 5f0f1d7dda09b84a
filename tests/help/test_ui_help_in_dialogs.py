"""F1 inside the confirmation and the code dialogs opens their help (issue 21)."""

from datetime import timedelta

from backend.security.otp import Challenge
from screens.help.help import HelpModal
from screens.shared.confirm import ConfirmModal
from screens.shared.otp import OtpModal
from tests.ui import SIZE, login, make_app, screen_text, settle


async def test_f1_in_the_confirmation_and_code_dialogs(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        now = backend.now()
        dialogs = [ConfirmModal("¿Está seguro que desea eliminar el servicio?", "CNT · 022345678"),
                   OtpModal(Challenge("c" * 16, "transferencia", "09*****678", now + timedelta(minutes=5), 3, now),
                            submit=lambda code: None, resend=lambda: None)]
        for dialog, title in zip(dialogs, ("Confirmación", "Código de seguridad"), strict=True):
            app.push_screen(dialog)
            await settle(pilot)
            await pilot.press("f1")
            await settle(pilot)
            assert isinstance(app.screen, HelpModal), type(dialog).__name__
            assert title in screen_text(app)
            await pilot.press("escape")
            await settle(pilot)
            assert app.screen is dialog  # back where the member was, nothing decided
            dialog.dismiss(None)
            await settle(pilot)
