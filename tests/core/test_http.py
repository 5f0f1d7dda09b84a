"""POSTs to outside systems share one TLS context per process (backend/core/http.py): still verifying."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import socket
import ssl
import threading
from pathlib import Path

import httpx
import pytest

from backend.core import http


def _self_signed(base: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)  # a certificate's validity is real time, not the co-op's
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = base / "cert.pem", base / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_one_context_for_every_post_and_it_still_refuses_a_certificate_nobody_vouches_for(tmp_path):
    """A stranger answering on the gateway's address with a self-signed certificate gets no payment data."""
    assert http.tls_context() is http.tls_context()
    assert http.tls_context().verify_mode == ssl.CERT_REQUIRED and http.tls_context().check_hostname
    cert, key = _self_signed(tmp_path)
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
