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
from simlab.ct.merkle import leaf_hash, verify_inclusion
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
    """Polls each log's public view for new entries naming the owner's domains."""

    domains: frozenset[str]
    expected_pins: set[str]
    logs: Sequence[CTLog]
    poll_interval: SimTime = 3600.0
    alerts: list[Alert] = field(default_factory=list)
    _seen: dict[str, int] = field(default_factory=dict)

    def poll(self, at: SimTime) -> list[Alert]:
        """Fetch everything new in each log's latest STH; alert on unexpected keys."""
        new: list[Alert] = []
        for log in self.logs:
            sth = log.sth(at)
            start = self._seen.get(log.name, 0)
            for entry in log.entries(start, sth.tree_size):
                if self._unexpected(entry):
                    new.append(
                        Alert(at, log.name, entry.certificate, entry.names, entry.submitted_at)
                    )
            self._seen[log.name] = sth.tree_size
        self.alerts.extend(new)
        return new

    def _unexpected(self, entry: LogEntry) -> bool:
        return _watched(entry.names, self.domains) and spki_pin(entry.certificate) not in (
            self.expected_pins
        )


@dataclass(frozen=True)
class Finding:
    """An auditor's evidence that a log misbehaved."""

    at: SimTime
    log: str
    kind: str  # "unmerged" or "split view"
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
