"""The browser channel's guards, without a browser: where it may bind, who may open the websocket."""

from __future__ import annotations

import http.client
import subprocess

import pytest

from backend.security import origins
from cooprogreso_tui import web
from tests.channels import cli, free_port, make_demo, wait_port
from tests.core.test_database import cli as cli_here


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "coop.example"])
def test_a_public_bind_needs_a_proxy_and_its_public_url(host):
    with pytest.raises(ValueError, match="--public-url y --behind-proxy"):
        web.check_bind(host, 8000, None, False)
    with pytest.raises(ValueError):
        web.check_bind(host, 8000, "https://banca.example", False)
    with pytest.raises(ValueError, match="https"):
        web.check_bind(host, 8000, "http://banca.example", True)
    assert web.check_bind(host, 8000, "https://banca.example/", True) == {"https://banca.example"}


def test_loopback_allows_only_its_own_origins():
    origins = web.check_bind("127.0.0.1", 8123, None, False)
    assert "http://127.0.0.1:8123" in origins and "http://localhost:8123" in origins
    assert not any("8000" in o or o.startswith("https") for o in origins)
    assert web.is_loopback("::1") and web.is_loopback("localhost") and not web.is_loopback("10.0.0.1")


def test_x_forwarded_for_is_believed_only_from_the_configured_proxy():
    trusted = web.trusted_proxies(["10.0.0.5", "[::1]"])
    assert trusted == {"10.0.0.5", "::1"}
    # from anyone else the header is the client's own claim
    assert web.client_address("198.51.100.7", "203.0.113.9", trusted) == "198.51.100.7"
    assert web.client_address("198.51.100.7", None, trusted) == "198.51.100.7"
    # from the proxy: the hop it appended, never what the client wrote before it
    assert web.client_address("10.0.0.5", "1.2.3.4, 203.0.113.9", trusted) == "203.0.113.9"
    assert web.client_address("::1", "203.0.113.9", trusted) == "203.0.113.9"
    assert web.client_address("10.0.0.5", "\x1b[2Jno-ip", trusted) == "10.0.0.5"
    # an IPv6 scope is any text after «%» to ipaddress: an escape sequence or a line break for the server's
    # journal and the member's «Centro de seguridad»; never a client's address
    for scoped in ("fe80::1%\x1b]0;pwned\x07", "fe80::1%eth0\nFALSO", "fe80::1%[bold]x"):
        assert web.client_address("10.0.0.5", scoped, trusted) == "10.0.0.5"
        assert origins.ip_or_none(scoped) is None
    with pytest.raises(ValueError, match="--trusted-proxy"):
        web.trusted_proxies(["proxy.example"])


def test_cli_refuses_a_public_bind(tmp_path):
    """In this process (`main`, as the entry point calls it): the refusal comes before anything starts."""
    out = cli_here("web", "--host", "0.0.0.0", "--db", str(tmp_path / "x.sqlite3"))
    assert out.returncode == 2 and "--behind-proxy" in out.stderr
    assert not (tmp_path / "x.sqlite3").exists()


def test_cli_refuses_a_play_speed_that_is_not_positive():
    out = cli_here("web", "--play", "demos/pago_servicios.toml", "--speed", "0")
    assert out.returncode == 2 and "--speed" in out.stderr


@pytest.fixture(scope="module")
def web_port(tmp_path_factory):
    """One `cooprogreso web` process for the tests that only read from it (its start costs ~0.4 s of CPU)."""
    db = make_demo(tmp_path_factory.mktemp("web") / "w.sqlite3")
    port = free_port()
    proc = subprocess.Popen(cli("web", "--db", str(db), "--port", str(port)), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc=proc)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _upgrade(port: int, origin: str | None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    if origin:
        headers["Origin"] = origin
    conn.request("GET", "/ws?width=80&height=24", headers=headers)
    status = conn.getresponse().status
    conn.close()
    return status


def test_server_checks_origin_and_sends_a_closed_page(web_port):
    port = web_port
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/")
    response = conn.getresponse()
    page = response.read().decode()
    csp = response.getheader("Content-Security-Policy")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.getheader("X-Frame-Options") == "DENY"
    assert "googleapis" not in page and "fonts/RobotoMono" in page
    for origin in (None, "http://evil.example", f"http://127.0.0.1:{port}.evil.example", "null"):
        assert _upgrade(port, origin) == 403, origin
    assert _upgrade(port, f"http://127.0.0.1:{port}") == 101


def test_bench_channel_figures_find_what_they_borrow_from_the_tests():
    """bench/channels.py drives the browser and the branch server with the tests' own hooks: a rename
    here must not leave `ssh_startup_ratio` or `web_first_paint_ratio` broken until the next bench run."""
    from bench import channels
    from tests import ssh_harness
    from tests.app import test_web_browser

    assert callable(channels.ssh_startup_ratio) and callable(channels.web_first_paint_ratio)
    assert callable(ssh_harness.BranchServer) and callable(ssh_harness.missing)
    assert "--headless" in test_web_browser.CHROMIUM_FLAGS
    assert "window.__terminal" in test_web_browser.EXPOSE_TERMINAL[1] and "__terminal" in test_web_browser.SCREEN_JS


def test_static_serves_files_never_a_folders_listing(web_port):
    """textual-serve lists /static/ and its folders; here only the page's files answer."""
    port = web_port

    def get(path: str, method: str = "GET") -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request(method, path)
        response = conn.getresponse()
        body = response.read().decode("utf-8", "replace")
        conn.close()
        return response.status, body

    for asset in ("js/textual.js", "css/xterm.css", "fonts/RobotoMono-VariableFont_wght.ttf"):  # the page's files
        status, body = get(f"/static/{asset}")
        assert status == 200 and body, asset
    for path in ("/static/", "/static", "/static/js", "/static/js/", "/static/fonts/", "/static//", "/static/./js/",
                 "/static/%2e/", "/static/css/../"):
        for method in ("GET", "HEAD"):
            status, body = get(path, method)
            assert status == 404, (method, path, status)
            assert "Index of" not in body and "textual.js" not in body and "RobotoMono" not in body, (path, body)


def test_each_browser_session_is_told_its_vouched_address_and_not_an_inherited_ssh_one(monkeypatch):
    """The app process of a websocket gets the address `client_address` chose (the member's «Centro de
    seguridad» shows it) and never the SSH_CONNECTION of whoever started the server."""
    import textual_serve.server

    from backend.security.origins import WEB_CLIENT_ENV, from_environment

    assert textual_serve.server.AppService is web.ClientAwareAppService  # the name the websocket handler uses
    monkeypatch.setenv("SSH_CONNECTION", "192.0.2.1 5000 10.0.0.2 22")
    monkeypatch.setenv(WEB_CLIENT_ENV, "192.0.2.99")  # a stale value in the server's own environment

    async def nothing(*_args) -> None:
        return None

    service = web.ClientAwareAppService("true", write_bytes=nothing, write_str=nothing, close=nothing,
                                        download_manager=None)  # type: ignore[arg-type]
    token = web._client.set("203.0.113.9")
    try:
        env = service._build_environment()
    finally:
        web._client.reset(token)
    assert "SSH_CONNECTION" not in env and env[WEB_CLIENT_ENV] == "203.0.113.9"
    assert from_environment(env, web=True).address == "203.0.113.9"
    assert WEB_CLIENT_ENV not in service._build_environment()  # no vouched address: none at all


def test_web_demo_runs_the_worker_in_process_and_releases_it_on_sigterm(tmp_path):
    """`cooprogreso web --demo` is one command like `cooprogreso --demo`: it makes the demo co-op if missing and
    runs the background passes in a thread of the server (the lease names the server's own process); SIGTERM
    stops the server and releases the lease at once, so a worker started later need not wait it out."""
    import os
    import time

    from backend.core.database import open_database
    from backend.core.worker_lease import heartbeat

    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "datos")}
    port = free_port()
    proc = subprocess.Popen(cli("web", "--demo", "--port", str(port)), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    db_file = tmp_path / "datos" / "cooprogreso" / "demo.sqlite3"
    try:
        wait_port(port, timeout=120, proc=proc)
        db = open_database(db_file, create=False, migrate=False)
        try:
            deadline = time.monotonic() + 30
            while (beat := heartbeat(db)) is None:
                assert time.monotonic() < deadline, "no worker took the lease"
                time.sleep(0.1)
            assert beat.holder.split(":")[1] == str(proc.pid) and not beat.expired and not beat.released
            proc.terminate()
            assert proc.wait(timeout=30) is not None
            assert heartbeat(db).released
        finally:
            db.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_our_textual_js_is_textual_serves_pinned_file_with_its_patches_only():
    """The terminal script served is built from the installed textual-serve's own file (the version it was written
    for: an upgrade must re-check the patches) and differs from it by exactly PATCHES, in order; any other file is
    served as it comes (None here)."""
    import hashlib

    from cooprogreso_tui import textual_js

    stock = textual_js.STOCK.read_bytes()
    assert hashlib.sha256(stock).hexdigest() == textual_js.STOCK_SHA256, "textual-serve changed: re-check textual_js"
    built = textual_js.patched()
    assert built is not None
    text, at = stock.decode(), 0
    expected = []
    for old, new in textual_js.PATCHES:
        found = text.index(old, at)
        assert text.count(old) == 1
        expected += [text[at:found], new]
        at = found + len(old)
    assert built == ("".join(expected) + text[at:]).encode()
    assert b"p=i(180)" in stock and b"p=i(180)" not in built and b"loadAddon(this.webglAddon)" not in built
    assert textual_js.patch(stock + b"\n") is None and textual_js.patch(b"") is None


def test_static_files_are_revalidated_and_the_page_allows_its_one_inline_script(tmp_path):
    """/static/'s names carry no version: a browser may keep its files but asks again every time (ETag), so an
    upgrade never leaves it on an old textual.js; the page itself is never stored. The CSP allows exactly the
    inline script the page carries (by its hash), no other inline script."""
    import base64
    import gzip
    import hashlib
    import re

    db = make_demo(tmp_path / "w.sqlite3")
    port = free_port()
    proc = subprocess.Popen(cli("web", "--db", str(db), "--port", str(port)), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)

    def get(path: str, **headers: str) -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.body = response.read()  # type: ignore[attr-defined]
        conn.close()
        return response

    try:
        wait_port(port, proc=proc)
        page = get("/")
        assert page.getheader("Cache-Control") == "no-store"
        inline = re.findall(r"<script>(.*?)</script>", page.body.decode(), re.S)
        assert len(inline) == 1 and "new WebSocket" in inline[0]
        digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
        scripts = re.search(r"script-src ([^;]*);", page.getheader("Content-Security-Policy"))[1].split()
        assert scripts == ["'self'", f"'sha256-{digest}'"]
        from cooprogreso_tui import textual_js

        for asset in ("js/textual.js", "css/xterm.css", "fonts/RobotoMono-VariableFont_wght.ttf"):
            first = get(f"/static/{asset}")
            assert first.status == 200 and first.getheader("Cache-Control") == "no-cache", asset
            assert first.getheader("Content-Security-Policy") and first.getheader("X-Content-Type-Options") == "nosniff"
            etag = first.getheader("ETag")
            assert etag, asset
            again = get(f"/static/{asset}", **{"If-None-Match": etag})
            assert again.status == 304 and again.body == b"", asset
            assert get(f"/static/{asset}", **{"If-None-Match": '"stale"'}).status == 200
        assert get("/static/js/textual.js").body == textual_js.patched()
        assert get("/static/js/textual.js").getheader("Content-Type").startswith("text/javascript")
        # compressed for a browser that takes gzip: the same bytes, its own ETag, revalidated as well
        plain, packed = get("/static/js/textual.js"), get("/static/js/textual.js", **{"Accept-Encoding": "gzip, br"})
        assert packed.getheader("Content-Encoding") == "gzip" and gzip.decompress(packed.body) == textual_js.patched()
        assert len(packed.body) < len(plain.body) / 3 and packed.getheader("Vary") == "Accept-Encoding"
        assert packed.getheader("ETag") != plain.getheader("ETag") and plain.getheader("Content-Encoding") is None
        assert get("/static/js/textual.js", **{"Accept-Encoding": "gzip", "If-None-Match": packed.getheader("ETag")}
                   ).status == 304
        for refused in ("gzip;q=0", "gzip; q=0.000", "br, gzip;q=0.0", "gzip;q=no"):  # refused: served plain
            assert get("/static/js/textual.js", **{"Accept-Encoding": refused}).body == textual_js.patched(), refused
        assert get("/static/js/textual.js", **{"Accept-Encoding": "gzip;q=0.5"}).getheader("Content-Encoding") == "gzip"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_another_textual_serves_script_is_served_as_it_comes_without_the_inline_socket(tmp_path, monkeypatch):
    """Should the installed textual-serve's textual.js not be the one the patches were written for, the page is the
    one before them: textual-serve's own script, which opens its own websocket, and no inline script to open a
    second one (nor a hash for it in the CSP)."""
    from pathlib import Path

    import aiohttp
    import textual_serve
    from aiohttp.test_utils import TestServer

    from cooprogreso_tui import textual_js

    other = tmp_path / "textual.js"
    other.write_bytes(textual_js.STOCK.read_bytes() + b"\n// another version\n")
    monkeypatch.setattr(textual_js, "STOCK", other)
    textual_js.patched.cache_clear()
    textual_js.patched_gzip.cache_clear()
    try:
        server = web.CooprogresoServer("true", host="127.0.0.1", port=8000, public_url=None,
                                       origins=frozenset({"http://127.0.0.1:8000"}), prestart=False)
        assert server.textual_js is None
        test_server = TestServer(await server._make_app(), host="127.0.0.1")
        await test_server.start_server()
        try:
            async with aiohttp.ClientSession() as client:
                async with client.get(test_server.make_url("/")) as response:
                    page, csp = await response.text(), response.headers["Content-Security-Policy"]
                async with client.get(test_server.make_url("/static/js/textual.js")) as response:
                    script = await response.read()
        finally:
            await test_server.close()
    finally:
        textual_js.patched.cache_clear()
        textual_js.patched_gzip.cache_clear()
    assert "<script>" not in page and "cooprogresoSocket" not in page and "script-src 'self';" in csp
    assert script == (Path(textual_serve.__file__).parent / "static" / "js" / "textual.js").read_bytes()
