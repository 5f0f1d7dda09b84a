"""Child process for bench/run.py: start one app headless, report what the parent measures.

usage: probe.py bare|app  startup|rss  [DB]
Prints `rss_kb` (peak RSS) when asked; start-up is timed by the parent around the whole process.
"""

from __future__ import annotations

import resource
import sys


def peak_rss_kb() -> int:
    """This process's own peak RSS. Not ru_maxrss: Linux carries the parent's peak across fork+exec into it,
    so a small child started by a big parent would report the parent's size."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    kind, measure = sys.argv[1], sys.argv[2]
    if kind == "bare":
        from textual.app import App
        from textual.widgets import Footer, Label

        class Bare(App):
            def compose(self):
                yield Label("hola")
                yield Footer()

        async def pilot_bare(pilot):
            await pilot.pause()
            pilot.app.exit()

        Bare().run(headless=True, size=(80, 24), auto_pilot=pilot_bare)
    else:
        from backend.core.settings import Settings
        from backend.service import Backend
        from cooprogreso_tui.app import CooprogresoApp

        backend = Backend(sys.argv[3], Settings(scrypt_log_n=8), create=False)
        app = CooprogresoApp(backend)

        async def pilot_app(pilot):
            await pilot.pause()
            if measure == "rss":
                from screens.products.position import ProductsScreen

                signed = backend.auth.login("demo", "Demo-2026!")
                pilot.app.start_session(signed)
                await pilot.pause()
                pilot.app.push_screen(ProductsScreen())
                for _ in range(3):
                    await pilot.app.workers.wait_for_complete()
                    await pilot.pause()
                assert isinstance(pilot.app.screen, ProductsScreen)
            pilot.app.exit()

        app.run(headless=True, size=(80, 24), auto_pilot=pilot_app)
    if measure == "rss":
        print(f"rss_kb {peak_rss_kb()}")


if __name__ == "__main__":
    main()
