"""Restyles and layouts Textual would do and our screens skip: a form's scroll restyles only itself on focus
(FormScroll), a screen shown for the first time is not restyled whole (StyledWhenShown), a screen is not laid out
again at the size it has (LaidOutOnce). What the member sees is the same."""

from textual.css.model import SelectorType
from textual.geometry import Size
from textual.screen import Screen

from cooprogreso_tui.app import SCREENS_CSS
from screens.shared.confirm import ConfirmModal
from screens.shared.scroll import FormScroll
from screens.shared.styled import StyledWhenShown
from tests.ui import SIZE, make_app, settle, signed_in, type_into


async def test_the_form_shows_its_focus_and_no_rule_styles_its_content_by_it(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(pilot, "transferencias_propias")
        form = app.screen.query_one("#transfer-form", FormScroll)
        amount = app.screen.query_one("#amount")
        form.focus()
        await pilot.pause()
        assert form.styles.outline_left[0] == "thick"
        amount.focus()
        await settle(pilot)
        assert form.styles.outline_left[0] == "" and amount.has_focus
        # FormScroll restyles only itself on focus: no rule (ours or Textual's, as loaded) may style what lies
        # inside a scroll by the scroll's own :focus
        scroll_types = set(form._css_type_names)
        by_focus = [selector_set.css for rule in app.stylesheet.rules for selector_set in rule.selector_set
                    if any("focus" in selector.pseudo_classes
                           and (selector.type != SelectorType.TYPE or selector.name in scroll_types)
                           for selector in selector_set.selectors[:-1])]
        assert by_focus == []


def _styles(screen) -> list:
    return [(node, node.styles._base_styles.get_rules(), node.get_pseudo_classes()) for node in
            screen.walk_children(with_self=True)]


async def test_a_screen_first_shown_has_the_styles_a_restyle_would_give_it(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(pilot, "transferencias_propias")
        await type_into(pilot, "#amount", "10.00")
        await type_into(pilot, "#motive", "Cena")
        await pilot.press("enter")
        await settle(pilot)
        for screen in (app.screen_stack[-2], app.screen):  # the section, and the dialog over it
            assert isinstance(screen, StyledWhenShown)
            shown = _styles(screen)
            app.stylesheet.update(screen)
            assert _styles(screen) == shown
        assert isinstance(app.screen, ConfirmModal)


async def test_a_section_opens_with_one_layout_and_the_menu_beneath_is_not_laid_out_again(backend, monkeypatch):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(pilot)
        menu = app.screen
        laid_out: list[Screen] = []
        refresh_layout = Screen._refresh_layout

        def counted(self, *args, **kwargs):
            laid_out.append(self)
            return refresh_layout(self, *args, **kwargs)

        monkeypatch.setattr(Screen, "_refresh_layout", counted)
        menu.open_section("transferencias_interbancarias")
        await settle(pilot)
        section = app.screen
        assert section is not menu and menu not in laid_out  # Textual laid the menu out again at the same size
        # nothing was left for a layout to do: laying the section out again now changes no widget
        hidden, shown, resized = section._compositor.reflow(section, section.size)
        assert (hidden, shown, resized) == (set(), set(), set()) and section._compositor.size == Size(*SIZE)
        # a terminal of another size lays out the section and the menu beneath it, as Textual does
        await pilot.resize_terminal(100, 30)
        await settle(pilot)
        assert section._compositor.size == menu._compositor.size == Size(100, 30)


async def test_a_section_being_built_is_restyled_once_as_it_is_first_shown(backend, monkeypatch):
    """Classes a Select, a Button or an Input sets on itself as it is built and mounted, and the focus given on
    mount, restyle nothing in a screen not shown yet (Textual asks the app, `update_styles`); the screen restyles
    them at its first showing, to the styles a restyle of the whole screen gives."""
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(pilot)
        update_nodes = app.stylesheet.update_nodes
        unshown: list = []

        def watched(nodes, animate=False):
            nodes = list(nodes)
            unshown.extend(node for node in nodes
                           if isinstance(node.screen if node.is_attached else None, StyledWhenShown)
                           and not node.screen.shown_once)
            return update_nodes(nodes, animate)

        monkeypatch.setattr(app.stylesheet, "update_nodes", watched)
        for section in ("transferencias_interbancarias", "seguridad"):
            app.screen.open_section(section)
            await settle(pilot)
            assert unshown == []
            shown = _styles(app.screen)
            app.stylesheet.update(app.screen)
            assert _styles(app.screen) == shown
            await pilot.press("escape")
            await settle(pilot)



def _restyles_of(target, app, monkeypatch) -> list:
    """Every time the stylesheet restyles `target` from now on (the list grows as it happens)."""
    restyled: list = []
    update_nodes = app.stylesheet.update_nodes

    def watched(nodes, animate=False):
        nodes = list(nodes)
        restyled.extend(node for node in nodes if node is target)
        return update_nodes(nodes, animate)

    monkeypatch.setattr(app.stylesheet, "update_nodes", watched)
    return restyled


async def test_the_sign_in_hidden_by_the_menu_takes_the_screens_rules_as_it_is_shown_again(backend, monkeypatch):
    """The menu brings screens.tcss: the sign-in beneath is restyled by it as it is shown again, not under the menu
    that hides it (a pass over all its widgets at each sign-in)."""
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        login = app.screen
        restyled = _restyles_of(login, app, monkeypatch)
        await signed_in(pilot)
        assert app.stylesheet.has_source(str(SCREENS_CSS)) and restyled == []
        app.sign_out()
        await settle(pilot)
        assert app.screen is login and restyled == [login]
        shown = _styles(login)
        app.stylesheet.update(login)
        assert _styles(login) == shown


async def test_a_field_typed_into_for_the_first_time_is_not_restyled(backend, monkeypatch):
    """Textual's validation gives a field with no validators the `-valid` class at its first value: our fields
    are built with it, so the first key typed restyles nothing; the field has the class Textual gives it."""
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(pilot, "transferencias_propias")
        motive = app.screen.query_one("#motive")
        restyled = _restyles_of(motive, app, monkeypatch)
        motive.value = "Cena"
        await pilot.pause()
        assert restyled == [] and motive.has_class("-valid") and not motive.has_class("-invalid")
