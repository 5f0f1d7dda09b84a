"""The browser channel: textual-serve with the guards it lacks, and a page that calls no third party.

textual-serve starts one app process per browser tab (each its own member session) but has neither
authentication nor an Origin check, and its stock page loads a web font from a public CDN. Here the
server binds to loopback unless a TLS reverse proxy with authentication is declared in front, refuses
a websocket from any other origin (so another site open in the member's browser cannot drive the
app), and serves its own page: fonts, script and styles all from this server, under a CSP that
forbids anything else. Under /static/ it serves files only, never a folder's listing.
"""

from __future__ import annotations

import contextvars
import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

import textual_serve.server
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from backend.security.origins import WEB_CLIENT_ENV

TEMPLATES = Path(__file__).parent / "templates"
# The address of the browser whose websocket is being opened, for the app process started for it.
_client: contextvars.ContextVar[str] = contextvars.ContextVar("cooprogreso_web_client", default="")


class ClientAwareAppService(AppService):
    """textual-serve's app process, told who it serves: the address `client_address` vouched for goes in
    WEB_CLIENT_ENV (the member's «Centro de seguridad» shows it). SSH_CONNECTION is dropped, so a server
    started from an SSH login does not pass that login's address off as the browser's."""

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        env = super()._build_environment(width, height)
        env.pop("SSH_CONNECTION", None)
        env.pop(WEB_CLIENT_ENV, None)
        if _client.get():
            env[WEB_CLIENT_ENV] = _client.get()
        return env


# textual-serve builds its AppService by this module-level name, in the websocket handler's own task (where
# `_check_origin` set `_client`): there is no hook to pass an environment otherwise.
textual_serve.server.AppService = ClientAwareAppService  # type: ignore[misc]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"URL no válida: {url!r}")
    default = {"http": 80, "https": 443}[parts.scheme]
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    port = "" if parts.port in (None, default) else f":{parts.port}"
    return f"{parts.scheme}://{host}{port}"


def check_bind(host: str, port: int, public_url: str | None, behind_proxy: bool) -> frozenset[str]:
    """The origins allowed to open the websocket; ValueError (in Spanish) for an unsafe bind."""
    if not 0 < port < 65536:
        raise ValueError("El puerto debe estar entre 1 y 65535.")
    if not is_loopback(host):
        if not (public_url and behind_proxy):
            raise ValueError(
                f"No se sirve en {host}: fuera de 127.0.0.1 hacen falta --public-url y --behind-proxy (un proxy "
                "inverso TLS con autenticación delante). textual-serve no tiene autenticación propia.")
        if not public_url.startswith("https://"):
            raise ValueError("Detrás de un proxy, --public-url debe ser https://…")
    if public_url:
        return frozenset({origin_of(public_url)})
    return frozenset(f"http://{name}:{port}" for name in ("127.0.0.1", "localhost", "[::1]"))


def trusted_proxies(values: list[str]) -> frozenset[str]:
    """The proxies whose X-Forwarded-For is believed: IP addresses only; ValueError (Spanish) otherwise."""
    out = set()
    for value in values:
        try:
            out.add(str(ipaddress.ip_address(value.strip().strip("[]"))))
        except ValueError:
            raise ValueError(f"--trusted-proxy espera una dirección IP, no «{value}»") from None
    return frozenset(out)


def client_address(remote: str | None, forwarded: str | None, trusted: frozenset[str]) -> str:
    """Who is on the other end: the peer, or, when the peer is a trusted proxy, the address it put last in
    X-Forwarded-For (the one it saw; anything before it was written by the client and proves nothing).
    From anyone else the header is the client's own claim and is ignored."""
    from backend.security.origins import ip_or_none

    peer = remote or ""
    if peer not in trusted or not forwarded:
        return peer
    return ip_or_none(forwarded.split(",")[-1].strip()) or peer


def _csp(ws_origin: str) -> str:
    return ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; font-src 'self'; "
            f"img-src 'self' data:; connect-src 'self' {ws_origin}; frame-ancestors 'none'; base-uri 'none'; "
            "form-action 'none'")


class CooprogresoServer(Server):
    def __init__(self, command: str, *, host: str, port: int, public_url: str | None,
                 origins: frozenset[str], trusted: frozenset[str] = frozenset()) -> None:
        if public_url is None:
            shown = f"[{host}]" if ":" in host else host
            public_url = f"http://{shown}:{port}"
        super().__init__(command, host=host, port=port, title="Cooprogreso en Línea", public_url=public_url,
                         templates_path=TEMPLATES)
        self.origins = origins
        self.trusted = trusted
        scheme, rest = self.public_url.split(":", 1)
        self.csp = _csp(("wss:" if scheme == "https" else "ws:") + rest.rstrip("/"))

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self._check_origin)
        app.middlewares.append(self._files_only)
        app.on_response_prepare.append(self._headers)
        return app

    @web.middleware
    async def _check_origin(self, request: web.Request, handler):
        if request.path == "/ws":
            if request.headers.get("Origin") not in self.origins:
                raise web.HTTPForbidden(text="Origen no permitido.")
            who = client_address(request.remote, request.headers.get("X-Forwarded-For"), self.trusted)
            self.console.print(f"Sesión web desde {who}", highlight=False, markup=False)
            _client.set(who)
        return await handler(request)

    @web.middleware
    async def _files_only(self, request: web.Request, handler):
        """/static/ serves the page's files, never a listing of a folder (textual-serve turns listings on):
        anything under it that is not a regular file is not found, whatever the folder holds."""
        if isinstance(request.match_info.route.resource, web.StaticResource):
            filename = request.match_info.get("filename", "")
            if not filename or not (Path(self.statics_path) / filename).is_file():
                raise web.HTTPNotFound(text="No encontrado.")
        return await handler(request)

    async def _headers(self, request: web.Request, response: web.StreamResponse) -> None:
        if request.path == "/ws":
            return
        headers = response.headers
        headers["Content-Security-Policy"] = self.csp
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Frame-Options"] = "DENY"
        if not request.path.startswith("/static/"):
            headers["Cache-Control"] = "no-store"

    async def on_startup(self, app: web.Application) -> None:
        self.console.print(f"Cooprogreso en Línea en {self.public_url}  (Ctrl+C para detener)", highlight=False)
