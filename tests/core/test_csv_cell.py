"""One helper keeps every CSV we write from starting a formula: a spreadsheet skips leading spaces and runs
« =HYPERLINK(...)» as it runs «=HYPERLINK(...)»."""

from __future__ import annotations

import ast
import pathlib

import pytest

from backend.core.text import csv_cell


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", " =HYPERLINK(\"x\")",
                                  "  +1", "\tfoo", "\rfoo", "\u00a0=1", "\n=1", " \t @x", "\u3000-1"])
def test_a_formula_after_any_leading_whitespace_is_neutralised(text):
    assert csv_cell(text) == "'" + text.replace("\r", "\\u000d")  # a carriage return shown, as on screen


@pytest.mark.parametrize("text", ["a\x1b[2Jb", "a\x07b", "a\rb", "a\u202eb", "a\u200bb", "a\x85b", "a\u2028b"])
def test_a_control_or_invisible_character_is_shown_not_written(text):
    cell = csv_cell(text)
    assert cell.isascii() and cell.isprintable() and cell.startswith("a") and cell.endswith("b") and "\\u" in cell


def test_a_tab_and_a_line_break_in_a_cell_stay():
    assert csv_cell("línea 1\nlínea 2\tfin") == "línea 1\nlínea 2\tfin"


@pytest.mark.parametrize("text", ["Pago de luz", "1.00", "", " texto", "a=b", "Juan - Pérez"])
def test_plain_text_is_left_as_it_is(text):
    assert csv_cell(text) == text


def test_every_csv_writer_in_backend_uses_the_one_helper():
    """No module keeps its own copy of the rule (four did, all missing the leading spaces)."""
    root = pathlib.Path(__file__).resolve().parents[2]
    for path in (root / "backend").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        copies = names & {"_cell", "_csv_safe", "csv_cell"}
        assert not copies or path.relative_to(root).as_posix() == "backend/core/text.py", (path, copies)
