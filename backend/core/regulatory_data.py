"""Regulatory data files that say whether they were verified against the official text (backend/data/*.toml).

A rule we could only read in secondary sources is still data with its source, but marked `verificado = false`
with what is missing (`sin_verificar`, Spanish): the area that uses it reads the flag, and `check`, `status`
and the staff screens warn until someone checks the official text and flips it. The core reads the files
(data, not area code), so `check` and `status` warn without importing an area.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

# file -> what it is, as staff read it in a warning
FLAGGED = {
    "mora_tarjeta.toml": "Interés de mora de tarjetas",
    "uafe_resu.toml": "Reporte RESU de efectivo para la UAFE",
}


@dataclass(frozen=True)
class Provenance:
    file: str
    label: str
    verified: bool
    unverified: str  # what is not verified, in Spanish ("" when verified)

    def warning(self) -> str | None:
        if self.verified:
            return None
        return f"{self.label}: datos sin verificar contra la norma oficial. {self.unverified} (backend/data/{self.file})"


@cache
def load(name: str) -> dict[str, Any]:
    """One data file of backend/data, its `verificado` flag checked (parse)."""
    return parse(name, resources.files("backend").joinpath("data", name).read_text(encoding="utf-8"))


def parse(name: str, text: str) -> dict[str, Any]:
    """A file without the flag, or unverified without saying what is missing, is refused: a silent default
    would read as verified."""
    data = tomllib.loads(text)
    flag = data.get("verificado")
    if not isinstance(flag, bool):
        raise ValueError(f"{name}: «verificado» must be true or false")
    note = data.get("sin_verificar", "")
    if not flag and not (isinstance(note, str) and note.strip()):
        raise ValueError(f"{name}: unverified data must say what is missing in «sin_verificar»")
    return data


def provenance(name: str) -> Provenance:
    data = load(name)
    return Provenance(name, FLAGGED.get(name, name), data["verificado"], "" if data["verificado"] else
                      data["sin_verificar"].strip())


def warnings() -> list[str]:
    """One Spanish line per flagged data file that is not verified, for `check`, `status` and the staff."""
    return [w for name in FLAGGED if (w := provenance(name).warning())]
