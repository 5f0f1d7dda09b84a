"""The backend is a library: importing any of its modules must not load UI code."""

import pkgutil
import subprocess
import sys

import backend

UI = ("textual", "rich", "screens", "cooprogreso_tui")


def test_no_backend_module_loads_ui_code():
    modules = [f"backend.{m.name}" for m in pkgutil.iter_modules(backend.__path__)]
    assert "backend.ledger" in modules and "backend.otp" in modules
    for module in modules:
        code = (f"import sys, {module}\n"
                f"bad = [m for m in sys.modules if m.split('.')[0] in {UI!r}]\n"
                "print(','.join(bad))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        assert out.strip() == "", f"{module} loads {out.strip()}"
