"""The browser channel: textual-serve with the guards it lacks, and a page that calls no third party.

textual-serve starts one app process per browser tab (each its own member session) but has neither
authentication nor an Origin check, and its stock page loads a web font from a public CDN. Here the
server binds to loopback unless a TLS reverse proxy with authentication is declared in front, refuses
a websocket from any other origin (so another site open in the member's browser cannot drive the
app), and serves its own page: fonts, script and styles all from this server, under a CSP that
forbids anything else. Under /static/ it serves files only, never a folder's listing.

Each page served starts its tab's app at once (#23), while the browser is still loading the page's script and
font: the page carries a one-time token in its websocket URL (/ws/<token>) and the websocket that presents it,
from the same vouched address, gets that app. Few are kept unclaimed (per address and in all), each for a few
seconds; any other websocket gets a fresh app as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import ipaddress
import secrets
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp_jinja2
import textual_serve.server
from aiohttp import web
from markupsafe import Markup
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from backend.security.origins import WEB_CLIENT_ENV

from . import textual_js

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


@dataclass(eq=False)
class Prestarted:
    """A tab's app started when its page was served, holding what it writes until its websocket claims it."""

    client: str
    started: float
    limit: int  # bytes held at most: an app that writes more unseen is stopped, never attached
    service: AppService | None = None
    held: list[tuple[str, bytes | str]] = field(default_factory=list)
    held_bytes: int = 0
    socket: web.WebSocketResponse | None = None
    exited: bool = False
    starting: asyncio.Task[None] | None = None  # spawning its process (service is None until it is done)

    async def write_bytes(self, data: bytes) -> None:
        if self.socket is not None:
            await self.socket.send_bytes(data)
        else:
            self._hold("bytes", data)

    async def write_str(self, data: str) -> None:
        if self.socket is not None:
            await self.socket.send_str(data)
        else:
            self._hold("str", data)

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
        else:
            self.exited = True

    def _hold(self, kind: str, data: bytes | str) -> None:
        self.held_bytes += len(data)
        if self.held_bytes <= self.limit:
            self.held.append((kind, data))

    async def attach(self, websocket: web.WebSocketResponse) -> None:
        """Replay what the app wrote so far, then let it write to the websocket directly (in order: nothing is
        held after the last replayed chunk, as no await separates the check from the switch)."""
        while self.held:
            kind, data = self.held.pop(0)
            if kind == "bytes":
                await websocket.send_bytes(data)  # type: ignore[arg-type]
            else:
                await websocket.send_str(data)  # type: ignore[arg-type]
        self.socket = websocket
        if self.exited:
            await websocket.close()


async def stop_service(service: AppService, grace: float = 3.0) -> None:
    """textual-serve's stop (ask the app to quit, wait for it), but an app that does not quit in time is killed, and so
    is one whose start failed or was cancelled after its process was spawned (textual-serve's stop skips it)."""
    if service._task is not None:  # it ran: asked to quit, it may still finish its own way (stdout closes first)
        try:
            await asyncio.wait_for(service.stop(), grace)
            return
        except (TimeoutError, OSError, RuntimeError, AssertionError):  # too slow, or its pipe already gone
            pass
    process = service._process
    if process is not None and process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(process.wait(), grace)


def _csp(ws_origin: str, scripts: str = "'self'") -> str:
    return (f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; font-src 'self'; "
            f"img-src 'self' data:; connect-src 'self' {ws_origin}; frame-ancestors 'none'; base-uri 'none'; "
            "form-action 'none'")


class CooprogresoServer(Server):
    # Tabs' apps started with their page and not yet claimed: at most this many per vouched address and in all
    # (beyond either the page is served without a token: its websocket starts its app as before), each stopped
    # after PRESTART_SECONDS unclaimed. Reloading a page a thousand times leaves at most PRESTART_PER_CLIENT.
    PRESTART_PER_CLIENT = 2
    PRESTART_TOTAL = 8
    PRESTART_SECONDS = 10.0
    PRESTART_HOLD_BYTES = 4 * 1024 * 1024  # an app that writes more than this unseen is stopped, not buffered

    def __init__(self, command: str, *, host: str, port: int, public_url: str | None,
                 origins: frozenset[str], trusted: frozenset[str] = frozenset(), prestart: bool = True) -> None:
        if public_url is None:
            shown = f"[{host}]" if ":" in host else host
            public_url = f"http://{shown}:{port}"
        super().__init__(command, host=host, port=port, title="Cooprogreso en Línea", public_url=public_url,
                         templates_path=TEMPLATES)
        self.origins = origins
        self.trusted = trusted
        scheme, rest = self.public_url.split(":", 1)
        # our textual.js and the page's inline websocket (textual_js.py), or textual-serve's own file without it
        self.textual_js = textual_js.patched()
        self.textual_js_gzip = textual_js.patched_gzip()
        self.textual_js_etag = f'"{hashlib.sha256(self.textual_js).hexdigest()[:32]}"' if self.textual_js else ""
        scripts = f"'self' {textual_js.EARLY_SOCKET_CSP}" if self.textual_js else "'self'"
        self.csp = _csp(("wss:" if scheme == "https" else "ws:") + rest.rstrip("/"), scripts)
        # off for a scripted demo (--play): its script would start playing, and booking, before anyone watches
        self.prestart = prestart
        self.prestarted: dict[str, Prestarted] = {}
        self._stopping: set[asyncio.Task[None]] = set()  # expired apps being stopped (a task needs a reference)

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.router.add_get("/ws/{session}", self.handle_websocket, name="websocket_session")
        app.middlewares.append(self._check_origin)
        app.middlewares.append(self._files_only)
        app.on_response_prepare.append(self._headers)
        return app

    @web.middleware
    async def _check_origin(self, request: web.Request, handler):
        if _is_websocket(request.path):
            if request.headers.get("Origin") not in self.origins:
                raise web.HTTPForbidden(text="Origen no permitido.")
            who = client_address(request.remote, request.headers.get("X-Forwarded-For"), self.trusted)
            self.console.print(f"Sesión web desde {who}", highlight=False, markup=False)
            _client.set(who)
        return await handler(request)

    @web.middleware
    async def _files_only(self, request: web.Request, handler):
        """/static/ serves the page's files, never a listing of a folder (textual-serve turns listings on):
        anything under it that is not a regular file is not found, whatever the folder holds. Its textual.js is
        ours (textual_js.py) when it could be built."""
        if isinstance(request.match_info.route.resource, web.StaticResource):
            filename = request.match_info.get("filename", "")
            if not filename or not (Path(self.statics_path) / filename).is_file():
                raise web.HTTPNotFound(text="No encontrado.")
            if filename == "js/textual.js" and self.textual_js is not None:
                return self._textual_js(request)
        return await handler(request)

    def _textual_js(self, request: web.Request) -> web.Response:
        """Our textual.js, revalidated by its ETag (the digest of its bytes) as the other static files are, and
        compressed for a browser that takes gzip (a quarter of the bytes over a member's connection)."""
        gzipped = _takes_gzip(request.headers.get("Accept-Encoding", ""))
        etag = self.textual_js_etag[:-1] + '-gzip"' if gzipped else self.textual_js_etag
        headers = {"ETag": etag, "Vary": "Accept-Encoding"}
        if etag in (tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")):
            return web.Response(status=304, headers=headers)
        if gzipped:
            headers["Content-Encoding"] = "gzip"
        return web.Response(body=self.textual_js_gzip if gzipped else self.textual_js, content_type="text/javascript",
                            charset="utf-8", headers=headers)

    async def _headers(self, request: web.Request, response: web.StreamResponse) -> None:
        if _is_websocket(request.path):
            return
        headers = response.headers
        headers["Content-Security-Policy"] = self.csp
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Frame-Options"] = "DENY"
        # the page and the rest are never stored; /static/'s files are, but always revalidated (ETag, Last-Modified):
        # their names carry no version, and an upgrade must not leave a browser running the old textual.js
        headers["Cache-Control"] = "no-cache" if request.path.startswith("/static/") else "no-store"

    async def on_startup(self, app: web.Application) -> None:
        self.console.print(f"Cooprogreso en Línea en {self.public_url}  (Ctrl+C para detener)", highlight=False)

    async def on_shutdown(self, app: web.Application) -> None:
        pending, self.prestarted = list(self.prestarted.values()), {}
        await asyncio.gather(*(p.starting for p in pending if p.starting is not None), return_exceptions=True)
        await asyncio.gather(*(stop_service(p.service) for p in pending if p.service is not None), *self._stopping)

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        """The page, its websocket URL carrying the token of the app started for it (when one could be)."""
        context = await _INDEX_CONTEXT(self, request)
        if request.method == "GET" and self.prestart:
            token = await self._prestart(client_address(request.remote, request.headers.get("X-Forwarded-For"),
                                                        self.trusted))
            if token:
                context["app_websocket_url"] += f"/{token}"
        if self.textual_js is not None:
            context["early_socket_js"] = Markup(textual_js.EARLY_SOCKET_JS)
        return aiohttp_jinja2.render_template("app_index.html", request, context)

    async def _prestart(self, who: str) -> str | None:
        """Start an app for the page about to be served to `who`; its token, or None over the caps. The page does
        not wait for the app's process to be spawned (10–130 ms on a busy machine): its websocket does, if it comes
        first."""
        self._expire()
        mine = sum(1 for p in self.prestarted.values() if p.client == who)
        if mine >= self.PRESTART_PER_CLIENT or len(self.prestarted) >= self.PRESTART_TOTAL:
            return None
        token = secrets.token_urlsafe(32)
        pending = Prestarted(client=who, started=time.monotonic(), limit=self.PRESTART_HOLD_BYTES)
        self.prestarted[token] = pending
        pending.starting = asyncio.get_running_loop().create_task(self._start(token, pending))
        return token

    async def _start(self, token: str, pending: Prestarted) -> None:
        """Spawn `pending`'s app; on failure (or cancelled) it is forgotten and its process, if any, killed."""
        _client.set(pending.client)  # this task's own context: the app's environment names its client
        service = ClientAwareAppService(self.command, write_bytes=pending.write_bytes, write_str=pending.write_str,
                                        close=pending.close, download_manager=self.download_manager,
                                        debug=self.debug)
        try:
            await service.start(80, 24)
        except BaseException as error:  # its websocket, if any, then gets a fresh app
            self.prestarted.pop(token, None)
            await stop_service(service)
            if isinstance(error, asyncio.CancelledError):
                raise
            textual_serve.server.log.warning("prestarted app failed to start: %r", error)
            return
        pending.service = service
        asyncio.get_running_loop().call_later(self.PRESTART_SECONDS, self._expire)

    def _expire(self) -> None:
        """Stop the apps nobody claimed in time, or that wrote more than may be held for them."""
        now = time.monotonic()
        for token, pending in list(self.prestarted.items()):
            if pending.service is None:  # still starting: stopped (by its own task) only if stuck that long
                if now - pending.started >= self.PRESTART_SECONDS and pending.starting is not None:
                    pending.starting.cancel()
                continue
            if now - pending.started >= self.PRESTART_SECONDS or pending.held_bytes > self.PRESTART_HOLD_BYTES:
                del self.prestarted[token]
                self._stop_later(pending.service)

    def _stop_spawned(self, pending: Prestarted, _: object) -> None:
        """A claimed app whose websocket's handler ended while it spawned: nobody else will stop it."""
        if pending.service is not None:
            self._stop_later(pending.service)

    def _stop_later(self, service: AppService) -> None:
        task = asyncio.get_running_loop().create_task(stop_service(service))
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)

    def _claim(self, token: str, who: str) -> Prestarted | None:
        """The app started for `token`'s page if it is `who`'s, unexpired; taken once. Another address's token is
        left alone (its own tab may still claim it) and that websocket gets a fresh app."""
        self._expire()
        pending = self.prestarted.get(token)
        if pending is None or not secrets.compare_digest(pending.client, who):
            return None
        del self.prestarted[token]
        return pending

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        token = request.match_info.get("session")
        pending = self._claim(token, _client.get()) if token else None
        if pending is not None and pending.starting is not None and not pending.starting.done():
            try:  # its page came back before its app's process was spawned: wait for it, never cancel it halfway
                await asyncio.shield(pending.starting)
            except asyncio.CancelledError:
                pending.starting.add_done_callback(partial(self._stop_spawned, pending))
                raise
        service = pending.service if pending is not None else None
        if pending is None or service is None:
            return await super().handle_websocket(request)
        websocket = web.WebSocketResponse(heartbeat=15)
        try:
            await websocket.prepare(request)
            await pending.attach(websocket)
            width = to_int(request.query.get("width", "80"), 80)
            height = to_int(request.query.get("height", "24"), 24)
            if (width, height) != (80, 24):
                await service.set_terminal_size(width, height)
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:
            textual_serve.server.log.exception(error)
        finally:
            await stop_service(service)
        return websocket


# textual-serve's page context, before its template decorator renders it
_INDEX_CONTEXT = Server.handle_index.__wrapped__  # type: ignore[attr-defined]


def _is_websocket(path: str) -> bool:
    return path == "/ws" or path.startswith("/ws/")


def _takes_gzip(accept_encoding: str) -> bool:
    """Accept-Encoding names gzip with a quality above zero («gzip», «gzip;q=0.5»; not «gzip;q=0», «gzip;q=0.000»,
    nor a quality that is not a number)."""
    for part in accept_encoding.split(","):
        coding, *params = (item.strip().lower() for item in part.split(";"))
        if coding != "gzip":
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
        return quality > 0
    return False
