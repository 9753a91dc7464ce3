"""Monitors watch logs for a domain owner; auditors check that logs kept their promises.

CT detects, it does not prevent: a misissued certificate works until someone looks. The
detection delay is the sum of separate parameters: the log's merge delay (up to the MMD),
the monitor's poll interval, and the owner's response delay before revocation.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.x509.certificate_transparency import LogEntryType

from simlab.clock import SimTime
from simlab.ct.log import CTLog, LogEntry, SignedTreeHead, dns_names, proves_consistency
from simlab.ct.merkle import MerkleTree, leaf_hash, verify_inclusion
from simlab.ct.sct import SCT, checked_timestamp_ms, decode_merkle_tree_leaf, signed_entry
from simlab.errors import CTError
from simlab.pins import covers
from simlab.pki import spki_pin

__all__ = ["Alert", "Auditor", "Finding", "Monitor", "sth_problem"]

_UNSEEN = object()  # no STH read yet from a log: never what get-sth returns, not even None


@dataclass(frozen=True)
class Alert:
    """A certificate for a watched domain whose key the owner did not expect."""

    at: SimTime
    log: str
    certificate: x509.Certificate
    names: tuple[str, ...]
    submitted_at: SimTime

    @property
    def detection_delay(self) -> SimTime:
        """Seconds from the log submission (issuance) to this alert."""
        return self.at - self.submitted_at


def _watched(names: Iterable[str], domains: Iterable[str]) -> bool:
    return any(covers(d, True, n.removeprefix("*.")) for n in names for d in domains)


@dataclass
class Monitor:
    """Polls each log's public view for new entries naming the owner's domains.

    Like a real monitor it trusts no log: it checks each new STH's fields and signature,
    checks that each entry's leaf is a MerkleTreeLeaf holding the certificate served with
    it (and reads the names from that certificate), keeps its own Merkle tree of every
    entry it fetched, and accepts the entries only if that tree's root equals the STH's. A
    log whose STH is malformed or forged, whose entries are junk, or whose entries no
    longer add up to what it signed (a rewritten history) becomes a :class:`Finding` and is
    no longer read: nothing a log serves makes :meth:`poll` raise.
    """

    domains: frozenset[str]
    expected_pins: set[str]
    logs: Sequence[CTLog]
    poll_interval: SimTime = 3600.0
    alerts: list[Alert] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    _trees: dict[str, MerkleTree] = field(default_factory=dict)
    _heads: dict[str, SignedTreeHead] = field(default_factory=dict)

    def poll(self, at: SimTime) -> list[Alert]:
        """Fetch everything new in each log's latest STH; alert on unexpected keys."""
        new: list[Alert] = []
        heads = self._heads
        distrusted = {f.log for f in self.findings} if self.findings else ()
        for log in self.logs:
            sth = log.sth(at)
            if heads.get(log.name, _UNSEEN) is sth or log.name in distrusted:
                continue  # the same STH as last time, or caught misbehaving
            entries = self._verified_entries(log, sth, at)
            if entries is None:
                continue
            for e in entries:
                names = dns_names(e.certificate)
                if self._unexpected(e.certificate, names):
                    new.append(Alert(at, log.name, e.certificate, names, e.submitted_at))
            self._heads[log.name] = sth
        self.alerts.extend(new)
        return new

    def _verified_entries(
        self, log: CTLog, sth: SignedTreeHead, at: SimTime
    ) -> list[LogEntry] | None:
        """The entries new since the last STH, or None (and a finding) if they do not verify."""
        problem = sth_problem(log, sth)
        if problem is not None:
            self.findings.append(Finding(at, log.name, "bad STH", problem))
            return None
        tree = self._trees.get(log.name)
        if tree is None:
            tree = self._trees[log.name] = MerkleTree()
        seen = tree.size
        if sth.tree_size < seen:
            detail = f"the STH shrank from {seen} to {sth.tree_size} entries"
            self.findings.append(Finding(at, log.name, "inconsistent tree", detail))
            return None
        entries = log.entries(seen, sth.tree_size)
        problem = _entries_problem(entries, seen, sth.tree_size)
        if problem is not None:
            self.findings.append(Finding(at, log.name, "bad entry", problem))
            return None
        for entry in entries:
            tree.append(entry.leaf)  # hashed here, from the leaf itself
        if tree.size != sth.tree_size or tree.root() != sth.root_hash:
            detail = f"entries 0..{sth.tree_size - 1} do not hash to the signed root"
            self.findings.append(Finding(at, log.name, "inconsistent tree", detail))
            return None
        return list(entries)

    def _unexpected(self, certificate: x509.Certificate, names: Iterable[str]) -> bool:
        if not _watched(names, self.domains):
            return False
        # The pin hashes the certificate's own SPKI bytes: a key of any algorithm has one.
        return spki_pin(certificate) not in self.expected_pins


def sth_problem(log: CTLog, sth: object) -> str | None:
    """Why ``sth`` is not a tree head ``log`` signed (a field out of range, or a bad
    signature), or None."""
    if not isinstance(sth, SignedTreeHead):
        return f"get-sth gave a {type(sth).__name__}, not a signed tree head"
    problem = sth.problem()
    if problem is not None:
        return problem
    if not sth.verify(log.public_key):
        return "the STH signature is invalid"
    return None


def _entries_problem(entries: object, start: int, end: int) -> str | None:
    """Why ``entries`` are not the log entries ``start`` to ``end - 1``, or None."""
    if not isinstance(entries, list | tuple):
        return f"get-entries gave a {type(entries).__name__}, not a list of entries"
    if len(entries) != end - start:
        return f"get-entries gave {len(entries)} entries for {start}..{end - 1}"
    for index, entry in enumerate(entries, start):
        problem = _entry_problem(entry)
        if problem is not None:
            return f"entry {index}: {problem}"
    return None


def _entry_problem(entry: object) -> str | None:
    """Why ``entry`` is not a log entry whose leaf holds its certificate, or None."""
    if not isinstance(entry, LogEntry):
        return f"a {type(entry).__name__}, not a log entry"
    if not isinstance(entry.certificate, x509.Certificate):
        return f"the certificate is a {type(entry.certificate).__name__}"
    if not (entry.issuer is None or isinstance(entry.issuer, x509.Certificate)):
        return f"the issuer is a {type(entry.issuer).__name__}"
    if not isinstance(entry.entry_type, LogEntryType):
        return f"the entry type is a {type(entry.entry_type).__name__}"
    submitted = entry.submitted_at
    # abs(), not math.isfinite: that raises OverflowError on an int beyond float range.
    if not (type(submitted) in (int, float) and abs(submitted) <= sys.float_info.max):
        return "the submission time is not a finite number"
    try:
        contents = decode_merkle_tree_leaf(entry.leaf)
    except CTError as exc:
        return str(exc)
    try:
        served = signed_entry(entry.entry_type, entry.certificate, entry.issuer)
        dns_names(entry.certificate)
    except ValueError as exc:  # a precertificate without its issuer, extensions that fail
        return f"the certificate served with it makes no {entry.entry_type.name} entry: {exc}"
    if contents.entry_type != entry.entry_type or contents.entry != served:
        return "the leaf does not hold the certificate served with it"
    return None


@dataclass(frozen=True)
class Finding:
    """An auditor's evidence that a log misbehaved."""

    at: SimTime
    log: str
    kind: str  # "unmerged", "split view", "bad STH", "bad entry" or "inconsistent tree"
    detail: str


@dataclass
class Auditor:
    """Checks, once the MMD has passed, that every SCT it saw was merged; compares STHs.

    Tree heads and proofs come from the logs, so a malformed or forged one is a
    :class:`Finding`, never an exception.
    """

    logs: Sequence[CTLog]
    findings: list[Finding] = field(default_factory=list)
    _pending: list[tuple[SimTime, SCT, bytes]] = field(default_factory=list)

    def remember(self, sct: SCT, leaf: bytes, seen_at: SimTime) -> None:
        """Note an SCT seen in the wild with its MerkleTreeLeaf, to audit after the MMD.

        :class:`CTError` if the SCT has a field out of range or the leaf is not bytes.
        """
        checked_timestamp_ms(sct)
        if not isinstance(leaf, bytes):
            raise CTError(f"a Merkle tree leaf is bytes, not {type(leaf).__name__}")
        self._pending.append((seen_at, sct, leaf))

    def audit(self, at: SimTime) -> list[Finding]:
        new: list[Finding] = []
        keep: list[tuple[SimTime, SCT, bytes]] = []
        by_id = {log.log_id: log for log in self.logs}
        heads: dict[str, SignedTreeHead | None] = {}
        for seen_at, sct, leaf in self._pending:
            log = by_id.get(sct.log_id)
            if log is None:
                continue
            if at < seen_at + log.mmd:
                keep.append((seen_at, sct, leaf))
                continue
            if log.name not in heads:
                heads[log.name] = self._head(log, at, new)
            sth = heads[log.name]
            if sth is None:
                keep.append((seen_at, sct, leaf))  # audited against the next good STH
                continue
            found = log.inclusion_proof_by_hash(leaf_hash(leaf), sth.tree_size)
            index, path = found if isinstance(found, tuple) and len(found) == 2 else (-1, [])
            if not verify_inclusion(leaf, index, sth.tree_size, path, sth.root_hash):
                new.append(
                    Finding(
                        at,
                        log.name,
                        "unmerged",
                        f"SCT from {sct.timestamp:%Y-%m-%d %H:%M} not merged after the MMD",
                    )
                )
        self._pending = keep
        self.findings.extend(new)
        return new

    def _head(self, log: CTLog, at: SimTime, new: list[Finding]) -> SignedTreeHead | None:
        """``log``'s latest STH, or None and a finding if it is malformed or forged."""
        sth = log.sth(at)
        problem = sth_problem(log, sth)
        if problem is not None:
            new.append(Finding(at, log.name, "bad STH", problem))
            return None
        return sth

    def compare(
        self, log: CTLog, a: SignedTreeHead, b: SignedTreeHead, at: SimTime
    ) -> Finding | None:
        """Gossip: check two STHs of one log (seen by different parties) for consistency."""
        for sth in (a, b):
            problem = sth_problem(log, sth)
            if problem is not None:
                return self._found(Finding(at, log.name, "bad STH", problem))
        old, new = (a, b) if a.tree_size <= b.tree_size else (b, a)
        try:
            proof = log.consistency_proof(old.tree_size, new.tree_size, view=new.view)
        except CTError as exc:  # the log signed a tree it cannot prove
            proof, refused = [], f" (the log gives no proof: {exc})"
        else:
            refused = ""
        if proves_consistency(old, new, proof):
            return None
        return self._found(
            Finding(
                at,
                log.name,
                "split view",
                f"STH of size {old.tree_size} is not a prefix of STH of size {new.tree_size}"
                + refused,
            )
        )

    def _found(self, finding: Finding) -> Finding:
        self.findings.append(finding)
        return finding
