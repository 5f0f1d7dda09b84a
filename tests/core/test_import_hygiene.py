"""The backend is a library: importing any of its modules must not load UI code."""

import pkgutil
import subprocess
import sys

import backend

UI = ("textual", "rich", "screens", "cooprogreso_tui")

# One fresh interpreter imports every backend module in turn and names the first whose import brought UI
# code in: UI modules loaded by an earlier import would already have been reported for that one.
PROBE = """
import importlib, sys
for module in sys.argv[1:]:
    importlib.import_module(module)
    bad = sorted(m for m in sys.modules if m.split('.')[0] in {ui!r})
    if bad:
        print(module, 'loads', ','.join(bad))
        break
"""


def test_no_backend_module_loads_ui_code():
    modules = [m.name for m in pkgutil.walk_packages(backend.__path__, "backend.") if not m.ispkg]
    assert "backend.core.ledger" in modules and "backend.security.otp" in modules
    out = subprocess.run([sys.executable, "-c", PROBE.format(ui=UI), *modules], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == ""
