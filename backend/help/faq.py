"""«8. Ayuda», Preguntas frecuentes: the FAQ is data (data/faq.toml), filled with this deployment's settings.

Answers name limits and times through `{setting}` placeholders, so what the help says is what the
app does. Search is accent- and case-insensitive and looks in questions, answers and extra words:
every word typed must appear somewhere in an entry (a word still being typed matches as a prefix).
"""

from __future__ import annotations

import re
import string
import tomllib
import unicodedata
from dataclasses import dataclass, fields
from functools import lru_cache
from importlib import resources

from backend.core.money import format_money
from backend.core.settings import Settings
from backend.core.text import duration

_PRIVATE = ("token", "url", "secret", "password")


@dataclass(frozen=True)
class Faq:
    id: str
    topic: str
    question: str
    answer: str
    words: tuple[str, ...] = ()


def fold(text: str) -> str:
    """Lower case without accents: «Código» and «codigo» search alike."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=1)
def _raw() -> tuple[dict, ...]:
    text = resources.files("backend").joinpath("data/faq.toml").read_text(encoding="utf-8")
    return tuple(tomllib.loads(text)["faq"])


def placeholders(settings: Settings) -> dict[str, str]:
    """Each setting by name; money settings (cents) also as `money_<name>` in dollars, and times in seconds
    also as `time_<name>` («5 minutos»), the way the SMS says them."""
    values: dict[str, str] = {}
    for f in fields(settings):
        if any(part in f.name for part in _PRIVATE):
            continue  # an edited FAQ must not be able to print a gateway's address or token
        value = getattr(settings, f.name)
        values[f.name] = str(value)
        if isinstance(value, int) and not isinstance(value, bool):
            values[f"money_{f.name}"] = format_money(value)
            if f.name.endswith("_seconds"):
                values[f"time_{f.name}"] = duration(value)
    return values


def faqs(settings: Settings) -> list[Faq]:
    """Every entry, in file order, with its placeholders filled from `settings`."""
    values = placeholders(settings)
    return [Faq(raw["id"], raw["tema"], raw["pregunta"].strip(),
                string.Formatter().vformat(raw["respuesta"].strip(), (), values),
                tuple(raw.get("palabras", ()))) for raw in _raw()]


def search(entries: list[Faq], query: str) -> list[Faq]:
    """Entries holding every word of `query`; those whose question holds them come first."""
    words = re.findall(r"\w+", fold(query or ""))
    if not words:
        return list(entries)
    in_question: list[Faq] = []
    elsewhere: list[Faq] = []
    for entry in entries:
        question = fold(entry.question)
        everything = " ".join((question, fold(entry.answer), fold(entry.topic), *map(fold, entry.words)))
        if all(word in everything for word in words):
            (in_question if all(word in question for word in words) else elsewhere).append(entry)
    return in_question + elsewhere
