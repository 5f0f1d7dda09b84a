"""No module reaches into another's private names (a leading underscore means «this module only»).

What two modules share is public in one of them; a private import or `module._name` across modules is
how a helper's change silently breaks a caller it never knew it had (issue #18).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("backend", "screens", "cooprogreso_tui")


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def crossings(source: str, where: str) -> list[str]:
    """`where:line: what` for each private name of our packages this source imports or reads off a module."""
    tree = ast.parse(source)
    found, modules = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] in PACKAGES):
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"{where}:{node.lineno}: from {'.' * node.level}{node.module or ''} import {alias.name}")
                else:
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PACKAGES:
                    modules.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in modules:
                found.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_private_name_crosses_a_module() -> None:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found += crossings(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert found == [], "private names used from another module (make them public there):\n" + "\n".join(found)


def test_the_check_sees_each_way_of_crossing() -> None:
    source = ("from backend.core.accounts import _insert_account\n"
              "from .cli import _open\n"
              "from backend.core import accounts\n"
              "import backend.core.text\n"
              "accounts._insert_account(1)\n"
              "backend.core.text._is_refused('x')\n"
              "from backend.core.accounts import insert_account\n"
              "self._private, accounts.__name__, insert_account\n")
    assert [line.split(": ", 1)[1] for line in crossings(source, "x.py")] == [
        "from backend.core.accounts import _insert_account", "from .cli import _open",
        "accounts._insert_account", "backend.core.text._is_refused"]
