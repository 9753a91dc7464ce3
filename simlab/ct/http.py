"""RFC 6962 section 4 over HTTP: simlab's CT logs on 127.0.0.1, for monitors nobody here wrote.

:class:`LogFront` serves :class:`~simlab.ct.log.CTLog` objects at
``http://127.0.0.1:PORT/NAME/ct/v1/...`` with the JSON and TLS encodings of RFC 6962
section 4: ``add-chain`` (4.1), ``add-pre-chain`` (4.2), ``get-sth`` (4.3),
``get-sth-consistency`` (4.4), ``get-proof-by-hash`` (4.5), ``get-entries`` (4.6, at most
``page_size`` entries per call, as real logs cap their pages) and ``get-roots`` (4.7).
The front adds no honesty of its own: a log that withholds an entry or shows a victim a
split view (:meth:`CTLog.withhold`, :meth:`CTLog.show_only_to`) does so on the wire, one
view per URL. Two lies a log can tell only in its signed tree heads are switched on per
mount (:class:`Lie`): a root its entries do not hash to, and a signature by a key that is not
the one in the log list. A real monitor (SSLMate's ``certspotter``) catches both.

Both this front and :mod:`simlab.live`'s TLS servers run on :class:`LoopbackServer`: a
thread per connection, short read timeouts, a deadline per request enforced by a reaper
(so a client that sends one byte a second is cut off too), and caps on header and body
size, requests per connection and open connections. Every malformed request (a bad request
line, a Content-Length that is not one number, a body shorter than it) gets a status line
and a JSON error. It binds 127.0.0.1 only. The cap on open connections is the server's, not
a client's: on loopback every client has the same address, so a few hundred clients that
each hold a connection open can keep others out until the deadlines cut them.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import enum
import hashlib
import io
import json
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.x509.certificate_transparency import LogEntryType

from simlab.clock import SimTime
from simlab.ct.log import PUBLIC_VIEW, CTLog, LogEntry, SignedTreeHead, sth_signature_input
from simlab.ct.sct import decode_digitally_signed, sign
from simlab.errors import CTError, SimlabError
from simlab.keys import PrivateKey, derive_key
from simlab.pki import CT_POISON_OID, Chain

__all__ = [
    "Lie",
    "Limits",
    "LogFront",
    "LoopbackServer",
    "Mount",
    "RequestHandler",
    "sth_from_json",
]

_DER = serialization.Encoding.DER


# -- a loopback server no client can stall ------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """What one client may cost a :class:`LoopbackServer` (seconds, bytes, counts)."""

    read_timeout: float = 2.0  # silence on a socket before it is closed
    request_deadline: float = 5.0  # to send one whole request (and read the answer)
    handshake_deadline: float = 3.0  # to finish the TLS handshake
    max_head_bytes: int = 16 * 1024  # request line and headers
    max_body_bytes: int = 256 * 1024  # add-chain bodies are a few kilobytes
    max_requests: int = 100  # per connection, then the server closes it
    max_connections: int = 64  # open at once; more are closed on accept


class _TooLarge(Exception):
    pass


def _error(message: str) -> dict[str, object]:
    """Every error's JSON body: why, and that nothing was done."""
    return {"error_message": message, "success": False}


class _CappedReader:
    """``rfile`` with a byte budget per request: a client cannot stream headers forever."""

    def __init__(self, raw: io.BufferedIOBase) -> None:
        self._raw = raw
        self._left = 0

    def allow(self, n: int) -> None:
        self._left = n

    def _spend(self, data: bytes) -> bytes:
        self._left -= len(data)
        if self._left < 0:
            raise _TooLarge
        return data

    def readline(self, size: int = -1) -> bytes:
        limit = self._left + 1 if size < 0 else min(size, self._left + 1)
        return self._spend(self._raw.readline(limit))

    def read(self, size: int = -1) -> bytes:
        limit = self._left + 1 if size < 0 else min(size, self._left + 1)
        return self._spend(self._raw.read(limit))

    def close(self) -> None:
        self._raw.close()


class RequestHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 under :class:`Limits`. Subclasses implement ``do_GET`` / ``do_POST``."""

    protocol_version = "HTTP/1.1"
    # An answer to a request line that is not HTTP/1.x (garbage, a TLS ClientHello, an
    # HTTP/2 preface) still starts with a status line: http.server would answer it as
    # HTTP/0.9, with a bare HTML page.
    default_request_version = "HTTP/1.1"
    # An answer goes out as two writes (headers, then body): with Nagle's algorithm on,
    # the body waits for the client to acknowledge the headers, which a client delays by
    # up to 40 ms on Linux, so every answer on a kept-alive connection took 40 ms.
    disable_nagle_algorithm = True
    server_version = "simlab"
    sys_version = ""
    server: LoopbackServer

    def setup(self) -> None:
        super().setup()
        self.rfile = _CappedReader(self.rfile)  # type: ignore[assignment]
        self._served = 0

    def handle_one_request(self) -> None:
        limits = self.server.limits
        self.server.arm(self.request, limits.request_deadline)
        self.rfile.allow(limits.max_head_bytes)  # type: ignore[attr-defined]
        self.requestline = ""  # set once the request line is read whole
        self._body_read = False
        try:
            super().handle_one_request()
        except _TooLarge:
            self.close_connection = True
            status = HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
            if not self.requestline:  # the request line alone is over the cap: never parsed
                status = HTTPStatus.REQUEST_URI_TOO_LONG
                self.command, self.request_version = "", self.default_request_version
            with contextlib.suppress(OSError):
                self.reply(status, _error(f"at most {limits.max_head_bytes} bytes"))
            return
        self._served += 1
        if self._served >= limits.max_requests or self._body_unread():
            self.close_connection = True

    def _body_unread(self) -> bool:
        """Whether the request announced a body its handler did not read (a GET with one):
        its bytes must not be read as the next request."""
        headers = getattr(self, "headers", None)
        if headers is None or self._body_read:
            return False
        length = headers.get("Content-Length", "0").strip()
        return "Transfer-Encoding" in headers or length not in ("", "0")

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """An error http.server finds in a request (a bad request line, an unsupported
        method), answered in JSON like every other error here."""
        self.close_connection = True
        self.reply(code, _error(message or HTTPStatus(code).phrase))

    def body(self) -> bytes | None:
        """The request body, or None after answering 400/411/413: a Content-Length that is
        missing, not one number of ASCII digits (or given twice, differently, or beside a
        Transfer-Encoding: RFC 9112 section 6.3), too long, or longer than the body the
        client sent. Chunked bodies are not taken: an add-chain body has a known length."""
        max_body = self.server.limits.max_body_bytes
        lengths = {value.strip() for value in self.headers.get_all("Content-Length") or []}
        text = lengths.pop() if len(lengths) == 1 else ""
        chunked = "Transfer-Encoding" in self.headers
        if chunked or not (text.isascii() and text.isdigit()):
            status = 400 if lengths or text or chunked else 411
            self._no_body(status, "one Content-Length in ASCII digits is required")
            return None
        if len(text) > len(str(max_body)) or int(text) > max_body:  # no int() of 5,000 digits
            self._no_body(413, f"at most {max_body} bytes")
            return None
        length = int(text)
        self._body_read = True
        self.rfile.allow(length)  # type: ignore[attr-defined]
        data = self.rfile.read(length)
        if len(data) < length:
            self._no_body(400, f"the body ended after {len(data)} of {length} bytes")
            return None
        return data

    def _no_body(self, status: int, message: str) -> None:
        self.close_connection = True  # what the client sent next is not a request to read
        self.reply(status, _error(message))

    def reply(
        self,
        status: int,
        body: bytes | Mapping[str, Any],
        *,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        if self._served + 1 >= self.server.limits.max_requests:
            self.close_connection = True  # say so in this last answer, then close
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a live session prints its own summary, not one line per request."""


class LoopbackServer(ThreadingHTTPServer):
    """An HTTP (or, given ``tls``, HTTPS) server on 127.0.0.1 that no client can stall.

    Each connection gets its own thread; the TLS handshake runs there too, never in the
    accept loop. A reaper thread shuts down any connection past its deadline, so an idle
    or trickling client costs one thread for a few seconds and delays nobody else.
    :meth:`close` stops accepting, cuts every open connection and joins every thread.
    """

    daemon_threads = False  # close() joins them: nothing is left running
    block_on_close = True
    allow_reuse_address = False
    # The listen backlog (socketserver's default is 5): a burst of a hundred clients
    # connecting at once waits in the kernel's queue instead of in SYN retransmits.
    request_queue_size = 128

    def __init__(
        self,
        handler: type[RequestHandler],
        *,
        port: int = 0,
        tls: ssl.SSLContext | None = None,
        limits: Limits | None = None,
        name: str = "simlab-http",
    ) -> None:
        super().__init__(("127.0.0.1", port), handler)
        self.tls = tls
        self.limits = limits or Limits()
        self.port: int = self.server_address[1]
        self._deadlines: dict[socket.socket, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers = [
            threading.Thread(
                target=self.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"{name}-{self.port}",
                daemon=True,
            ),
            threading.Thread(target=self._reap, name=f"{name}-{self.port}-reaper", daemon=True),
        ]
        for thread in self._workers:
            thread.start()

    # accept thread
    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            crowded = len(self._deadlines) >= self.limits.max_connections
            if not crowded:
                self._deadlines[request] = time.monotonic() + self.limits.handshake_deadline
        if crowded:
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    # connection thread
    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(self.limits.read_timeout)
        conn = request
        try:
            if self.tls is not None:
                try:
                    conn = self.tls.wrap_socket(
                        request, server_side=True, do_handshake_on_connect=False
                    )
                    with self._lock:
                        self._deadlines[conn] = self._deadlines.pop(request, 0.0)
                    conn.do_handshake()
                except (OSError, ValueError):
                    return  # a refused handshake, or one cut at its deadline
            # An error of the handler's own (not the client hanging up) reaches
            # handle_error, which prints it: a bug shows instead of a silent drop.
            with contextlib.suppress(OSError):  # a reset, a deadline: the client's doing
                self.RequestHandlerClass(conn, client_address, self)  # type: ignore[arg-type]
        finally:
            with self._lock:
                self._deadlines.pop(conn, None)
                self._deadlines.pop(request, None)
            if conn is not request:
                with contextlib.suppress(OSError):
                    conn.close()

    def arm(self, conn: socket.socket, seconds: float) -> None:
        """Give ``conn`` ``seconds`` from now for its next request."""
        with self._lock:
            if conn in self._deadlines:
                self._deadlines[conn] = time.monotonic() + seconds

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet for a client that hung up; anything else is a bug and is printed."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def _reap(self) -> None:
        while not self._stop.wait(0.05):
            now = time.monotonic()
            with self._lock:
                late = [c for c, deadline in self._deadlines.items() if deadline <= now]
            for conn in late:
                _cut(conn)

    def close(self) -> None:
        """Stop accepting, cut open connections, join every thread this server started."""
        if self._stop.is_set():
            return
        self._stop.set()
        self.shutdown()
        with self._lock:
            open_now = list(self._deadlines)
        for conn in open_now:
            _cut(conn)
        self.server_close()
        for thread in self._workers:
            thread.join(timeout=5)

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _cut(conn: socket.socket) -> None:
    """Shut the socket down under any blocked read (plain shutdown, even on an SSLSocket)."""
    with contextlib.suppress(OSError):
        socket.socket.shutdown(conn, socket.SHUT_RDWR)


# -- the RFC 6962 front -----------------------------------------------------------------------


class Lie(enum.StrEnum):
    """What a log may lie about in the tree heads it serves."""

    NONE = "none"
    ROOT = "root"  # signs, with its own key, a root its entries do not hash to
    KEY = "key"  # signs its tree heads with a key other than the one in the log list


@dataclass(frozen=True)
class Mount:
    """One view of one log at one URL path."""

    log: CTLog
    view: str = PUBLIC_VIEW
    lie: Lie = Lie.NONE


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _u24(data: bytes) -> bytes:
    return len(data).to_bytes(3, "big") + data


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(_DER)


def _poison(cert: x509.Certificate) -> x509.Extension[x509.ExtensionType] | None:
    """The certificate's CT poison extension, if it has one (its extensions parse: see
    :meth:`LogFront._submitted_chain`)."""
    try:
        return cert.extensions.get_extension_for_oid(CT_POISON_OID)
    except x509.ExtensionNotFound:
        return None


_MAX_CHAIN = 8
"""Certificates an ``add-chain`` may submit. A web PKI chain has two to four; each one is
a signature to check, so the cap bounds what one request costs."""


class _BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class LogFront:
    """Serve ``mounts`` (URL name -> log or :class:`Mount`) on one loopback port.

    ``roots`` are the roots the logs accept (``get-roots``, and the anchors ``add-chain``
    checks submissions against). ``clock`` gives the simulated moment of each request: a
    log merges what is due and signs tree heads at that moment. Every log call holds one
    lock, since :class:`CTLog` is not thread-safe.
    """

    def __init__(
        self,
        mounts: Mapping[str, CTLog | Mount],
        *,
        roots: Sequence[x509.Certificate],
        clock: Callable[[], SimTime],
        page_size: int = 256,
        port: int = 0,
        limits: Limits | None = None,
    ) -> None:
        if page_size < 1:
            raise SimlabError(f"page_size must be at least 1, got {page_size}")
        for name in mounts:
            if not name or "/" in name:
                raise SimlabError(f"a log's URL name must be one path segment, got {name!r}")
        self.mounts = {name: m if isinstance(m, Mount) else Mount(m) for name, m in mounts.items()}
        self.roots = tuple(roots)
        self.clock = clock
        self.page_size = page_size
        self.lock = threading.Lock()
        self._scts: dict[tuple[CTLog, bool, tuple[bytes, ...]], dict[str, object]] = {}  # locked
        front = self

        class Handler(_FrontHandler):
            pass

        Handler.front = front
        self.server = LoopbackServer(Handler, port=port, limits=limits, name="simlab-ctlog")
        self.port = self.server.port

    def url(self, name: str) -> str:
        """The log's base URL, as a log list gives it (endpoints are ``ct/v1/...`` below it)."""
        return f"http://127.0.0.1:{self.port}/{name}/"

    def close(self) -> None:
        self.server.close()

    def __enter__(self) -> LogFront:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- endpoints (each runs under self.lock) ------------------------------------------------

    def get_sth(self, mount: Mount) -> dict[str, object]:
        return self._sth(mount).to_json()

    def _sth(self, mount: Mount) -> SignedTreeHead:
        sth = mount.log.sth(self.clock(), view=mount.view)
        if mount.lie is Lie.ROOT:
            root = hashlib.sha256(b"simlab: a root no entries hash to" + sth.root_hash).digest()
            return _resigned(sth, _log_key(mount.log), root)
        if mount.lie is Lie.KEY:
            return _resigned(sth, derive_key(mount.log.name, "impostor-key"), sth.root_hash)
        return sth

    def get_sth_consistency(self, mount: Mount, query: Mapping[str, str]) -> dict[str, object]:
        size = self._sth(mount).tree_size
        first, second = _int(query, "first"), _int(query, "second")
        if not 0 <= first <= second <= size:
            raise _BadRequest(f"need 0 <= first <= second <= {size}, got {first}, {second}")
        proof = mount.log.consistency_proof(first, second, view=mount.view)
        return {"consistency": [_b64(p) for p in proof]}

    def get_proof_by_hash(self, mount: Mount, query: Mapping[str, str]) -> dict[str, object]:
        size = self._sth(mount).tree_size
        try:
            leaf_hash = base64.b64decode(query.get("hash", ""), validate=True)
        except ValueError:  # binascii.Error, or a character that is not ASCII
            raise _BadRequest("hash must be base64") from None
        if len(leaf_hash) != 32:
            raise _BadRequest("hash must be a base64 SHA-256 leaf hash")
        tree_size = _int(query, "tree_size")
        if not 1 <= tree_size <= size:
            raise _BadRequest(f"tree_size must be between 1 and {size}, got {tree_size}")
        found = mount.log.inclusion_proof_by_hash(leaf_hash, tree_size, view=mount.view)
        if found is None:
            raise _BadRequest("no entry with that leaf hash in a tree of that size", 404)
        index, path = found
        return {"leaf_index": index, "audit_path": [_b64(p) for p in path]}

    def get_entries(self, mount: Mount, query: Mapping[str, str]) -> dict[str, object]:
        """Section 4.6: entries ``start`` to ``end`` inclusive, cut at the tree's size and at
        ``page_size`` ("Logs MAY restrict the number of entries that can be retrieved per
        get-entries request"); a client asks again from where the answer stopped."""
        size = self._sth(mount).tree_size
        start, end = _int(query, "start"), _int(query, "end")
        if not 0 <= start <= end or start >= size:
            raise _BadRequest(f"need 0 <= start <= end and start < {size}, got {start}, {end}")
        last = min(end, size - 1, start + self.page_size - 1)
        entries = mount.log.entries(start, last + 1, view=mount.view)
        return {
            "entries": [
                {"leaf_input": _b64(e.leaf), "extra_data": _b64(self._extra_data(e))}
                for e in entries
            ]
        }

    def _extra_data(self, entry: LogEntry) -> bytes:
        """Section 4.6: the chain above an x509_entry; a PrecertChainEntry for a precert."""
        chain = b"".join(_u24(_der(c)) for c in self._chain_above(entry.issuer))
        if entry.entry_type == LogEntryType.PRE_CERTIFICATE:
            return _u24(_der(entry.certificate)) + _u24(chain)
        return _u24(chain)

    def _chain_above(self, issuer: x509.Certificate | None) -> list[x509.Certificate]:
        if issuer is None:
            return []
        above = [r for r in self.roots if r.subject == issuer.issuer and r != issuer]
        return [issuer, *above[:1]]

    def get_roots(self) -> dict[str, object]:
        return {"certificates": [_b64(_der(r)) for r in self.roots]}

    def checked_submission(self, body: bytes, *, pre: bool) -> list[x509.Certificate]:
        """The chain an ``add-chain`` or ``add-pre-chain`` body submits, checked (sections
        3.1, 4.1, 4.2). It reads only the request and the roots, so a handler runs it
        before taking the log's lock: a costly chain delays no other client."""
        chain = self._submitted_chain(body)
        poison = _poison(chain[0])
        if (poison is not None) != pre:
            what = "add-pre-chain needs a precertificate" if pre else "add-chain got a precert"
            raise _BadRequest(what)
        if poison is not None and not poison.critical:
            raise _BadRequest("a precertificate's poison extension must be critical (3.1)")
        if pre and len(chain) < 2:
            raise _BadRequest("add-pre-chain needs the precertificate's issuer")
        return chain

    def add_chain(
        self, mount: Mount, chain: list[x509.Certificate], *, pre: bool
    ) -> dict[str, object]:
        """Log a chain :meth:`checked_submission` returned; its SCT as section 4.1 gives
        it. A chain this front has logged before, to the same log (whichever view's URL it
        came by), gets the SCT it got then ("If the log has previously seen this exact
        chain, it MAY return the same SCT as it returned before", section 4.1): a client
        that resubmits one chain in a loop adds nothing to the log or to memory."""
        key = (mount.log, pre, tuple(_der(c) for c in chain))
        known = self._scts.get(key)
        if known is not None:
            return known
        at = self.clock()
        if pre:
            sct = mount.log.add_pre_chain(chain[0], chain[1], at=at)
        else:
            sct = mount.log.add_chain(Chain(tuple(chain)), at=at)
        answer = self._scts[key] = sct.to_json()
        return answer

    def _submitted_chain(self, body: bytes) -> list[x509.Certificate]:
        try:
            raw = json.loads(body)["chain"]
            if not isinstance(raw, list):
                raise TypeError
            if len(raw) > _MAX_CHAIN:
                raise _BadRequest(f"at most {_MAX_CHAIN} certificates in a chain")
            chain = [
                x509.load_der_x509_certificate(base64.b64decode(c, validate=True)) for c in raw
            ]
        except (ValueError, KeyError, TypeError, RecursionError):  # RecursionError: deep JSON
            raise _BadRequest('expected {"chain": [base64 DER certificates]}') from None
        if not chain:
            raise _BadRequest("the chain is empty")
        for number, cert in enumerate(chain, 1):
            try:
                cert.extensions  # noqa: B018 - parsed here, not later under the log's lock
            except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType):
                raise _BadRequest(
                    f"certificate {number} of the chain has extensions that do not parse "
                    "(RFC 5280 section 4.2)"
                ) from None
        # Section 4.1: the log checks the signatures up to a root it accepts.
        for child, parent in zip(chain, [*chain[1:], None], strict=True):
            if parent is None:
                anchors = [r for r in self.roots if r.subject == child.issuer]
                if child in self.roots or any(_signed_by(child, r) for r in anchors):
                    break
                raise _BadRequest("the chain does not end at a root this log accepts")
            if not _signed_by(child, parent):
                raise _BadRequest("a certificate in the chain is not signed by the next one")
        return chain


def _signed_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(parent)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False  # a wrong signature, name or key type, or a key nobody can read
    return True


def _int(query: Mapping[str, str], name: str) -> int:
    """A query parameter as a whole number, written in ASCII digits (int() would also take
    '+1', ' 1', '1_0' and other scripts' digits)."""
    text = query.get(name, "")
    if not (text.isascii() and text.isdigit() and len(text) <= 20):
        raise _BadRequest(f"parameter {name} must be a whole number in ASCII digits")
    return int(text)


def _log_key(log: CTLog) -> PrivateKey:
    """The log's signing key: the front *is* the log, and a lying log signs its own lies."""
    return log._key


def _resigned(sth: SignedTreeHead, key: PrivateKey, root: bytes) -> SignedTreeHead:
    signature = sign(key, sth_signature_input(sth.timestamp_ms, sth.tree_size, root))
    return dataclasses.replace(sth, root_hash=root, signature=signature)


_GETS = {"get-sth", "get-sth-consistency", "get-proof-by-hash", "get-entries", "get-roots"}
_POSTS = {"add-chain", "add-pre-chain"}


class _FrontHandler(RequestHandler):
    front: LogFront

    def _route(self) -> tuple[Mount, str, dict[str, str]] | None:
        try:
            parts = urlsplit(self.path)
        except ValueError:  # e.g. an absolute URL with an unclosed [ in its host
            self.reply(400, _error("the request target is not a URL path"))
            return None
        segments = parts.path.split("/")
        # "", NAME, "ct", "v1", ENDPOINT
        if len(segments) != 5 or segments[0] or segments[2:4] != ["ct", "v1"]:
            self.reply(404, _error("expected /LOG/ct/v1/ENDPOINT"))
            return None
        mount = self.front.mounts.get(segments[1])
        if mount is None:
            self.reply(404, _error(f"no log named {segments[1]!r} here"))
            return None
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return mount, segments[4], query

    def do_GET(self) -> None:
        routed = self._route()
        if routed is None:
            return
        mount, endpoint, query = routed
        if endpoint in _POSTS:
            self.reply(405, _error(f"{endpoint} takes a POST"), headers={"Allow": "POST"})
            return
        front = self.front
        calls: dict[str, Callable[[], dict[str, object]]] = {
            "get-sth": lambda: front.get_sth(mount),
            "get-sth-consistency": lambda: front.get_sth_consistency(mount, query),
            "get-proof-by-hash": lambda: front.get_proof_by_hash(mount, query),
            "get-entries": lambda: front.get_entries(mount, query),
            "get-roots": front.get_roots,
        }
        self._answer(calls.get(endpoint))

    do_HEAD = do_GET  # the GET's status and headers, without the body (:meth:`reply`)

    def do_POST(self) -> None:
        routed = self._route()
        if routed is None:
            return
        mount, endpoint, _ = routed
        if endpoint in _GETS:
            self.reply(405, _error(f"{endpoint} takes a GET"), headers={"Allow": "GET"})
            return
        body = self.body()
        if body is None:
            return
        front = self.front
        if endpoint not in _POSTS:
            self._answer(None)
            return
        pre = endpoint == "add-pre-chain"
        try:
            chain = front.checked_submission(body, pre=pre)  # outside the log's lock
        except _BadRequest as exc:
            self._refuse(exc)
            return
        self._answer(lambda: front.add_chain(mount, chain, pre=pre))

    def _answer(self, call: Callable[[], dict[str, object]] | None) -> None:
        if call is None:
            self.reply(404, _error("unknown endpoint (RFC 6962 section 4)"))
            return
        try:
            with self.front.lock:
                result = call()
        except _BadRequest as exc:
            self._refuse(exc)
            return
        self.reply(200, result)

    def _refuse(self, exc: _BadRequest) -> None:
        self.reply(exc.status, _error(str(exc)))


def sth_from_json(
    data: Mapping[str, Any], log_id: bytes, view: str = PUBLIC_VIEW
) -> SignedTreeHead:
    """A ``get-sth`` answer (section 4.3) as a :class:`SignedTreeHead` of the log ``log_id``
    (to verify it, or to check a consistency proof between two of them).

    A log's answer is data: :class:`CTError` names a field that is missing or out of
    range (tree_size and timestamp JSON integers within uint64, a base64 32-byte root, a
    base64 ``DigitallySigned`` with SHA-256 and ECDSA or RSA, section 2.1.4).
    """
    if not isinstance(data, Mapping):
        raise CTError(f"a get-sth answer is a JSON object, not a {type(data).__name__}")
    root = _json_base64(data, "sha256_root_hash")
    if len(root) != 32:
        raise CTError(f"sha256_root_hash is {len(root)} bytes, not 32")
    hash_algorithm, signature_algorithm, signature = decode_digitally_signed(
        _json_base64(data, "tree_head_signature"), "tree_head_signature"
    )
    if hash_algorithm != 4 or signature_algorithm not in (1, 3):
        raise CTError(
            f"tree_head_signature uses hash {hash_algorithm} and signature "
            f"{signature_algorithm}, not SHA-256 (4) with RSA (1) or ECDSA (3)"
        )
    if not signature:
        raise CTError("tree_head_signature holds an empty signature")
    return SignedTreeHead(
        log_id,
        _json_uint64(data, "tree_size"),
        _json_uint64(data, "timestamp"),
        root,
        signature,
        view,
    )


def _json_uint64(data: Mapping[str, Any], name: str) -> int:
    value = data.get(name)
    if type(value) is not int or not 0 <= value < 2**64:
        shown = value if type(value) is int and value.bit_length() <= 128 else type(value).__name__
        raise CTError(f"{name} must be a JSON integer from 0 to 2**64 - 1, got {shown}")
    return value


def _json_base64(data: Mapping[str, Any], name: str) -> bytes:
    value = data.get(name)
    if not isinstance(value, str):
        raise CTError(f"{name} must be a base64 string, got {type(value).__name__}")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise CTError(f"{name} is not valid base64") from None
