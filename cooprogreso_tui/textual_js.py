"""The browser's terminal script: textual-serve's own textual.js with small patches, built when the server starts.

They cut the first paint (#23). xterm.js's WebGL renderer is loaded and at once replaced by the canvas one loaded
after it (the one every member gets): creating its GL context, shaders and all, cost the page ~40 ms of its load
handler for nothing, and running its module ~15 ms of the script's. And the terminal's websocket is opened by a
few lines inline in the page (EARLY_SOCKET_JS), as soon as the page is parsed, instead of after the 0.5 MB script
has been fetched, run and the load event has come: the script adopts that socket, the app's first frame waiting in
it. Its size is guessed from the window and the font size; when the terminal's real size differs, the adopted
socket sends it (a `resize`, as the script's own).

Built only from the file of the textual-serve version it was written against (STOCK_SHA256): another version's
file is served as it comes, without the inline socket (the page would open two websockets).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from functools import cache
from pathlib import Path

import textual_serve

STOCK = Path(textual_serve.__file__).parent / "static" / "js" / "textual.js"
STOCK_SHA256 = "c1e7f29ed0facdd331181d6262f92acfc1cf908569d9e013c16038142a23a470"  # textual-serve 1.1.3
_SOCKET = 'new WebSocket(this.websocket_url+"?width="+e.cols+"&height="+e.rows)'
# (what textual-serve's file says, what ours says instead), in the file's order: each found exactly once in it
PATCHES: tuple[tuple[str, str], ...] = (
    ("g=i(616),p=i(180),m=i(880)", "g=i(616),m=i(880)"),  # the WebGL addon's module is not run (p: only below)
    ("this.webglAddon=new p.WebglAddon,this.terminal.loadAddon(this.webglAddon),", ""),
    (f"this.socket={_SOCKET},",
     f"this.socket=window.cooprogresoSocket?window.cooprogresoSocket(e.cols,e.rows):{_SOCKET},"),
)

# Inline in the page, right after the terminal's element (the CSP allows exactly this text, by its hash). Opens the
# websocket textual.js would open at its load, holds its events until textual.js takes the socket, then replays them
# (in a microtask: before any later event of the socket). The size guess is xterm.js's own measure of Roboto Mono
# (advance 0.6 em; line: ascent 1.0479 em and descent 0.2710 em, each rounded), the font not being loaded yet.
# `?delay` (the page's «Ingresar» button) connects nothing, as textual.js does.
EARLY_SOCKET_JS = """(() => {
  const element = document.getElementById("terminal");
  if (!element || new URLSearchParams(location.search).get("delay")) return;
  const font = Number(element.dataset.fontSize) || 16, ratio = window.devicePixelRatio || 1;
  const cellWidth = Math.floor(font * 0.6 * ratio) / ratio;
  const cellHeight = Math.ceil((Math.round(font * 1.0479) + Math.round(font * 0.271)) * ratio) / ratio;
  const cols = Math.max(1, Math.floor(window.innerWidth / cellWidth));  // the window's: no layout forced
  const rows = Math.max(1, Math.floor(window.innerHeight / cellHeight));
  const socket = new WebSocket(element.dataset.sessionWebsocketUrl + "?width=" + cols + "&height=" + rows);
  socket.binaryType = "arraybuffer";
  const held = [];
  let taken = false, resize = null;
  for (const type of ["open", "message", "close"]) socket.addEventListener(type, (event) => {
    if (type === "open" && resize) { socket.send(resize); resize = null; }
    if (!taken && event.isTrusted) held.push(event);
  });
  window.cooprogresoSocket = (width, height) => {
    window.cooprogresoSocket = null;
    taken = true;
    if (width !== cols || height !== rows) {
      resize = JSON.stringify(["resize", { width, height }]);
      if (socket.readyState === WebSocket.OPEN) { socket.send(resize); resize = null; }
    }
    queueMicrotask(() => {
      for (const event of held.splice(0)) {
        if (event.type === "message") socket.dispatchEvent(new MessageEvent("message", { data: event.data }));
        else if (event.type === "close") socket.dispatchEvent(new CloseEvent("close", {
          code: event.code, reason: event.reason, wasClean: event.wasClean }));
        else socket.dispatchEvent(new Event(event.type));
      }
    });
    return socket;
  };
})();"""
EARLY_SOCKET_CSP = "'sha256-" + base64.b64encode(hashlib.sha256(EARLY_SOCKET_JS.encode()).digest()).decode() + "'"


def patch(stock: bytes) -> bytes | None:
    """`stock` with PATCHES applied, or None when it is not the file they were written for."""
    if hashlib.sha256(stock).hexdigest() != STOCK_SHA256:
        return None
    text = stock.decode("utf-8")
    for old, new in PATCHES:
        if text.count(old) != 1:  # unreachable for the pinned file: kept so a wrong patch fails loudly
            raise ValueError(f"textual.js: {old[:40]!r} is not found exactly once")
        text = text.replace(old, new)
    return text.encode("utf-8")


@cache
def patched() -> bytes | None:
    """The installed textual-serve's textual.js, patched; None when that is another version's (served as is)."""
    try:
        return patch(STOCK.read_bytes())
    except OSError:
        return None


@cache
def patched_gzip() -> bytes:
    """patched(), gzipped once per process (0.5 MB → 0.12 MB over a member's connection); empty without it."""
    built = patched()
    return gzip.compress(built, 6, mtime=0) if built is not None else b""
