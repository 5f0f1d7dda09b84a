"""Channel figures: how much slower the app reaches its login screen over SSH than locally (same run,
same machine, both in tmux at 80×24), and how much slower the browser first paints it than a local start.

Both channels are measured as deployed, warm: the SSH branch server (tests/ssh_harness.py) runs
`cooprogreso warm` as deploy/systemd/cooprogreso-warm.service does, ready before the first connection, and each
session is `cooprogreso-session` through sudo as deploy/ssh ships it; `cooprogreso web` starts its own warm server
before it listens. The local start it is divided by stays a cold `cooprogreso --db` (what a member runs)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# How the bench reads the browser's screen: the page's xterm.js terminal, caught where textual.js stores it
# (`this.terminal = new Terminal(…)`) by a setter the page inherits. The tests rewrite textual.js on its way in
# instead (tests/app/test_web_browser.py EXPOSE_TERMINAL); timed, that costs a round trip of the 0.5 MB script
# through Playwright that no member's browser pays (0.3–0.5 s of page load on this machine).
CATCH_TERMINAL = """Object.defineProperty(Object.prototype, "terminal", { configurable: true, set(value) {
  Object.defineProperty(this, "terminal", { value, writable: true, configurable: true, enumerable: true });
  if (value && value.buffer && value.buffer.active && !window.__terminal) window.__terminal = value; } });"""
# Stage timestamps (ms since navigation start) the page keeps for the bench: the load event, and the first time the
# login screen is in xterm.js's buffer (parsed, not yet drawn). Paint minus that is the browser drawing it.
STAGES = """window.addEventListener("load", () => { window.__loaded = performance.now(); });
const catchTerminal = Object.getOwnPropertyDescriptor(Object.prototype, "terminal").set;
Object.defineProperty(Object.prototype, "terminal", { configurable: true, set(value) {
  catchTerminal.call(this, value);
  if (value && value.onWriteParsed && window.__terminal === value) value.onWriteParsed(() => {
    if (window.__parsed) return;
    const buffer = value.buffer.active;
    for (let i = 0; i < buffer.length; i++)
      if (buffer.getLine(i).translateToString().includes("Usuario")) { window.__parsed = performance.now(); return; }
  }); } });"""


# Drawn is not yet seen: the page shows its terminal (opacity 1) only once its first bytes came; until then the
# login screen in xterm.js's buffer is not a paint.
SHOWN = "getComputedStyle(document.querySelector('.textual-terminal')).opacity === '1'"


def _until_login(read, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while "Usuario" not in read():
        if time.monotonic() > deadline:
            raise TimeoutError("the login screen never appeared")
        time.sleep(0.02)


def _local_start(demo: Path, sock: Path) -> float:
    tmux = ["tmux", "-S", str(sock)]
    start = time.monotonic()
    subprocess.run(tmux + ["new-session", "-d", "-s", "local", "-x", "80", "-y", "24",
                           f"{sys.executable} -m cooprogreso_tui.cli --db {demo}"], check=True, cwd=ROOT)
    try:
        _until_login(lambda: subprocess.run(tmux + ["capture-pane", "-p", "-t", "local"], capture_output=True,
                                            text=True).stdout)
        return time.monotonic() - start
    finally:
        subprocess.run(tmux + ["kill-server"], capture_output=True)


def ssh_startup_ratio(work: Path, demo: Path, rounds: int = 3, stages: dict[str, float] | None = None) -> float | None:
    """`ssh -tt` to the login screen ÷ local start to the login screen (median of a few rounds each).
    None when this machine cannot run a throwaway branch server (needs root, sshd, sudo, tmux).
    stages, when given, gets ssh_handshake_ratio: `ssh -T` until the wrapper refuses it (connection, key
    exchange, sign-in, session, shell and wrapper: everything before sudo and the app) ÷ the same local start,
    the share of the figure that is the protocol's."""
    from tests.ssh_harness import BranchServer, missing

    if missing() is not None:
        return None
    branch = BranchServer().start(demo)
    try:
        remote, local, handshake = [], [], []
        for i in range(rounds):
            local.append(_local_start(demo, work / f"bench-tmux-{i}.sock"))
            start = time.monotonic()
            name = branch.open(f"bench{i}")
            _until_login(partial(branch.screen, name))  # polled as the local start is (branch.wait: every 0.1 s)
            remote.append(time.monotonic() - start)
            branch.tmux("kill-session", "-t", name)
            start = time.monotonic()
            subprocess.run(branch.ssh_command(tty=False), stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
            handshake.append(time.monotonic() - start)
        if stages is not None:
            stages["ssh_handshake_ratio"] = sorted(handshake)[rounds // 2] / sorted(local)[rounds // 2]
        return sorted(remote)[rounds // 2] / sorted(local)[rounds // 2]
    finally:
        branch.stop()


def web_first_paint_ratio(work: Path, demo: Path, rounds: int = 3,
                          stages: dict[str, float] | None = None) -> float | None:
    """Browser first paint of the login screen ÷ local start to it (median of a few rounds each, same run):
    seconds alone would measure the machine. None without Chromium. stages, when given, gets web_page_ratio:
    opening the page until it opens its websocket (as soon as the page is parsed, before its script and font are
    loaded; the app, started when the page was served, starts meanwhile) ÷ the same local start; web_load_ratio:
    until the page's load event (textual.js creates its terminal only then, and takes that websocket);
    web_parsed_ratio: until the login screen is in the terminal's buffer (received and parsed; the rest of the
    first paint is the browser drawing it)."""
    local = sorted(_local_start(demo, work / f"bench-web-tmux-{i}.sock") for i in range(rounds))
    runs = [_web_first_paint(demo) for _ in range(rounds)]
    if any(r is None for r in runs):
        return None
    paints = sorted(r[0] for r in runs if r is not None)
    if stages is not None:
        for i, name in enumerate(("web_page_ratio", "web_load_ratio", "web_parsed_ratio"), start=1):
            stages[name] = sorted(r[i] for r in runs if r is not None)[rounds // 2] / local[rounds // 2]
    return paints[rounds // 2] / local[rounds // 2]


def _web_first_paint(demo: Path) -> tuple[float, float, float, float] | None:
    """Seconds to the login screen drawn, to the websocket open, to the page's load event and to the login screen
    parsed into the terminal's buffer, in headless Chromium; None without it."""
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not Path(chromium).exists():
        return None
    from tests.app.test_web_browser import CHROMIUM_FLAGS, SCREEN_JS
    from tests.channels import free_port, wait_port

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "cooprogreso_tui.cli", "web", "--db", str(demo), "--port",
                               str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        wait_port(port, proc=server)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS, headless=True)
            try:
                # a terminal of 80×24, as the local start's tmux pane: Chromium's default 1280×720 makes it 142×34,
                # a first frame of 2.5 times the cells to lay out, render and send
                page = browser.new_page(viewport={"width": 728, "height": 520})
                page.add_init_script(CATCH_TERMINAL)
                page.add_init_script(STAGES)
                opened: list[float] = []
                page.on("websocket", lambda ws: opened.append(time.monotonic()))
                start = time.monotonic()
                page.goto(f"http://127.0.0.1:{port}/")
                shown_screen = f"() => {SHOWN} ? ({SCREEN_JS})() : []"
                _until_login(lambda: "\n".join(page.evaluate(shown_screen)))
                painted = time.monotonic() - start
                size = page.evaluate("() => [window.__terminal.cols, window.__terminal.rows]")
                if size != [80, 24]:
                    raise RuntimeError(f"the browser's terminal is {size[0]}×{size[1]}, not 80×24: adjust the viewport")
                # the page's clock starts at navigation, a hair after `start`: its stages are, if anything, short
                loaded, parsed = page.evaluate("() => [window.__loaded, window.__parsed]")
                return painted, opened[0] - start, loaded / 1000, parsed / 1000
            finally:
                browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
