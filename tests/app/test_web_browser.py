"""The browser channel in a real headless Chromium: sign in, Productos, an own-account transfer with the
code from the simulated phone, the receipt downloaded to the browser. No request leaves the server.
And `cooprogreso web --play`: a demo script plays itself in the browser tab and the money moves."""

from __future__ import annotations

import contextlib
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cooprogreso_tui.play import find_text
from tests.channels import IN_CI, ROOT, artifacts, cli, cmdline, free_port, make_demo, need, wait_port, which

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
# Test hook only: keep a handle on textual-serve's xterm.js terminal so the test can read the screen
# (it draws on a canvas). The page the server sends is unchanged.
EXPOSE_TERMINAL = ("this.terminal=new v.Terminal(", "this.terminal=window.__terminal=new v.Terminal(")

SCREEN_JS = """() => { const t = window.__terminal; if (!t) return [];
  const b = t.buffer.active, out = [];
  for (let y = 0; y < t.rows; y++) { const l = b.getLine(b.viewportY + y); out.push(l ? l.translateToString(true) : ""); }
  return out; }"""


SERVERS: dict[str, int] = {}  # url → the `cooprogreso web` process serving it


def warm_sessions(url: str) -> list[int]:
    """The tabs' sessions forked by the web server's own warm server (`cooprogreso warm`, its child)."""
    def children(pid: int) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    zygotes = [pid for pid in children(SERVERS[url])
               if b"warm" in cmdline(pid)]
    return [session for zygote in zygotes for session in children(zygote)]


@contextlib.contextmanager
def serve(tmp_path: Path, db: Path, *extra: str) -> Iterator[str]:
    """`cooprogreso web` on a free loopback port; its URL while the block runs, then stopped."""
    port = free_port()
    proc = subprocess.Popen(cli("--set", f"export_dir={tmp_path / 'server-files'}", "web", "--db", str(db),
                                "--port", str(port), *extra),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc=proc)
        SERVERS[f"http://127.0.0.1:{port}"] = proc.pid
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def web_server(tmp_path):
    db = make_demo(tmp_path / "web.sqlite3")
    with serve(tmp_path, db) as url:
        yield url, db, tmp_path / "server-files"


def expose_terminal(context) -> None:
    def expose(route):
        response = route.fetch()
        body = response.text()
        assert EXPOSE_TERMINAL[0] in body, "textual-serve's textual.js changed: update the test hook"
        route.fulfill(response=response, body=body.replace(*EXPOSE_TERMINAL))

    context.route("**/static/js/textual.js", expose)


def _browser():
    chromium = which("chromium", "/usr/bin/chromium")
    need(chromium is not None, "Debian's chromium is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need(False, "the playwright package is not installed")
    return chromium, sync_playwright


class Screen:
    def __init__(self, page):
        self.page = page

    def lines(self) -> list[str]:
        return self.page.evaluate(SCREEN_JS)

    def text(self) -> str:
        return "\n".join(self.lines())

    def wait(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.text():
            if time.monotonic() > deadline:
                raise AssertionError(f"«{text}» never appeared; the screen was:\n{self.text()}")
            self.page.wait_for_timeout(100)

    def click(self, text: str, below: int = 0) -> None:
        """Click on `text` on screen, or `below` rows under it (the field under its label)."""
        self.wait(text)
        x, y = find_text(self.lines(), text) or (0, 0)
        y += below
        box = self.page.evaluate("() => { const r = document.querySelector('.xterm-screen')"
                                 ".getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; }")
        cols, rows = self.page.evaluate("() => [window.__terminal.cols, window.__terminal.rows]")
        self.page.mouse.click(box[0] + (x + 0.5) * box[2] / cols, box[1] + (y + 0.5) * box[3] / rows)

    def phone_code(self) -> str | None:
        """The code in the simulated phone's SMS notification (the toast under «SMS a …»)."""
        lines = self.lines()
        for y in range(len(lines) - 1, -1, -1):
            at = lines[y].find("SMS a")
            if at >= 0:
                toast = " ".join(line[max(0, at - 4):] for line in lines[y:y + 8])
                found = re.findall(r"(?<!\d)(\d{6})(?!\d)", toast)
                if found:
                    return found[0]
        return None


def test_a_member_banks_in_a_real_browser(web_server, tmp_path):
    chromium, sync_playwright = _browser()
    url, db, server_files = web_server
    origin = url
    shots = artifacts("web")
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1100, "height": 700}, accept_downloads=True)
            context.on("request", lambda request: requests.append(request.url))
            expose_terminal(context)
            page = context.new_page()
            refused: list[str] = []
            page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
            page.add_init_script(SOCKETS)
            downloads = []
            context.on("page", lambda popup: popup.on("download", lambda d: downloads.append(d)))
            page.on("download", lambda d: downloads.append(d))
            page.goto(url + "/?fontsize=14")
            screen = Screen(page)
            screen.wait("Usuario")
            # drawn is shown: the terminal does not fade in over its first frame (0.3 s of first paint, #23)
            assert page.evaluate("() => getComputedStyle(document.querySelector('.textual-terminal')).opacity") == "1"
            assert len(warm_sessions(url)) == 1  # the tab's session was forked warm, not started cold
            # the page opens its websocket as soon as it is parsed (#23): textual.js takes that one socket at the
            # load, and the page's CSP refuses none of its scripts (the inline one is allowed by its hash)
            sockets, loaded = page.evaluate("() => [window.__sockets, window.__loaded]")
            assert len(sockets) == 1 and sockets[0][1] < loaded and refused == [], (sockets, loaded, refused)
            page.focus(".xterm-helper-textarea")
            for _ in range(20):  # keys sent before the app reads its input are not replayed: wait for the echo
                page.keyboard.type("demo")
                page.wait_for_timeout(500)
                if "demo" in screen.text():
                    break
                page.keyboard.press("Control+a")
                page.keyboard.press("Backspace")
            # Enter moves the focus when the app gets to it: keys already on their way reach the old field
            # (on a busy machine «Demo-2026!» landed in Usuario), so a person's pause, then the echo is awaited.
            page.keyboard.press("Enter")
            page.wait_for_timeout(500)
            page.keyboard.type("Demo-2026!")
            screen.wait("•" * len("Demo-2026!"))
            page.keyboard.press("Enter")
            screen.wait("Menú de opciones")

            page.keyboard.press("1")
            screen.wait("4100000019")
            page.screenshot(path=str(shots / "productos.png"))
            page.keyboard.press("Escape")
            screen.wait("Menú de opciones")

            screen.click("Transferencias a mis Cuentas")
            screen.wait("Ahorros 4100000027")
            screen.click("0.00")
            page.keyboard.type("12.34")
            screen.wait("12.34")
            screen.click("Motivo / referencia", below=1)  # its field, by the mouse: no focus race with typing
            page.wait_for_timeout(300)
            page.keyboard.type("Prueba en navegador")
            screen.wait("Prueba en navegador")
            screen.click("Continuar")
            screen.wait("Confirma")
            screen.click("Confirmar")
            deadline = time.monotonic() + 30
            while (code := screen.phone_code()) is None:
                assert time.monotonic() < deadline, f"no code on the simulated phone:\n{screen.text()}"
                page.wait_for_timeout(100)
            page.keyboard.type(code)
            page.keyboard.press("Enter")
            screen.wait("Guardar comprobante")
            assert "$12.34" in screen.text()
            page.screenshot(path=str(shots / "comprobante.png"))

            screen.click("Guardar comprobante")
            deadline = time.monotonic() + 30
            while not downloads:
                assert time.monotonic() < deadline, "the receipt never reached the browser as a download"
                page.wait_for_timeout(100)
            saved = tmp_path / "descarga.txt"
            downloads[0].save_as(saved)
            screen.wait("navegador")
            page.screenshot(path=str(shots / "descargado.png"))
        finally:
            browser.close()
    receipt = saved.read_text(encoding="utf-8")
    assert downloads[0].suggested_filename.startswith("comprobante-") and "12.34" in receipt
    assert "Prueba en navegador" in receipt
    assert not server_files.exists() or not any(server_files.iterdir()), "the web channel left files on the server"
    strangers = [u for u in requests if not u.startswith(origin) and not u.startswith(("data:", "blob:"))]
    assert strangers == [], f"the page asked third parties: {strangers}"
    # the terminal connects (its app starts) at the page's load, font included: the preloaded font is asked for
    # before textual.js, alongside it, and only once (a preload the page cannot use is a second download)
    fonts = [i for i, u in enumerate(requests) if u.endswith("/fonts/RobotoMono-VariableFont_wght.ttf")]
    script = next(i for i, u in enumerate(requests) if u.endswith("/js/textual.js"))
    assert len(fonts) == 1 and fonts[0] < script, requests
    from backend.security.receipts import verify
    from backend.service import Backend

    backend = Backend(db, create=False)
    try:
        assert verify(backend.ctx.secret("receipt_secret"), receipt)
        assert backend.check() == []
    finally:
        backend.close()


def _transfers(db: Path) -> list[tuple]:
    from backend.service import Backend

    backend = Backend(db, create=False)
    try:
        return [tuple(row) for row in backend.db.conn.execute(
            "SELECT t.kind, t.amount, t.motive FROM transfers t JOIN users u ON u.id = t.user_id"
            " WHERE u.username = 'demo' ORDER BY t.id")]
    finally:
        backend.close()


def test_a_demo_script_plays_itself_in_the_browser(tmp_path):
    """`cooprogreso web --play`: the tab that opens the page watches the script sign in, transfer with the
    code from the simulated phone and reach the receipt; the transfer is really booked."""
    chromium, sync_playwright = _browser()
    db = make_demo(tmp_path / "web.sqlite3")
    before = _transfers(db)
    script = ROOT / "demos" / "transferencia_mis_cuentas.toml"
    shots = artifacts("web")
    requests: list[str] = []
    with serve(tmp_path, db, "--play", str(script), "--speed", "4") as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1100, "height": 700})
            context.on("request", lambda request: requests.append(request.url))
            expose_terminal(context)
            page = context.new_page()
            page.goto(url + "/?fontsize=14")
            # no app is started with the page: the script would play (and book) before the tab watched it
            assert page.evaluate("() => document.getElementById('terminal').dataset.sessionWebsocketUrl"
                                 ).endswith("/ws")
            screen = Screen(page)
            screen.wait("Usuario", timeout=60)
            screen.wait("Menú de opciones", timeout=60)  # nobody types: the script signs in
            screen.wait("Transferencias a mis Cuentas", timeout=60)
            screen.wait("Comprobante", timeout=90)
            page.screenshot(path=str(shots / "guion-comprobante.png"))
            deadline = time.monotonic() + 60
            while len(_transfers(db)) == len(before):
                assert time.monotonic() < deadline, f"the script's transfer was never booked:\n{screen.text()}"
                page.wait_for_timeout(200)
        finally:
            browser.close()
    assert _transfers(db)[len(before):] == [("propia", 25_50, "Ahorro para útiles")]
    strangers = [u for u in requests if not u.startswith(url) and not u.startswith(("data:", "blob:"))]
    assert strangers == [], f"the page asked third parties: {strangers}"
    from backend.service import Backend

    backend = Backend(db, create=False)
    try:
        assert backend.check() == []
    finally:
        backend.close()


def test_chromium_is_present_in_ci():
    if IN_CI:
        assert which("chromium", "/usr/bin/chromium"), "CI must install Debian's chromium"
    else:
        pytest.skip("only checked in CI")


def test_textual_serve_page_has_no_cdn_reference():
    page = (Path(__file__).resolve().parents[2] / "cooprogreso_tui/templates/app_index.html").read_text()
    assert "http://" not in page and "https://" not in page and "googleapis" not in page



SOCKETS = """window.__sockets = [];
const RealSocket = window.WebSocket;
window.WebSocket = function (...args) { window.__sockets.push([args[0], performance.now()]); return new RealSocket(...args); };
window.WebSocket.prototype = RealSocket.prototype;
Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
window.addEventListener("load", () => { window.__loaded = performance.now(); });"""


# An app that prints every size it is told (textual-serve's protocol: tests/app/test_web_prestart.py), served by
# CooprogresoServer itself in its own process.
SIZES_APP = r"""
import json, os, sys
out, inp = sys.stdout.buffer, sys.stdin.buffer
def say(text):
    data = (text + "\r\n").encode(); out.write(b"D" + len(data).to_bytes(4, "big") + data); out.flush()
out.write(b"__GANGLION__\n")
say(f"start {os.environ['COLUMNS']}x{os.environ['ROWS']}")
while (kind := inp.read(1)):
    meta = inp.read(int.from_bytes(inp.read(4), "big"))
    if kind == b"M" and json.loads(meta)["type"] == "resize":
        say("size {width}x{height}".format(**json.loads(meta)))
"""
SIZES_SERVER = """import sys
from cooprogreso_tui import web
port = int(sys.argv[2])
web.CooprogresoServer(f"exec {sys.executable} {sys.argv[1]}", host="127.0.0.1", port=port, public_url=None,
                      origins=web.check_bind("127.0.0.1", port, None, False)).serve()"""
# The page's inline script guesses the terminal's size from the window (cooprogreso_tui/textual_js.py); here the
# window it measures is not the one the terminal fits (as one resized while the page loads).
WRONG_GUESS = """for (const [name, value] of [["innerWidth", %d], ["innerHeight", %d]]) {
  const real = Object.getOwnPropertyDescriptor(window, name).get;
  Object.defineProperty(window, name, { configurable: true, get() {
    return window.__terminal ? real.call(this) : value; } }); }"""


def test_a_wrong_size_guess_is_replaced_by_the_terminals_real_size(tmp_path):
    """The websocket opens before the terminal is made, with a guessed size: when the terminal turns out another
    size, the app is told the real one last, whichever way the guess was wrong (too large, or too small)."""
    import sys

    chromium, sync_playwright = _browser()
    (tmp_path / "sizes.py").write_text(SIZES_APP)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SIZES_SERVER, str(tmp_path / "sizes.py"), str(port)], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc=server)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS, headless=True)
            try:
                # (the window, the one the page measures: its guess, the terminal's real size)
                for viewport, measured, guessed, real in (((728, 520), (1200, 900), "133x42", "80x24"),
                                                          ((1100, 700), (728, 520), "80x24", "122x33")):
                    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
                    expose_terminal(context)
                    page = context.new_page()
                    page.add_init_script(SOCKETS)
                    page.add_init_script(WRONG_GUESS % measured)
                    page.goto(f"http://127.0.0.1:{port}/")
                    screen = Screen(page)
                    screen.wait("start 80x24")  # started with its page, before any guess
                    assert page.evaluate("() => window.__sockets[0][0]").endswith(
                        "?width={}&height={}".format(*guessed.split("x")))
                    cols, rows = page.evaluate("() => [window.__terminal.cols, window.__terminal.rows]")
                    assert f"{cols}x{rows}" == real
                    deadline = time.monotonic() + 30
                    while re.findall(r"size (\d+x\d+)", screen.text())[-1:] != [real]:
                        assert time.monotonic() < deadline, f"the app was never told {real}:\n{screen.text()}"
                        page.wait_for_timeout(100)
                    page.wait_for_timeout(300)  # and no other size after it
                    assert re.findall(r"size (\d+x\d+)", screen.text())[-1] == real, screen.text()
                    context.close()
            finally:
                browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
