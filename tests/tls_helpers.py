"""A loopback TLS server for tests: it serves one chain and a fixed HTTP response."""

from __future__ import annotations

import contextlib
import socket
import ssl
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from simlab.keys import PrivateKey
from simlab.pki import Chain


def server_context(chain: Chain, key: PrivateKey) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as d:
        cert_file, key_file = Path(d, "chain.pem"), Path(d, "key.pem")
        cert_file.write_text(chain.pem())
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        ctx.load_cert_chain(cert_file, key_file)
    return ctx


@contextlib.contextmanager
def tls_server(chain: Chain, key: PrivateKey, response: bytes = b"") -> Iterator[int]:
    """Serve on 127.0.0.1 until the block exits; yields the port."""
    ctx = server_context(chain, key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    with ctx.wrap_socket(conn, server_side=True) as tls:
                        if response:
                            tls.recv(4096)
                            tls.sendall(response)
                except (ssl.SSLError, OSError):
                    pass  # the client refused our chain: that is what some tests expect

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
