"""The rule that keeps stored text out of the terminal, checked on the source of every screen.

Whatever reaches a widget is either a literal the code wrote, a number or date formatted by the code, or
text passed through the one renderer (`screens.shared.safe_text`: `safe_text`, `fit`, `SafeText`). A new screen
that hands a stored name, an error message or an f-string with data straight to a widget fails here,
before any database could hold the escape sequence that would reach a member's terminal.
"""

from __future__ import annotations

import ast
from pathlib import Path

SCREENS = Path(__file__).resolve().parents[2] / "screens"
RENDERER = "safe_text.py"

# Calls whose result is safe to show: the renderer, and formatters of numbers and dates written by the code.
SAFE_CALLS = {"safe_text", "SafeText", "fit", "format_money", "format_rate", "date_text", "money_cell", "len"}
# Widgets and methods that draw what they are given (positional arguments; for notify also title=).
DRAWING_CALLS = {"Static", "Label", "Button", "Option", "add_row", "add_column", "notify", "update",
                 "add_option", "Checkbox", "RadioButton", "Tab", "TabPane", "Collapsible", "ListItem", "Markdown"}
WIDGETS = {n for n in DRAWING_CALLS if n[0].isupper()}
RAW = {"Text", "Content"}  # rich.text.Text and textual.content.Content keep control characters as they are
DRAWING_KEYWORDS = {"title", "label", "prompt", "tooltip", "placeholder"}


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):  # SafeText.assemble(...) is a SafeText
        return "SafeText" if isinstance(func.value, ast.Name) and func.value.id == "SafeText" else func.attr
    return ""


def _safe_functions(trees: list[ast.Module]) -> set[str]:
    """Functions in screens declared to return `SafeText`: their results are already rendered."""
    found = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.returns is not None and "SafeText" in ast.unparse(node.returns):
                found.add(node.name)
    return found


def _safe(node: ast.expr, calls: set[str]) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Attribute) and ast.unparse(node.func.value) == "Align":  # Align.center(x)
            return bool(node.args) and _safe(node.args[0], calls)
        return _name(node.func) in calls or _name(node.func) in WIDGETS  # a widget: its own call is checked
    if isinstance(node, ast.IfExp):
        return _safe(node.body, calls) and _safe(node.orelse, calls)
    if isinstance(node, ast.BoolOp):
        return all(_safe(v, calls) for v in node.values)
    if isinstance(node, ast.BinOp):
        return _safe(node.left, calls) and _safe(node.right, calls)
    if isinstance(node, ast.JoinedStr):
        return all(_safe(v, calls) for v in node.values)
    if isinstance(node, ast.FormattedValue):  # `{d:%d/%m/%Y}`, `{n:,}`: a date or number the code formats
        return node.format_spec is not None or _safe(node.value, calls)
    if isinstance(node, ast.Subscript):  # KINDS[t.kind]: a label the code wrote, looked up
        return isinstance(node.value, ast.Name) and node.value.id.isupper()
    if isinstance(node, ast.Name):  # a constant the code wrote (TITLES, NO_MATCHES)
        return node.id.isupper()
    if isinstance(node, (ast.List, ast.Tuple)):
        return all(_safe(e, calls) for e in node.elts)
    return False


def violations() -> list[str]:
    files = sorted(p for p in SCREENS.glob("*.py") if p.name != RENDERER)
    trees = [ast.parse(p.read_text(), filename=str(p)) for p in files]
    calls = SAFE_CALLS | _safe_functions(trees)
    found = []
    for path, tree in zip(files, trees, strict=True):
        for node in ast.walk(tree):
            where = f"{path.name}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in RAW:
                found.append(f"{where}: {node.value.id}.{node.attr} (build text with screens.shared.safe_text)")
            if isinstance(node, ast.ImportFrom) and node.module in {"rich.markup", "textual.markup"}:
                found.append(f"{where}: imports {node.module} (markup from data)")
            if not isinstance(node, ast.Call):
                continue
            name = _name(node.func)
            if isinstance(node.func, ast.Name) and name in RAW:
                found.append(f"{where}: {name}(...) (build text with screens.shared.safe_text)")
            if name == "set_options":  # [(prompt, value), ...]: each prompt shown
                arg = node.args[0] if node.args else None
                prompts = []
                if isinstance(arg, ast.ListComp) and isinstance(arg.elt, ast.Tuple):
                    prompts = [arg.elt.elts[0]]
                elif isinstance(arg, ast.List):
                    prompts = [e.elts[0] for e in arg.elts if isinstance(e, ast.Tuple)]
                elif isinstance(arg, ast.BinOp):
                    prompts = [e.elts[0] for side in (arg.left, arg.right) if isinstance(side, ast.List)
                               for e in side.elts if isinstance(e, ast.Tuple)]
                    prompts += [side.elt.elts[0] for side in (arg.left, arg.right)
                                if isinstance(side, ast.ListComp) and isinstance(side.elt, ast.Tuple)]
                for p in prompts:
                    if not _safe(p, calls):
                        found.append(f"{where}: set_options prompt {ast.unparse(p)}")
                continue
            if name == "update_cell" and len(node.args) > 2 and not _safe(node.args[2], calls):
                found.append(f"{where}: update_cell(..., {ast.unparse(node.args[2])[:60]})")
            if name not in DRAWING_CALLS:
                continue
            if name == "update" and (node.keywords and not node.args
                                     or node.args and isinstance(node.args[0], (ast.Dict, ast.DictComp))):
                continue  # dict.update(...), not a widget
            args = list(node.args)
            if name == "add_option" and args and isinstance(args[0], ast.Tuple):
                args = [args[0].elts[0]]
            if name in {"add_row", "add_column", "notify"} or name[0].isupper():
                args += [k.value for k in node.keywords if k.arg in DRAWING_KEYWORDS]
            plain = name == "notify" and any(k.arg == "markup" and isinstance(k.value, ast.Constant)
                                             and k.value.value is False for k in node.keywords)
            for arg in args if name in {"add_row", "notify"} else args[:1]:
                if isinstance(arg, ast.Starred) or _safe(arg, calls | ({"visible_lines"} if plain else set())):
                    continue
                found.append(f"{where}: {name}({ast.unparse(arg)[:60]})")
    return found


def test_screens_show_text_only_through_the_renderer():
    assert violations() == []
