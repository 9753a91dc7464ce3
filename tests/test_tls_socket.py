"""End to end over a real socket: Python's ssl module judges a simlab chain."""

from __future__ import annotations

import datetime as dt
import socket
import ssl

import pytest
from cryptography.hazmat.primitives import serialization

from simlab.keys import derive_key
from simlab.live import LiveServer
from simlab.pki import CertificateAuthority
from tests.conftest import Owners


def _world_valid_now() -> tuple[CertificateAuthority, CertificateAuthority]:
    # Real TLS stacks use the wall clock, so this test's epoch is "an hour ago".
    epoch = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
    root = CertificateAuthority.root(
        "Socket Root", domain_control=Owners({"example.com": "o"}), epoch=epoch
    )
    return root, root.create_intermediate("Socket Issuing CA")


def _connect(port: int, cadata: str | None) -> None:
    ctx = ssl.create_default_context(cadata=cadata) if cadata else ssl.create_default_context()
    if cadata is None:
        ctx.load_verify_locations(
            cadata=CertificateAuthority.root("Unrelated")
            .certificate.public_bytes(serialization.Encoding.PEM)
            .decode()
        )
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname="www.example.com") as tls,
    ):
        assert tls.version() is not None


@pytest.mark.timeout(30)
def test_ssl_client_trusting_the_root_connects_and_others_are_refused() -> None:
    root, inter = _world_valid_now()
    key = derive_key(0, "socket-server")
    chain = inter.issue("o", ["example.com", "*.example.com"], key.public_key(), at=0)
    root_pem = root.certificate.public_bytes(serialization.Encoding.PEM).decode()
    with LiveServer(chain, key) as server:
        port = server.port
        _connect(port, root_pem)
        with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
            _connect(port, None)
