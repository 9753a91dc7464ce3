"""A CT log (RFC 6962 sections 3-4): SCTs now, a merge within the MMD, signed tree heads.

A log promises with an SCT that an entry will be in its tree within its Maximum Merge
Delay. Two misbehaviours are modelled, because both were the reason CT needs auditors:
a log that issues an SCT but never merges the entry, and a log that shows one view of its
tree to a victim and another to everyone else (a split view, which only gossip between
the two audiences can expose).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.x509.certificate_transparency import LogEntryType

from simlab.clock import DAY, DEFAULT_EPOCH, SimTime
from simlab.ct.merkle import MerkleTree, leaf_hash, verify_consistency, verify_inclusion
from simlab.ct.sct import (
    SCT,
    encode_sct_list,
    log_id_of,
    merkle_tree_leaf,
    sign,
    signature_input,
    signed_entry,
    timestamp_ms,
    verify_signature,
)
from simlab.errors import CTError
from simlab.keys import PrivateKey, PublicKey, derive_key
from simlab.pki import Chain

__all__ = ["CTLog", "LogEntry", "SignedTreeHead", "dns_names", "precert_hook"]

PUBLIC_VIEW = "public"


@dataclass(frozen=True)
class LogEntry:
    """One submission: the certificate (or precertificate), its issuer and its SCT."""

    certificate: x509.Certificate
    issuer: x509.Certificate | None
    entry_type: LogEntryType
    sct: SCT
    leaf: bytes  # the MerkleTreeLeaf bytes (section 3.4)
    submitted_at: SimTime
    names: tuple[str, ...]

    @functools.cached_property
    def leaf_hash(self) -> bytes:
        """SHA-256(0x00 || leaf), computed once: merges, audits and proofs all key on it."""
        return leaf_hash(self.leaf)


@dataclass(frozen=True)
class SignedTreeHead:
    """An STH (section 3.5) with a real signature over its TreeHeadSignature."""

    log_id: bytes
    tree_size: int
    timestamp_ms: int
    root_hash: bytes
    signature: bytes
    view: str = PUBLIC_VIEW

    def signed_bytes(self) -> bytes:
        return sth_signature_input(self.timestamp_ms, self.tree_size, self.root_hash)

    def problem(self) -> str | None:
        """What puts a field outside the range of section 3.5 (uint64 tree size and
        timestamp, a 32-byte root, a signature of 1 to 2^16-1 bytes, a 32-byte log ID), or
        None. A tree head from a log is data; this says what a lying one got wrong."""
        for name, number in (("tree_size", self.tree_size), ("timestamp", self.timestamp_ms)):
            if type(number) is not int or not 0 <= number < 2**64:
                return f"{name} {_described(number)} is not a uint64"
        for name, blob in (("root hash", self.root_hash), ("log ID", self.log_id)):
            if type(blob) is not bytes or len(blob) != 32:
                return f"the {name} is {_described(blob)}, not 32 bytes"
        if type(self.signature) is not bytes or not 0 < len(self.signature) < 2**16:
            return f"the signature is {_described(self.signature)}, not 1 to 65535 bytes"
        if type(self.view) is not str:
            return f"the view is {_described(self.view)}, not a name"
        return None

    def verify(self, log_public_key: PublicKey) -> bool:
        """True if the log whose key this is signed this tree head; False, never an
        error, for a tree head with a field out of range (:meth:`problem`)."""
        return (
            self.problem() is None
            and log_id_of(log_public_key) == self.log_id
            and verify_signature(log_public_key, self.signature, self.signed_bytes())
        )

    def to_json(self) -> dict[str, object]:
        return {
            "tree_size": self.tree_size,
            "timestamp": self.timestamp_ms,
            "sha256_root_hash": base64.b64encode(self.root_hash).decode(),
            "tree_head_signature": base64.b64encode(
                struct.pack(">BBH", 4, 3, len(self.signature)) + self.signature
            ).decode(),
        }


def _described(value: object) -> str:
    """A field's value for a message: short whatever it is (an int of a million digits, a
    megabyte of bytes, an object of any type)."""
    if type(value) is int:
        return str(value) if value.bit_length() <= 128 else f"a {value.bit_length()}-bit integer"
    if type(value) is bytes:
        return f"{len(value)} bytes"
    return f"a {type(value).__name__}"


def sth_signature_input(ts_ms: int, tree_size: int, root: bytes) -> bytes:
    """version(0) signature_type(tree_hash=1) timestamp(8) tree_size(8) root(32)."""
    return struct.pack(">BBQQ", 0, 1, ts_ms, tree_size) + root


@dataclass
class _View:
    tree: MerkleTree = field(default_factory=MerkleTree)
    entries: list[LogEntry] = field(default_factory=list)
    index_of: dict[bytes, int] = field(default_factory=dict)
    latest: SignedTreeHead | None = None  # the STH the log last signed for this view


class CTLog:
    """An RFC 6962 log with an ECDSA P-256 key, an operator and a Maximum Merge Delay.

    ``merge_delay`` is how long this log actually takes to merge (at most ``mmd`` for an
    honest log). Misbehaviour is switched on per entry: :meth:`withhold` (never merge an
    entry the log issued an SCT for) and :meth:`show_only_to` (merge an entry only into a
    victim's view).
    """

    def __init__(
        self,
        name: str,
        operator: str,
        *,
        seed: int | str = 0,
        mmd: SimTime = DAY,
        merge_delay: SimTime | None = None,
        epoch: dt.datetime = DEFAULT_EPOCH,
    ) -> None:
        self.name = name
        self.operator = operator
        self.mmd = mmd
        self.merge_delay = mmd / 2 if merge_delay is None else merge_delay
        self.epoch = epoch
        self._key: PrivateKey = derive_key(seed, f"ctlog:{name}")
        self.public_key: PublicKey = self._key.public_key()
        self.log_id = log_id_of(self.public_key)
        self._views: dict[str, _View] = {PUBLIC_VIEW: _View()}
        self._pending: list[tuple[SimTime, LogEntry, str | None]] = []
        self._next_due = math.inf  # when the earliest pending entry is due
        # to_datetime truncates to whole seconds, so a time's timestamp is this plus whole
        # seconds' milliseconds, exactly (see :meth:`_timestamp`).
        self._epoch_ms = timestamp_ms(epoch)
        self._withheld: set[bytes] = set()
        self._private: dict[bytes, str] = {}
        self.submissions: list[LogEntry] = []

    def _timestamp(self, at: SimTime) -> int:
        """``timestamp_ms(to_datetime(at, epoch))`` without building a datetime."""
        return self._epoch_ms + int(at) * 1000

    # -- submissions (section 4.1, 4.2) -----------------------------------------------

    def add_chain(self, chain: Chain, *, at: SimTime) -> SCT:
        """``add-chain``: log a final certificate; return its SCT (an x509_entry)."""
        issuer = chain.certificates[1] if len(chain.certificates) > 1 else None
        return self._submit(chain.leaf, issuer, LogEntryType.X509_CERTIFICATE, at)

    def add_pre_chain(
        self, precert: x509.Certificate, issuer: x509.Certificate, *, at: SimTime
    ) -> SCT:
        """``add-pre-chain``: log a precertificate; return its SCT (a precert_entry)."""
        return self._submit(precert, issuer, LogEntryType.PRE_CERTIFICATE, at)

    def _submit(
        self,
        cert: x509.Certificate,
        issuer: x509.Certificate | None,
        kind: LogEntryType,
        at: SimTime,
    ) -> SCT:
        ts = self._timestamp(at)
        entry_bytes = signed_entry(kind, cert, issuer)
        signature = sign(self._key, signature_input(ts, kind, entry_bytes))
        sct = SCT(self.log_id, ts, kind, signature)
        names = dns_names(cert)
        entry = LogEntry(
            cert, issuer, kind, sct, merkle_tree_leaf(ts, kind, entry_bytes), at, names
        )
        self.submissions.append(entry)
        self._pending.append((at + self.merge_delay, entry, None))
        self._next_due = min(self._next_due, at + self.merge_delay)
        return sct

    # -- misbehaviour ------------------------------------------------------------------

    def withhold(self, sct: SCT) -> None:
        """Never merge the entry behind ``sct``: the SCT becomes a broken promise."""
        self._withheld.update(e.leaf_hash for e in self.submissions if e.sct == sct)

    def show_only_to(self, sct: SCT, view: str) -> None:
        """Merge the entry behind ``sct`` only into ``view`` (a split view for its victims)."""
        for e in self.submissions:
            if e.sct == sct:
                self._private[e.leaf_hash] = view
        if view not in self._views:
            public = self._views[PUBLIC_VIEW]
            forked = _View()
            for e in public.entries:
                self._append(forked, e)
            self._views[view] = forked

    # -- the tree ----------------------------------------------------------------------

    def merge(self, at: SimTime) -> int:
        """Merge every pending entry due by ``at``; return how many were merged."""
        if at < self._next_due:
            return 0  # nothing is due: a monitor polls thousands of times between merges
        due = [p for p in self._pending if p[0] <= at]
        self._pending = [p for p in self._pending if p[0] > at]
        self._next_due = min((p[0] for p in self._pending), default=math.inf)
        for _, entry, _ in sorted(due, key=lambda p: p[0]):
            h = entry.leaf_hash
            if h in self._withheld:
                continue
            private = self._private.get(h)
            for name, view in self._views.items():
                if private is None or private == name:
                    self._append(view, entry)
        return len(due)

    @staticmethod
    def _append(view: _View, entry: LogEntry) -> None:
        view.index_of.setdefault(entry.leaf_hash, len(view.entries))
        view.entries.append(entry)
        view.tree.append_hash(entry.leaf_hash)

    def sth(self, at: SimTime, *, view: str = PUBLIC_VIEW) -> SignedTreeHead:
        """``get-sth``: the latest signed tree head of ``view``, after merging everything
        due by ``at``.

        RFC 6962 section 3.5 asks for an STH "no older than the Maximum Merge Delay", and
        real logs sign one periodically and serve it until the next. So this log signs a
        new STH only when its tree has grown or its latest is an MMD old; otherwise every
        poll would cost a signature and change nothing a monitor can see.
        """
        self.merge(at)
        v = self._view(view)
        ts = self._timestamp(at)
        latest = v.latest
        if (
            latest is not None
            and latest.tree_size == v.tree.size
            and 0 <= ts - latest.timestamp_ms < self.mmd * 1000
        ):
            return latest
        root = v.tree.root()
        signature = sign(self._key, sth_signature_input(ts, v.tree.size, root))
        v.latest = SignedTreeHead(self.log_id, v.tree.size, ts, root, signature, view)
        return v.latest

    def entries(self, start: int, end: int, *, view: str = PUBLIC_VIEW) -> list[LogEntry]:
        """``get-entries``: merged entries ``start`` to ``end - 1``."""
        return self._view(view).entries[start:end]

    def inclusion_proof_by_hash(
        self, leaf_hash_: bytes, tree_size: int, *, view: str = PUBLIC_VIEW
    ) -> tuple[int, list[bytes]] | None:
        """``get-proof-by-hash``: (index, audit path), or None if the leaf is not merged."""
        v = self._view(view)
        index = v.index_of.get(leaf_hash_)
        if index is None or index >= tree_size:
            return None
        return index, v.tree.inclusion_proof(index, tree_size)

    def consistency_proof(self, size1: int, size2: int, *, view: str = PUBLIC_VIEW) -> list[bytes]:
        """``get-sth-consistency`` between two sizes of ``view``."""
        return self._view(view).tree.consistency_proof(size1, size2)

    def _view(self, view: str) -> _View:
        try:
            return self._views[view]
        except KeyError:
            raise CTError(f"log {self.name!r} has no view {view!r}") from None

    def __repr__(self) -> str:
        return f"CTLog({self.name!r}, operator={self.operator!r})"


def dns_names(cert: x509.Certificate) -> tuple[str, ...]:
    """The DNS names of ``cert``'s subjectAltName, which a monitor watches."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(san.get_values_for_type(x509.DNSName))


def precert_hook(
    logs: Sequence[CTLog], at: SimTime
) -> Callable[[x509.Certificate, x509.Certificate], bytes]:
    """The CA side of RFC 6962 section 3.1: submit a precertificate to each log, return the
    TLS-encoded SCT list to embed. Pass it to ``CertificateAuthority.issue(precert_hook=...)``.
    """

    def hook(precert: x509.Certificate, issuer: x509.Certificate) -> bytes:
        return encode_sct_list([log.add_pre_chain(precert, issuer, at=at) for log in logs])

    return hook


def proves_inclusion(entry: LogEntry, index: int, proof: list[bytes], sth: SignedTreeHead) -> bool:
    """Check an inclusion proof of ``entry`` against a signed tree head."""
    return verify_inclusion(entry.leaf, index, sth.tree_size, proof, sth.root_hash)


def proves_consistency(old: SignedTreeHead, new: SignedTreeHead, proof: list[bytes]) -> bool:
    return verify_consistency(old.tree_size, new.tree_size, old.root_hash, new.root_hash, proof)
