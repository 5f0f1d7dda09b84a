"""The simulated phone and the code dialog at 80×24: before sign-in a new member sees only the SMS sent to
their own mobile; toasts leave error lines readable; a code typed with look-alike digits is the code."""
from __future__ import annotations

from textual.widgets._toast import Toast

from backend.demo.coop import cedula
from tests.conftest import add_member, unaffiliated_cedula
from tests.security.test_ui_affiliation import open_wizard
from tests.ui import SIZE, make_app, settle


async def test_signing_up_shows_only_the_sms_to_the_new_members_phone(backend):
    luis, _ = add_member(backend, cedula=cedula("170000310"), mobile="0987654321")
    app = make_app(backend)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        _deposit_sms(backend, luis)
        await open_wizard(pilot, unaffiliated_cedula())
        await settle(pilot)
        await pilot.pause(0.2)
        titles = [str(toast._notification.title) for toast in app.screen.query(Toast)]
        bodies = " ".join(str(toast._notification.message) for toast in app.screen.query(Toast))
        assert titles and all("4321" not in t for t in titles)
        assert "$900.00" not in bodies and "código" in bodies


def _deposit_sms(backend, member_id: int) -> None:
    from backend.core import notices

    with backend.db.write() as conn:
        notices.queue(conn, member_id, "Cooprogreso: depósito en efectivo de $900.00 en tu cuenta.", backend.ctx.now_iso())
    backend.notices.deliver()


async def test_a_toast_over_a_form_leaves_its_error_line_readable(backend):
    from tests.ui import login

    app = make_app(backend)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await login(pilot)
        from screens.menu.registry import screen_for

        app.push_screen(screen_for("transferencias_propias"))
        await settle(pilot)
        await pilot.click("#continue")  # nothing filled in: the form says what is missing
        await settle(pilot)
        app.notify("Cooprogreso: tu código de seguridad es 123456. No lo compartas con nadie, ni con la cooperativa.",
                   title="📱 SMS a 09*****678", markup=False)
        await settle(pilot)
        await pilot.pause(0.2)
        errors = [w.region for w in app.screen.query(".field-error, .error") if w.region.height]
        toasts = [t.region for t in app.screen.query(Toast)]
        assert toasts and errors and not any(t.overlaps(e) for t in toasts for e in errors)


async def test_the_code_typed_in_arabic_indic_digits_is_accepted_without_burning_a_try(backend):
    from textual.widgets import ContentSwitcher

    from screens.security.affiliation import AffiliationScreen
    from screens.shared.otp import OtpModal
    from tests.conftest import last_code
    from tests.ui import type_keys

    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_wizard(pilot, unaffiliated_cedula())
        assert isinstance(app.screen, OtpModal)
        await type_keys(pilot, "#otp-code", last_code(backend).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, AffiliationScreen)
        assert app.screen.query_one(ContentSwitcher).current == "step-user"


async def test_only_the_newest_sms_is_shown_and_it_leaves_with_the_code_dialog(backend):
    """Stacked SMS pushed a code off an 80×24 screen; once the code is used its SMS would cover the receipt."""
    from screens.shared.otp import OtpModal
    from screens.shared.receipt import ReceiptModal
    from tests.conftest import last_code
    from tests.transfer_helpers import demo_member
    from tests.transfers.test_ui_transfers import fill_and_continue, open_transfer
    from tests.ui import type_into

    app = make_app(backend)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_transfer(pilot, "propia")
        await fill_and_continue(pilot, "1.25", "Prueba")
        _deposit_sms(backend, demo_member(backend).member_id)  # waiting on the phone, sent before the code
        await pilot.click("#accept")
        await settle(pilot)
        await pilot.pause(0.2)
        assert isinstance(app.screen, OtpModal)
        bodies = [str(t._notification.message) for t in app.screen.query(Toast)]
        assert len(bodies) == 1 and "código" in bodies[0]
        await type_into(pilot, "#otp-code", last_code(backend))
        await pilot.press("enter")
        await settle(pilot)
        await pilot.pause(0.2)
        assert isinstance(app.screen, ReceiptModal) and not app.screen.query(Toast)
