"""The one registry of sections: every row opens a screen or is a heading over its entries."""

import importlib.util

from screens.menu.registry import SECTIONS, by_key, screen_for
from screens.menu.sections import NotAvailableScreen


def test_every_section_opens_its_screen_and_numbers_are_unique():
    for audience in {s.audience for s in SECTIONS}:
        numbers = [s.number for s in SECTIONS if s.number is not None and s.audience == audience]
        assert len(numbers) == len(set(numbers)), audience
    assert len({s.key for s in SECTIONS}) == len(SECTIONS)
    for section in SECTIONS:
        if section.parent and section.menu:
            assert by_key(section.parent).heading
        elif section.parent:  # reached from its parent's screen (and the palette), not a menu row
            assert by_key(section.parent).screen and section.screen
        if section.screen and importlib.util.find_spec(section.screen.partition(":")[0]) is not None:
            assert not isinstance(screen_for(section.key), NotAvailableScreen), section.key
        assert section.help or section.heading or section.screen is None
