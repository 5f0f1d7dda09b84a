"""Start-up stays lean: the first screen loads no section, sign-in or TOML code; lazy services stay single."""

import subprocess
import sys
import threading

from backend.service import Backend
from backend.settings import Settings

# What the login screen never needs: sign-in and the operation flow load with the first sign-in, sections on use.
DEFERRED = ("backend.auth", "backend.otp", "backend.operations", "backend.staff", "backend.ledger",
            "backend.products", "backend.receipts", "pyotp", "tomllib", "screens.menu", "screens.products")

PROBE = """
import sys
from backend.service import Backend
from backend.settings import Settings
from cooprogreso_tui.app import CooprogresoApp

app = CooprogresoApp(Backend(sys.argv[1], Settings(scrypt_log_n=8)))

async def first_screen(pilot):
    await pilot.pause()
    assert pilot.app.screen.query_one("#username").has_focus
    pilot.app.exit()

app.run(headless=True, size=(80, 24), auto_pilot=first_screen)
print(" ".join(m for m in {deferred!r} if m in sys.modules))
"""


def test_first_screen_loads_no_deferred_module(tmp_path, monkeypatch):
    monkeypatch.setenv("COOPROGRESO_SECRET_KEY_FILE", str(tmp_path / "keys.json"))
    out = subprocess.run([sys.executable, "-c", PROBE.format(deferred=DEFERRED), str(tmp_path / "coop.sqlite3")],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


def test_core_services_are_built_once_under_concurrent_first_use(tmp_path, monkeypatch):
    """Two workers asking at once get the one `ops`: a section registers its kinds where later calls look."""
    monkeypatch.setenv("COOPROGRESO_SECRET_KEY_FILE", str(tmp_path / "keys.json"))
    backend = Backend(tmp_path / "coop.sqlite3", Settings(scrypt_log_n=8))
    start = threading.Barrier(8)
    seen: list[tuple[int, int, int]] = []

    def ask() -> None:
        start.wait()
        seen.append((id(backend.ops), id(backend.auth), id(backend.otp)))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 1
    assert backend.ops.auth is backend.auth and backend.auth.otp is backend.otp is backend.ops.otp
    backend.close()
