"""The command palette (Ctrl+P): every section of the menu and every help topic, by name.

Sections are offered only to a signed-in member and never over a dialog (an OTP being typed, say);
help topics — each section's help and the Preguntas frecuentes — and the display themes are offered everywhere. A FAQ is
also found by a word of its answer, the same search «Preguntas frecuentes» uses.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import ModalScreen

if TYPE_CHECKING:  # the registry, help screens and texts load when the palette first opens, not at start-up
    from screens.help.help import HelpTopic
    from screens.menu.registry import Section

ANSWER_SCORE = 0.2  # a word found only in an answer ranks below any match in a title


class CoopCommands(Provider):
    def _sections(self) -> list[Section]:
        signed = getattr(self.app, "signed_in", None)
        if not signed or isinstance(self.screen, ModalScreen):
            return []
        from screens.menu.registry import reachable_for

        return reachable_for(getattr(signed, "role", "socio"))

    def _open(self, key: str) -> None:
        from screens.menu.registry import screen_for

        self.app.push_screen(screen_for(key))

    def _themes(self) -> list[tuple[str, Any]]:
        from screens.shared.themes import THEMES

        choose = cast(Any, self.app).choose_theme  # the palette runs inside CooprogresoApp
        return [(f"Tema · {label}", partial(choose, name)) for name, (label, _) in THEMES.items()]

    def _help(self, topic: HelpTopic) -> None:
        from screens.help.help import HelpModal

        self.app.push_screen(HelpModal(topic))

    def _settings(self) -> Any:
        return cast(Any, self.app).backend.settings  # the palette runs inside CooprogresoApp

    def _topics(self) -> list[tuple[str, HelpTopic, str]]:
        """(display, topic, extra words to match) for every help topic."""
        from backend.help.faq import faqs
        from screens.help.help import HelpTopic, section_topics

        signed = getattr(self.app, "signed_in", None)
        topics = [(t.title, t, " ".join(s.aliases)) for s, t in section_topics(getattr(signed, "role", "socio"))]
        for entry in faqs(self._settings()):
            topics.append((f"Pregunta · {entry.question}", HelpTopic(entry.question, entry.answer), ""))
        return topics

    async def discover(self) -> Hits:
        for section in self._sections():
            yield DiscoveryHit(f"Abrir · {section.plain_title}", partial(self._open, section.key), help=section.help)
        for display, topic, _ in self._topics():
            yield DiscoveryHit(display, partial(self._help, topic))
        for display, choose in self._themes():
            yield DiscoveryHit(display, choose, help="Colores de la pantalla; se recuerdan para tu próximo ingreso.")

    async def search(self, query: str) -> Hits:
        from backend.help.faq import faqs, search

        matcher = self.matcher(query)
        for section in self._sections():
            display = f"Abrir · {section.plain_title}"
            score = max([matcher.match(display)] + [matcher.match(a) * 0.8 for a in section.aliases])
            if score > 0:
                yield Hit(score, matcher.highlight(display), partial(self._open, section.key), display,
                          help=section.help)
        entries = {f"Pregunta · {e.question}" for e in search(faqs(self._settings()), query)}
        for display, topic, words in self._topics():
            score = max(matcher.match(display), matcher.match(words) * 0.8 if words else 0)
            if score <= 0 and display in entries:
                score = ANSWER_SCORE
            if score > 0:
                yield Hit(score, matcher.highlight(display), partial(self._help, topic), display)
        for display, choose in self._themes():
            score = max(matcher.match(display), matcher.match("colores contraste apariencia") * 0.8)
            if score > 0:
                yield Hit(score, matcher.highlight(display), choose, display,
                          help="Colores de la pantalla; se recuerdan para tu próximo ingreso.")
