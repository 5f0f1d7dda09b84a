"""deploy/nginx/cooprogreso.conf as shipped, on loopback: Debian's nginx with a certificate made here, in
front of a real `cooprogreso web`. The page over https, the websocket upgrade through the proxy, http
sent to https, and a client's forged X-Forwarded-For replaced. Needs root and nginx (CI has both)."""

from __future__ import annotations

import base64
import os
import shutil
import socket
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.channels import cli, free_port, make_demo, need, wait_port
from tests.local_http import self_signed_certificate

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    need(os.geteuid() == 0 and os.access(NGINX, os.X_OK), "needs root and nginx (Debian's package)")
    base = tmp_path_factory.mktemp("nginx")
    base.chmod(0o755)
    db = make_demo(base / "web.sqlite3")
    app_port, https_port, http_port = free_port(), free_port(), free_port()
    public = f"https://127.0.0.1:{https_port}"
    log = open(base / "web.log", "w")  # noqa: SIM115
    web = subprocess.Popen(cli("web", "--db", str(db), "--port", str(app_port), "--public-url", public,
                               "--trusted-proxy", "127.0.0.1"), stdout=log, stderr=subprocess.STDOUT)
    cert, key = self_signed_certificate(base / "fullchain.pem", base / "privkey.pem")
    site = (ROOT / "deploy" / "nginx" / "cooprogreso.conf").read_text()
    site = (site.replace("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;")
            .replace("listen 80;", f"listen 127.0.0.1:{http_port};")
            .replace("    listen [::]:443 ssl;\n", "").replace("    listen [::]:80;\n", "")
            .replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{app_port};")
            .replace("banca.example.ec", "127.0.0.1")
            .replace("/etc/ssl/cooprogreso/fullchain.pem", str(cert))
            .replace("/etc/ssl/cooprogreso/privkey.pem", str(key)))
    assert f"127.0.0.1:{app_port}" in site and str(cert) in site  # the shipped file still has what we replace
    (base / "site.conf").write_text(site)
    temp = base / "temp"
    temp.mkdir(mode=0o777)
    (base / "nginx.conf").write_text(
        f"daemon off;\nworker_processes 1;\npid {base}/nginx.pid;\nerror_log {base}/error.log;\n"
        "events { worker_connections 64; }\n"
        f"http {{\n access_log {base}/access.log;\n client_body_temp_path {temp}/body;\n"
        f" proxy_temp_path {temp}/proxy;\n fastcgi_temp_path {temp}/fcgi;\n uwsgi_temp_path {temp}/uwsgi;\n"
        f" scgi_temp_path {temp}/scgi;\n include {base}/site.conf;\n}}\n")
    check = subprocess.run([NGINX, "-t", "-c", str(base / "nginx.conf")], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    nginx = subprocess.Popen([NGINX, "-c", str(base / "nginx.conf")], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        wait_port(app_port, proc=web)
        wait_port(https_port, proc=nginx)
        yield {"public": public, "https": https_port, "http": http_port, "cert": cert, "base": base}
    finally:
        for proc in (nginx, web):
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def test_the_page_loads_over_https_with_the_apps_headers(proxied):
    with httpx.Client(verify=ssl.create_default_context(cafile=str(proxied["cert"])), timeout=10) as client:
        page = client.get(proxied["public"] + "/")
        assert page.status_code == 200 and "Cooprogreso" in page.text and "fonts/RobotoMono" in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["strict-transport-security"].startswith("max-age=")
        assert "wss://127.0.0.1" in page.headers["content-security-policy"]  # the page's socket goes via TLS
    plain = httpx.get(f"http://127.0.0.1:{proxied['http']}/", timeout=10, follow_redirects=False)
    assert plain.status_code == 301 and plain.headers["location"].startswith("https://")


def _upgrade(proxied, origin: str, path: str = "/ws") -> bytes:
    """A raw websocket handshake through the proxy; the response head."""
    context = ssl.create_default_context(cafile=str(proxied["cert"]))
    with socket.create_connection(("127.0.0.1", proxied["https"]), timeout=15) as raw, \
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        key = base64.b64encode(os.urandom(16)).decode()
        tls.sendall((f"GET {path}?width=80&height=24 HTTP/1.1\r\nHost: 127.0.0.1:{proxied['https']}\r\n"
                     f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                     f"Sec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n"
                     "X-Forwarded-For: 203.0.113.66\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = tls.recv(4096)
            if not chunk:
                break
            head += chunk
        if head.startswith(b"HTTP/1.1 101"):
            # the app answers over the upgraded socket: its first frame arrives through nginx
            rest = head.split(b"\r\n\r\n", 1)[1]
            while not rest:
                rest = tls.recv(4096)
                if not rest:
                    break
            assert rest, "nothing came through the upgraded socket"
        return head


def test_the_websocket_upgrades_through_the_proxy_for_the_public_origin_only(proxied):
    head = _upgrade(proxied, proxied["public"])
    assert head.startswith(b"HTTP/1.1 101"), head
    assert b"upgrade: websocket" in head.lower()
    assert _upgrade(proxied, "https://evil.example").startswith(b"HTTP/1.1 403")
    # the client's own X-Forwarded-For never reaches the app: nginx puts the address it saw in its place
    log = (proxied["base"] / "web.log").read_text()
    assert "Sesión web desde 127.0.0.1" in log and "203.0.113.66" not in log


def test_the_websocket_of_a_page_with_its_apps_token_upgrades_through_the_proxy(proxied):
    """The page names /ws/<token> (its app started when it was served): nginx carries that websocket too."""
    import re

    with httpx.Client(verify=ssl.create_default_context(cafile=str(proxied["cert"])), timeout=10) as client:
        page = client.get(proxied["public"] + "/").text
    found = re.search(r'data-session-websocket-url="wss://127\.0\.0\.1:\d+(/ws/[A-Za-z0-9_-]+)"', page)
    assert found, page
    head = _upgrade(proxied, proxied["public"], found.group(1))
    assert head.startswith(b"HTTP/1.1 101"), head
    assert _upgrade(proxied, proxied["public"], "/ws/x/y").startswith(b"HTTP/1.1 404")  # nothing else under /ws
