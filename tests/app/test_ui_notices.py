"""Notices (the demo phone's SMS, «Exportación lista», system warnings) never cover what a person acts on
at 80×24: the content gives up the rows a notice needs, so fields, buttons, filters and error lines stay
visible and clickable while it shows."""

from __future__ import annotations

from textual.widgets import Button
from textual.widgets._toast import Toast

from screens.shared.receipt import ReceiptModal
from tests.products.test_ui_products import open_products
from tests.transfers.test_ui_transfers import confirm_and_code, fill_and_continue, open_transfer
from tests.ui import SIZE, make_app, settle, type_into

SMS = "Cooprogreso: tu código de seguridad es 123456. No lo compartas con nadie, ni con la cooperativa."


def assert_nothing_actionable_covered(app) -> None:
    toasts = [app.screen.find_widget(t).visible_region for t in app.screen.query(Toast)]
    toasts = [region for region in toasts if region.height]
    assert toasts, "a notice is showing"
    actionable = [w for w in app.screen.query("*")
                  if w.region.height and (w.focusable or isinstance(w, Button) or w.has_class("error", "field-error"))]
    assert actionable
    covered = [w for w in actionable for t in toasts if t.overlaps(w.region)]
    assert not covered, covered
    screen = app.screen.region
    cut = [w for w in actionable if isinstance(w, Button) and not screen.contains_region(w.region)]
    assert not cut, cut


async def test_an_sms_over_the_receipt_leaves_its_buttons_visible(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_transfer(pilot, "propia")
        await fill_and_continue(pilot, "1.25", "Prueba")
        await confirm_and_code(pilot)
        assert isinstance(app.screen, ReceiptModal)
        app.notify(SMS, title="📱 SMS a 09*****678", markup=False, timeout=30)
        await settle(pilot)
        await pilot.pause(0.2)
        assert_nothing_actionable_covered(app)
        box = app.screen.query_one("#receipt-box").region
        assert all(box.contains_region(b.region) for b in app.screen.query(Button))
        await pilot.click("#close")  # the button a notice used to cover takes the click
        await settle(pilot)
        assert not isinstance(app.screen, ReceiptModal)


async def test_the_export_notice_leaves_the_movement_filters_and_their_error_visible(backend, tmp_path):
    app = make_app(backend, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_products(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await type_into(pilot, "#desde", "40/10/2026")
        await pilot.press("enter")  # «Fecha no válida…» under the filters
        await settle(pilot)
        app.screen.action_export()
        await settle(pilot)
        await pilot.pause(0.2)
        assert [str(t._notification.title) for t in app.screen.query(Toast)] == ["Exportación lista"]
        assert app.screen.query_one("#filter-error").region.height
        assert_nothing_actionable_covered(app)
