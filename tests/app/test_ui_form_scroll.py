"""A form's scroll in the tab order: its focus shows the bar at its left, and restyles only the scroll."""

from textual.css.model import SelectorType

from screens.shared.scroll import FormScroll
from tests.ui import SIZE, make_app, settle, signed_in


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
