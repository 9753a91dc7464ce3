"""Live mode: a scenario's servers on real TLS sockets on 127.0.0.1.

Students trust what they can poke with their own tools. A *scene* runs a scenario up to a
chosen simulated moment, then serves the legitimate server and the attacker over real TLS
(Python's ``ssl``), each with its simulated chain and, over HTTP/1.1, its HPKP header.
simlab's own live client reads the served chain off the socket and decides with the very
pipeline the simulation uses (:meth:`simlab.world.World.decide`); ``curl`` and
``openssl s_client`` can be pointed at the same ports.

Real TLS stacks check certificates against the wall clock, so this surface (and only
this one) reads it: the scene's epoch is chosen so that the simulated moment is *now*.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import socket
import ssl
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from simlab.clock import DAY, HOUR, SimTime
from simlab.errors import ScenarioError, SimlabError
from simlab.keys import PrivateKey
from simlab.pki import Chain
from simlab.runner import build, settings_for
from simlab.world import Client, Decision, Endpoint, World

__all__ = ["LiveServer", "Scene", "fetch", "live_decide", "scene", "victim"]

_DER = 2  # ssl._ssl.ENCODING_DER


class LiveServer:
    """Serves one chain over TLS on 127.0.0.1, answering every HTTP request the same way.

    Use as a context manager; the port is chosen by the OS. Closing stops the accept loop
    and joins its thread, so nothing is left behind.
    """

    def __init__(
        self,
        chain: Chain,
        key: PrivateKey,
        *,
        headers: dict[str, str] | None = None,
        body: str = "simlab\n",
        port: int = 0,
    ) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory() as folder:
            cert_file, key_file = Path(folder, "chain.pem"), Path(folder, "key.pem")
            cert_file.write_text(chain.pem())
            key_file.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            self.context.load_cert_chain(cert_file, key_file)
        lines = [
            "HTTP/1.1 200 OK",
            "Content-Type: text/plain; charset=utf-8",
            f"Content-Length: {len(body.encode())}",
            "Connection: close",
        ]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        self.response = ("\r\n".join(lines) + "\r\n\r\n" + body).encode()
        self._listener = socket.create_server(("127.0.0.1", port))
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, name=f"simlab-live-{self.port}", daemon=True
        )
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    with self.context.wrap_socket(conn, server_side=True) as tls:
                        request = b""
                        while b"\r\n\r\n" not in request:
                            chunk = tls.recv(4096)
                            if not chunk:
                                break
                            request += chunk
                        if request:
                            tls.sendall(self.response)
                except (ssl.SSLError, OSError):
                    pass  # the client refused the chain: a decision, not an error

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def __enter__(self) -> LiveServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _served_der(tls: ssl.SSLSocket) -> list[bytes]:
    """The chain exactly as the server sent it, as DER (public API from Python 3.13)."""
    public = getattr(tls, "get_unverified_chain", None)
    if public is not None:
        return [bytes(der) for der in public()]
    private = tls._sslobj.get_unverified_chain()  # type: ignore[attr-defined]
    return [cert.public_bytes(_DER) for cert in private]


def fetch(host: str, port: int, *, timeout: float = 5.0) -> tuple[Chain, dict[str, str]]:
    """Connect to 127.0.0.1:``port`` as ``host``; return the served chain and the headers.

    The TLS stack is told not to judge the chain: simlab's pipeline does that, on the bytes
    the server actually sent.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        chain = Chain(tuple(x509.load_der_x509_certificate(der) for der in _served_der(tls)))
        tls.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        response = b""
        while chunk := tls.recv(4096):
            response += chunk
    head = response.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return chain, headers


def live_decide(
    world: World, client: Client, port: int, at: SimTime, *, on_path: bool = False
) -> Decision:
    """A real connection: fetch the chain from the socket, decide with the simulation's
    pipeline, and note an HPKP header if the connection was accepted."""
    chain, headers = fetch(world.host, port)
    decision = world.decide(client, chain, at, on_path=on_path)
    if decision.verdict == "accept":
        world.note_header(client, headers.get("public-key-pins"), decision.validation, at)
    return decision


@dataclass
class Scene:
    """A world stopped at simulated time ``at``, with its servers live on loopback."""

    world: World
    at: SimTime
    servers: dict[str, LiveServer] = field(default_factory=dict)
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="simlab-live-")))

    def endpoint(self, name: str) -> Endpoint:
        endpoint = self.world.owner if name == "owner" else self.world.attacker
        if endpoint is None:
            raise SimlabError(f"no {name} is serving at this moment of the scenario")
        return endpoint

    def roots_file(self, client: Client) -> Path:
        """The client's trust store as a PEM file (public roots, plus any user root)."""
        path = self.folder / f"roots-client-{client.id}.pem"
        path.write_bytes(
            b"".join(c.public_bytes(serialization.Encoding.PEM) for c in client.store.certificates)
        )
        return path

    def app_pins(self, client: Client) -> list[str]:
        release = self.world.adoption.release_for(
            client.app_threshold, self.world.releases, self.at
        )
        return sorted(release.pins.pins) if release.pins is not None else []

    def curl(self, name: str, client: Client, *, pinned: bool = True) -> list[str]:
        """A curl command line that judges ``name``'s server like ``client`` (an app) would."""
        host, port = self.world.host, self.servers[name].port
        command = [
            "curl",
            "--silent",
            "--show-error",
            "--max-time",
            "10",
            "--cacert",
            str(self.roots_file(client)),
            "--resolve",
            f"{host}:{port}:127.0.0.1",
        ]
        pins = self.app_pins(client) if pinned else []
        if pins:
            command += ["--pinnedpubkey", ";".join(f"sha256//{p}" for p in pins)]
        return [*command, f"https://{host}:{port}/"]

    def close(self) -> None:
        for server in self.servers.values():
            server.close()
        self.servers.clear()
        shutil.rmtree(self.folder, ignore_errors=True)


def victim(world: World, kind: str) -> Client:
    """A client of ``kind`` on the attacker's access network (the one the story targets)."""
    for client in world.clients:
        if client.kind == kind and client.access == world.s.attacker_network:
            return client
    raise SimlabError(f"this scenario has no {kind} client on {world.s.attacker_network}")


@contextlib.contextmanager
def scene(
    scenario: str,
    defence: str = "static",
    *,
    seed: int = 0,
    at_day: float | None = None,
    now: dt.datetime | None = None,
    **params: Any,
) -> Iterator[Scene]:
    """Run ``scenario`` to ``at_day`` (default: one hour into the attack) and serve it live."""
    moment = now or dt.datetime.now(dt.UTC).replace(microsecond=0)
    _, _, settings = settings_for(scenario, defence, params)
    at = settings.attack_start_day * DAY + HOUR if at_day is None else at_day * DAY
    if not 0 <= at <= settings.days * DAY:
        raise ScenarioError(
            f"at_day must be between 0 and {settings.days:g} (the scenario's length in days), "
            f"got {at / DAY:g}"
        )
    _, _, world = build(
        scenario, defence, seed, epoch=moment - dt.timedelta(seconds=int(at)), **params
    )
    world.run(until=at)
    live = Scene(world, at)
    try:
        live.servers["owner"] = _serve(world.owner, world)
        if world.attacker is not None:
            live.servers["attacker"] = _serve(world.attacker, world)
        yield live
    finally:
        live.close()


def _serve(endpoint: Endpoint, world: World) -> LiveServer:
    headers = {"Public-Key-Pins": endpoint.pkp_header} if endpoint.pkp_header else {}
    body = f"simlab live: {endpoint.operator} serving {world.host}\n"
    return LiveServer(endpoint.chain, endpoint.key, headers=headers, body=body)
