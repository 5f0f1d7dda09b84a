"""Focus shows without colour, and typing over a dropdown never chooses for the member (issue #21, point 3)."""

from __future__ import annotations

from textual.containers import ScrollableContainer
from textual.widgets import DataTable, Input, OptionList, RadioSet, Select

from tests.ui import SIZE, login, make_app, settle

SECTIONS = ("transferencias_propias", "servicios_pagar", "tarjetas_cooprogreso", "contacto", "ayuda",
            "beneficiarios", "solicitudes")


def cells(app, widget) -> list:
    """The widget's cells as a terminal without colour shows them: character and text attributes, no colour."""
    strips = app.screen._compositor.render_strips()
    region = widget.region
    shown = []
    for y in range(region.y, region.y + region.height):
        for segment in strips[y].crop(region.x, region.x + region.width):
            style = segment.style
            attrs = (style.bold, style.underline, style.reverse, style.italic) if style else None
            shown.extend((ch, attrs) for ch in segment.text)
    return shown


async def focus_shown(app, pilot, widget) -> tuple[int, str, str]:
    """How many cells focus changes, and the first cell focused and not."""
    widget.focus()
    await pilot.pause()
    focused = cells(app, widget)
    app.screen.set_focus(None)
    await pilot.pause()
    blurred = cells(app, widget)
    return sum(a != b for a, b in zip(focused, blurred)), focused[0][0], blurred[0][0]


async def assert_focus_shows(app, pilot, where: str) -> None:
    for widget in list(app.screen.focus_chain):
        changed, first, before = await focus_shown(app, pilot, widget)
        if isinstance(widget, (Input, Select, ScrollableContainer)) and not isinstance(widget, (DataTable, OptionList, RadioSet)):
            # a field or a form: a bar (or a heavier border) at its left edge, not a shade of it
            assert first != before and first.strip(), (where, widget)
        else:  # a list, a table, a button: its cursor or label changes, not only its colour
            assert changed >= min(8, widget.region.width), (where, widget)


async def test_every_focusable_widget_shows_focus_without_colour(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await assert_focus_shows(app, pilot, "login")
        await login(pilot)
        menu = app.screen.query_one("#menu", OptionList)
        for key in SECTIONS:
            menu.highlighted = menu.get_option_index(key)
            menu.focus()
            await pilot.press("enter")
            await settle(pilot)
            await assert_focus_shows(app, pilot, key)
            await pilot.press("escape")
            await settle(pilot)


async def test_typing_over_a_dropdown_does_not_change_it(backend):
    from tests.transfers.test_ui_transfers import open_transfer

    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await open_transfer(pilot, "propia")
        origin, dest = app.screen.query_one("#origin", Select), app.screen.query_one("#dest-own", Select)
        options = [value for _, value in dest._options if isinstance(value, int)]
        assert options and origin.value not in options  # the origin is not offered as its own destination
        dest.value = options[0]
        await pilot.pause()
        chosen = dest.value
        assert chosen not in (origin.value, Select.NULL)
        origin_label = next(str(label) for label, value in origin._options if value == origin.value)
        dest.focus()
        await pilot.press("space", *origin_label.split()[-1], "enter")  # the origin's number typed at the list
        await settle(pilot)
        assert dest.value == chosen
        await pilot.press(*origin_label.split()[-1])  # and at the closed dropdown
        await settle(pilot)
        assert dest.value == chosen
