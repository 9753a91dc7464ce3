"""Certificate Transparency (RFC 6962): Merkle trees, logs, SCTs, monitors and client policy."""

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
    "LogEntry",
    "MerkleTree",
    "Monitor",
    "SignedTreeHead",
    "ct_policy",
    "decode_sct_list",
    "embedded_scts",
    "encode_sct_list",
    "precert_hook",
    "verify_consistency",
    "verify_inclusion",
    "verify_sct",
]
