"""POSTs to outside systems (payment networks, the interbank gateway, the SMS gateway) with one TLS context per
process: `httpx.post` builds a new one on every call, loading the whole CA bundle again (~50 ms of CPU a request;
a pass paying 20 scheduled bills spent 2 s on it)."""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ssl

    import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The CAs httpx trusts by default (SSL_CERT_FILE or SSL_CERT_DIR if set, else certifi's bundle), loaded once."""
    import ssl

    if os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    if os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def post(url: str, **kwargs: Any) -> httpx.Response:
    """`httpx.post`, verifying certificates as it does, with the process's one TLS context."""
    import httpx  # deferred: only deployments with a real network pay for it

    return httpx.post(url, verify=tls_context(), **kwargs)
