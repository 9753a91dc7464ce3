"""Monitors watch logs for a domain owner; auditors check that logs kept their promises.

CT detects, it does not prevent: a misissued certificate works until someone looks. The
detection delay is the sum of separate parameters: the log's merge delay (up to the MMD),
the monitor's poll interval, and the owner's response delay before revocation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography import x509

from simlab.clock import SimTime
from simlab.ct.log import CTLog, LogEntry, SignedTreeHead, proves_consistency
from simlab.ct.merkle import MerkleTree, leaf_hash, verify_inclusion
from simlab.ct.sct import SCT
from simlab.pins import covers
from simlab.pki import spki_pin

__all__ = ["Alert", "Auditor", "Finding", "Monitor"]


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

    Like a real monitor it trusts no log: it checks each new STH's signature, keeps its own
    Merkle tree of every entry it fetched, and accepts the entries only if that tree's root
    equals the STH's. A log whose STH is forged, or whose entries no longer add up to what
    it signed (a rewritten history), becomes a :class:`Finding` and is no longer read.
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
        distrusted = {f.log for f in self.findings}
        for log in self.logs:
            sth = log.sth(at)
            if log.name in distrusted or sth is self._heads.get(log.name):
                continue  # caught misbehaving, or the same STH as last time
            entries = self._verified_entries(log, sth, at)
            if entries is None:
                continue
            new += [
                Alert(at, log.name, e.certificate, e.names, e.submitted_at)
                for e in entries
                if self._unexpected(e)
            ]
            self._heads[log.name] = sth
        self.alerts.extend(new)
        return new

    def _verified_entries(
        self, log: CTLog, sth: SignedTreeHead, at: SimTime
    ) -> list[LogEntry] | None:
        """The entries new since the last STH, or None (and a finding) if they do not verify."""
        if not sth.verify(log.public_key):
            self.findings.append(Finding(at, log.name, "bad STH", "the STH signature is invalid"))
            return None
        tree = self._trees.setdefault(log.name, MerkleTree())
        seen = tree.size
        if sth.tree_size < seen:
            detail = f"the STH shrank from {seen} to {sth.tree_size} entries"
            self.findings.append(Finding(at, log.name, "inconsistent tree", detail))
            return None
        entries = log.entries(seen, sth.tree_size)
        for entry in entries:
            tree.append(entry.leaf)  # hashed here, from the leaf itself
        if tree.size != sth.tree_size or tree.root() != sth.root_hash:
            detail = f"entries 0..{sth.tree_size - 1} do not hash to the signed root"
            self.findings.append(Finding(at, log.name, "inconsistent tree", detail))
            return None
        return entries

    def _unexpected(self, entry: LogEntry) -> bool:
        return _watched(entry.names, self.domains) and spki_pin(entry.certificate) not in (
            self.expected_pins
        )


@dataclass(frozen=True)
class Finding:
    """An auditor's evidence that a log misbehaved."""

    at: SimTime
    log: str
    kind: str  # "unmerged", "split view", "bad STH" or "inconsistent tree"
    detail: str


@dataclass
class Auditor:
    """Checks, once the MMD has passed, that every SCT it saw was merged; compares STHs."""

    logs: Sequence[CTLog]
    findings: list[Finding] = field(default_factory=list)
    _pending: list[tuple[SimTime, SCT, bytes]] = field(default_factory=list)

    def remember(self, sct: SCT, leaf: bytes, seen_at: SimTime) -> None:
        """Note an SCT seen in the wild with its MerkleTreeLeaf, to audit after the MMD."""
        self._pending.append((seen_at, sct, leaf))

    def audit(self, at: SimTime) -> list[Finding]:
        new: list[Finding] = []
        keep: list[tuple[SimTime, SCT, bytes]] = []
        by_id = {log.log_id: log for log in self.logs}
        for seen_at, sct, leaf in self._pending:
            log = by_id.get(sct.log_id)
            if log is None:
                continue
            if at < seen_at + log.mmd:
                keep.append((seen_at, sct, leaf))
                continue
            sth = log.sth(at)
            found = log.inclusion_proof_by_hash(leaf_hash(leaf), sth.tree_size)
            if found is None or not verify_inclusion(
                leaf, found[0], sth.tree_size, found[1], sth.root_hash
            ):
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

    def compare(
        self, log: CTLog, a: SignedTreeHead, b: SignedTreeHead, at: SimTime
    ) -> Finding | None:
        """Gossip: check two STHs of one log (seen by different parties) for consistency."""
        old, new = (a, b) if a.tree_size <= b.tree_size else (b, a)
        proof = log.consistency_proof(old.tree_size, new.tree_size, view=new.view)
        if proves_consistency(old, new, proof):
            return None
        finding = Finding(
            at,
            log.name,
            "split view",
            f"STH of size {old.tree_size} is not a prefix of STH of size {new.tree_size}",
        )
        self.findings.append(finding)
        return finding
