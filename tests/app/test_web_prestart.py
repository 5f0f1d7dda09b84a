"""A tab's app starts when its page is served (#23) and goes only to the websocket that brings that page's token
from the same vouched address: a real aiohttp server (CooprogresoServer's own app) and real processes. The app is
a small stand-in speaking textual-serve's protocol, so each test sees what its process was told and when it ends."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from cooprogreso_tui import web
from tests.channels import cmdline

# textual-serve's app protocol: «__GANGLION__», then packets (type byte, 4-byte length, payload) both ways.
STAND_IN = r'''
import json, os, sys
out, inp = sys.stdout.buffer, sys.stdin.buffer
def send(text):
    data = text.encode(); out.write(b"D" + len(data).to_bytes(4, "big") + data); out.flush()
out.write(b"__GANGLION__\n")
send(f"start {os.environ['COLUMNS']}x{os.environ['ROWS']} from {os.environ.get('COOPROGRESO_WEB_CLIENT', '-')}"
     f" pid {os.getpid()}")
while (kind := inp.read(1)):
    payload = inp.read(int.from_bytes(inp.read(4), "big"))
    if kind == b"M":
        meta = json.loads(payload)
        if meta["type"] == "quit":
            break
        if meta["type"] == "resize":
            send(f"size {meta['width']}x{meta['height']}")
    else:
        send("echo " + payload.decode())
'''
ORIGIN = "http://127.0.0.1:8000"


@pytest.fixture
async def server(tmp_path):
    script = tmp_path / "stand_in.py"
    script.write_text(STAND_IN)
    app_server = web.CooprogresoServer(f"exec {sys.executable} {script}", host="127.0.0.1", port=8000, public_url=None,
                                       origins=frozenset({ORIGIN}), trusted=frozenset({"127.0.0.1"}))
    app_server.PRESTART_SECONDS = 60.0  # none expires while a test runs, however loaded the machine (but one)
    test_server = TestServer(await app_server._make_app(), host="127.0.0.1")
    await test_server.start_server()
    async with aiohttp.ClientSession() as client:
        yield app_server, test_server, client
    await test_server.close()
    deadline = time.monotonic() + 10  # the websockets' apps end after their sockets: their pipes close in this loop
    while any(str(script) in _cmdline(pid) for pid in _children()):
        assert time.monotonic() < deadline, "an app outlived the server"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.1)


async def page(test_server, client, forwarded: str | None = None) -> str:
    """The websocket path the page served to this address carries: /ws or /ws/<token>."""
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    async with client.get(test_server.make_url("/"), headers=headers) as response:
        assert response.status == 200
        html = await response.text()
    found = re.search(r'data-session-websocket-url="ws://127\.0\.0\.1:8000(/ws[^"?]*)"', html)
    assert found, html
    return found.group(1)


async def first_text(ws) -> str:
    message = await asyncio.wait_for(ws.receive(), 10)
    assert message.type == aiohttp.WSMsgType.BINARY, message
    return message.data.decode()


async def alive(app_server) -> list[int]:
    """The pids of the unclaimed apps, once their processes are spawned (the page does not wait for that)."""
    await asyncio.gather(*(p.starting for p in app_server.prestarted.values() if p.starting is not None))
    return [p.service._process.pid for p in app_server.prestarted.values()
            if p.service is not None and p.service._process.returncode is None]


async def test_the_websocket_with_its_pages_token_gets_the_app_started_for_that_page(server):
    app_server, test_server, client = server
    path = await page(test_server, client, "198.51.100.7")
    assert re.fullmatch(r"/ws/[A-Za-z0-9_-]{40,}", path)
    [pid] = await alive(app_server)
    await asyncio.sleep(0.3)  # the app draws its first frame before anyone watches: it is held, not lost
    async with client.ws_connect(test_server.make_url(path + "?width=100&height=30"), headers={
            "Origin": ORIGIN, "X-Forwarded-For": "198.51.100.7"}) as ws:
        assert await first_text(ws) == f"start 80x24 from 198.51.100.7 pid {pid}"
        assert await first_text(ws) == "size 100x30"  # the tab's own size, told at once
        await ws.send_json(["stdin", "hola"])
        assert await first_text(ws) == "echo hola"
    assert app_server.prestarted == {}
    # the token is spent: presented again it gets a fresh app, never the first one
    async with client.ws_connect(test_server.make_url(path), headers={
            "Origin": ORIGIN, "X-Forwarded-For": "198.51.100.7"}) as ws:
        text = await first_text(ws)
        assert text.startswith("start 80x24 from 198.51.100.7") and not text.endswith(f"pid {pid}")


async def test_the_page_does_not_wait_for_its_apps_process_and_its_websocket_does(server, monkeypatch):
    """On a busy machine spawning the app takes a while: the page goes out meanwhile, and a websocket that comes back
    before the spawn ends waits for that app (it does not start a second one)."""
    app_server, test_server, client = server
    spawn = web.ClientAwareAppService.start

    async def slow_spawn(self, width: int, height: int) -> None:
        await asyncio.sleep(1.0)
        await spawn(self, width, height)

    monkeypatch.setattr(web.ClientAwareAppService, "start", slow_spawn)
    begun = time.monotonic()
    path = await page(test_server, client, "198.51.100.7")
    assert time.monotonic() - begun < 0.9
    pending = app_server.prestarted[path[4:]]
    assert pending.service is None  # still spawning
    async with client.ws_connect(test_server.make_url(path), headers={
            "Origin": ORIGIN, "X-Forwarded-For": "198.51.100.7"}) as ws:
        assert await first_text(ws) == f"start 80x24 from 198.51.100.7 pid {pending.service._process.pid}"
    assert app_server.prestarted == {}
    # a tab that gives up while its app is spawning leaves no app behind (the fixture checks none outlives it)
    path = await page(test_server, client, "198.51.100.7")
    pending = app_server.prestarted[path[4:]]
    ws = await client.ws_connect(test_server.make_url(path), headers={
        "Origin": ORIGIN, "X-Forwarded-For": "198.51.100.7"})
    await ws.close()
    await pending.starting
    deadline = time.monotonic() + 10
    while _running(pending.service._process.pid):
        assert time.monotonic() < deadline, "the app of a tab closed while it spawned outlived it"
        await asyncio.sleep(0.05)


async def test_a_token_from_another_address_or_origin_never_attaches(server):
    app_server, test_server, client = server
    path = await page(test_server, client, "198.51.100.7")
    [pid] = await alive(app_server)
    async with client.ws_connect(test_server.make_url(path), headers={
            "Origin": ORIGIN, "X-Forwarded-For": "198.51.100.8"}) as ws:
        text = await first_text(ws)
        assert text.startswith("start 80x24 from 198.51.100.8") and not text.endswith(f"pid {pid}")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect(test_server.make_url(path), headers={
            "Origin": "http://evil.example", "X-Forwarded-For": "198.51.100.7"})
    assert refused.value.status == 403
    assert await alive(app_server) == [pid]  # still waiting for its own tab, which claims it
    async with client.ws_connect(test_server.make_url(path), headers={
            "Origin": ORIGIN, "X-Forwarded-For": "198.51.100.7"}) as ws:
        assert await first_text(ws) == f"start 80x24 from 198.51.100.7 pid {pid}"
    for forged in ("/ws/nada", "/ws/" + "A" * 43):
        async with client.ws_connect(test_server.make_url(forged), headers={"Origin": ORIGIN}) as ws:
            assert (await first_text(ws)).startswith("start 80x24 from 127.0.0.1")


async def test_a_thousand_reloads_leave_at_most_the_cap(server):
    app_server, test_server, client = server
    paths = [await page(test_server, client, "198.51.100.7") for _ in range(1000)]
    assert len(set(paths[:2])) == 2 and all(p.startswith("/ws/") for p in paths[:2])
    assert set(paths[2:]) == {"/ws"}  # over the cap: the page without a token, its websocket starts its app
    assert len(await alive(app_server)) == app_server.PRESTART_PER_CLIENT
    others = [await page(test_server, client, f"203.0.113.{i}") for i in range(20)]
    assert sum(p != "/ws" for p in others) == app_server.PRESTART_TOTAL - app_server.PRESTART_PER_CLIENT
    assert len(await alive(app_server)) == app_server.PRESTART_TOTAL
    # the address's own tab still gets its app; then there is room for one more page of it
    async with client.ws_connect(test_server.make_url(paths[0]), headers={
            "Origin": ORIGIN, "X-Forwarded-For": "198.51.100.7"}) as ws:
        assert (await first_text(ws)).startswith("start 80x24 from 198.51.100.7")
    assert (await page(test_server, client, "198.51.100.7")).startswith("/ws/")


async def test_an_unclaimed_app_ends_after_a_few_seconds(server):
    app_server, test_server, client = server
    app_server.PRESTART_SECONDS = 1.5
    path = await page(test_server, client, "198.51.100.7")
    [pid] = await alive(app_server)
    await asyncio.sleep(app_server.PRESTART_SECONDS)
    deadline = time.monotonic() + 10
    while _running(pid):
        assert time.monotonic() < deadline, "an unclaimed app outlived its few seconds"
        await asyncio.sleep(0.1)
    assert app_server.prestarted == {}
    async with client.ws_connect(test_server.make_url(path), headers={
            "Origin": ORIGIN, "X-Forwarded-For": "198.51.100.7"}) as ws:  # expired: a fresh app
        assert not (await first_text(ws)).endswith(f"pid {pid}")


async def test_an_app_that_writes_more_than_may_be_held_is_stopped_not_attached(server):
    app_server, test_server, client = server
    app_server.PRESTART_HOLD_BYTES = 10  # less than its first frame
    path = await page(test_server, client, "198.51.100.7")
    [pid] = await alive(app_server)
    deadline = time.monotonic() + 10
    while app_server.prestarted[path[4:]].held_bytes <= 10:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    assert app_server.prestarted[path[4:]].held == []
    async with client.ws_connect(test_server.make_url(path), headers={
            "Origin": ORIGIN, "X-Forwarded-For": "198.51.100.7"}) as ws:
        assert not (await first_text(ws)).endswith(f"pid {pid}")
    assert app_server.prestarted == {}


async def test_a_head_request_starts_nothing(server):
    app_server, test_server, client = server
    async with client.head(test_server.make_url("/")) as response:
        assert response.status == 200
    assert app_server.prestarted == {}


def _children() -> list[int]:
    path = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children")
    return [int(pid) for pid in path.read_text().split()]


def _cmdline(pid: int) -> str:
    return b" ".join(cmdline(pid)).decode(errors="replace")


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_real_tab_draws_the_app_started_with_its_page_at_its_own_size(tmp_path):
    """`cooprogreso web` in Chromium: the page's websocket brings its token and gets the app forked when the page
    was served (one session for the tab, not a second), and that app is drawn at the tab's size, not 80×24."""
    from tests.app.test_web_browser import CHROMIUM_FLAGS, Screen, _browser, expose_terminal, serve, warm_sessions
    from tests.channels import make_demo

    chromium, sync_playwright = _browser()
    db = make_demo(tmp_path / "web.sqlite3")
    with serve(tmp_path, db) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 720})
            expose_terminal(context)
            page = context.new_page()
            sockets: list[str] = []
            page.on("websocket", lambda ws: sockets.append(ws.url))
            page.goto(url + "/")
            screen = Screen(page)
            screen.wait("Usuario")
            cols, rows = page.evaluate("() => [window.__terminal.cols, window.__terminal.rows]")
            assert (cols, rows) != (80, 24)
            [socket] = sockets
            assert re.fullmatch(re.escape(url.replace("http:", "ws:")) + r"/ws/[A-Za-z0-9_-]{40,}\?width=\d+&height=\d+",
                                socket), socket
            assert len(warm_sessions(url)) == 1
            deadline = time.monotonic() + 30  # the app laid out again at the tab's size: drawn beyond 80×24
            while not any(line[80:].strip() for line in screen.lines()) and not any(screen.lines()[24:]):
                assert time.monotonic() < deadline, screen.text()
                page.wait_for_timeout(100)
        finally:
            browser.close()
