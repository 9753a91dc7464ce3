"""Certificate Transparency (RFC 6962): Merkle trees, logs, SCTs, monitors and client policy."""

from simlab.ct.http import Lie, LogFront, Mount, sth_from_json
from simlab.ct.log import CTLog, LogEntry, SignedTreeHead, precert_hook
from simlab.ct.merkle import MerkleTree, verify_consistency, verify_inclusion
from simlab.ct.monitor import Alert, Auditor, Finding, Monitor
from simlab.ct.policy import POLICIES, CTPolicy, CTVerdict, KnownLog, ct_policy
from simlab.ct.sct import SCT, decode_sct_list, embedded_scts, encode_sct_list, verify_sct

__all__ = [
    "POLICIES",
    "SCT",
    "Alert",
    "Auditor",
    "CTLog",
    "CTPolicy",
    "CTVerdict",
    "Finding",
    "KnownLog",
    "Lie",
    "LogEntry",
    "LogFront",
    "MerkleTree",
    "Monitor",
    "Mount",
    "SignedTreeHead",
    "ct_policy",
    "decode_sct_list",
    "embedded_scts",
    "encode_sct_list",
    "precert_hook",
    "sth_from_json",
    "verify_consistency",
    "verify_inclusion",
    "verify_sct",
]
