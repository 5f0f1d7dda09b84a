"""POSTs to outside systems share one TLS context per process (backend/core/http.py): still verifying."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading

import httpx
import pytest

from backend.core import http
from tests.local_http import self_signed_certificate


def test_one_context_for_every_post_and_it_still_refuses_a_certificate_nobody_vouches_for(tmp_path):
    """A stranger answering on the gateway's address with a self-signed certificate gets no payment data."""
    assert http.tls_context() is http.tls_context()
    assert http.tls_context().verify_mode == ssl.CERT_REQUIRED and http.tls_context().check_hostname
    cert, key = self_signed_certificate(tmp_path / "cert.pem", tmp_path / "key.pem")
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn, contextlib.suppress(ssl.SSLError, OSError), server_side.wrap_socket(conn, server_side=True) as tls:
            received.append(tls.recv(4096))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        http.post(f"https://127.0.0.1:{listener.getsockname()[1]}/pagos", json={"valor": "12.50"}, timeout=10)
    thread.join(10)
    listener.close()
    assert received == []
