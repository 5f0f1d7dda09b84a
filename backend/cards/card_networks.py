"""Which card network issues a card number: another institution's card is accepted only if one does.

Luhn alone lets through numbers nobody issues (`0000000000000` passes it); the networks' published
prefixes and lengths (backend/data/redes_tarjetas.toml, with its source) close that gap.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from backend.core.errors import ValidationError


@dataclass(frozen=True)
class Network:
    name: str
    prefixes: tuple[tuple[str, str], ...]  # inclusive (low, high), both of the same length
    lengths: tuple[int, ...]

    def issues_prefix(self, digits: str) -> bool:
        return any(low <= digits[:len(low)] <= high for low, high in self.prefixes)


@cache
def networks() -> tuple[Network, ...]:
    text = resources.files("backend").joinpath("data/redes_tarjetas.toml").read_text(encoding="utf-8")
    found = []
    for row in tomllib.loads(text)["red"]:
        prefixes = []
        for item in row["prefijos"]:
            low, _, high = item.partition("-")
            high = high or low
            if not ((low + high).isascii() and low.isdigit() and high.isdigit() and len(low) == len(high) and low <= high):
                raise ValueError(f"redes_tarjetas.toml: prefijo no válido {item!r} en {row['nombre']}")
            prefixes.append((low, high))
        found.append(Network(row["nombre"], tuple(prefixes), tuple(row["digitos"])))
    return tuple(found)


def network_of(digits: str) -> Network | None:
    """The network whose prefix `digits` starts with (the longest, most specific prefix wins)."""
    return _network_of_prefix(digits[:_longest_prefix()])


@cache
def _longest_prefix() -> int:
    return max(len(low) for n in networks() for low, _ in n.prefixes)


@lru_cache(maxsize=1024)
def _network_of_prefix(digits: str) -> Network | None:
    """`network_of` for the first digits only (all it reads), remembered: every payment to another bank's card
    checks its number's network again (issue #23)."""
    matches = [(max(len(low) for low, high in n.prefixes if low <= digits[:len(low)] <= high), n)
               for n in networks() if n.issues_prefix(digits)]
    return max(matches, key=lambda m: m[0])[1] if matches else None


def check_issued(digits: str) -> Network:
    """The network of another institution's card number (ASCII digits, Luhn already checked), or a
    Spanish field error: no network issues that prefix, or none at that length."""
    network = network_of(digits)
    if network is None:
        names = [n.name for n in networks()]
        raise ValidationError(
            f"El número de tarjeta no es de ninguna red de tarjetas ({', '.join(names[:-1])} o {names[-1]}); "
            "revísalo.", field="numero")
    if len(digits) not in network.lengths:
        raise ValidationError(f"Una tarjeta {network.name} tiene {_lengths(network.lengths)} dígitos; revisa el número.",
                              field="numero")
    return network


def _lengths(lengths: tuple[int, ...]) -> str:
    if len(lengths) == 1:
        return str(lengths[0])
    if list(lengths) == list(range(lengths[0], lengths[-1] + 1)):
        return f"de {lengths[0]} a {lengths[-1]}"
    return ", ".join(str(n) for n in lengths[:-1]) + f" o {lengths[-1]}"
