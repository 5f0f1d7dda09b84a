"""Where a sign-in comes from: the channel (local terminal, SSH, browser) and the client's address.

The address is only what this process can vouch for: over SSH, the first field of SSH_CONNECTION (set by
sshd, kept through sudo by deploy/ssh/cooprogreso.sudoers); in the browser, the address the web server
handed this session's process (`WEB_CLIENT_ENV`), which it took from X-Forwarded-For only when the peer was
a declared `--trusted-proxy` (cooprogreso_tui/web.py `client_address`). Anything that is not an IP address
is dropped: it is shown to the member and the staff later, and must never be text someone chose.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

CHANNELS = {"local": "Terminal local", "ssh": "SSH", "web": "Navegador"}
WEB_CLIENT_ENV = "COOPROGRESO_WEB_CLIENT"  # set per browser session by `cooprogreso web`


@dataclass(frozen=True)
class Origin:
    channel: str = "local"  # a key of CHANNELS
    address: str | None = None  # an IP address, normalised, or None

    @property
    def label(self) -> str:
        name = CHANNELS.get(self.channel, "Desconocido")
        return f"{name} · {self.address}" if self.address else name


LOCAL = Origin()


def ip_or_none(text: object) -> str | None:
    """`text` as a normalised IP address, or None when it is anything else. An IPv6 scope («fe80::1%eth0») is
    refused: ipaddress takes any text after «%» (an escape sequence, a line break), and it names an interface of
    the host that saw it, never a client."""
    if not isinstance(text, str) or len(text) > 64 or "%" in text:
        return None
    try:
        return str(ipaddress.ip_address(text.strip().strip("[]")))
    except ValueError:
        return None


def checked(origin: object) -> Origin:
    """An Origin a caller passed in, made safe to store (unknown channel: local; bad address: none)."""
    if not isinstance(origin, Origin):
        return LOCAL
    channel = origin.channel if origin.channel in CHANNELS else "local"
    return Origin(channel, ip_or_none(origin.address))


def from_environment(env: Mapping[str, str], *, web: bool) -> Origin:
    """This process's channel: the browser when textual-serve runs it (`web`), else SSH when sshd said so,
    else the local terminal. A browser session never reads SSH_CONNECTION: the web server may have been
    started from an SSH login, and its children inherit that."""
    if web:
        return Origin("web", ip_or_none(env.get(WEB_CLIENT_ENV, "")))
    ssh = env.get("SSH_CONNECTION", "")
    if ssh:
        return Origin("ssh", ip_or_none(ssh.split(" ", 1)[0]))
    return LOCAL
