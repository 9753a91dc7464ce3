"""Live mode: a scenario's servers on real TLS sockets, and its CT logs on the RFC 6962 API.

Students trust what they can poke with their own tools. A *scene* runs a scenario up to a
chosen simulated moment, then serves on 127.0.0.1: the legitimate server and the attacker
over real TLS (Python's ``ssl``), each with its simulated chain and, over HTTP/1.1, its
HPKP header; and the scenario's CT logs over HTTP (:class:`simlab.ct.http.LogFront`), for
``certspotter`` or any RFC 6962 client. simlab's own live client reads the served chain off
the socket and decides with the very pipeline the simulation uses
(:meth:`simlab.world.World.decide`).

:meth:`Scene.commands` are the commands a student copies: a ``curl`` per server and victim
app (with ``--pinnedpubkey`` exactly when that app enforces pins, see :func:`enforces_pins`),
each with the verdict simlab predicts, and an ``openssl s_client`` per server that trusts
the victim's roots (``-CAfile``) and, when the scenario logs certificates, checks their
SCTs against the scenario's logs (``-ct -ctlogfile``). The test suite runs every one of
them and checks each prediction.

Real TLS stacks check certificates against the wall clock, so this surface (and only
this one) reads it: the scene's epoch is chosen so that the simulated moment is *now*.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shlex
import shutil
import socket
import ssl
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from simlab.clock import DAY, HOUR, SimTime
from simlab.ct import embedded_scts, verify_sct
from simlab.ct.http import Limits, LogFront, LoopbackServer, RequestHandler
from simlab.errors import ScenarioError, SimlabError
from simlab.export import ctlog_file, log_list
from simlab.files import plan, write_all
from simlab.keys import PrivateKey
from simlab.pki import Chain
from simlab.runner import build, settings_for
from simlab.world import Client, Decision, Endpoint, World

__all__ = [
    "FILES",
    "Command",
    "LiveServer",
    "Scene",
    "enforces_pins",
    "fetch",
    "live_decide",
    "scene",
    "victim",
    "victim_apps",
]

FILES = ("cafile.pem", "servers.json", "loglist.json", "ctlogs.cnf")
"""What ``simlab live --out`` writes (:meth:`Scene.write`), checked before the scene starts."""

_DER = 2  # ssl._ssl.ENCODING_DER
_PEM = serialization.Encoding.PEM


class _FixedAnswer(RequestHandler):
    """Every request gets the same page (and the endpoint's HPKP header)."""

    response_headers: ClassVar[dict[str, str]] = {}  # set per server, in a subclass
    response_body: ClassVar[bytes] = b""

    def do_GET(self) -> None:
        self.close_connection = True
        self.reply(
            200,
            self.response_body,
            content_type="text/plain; charset=utf-8",
            headers=self.response_headers,
        )

    do_HEAD = do_GET
    do_POST = do_GET


class LiveServer:
    """Serves one chain over TLS on 127.0.0.1, answering every HTTP request the same way.

    Use as a context manager; the port is chosen by the OS. Connections are served each on
    its own thread under :class:`~simlab.ct.http.Limits`, so an idle or slow client never
    holds up another; closing cuts open connections and joins every thread.
    """

    def __init__(
        self,
        chain: Chain,
        key: PrivateKey,
        *,
        headers: dict[str, str] | None = None,
        body: str = "simlab\n",
        port: int = 0,
        limits: Limits | None = None,
    ) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # The ssl module loads a chain only from files: two in a private temporary folder.
        try:
            with tempfile.TemporaryDirectory() as folder:
                cert_file, key_file = Path(folder, "chain.pem"), Path(folder, "key.pem")
                cert_file.write_text(chain.pem())
                key_file.write_bytes(key_pem)
                self.context.load_cert_chain(cert_file, key_file)
        except ssl.SSLError:
            raise  # not the folder's fault (an SSLError is an OSError too)
        except OSError as exc:
            raise _refused(exc) from None

        class Handler(_FixedAnswer):
            response_headers: ClassVar[dict[str, str]] = dict(headers or {})
            response_body: ClassVar[bytes] = body.encode()

        self._server = LoopbackServer(
            Handler, port=port, tls=self.context, limits=limits, name="simlab-live"
        )
        self.port: int = self._server.port

    def close(self) -> None:
        self._server.close()

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


def enforces_pins(world: World, client: Client) -> bool:
    """Whether ``client`` enforces pins bundled in it, the way ``curl --pinnedpubkey`` does:
    an app whose release pins, of a site that bundles pins (the ``static`` defence).

    The one place live mode asks which clients of a defence pin: its curl commands carry
    ``--pinnedpubkey`` exactly for these clients.
    """
    return client.kind == "app" and client.release.static_pins and world.s.app_pins


@dataclass(frozen=True)
class Command:
    """A ready-to-copy command and what simlab predicts it shows.

    ``expect_ok`` is the prediction: curl exits 0, or s_client prints "Verify return code:
    0 (ok)". ``valid_scts`` is how many SCTs s_client ``-ct`` should report valid.
    """

    server: str
    client: str  # who the command judges as, e.g. "an app that pins"
    argv: tuple[str, ...]
    verdict: str  # what simlab says, e.g. "accept" or "block (unknown_issuer)"
    expect_ok: bool
    valid_scts: int | None = None

    @property
    def line(self) -> str:
        text = shlex.join(self.argv)
        return f"{text} </dev/null" if self.argv[:2] == ("openssl", "s_client") else text


def _refused(exc: OSError) -> SimlabError:
    """Live's files (the servers' chains and keys, which the ssl module loads from files
    only, and the commands' trust stores) go to the temporary folder; it refused one (full,
    read-only, not a folder, or a file-size limit)."""
    try:
        folder = f"the temporary folder {tempfile.gettempdir()}"
    except OSError:  # no candidate folder is usable: gettempdir itself fails
        folder = "every temporary folder"
    return SimlabError(
        f"{folder} refused live's files ({exc.strerror or exc}); set TMPDIR to a writable folder"
    )


def _scratch_folder() -> Path:
    try:
        return Path(tempfile.mkdtemp(prefix="simlab-live-"))
    except OSError as exc:
        raise _refused(exc) from None


@dataclass
class Scene:
    """A world stopped at simulated time ``at``, with its servers and logs live on loopback."""

    world: World
    at: SimTime
    servers: dict[str, LiveServer] = field(default_factory=dict)
    logs: LogFront | None = None
    folder: Path = field(default_factory=_scratch_folder)

    def endpoint(self, name: str) -> Endpoint:
        endpoint = self.world.owner if name == "owner" else self.world.attacker
        if endpoint is None:
            raise SimlabError(f"no {name} is serving at this moment of the scenario")
        return endpoint

    def roots_file(self, client: Client) -> Path:
        """The client's trust store as a PEM file (public roots, plus any user root)."""
        roots = b"".join(c.public_bytes(_PEM) for c in client.store.certificates)
        return self._scratch_file(f"roots-client-{client.id}.pem", roots)

    def ctlog_file(self) -> Path:
        """The scenario's logs in OpenSSL's CTLOG_FILE format."""
        return self._scratch_file("ctlogs.cnf", ctlog_file(self.world.logs).encode())

    def _scratch_file(self, name: str, data: bytes) -> Path:
        path = self.folder / name
        try:
            path.write_bytes(data)
        except OSError as exc:
            raise _refused(exc) from None
        return path

    def app_pins(self, client: Client) -> list[str]:
        """The pins ``client`` enforces now (none unless :func:`enforces_pins`)."""
        if not enforces_pins(self.world, client):
            return []
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

    @property
    def logs_certificates(self) -> bool:
        return any(log.submissions for log in self.world.logs)

    def s_client(self, name: str, client: Client) -> list[str]:
        """``openssl s_client`` trusting ``client``'s roots, checking SCTs if the scenario logs."""
        port = self.servers[name].port
        command = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}"]
        command += ["-servername", self.world.host, "-CAfile", str(self.roots_file(client))]
        if self.logs_certificates:
            command += ["-ct", "-ctlogfile", str(self.ctlog_file())]
        return command

    def valid_scts(self, chain: Chain) -> int:
        """How many SCTs embedded in ``chain``'s leaf verify against the scenario's logs."""
        if len(chain.certificates) < 2:
            return 0
        leaf, issuer = chain.leaf, chain.certificates[1]
        keys = {log.log_id: log.public_key for log in self.world.logs}
        return sum(
            sct.log_id in keys and verify_sct(sct, leaf, issuer, keys[sct.log_id])
            for sct in embedded_scts(leaf)
        )

    def commands(self) -> list[Command]:
        """Every command a student is shown, with simlab's prediction for each."""
        out: list[Command] = []
        world = self.world
        apps = victim_apps(world)
        for name in self.servers:
            chain = self.endpoint(name).chain
            for label, app in apps:
                # Apps check no revocation (clients.toml), and neither does curl without
                # --crlfile: the app's decision is the command's.
                decision = world.decide(app, chain, self.at)
                verdict = decision.verdict + (f" ({decision.reason})" if decision.reason else "")
                ok = decision.verdict == "accept"
                argv = tuple(self.curl(name, app))
                out.append(Command(name, label, argv, verdict, ok))
        for name in self.servers:
            chain = self.endpoint(name).chain
            label, app = apps[0]
            validation = world.validator.validate(chain, app.store, world.host, self.at)
            verdict = "verifies" if validation.ok else f"does not verify ({validation.reason})"
            scts = self.valid_scts(chain) if self.logs_certificates and validation.ok else None
            argv = tuple(self.s_client(name, app))
            out.append(Command(name, f"the roots of {label}", argv, verdict, validation.ok, scts))
        return out

    def log_urls(self) -> dict[str, str]:
        """Each log's base URL (RFC 6962 endpoints are ``ct/v1/...`` below it)."""
        return {n: self.logs.url(n) for n in self.logs.mounts} if self.logs else {}

    def write(self, out: Path, *, force: bool = False) -> list[Path]:
        """:data:`FILES` in ``out``: ``cafile.pem``, ``servers.json``, ``loglist.json`` and
        ``ctlogs.cnf``. Refuses if any of them exists already, unless ``force``."""
        paths = dict(zip(FILES, plan(out, FILES, force=force), strict=True))
        _, app = victim_apps(self.world)[0]
        urls = self.log_urls()
        servers = {
            "owner": f"https://127.0.0.1:{self.servers['owner'].port}",
            "attacker": (
                f"https://127.0.0.1:{self.servers['attacker'].port}"
                if "attacker" in self.servers
                else None
            ),
            "logs": urls,
            "cafile": str(paths["cafile.pem"].resolve()),
        }
        listed_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
        files: dict[str, bytes | str] = {
            "cafile.pem": b"".join(c.public_bytes(_PEM) for c in app.store.certificates),
            "servers.json": json.dumps(servers, indent=2) + "\n",
            "loglist.json": json.dumps(
                log_list(self.world.logs, urls, timestamp=listed_at), indent=2
            )
            + "\n",
            "ctlogs.cnf": ctlog_file(self.world.logs),
        }
        return write_all({paths[name]: data for name, data in files.items()}, replace=force)

    def close(self) -> None:
        for server in self.servers.values():
            server.close()
        self.servers.clear()
        if self.logs is not None:
            self.logs.close()
            self.logs = None
        shutil.rmtree(self.folder, ignore_errors=True)


def victim(world: World, kind: str) -> Client:
    """A client of ``kind`` on the attacker's access network (the one the story targets)."""
    for client in world.clients:
        if client.kind == kind and client.access == world.s.attacker_network:
            return client
    raise SimlabError(f"this scenario has no {kind} client on {world.s.attacker_network}")


def victim_apps(world: World) -> list[tuple[str, Client]]:
    """One victim app that enforces pins and one that does not, where the world has them."""
    found: dict[bool, Client] = {}
    for client in world.clients:
        if client.kind == "app" and client.access == world.s.attacker_network:
            found.setdefault(enforces_pins(world, client), client)
    if not found:
        raise SimlabError(f"this scenario has no app client on {world.s.attacker_network}")
    labels = {True: "an app that pins", False: "an app without pins"}
    return [(labels[pins], found[pins]) for pins in (True, False) if pins in found]


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
    """Run ``scenario`` to ``at_day`` (default: one hour into the attack) and serve it live.

    The logs' clock runs on from the scene's moment at wall-clock speed, so an entry
    submitted with ``add-chain`` merges after the log's real merge delay.
    """
    moment = now or dt.datetime.now(dt.UTC).replace(microsecond=0)
    _, _, settings = settings_for(scenario, defence, params)
    # The default moment, an hour into the attack, is kept within the run (an attack may
    # start in its last hour); a moment the user asks for outside it is refused.
    at = min(settings.attack_start_day * DAY + HOUR, settings.days * DAY)
    at = at if at_day is None else at_day * DAY
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
        started = time.monotonic()
        live.logs = LogFront(
            {log.name: log for log in world.logs},
            roots=world.public_store.certificates,
            clock=lambda: at + (time.monotonic() - started),
        )
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
