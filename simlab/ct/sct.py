"""RFC 6962 v1 Signed Certificate Timestamps: the TLS structures, signing and verification.

``cryptography`` parses SCTs but cannot create them, so this module encodes the exact
section 3.2 structures. Everything it produces parses back with ``cryptography`` (an SCT
list embedded in a certificate), and :func:`verify_sct` checks real-world SCTs too.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.certificate_transparency import LogEntryType

from simlab.keys import PrivateKey, PublicKey
from simlab.pki import CT_POISON_OID, SCT_LIST_OID

__all__ = [
    "SCT",
    "SCTLike",
    "decode_sct_list",
    "encode_sct_list",
    "log_id_of",
    "precert_tbs",
    "signed_entry",
    "verify_sct",
]

_UNIX = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_HASH_SHA256, _SIG_RSA, _SIG_ECDSA = 4, 1, 3
_POISON_OID_DER = bytes.fromhex("060a2b06010401d679020403")


class SCTLike(Protocol):
    """What :func:`verify_sct` reads: ``cryptography``'s parsed SCT, or simlab's :class:`SCT`."""

    @property
    def log_id(self) -> bytes: ...
    @property
    def timestamp(self) -> dt.datetime: ...
    @property
    def entry_type(self) -> LogEntryType: ...
    @property
    def signature(self) -> bytes: ...
    @property
    def extension_bytes(self) -> bytes: ...


def log_id_of(public_key: PublicKey) -> bytes:
    """RFC 6962 section 3.2: the log ID is SHA-256 of the log's DER SubjectPublicKeyInfo."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).digest()


def timestamp_ms(when: dt.datetime) -> int:
    """Milliseconds since the Unix epoch; naive datetimes (as ``cryptography`` gives) are UTC."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return (when - _UNIX) // dt.timedelta(milliseconds=1)


def _u24(data: bytes) -> bytes:
    return len(data).to_bytes(3, "big") + data


def _der_tlv(buf: bytes, i: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER element at ``buf[i]``."""
    tag, first = buf[i], buf[i + 1]
    if first < 0x80:
        return tag, i + 2, i + 2 + first
    n = first & 0x7F
    length = int.from_bytes(buf[i + 2 : i + 2 + n], "big")
    return tag, i + 2 + n, i + 2 + n + length


def _der(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(body)]) + body + content


def precert_tbs(certificate: x509.Certificate) -> bytes:
    """The TBSCertificate a precert_entry signs (RFC 6962 section 3.2).

    For a final certificate it is the TBS without the embedded SCT list; for a
    precertificate, the TBS without the poison extension. The two are equal byte for byte
    when the CA keeps the extension order, which is how the SCT of a precertificate
    verifies against the final certificate.
    """
    try:
        certificate.extensions.get_extension_for_oid(CT_POISON_OID)
    except x509.ExtensionNotFound:
        return certificate.tbs_precertificate_bytes
    return _strip_poison(certificate.tbs_certificate_bytes)


def _strip_poison(tbs: bytes) -> bytes:
    _, start, end = _der_tlv(tbs, 0)
    fields: list[bytes] = []
    i = start
    while i < end:
        tag, c_start, c_end = _der_tlv(tbs, i)
        if tag == 0xA3:  # [3] EXPLICIT Extensions
            _, s_start, s_end = _der_tlv(tbs, c_start)
            kept: list[bytes] = []
            j = s_start
            while j < s_end:
                _, e_start, e_end = _der_tlv(tbs, j)
                _, _, oid_end = _der_tlv(tbs, e_start)
                if tbs[e_start:oid_end] != _POISON_OID_DER:
                    kept.append(tbs[j:e_end])
                j = e_end
            fields.append(_der(0xA3, _der(0x30, b"".join(kept))))
        else:
            fields.append(tbs[i:c_end])
        i = c_end
    return _der(0x30, b"".join(fields))


def issuer_key_hash(issuer: x509.Certificate) -> bytes:
    spki = issuer.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).digest()


def signed_entry(
    entry_type: LogEntryType, certificate: x509.Certificate, issuer: x509.Certificate | None
) -> bytes:
    """The ``signed_entry`` of section 3.2: an x509_entry or a precert_entry."""
    if entry_type == LogEntryType.PRE_CERTIFICATE:
        if issuer is None:
            raise ValueError("a precert_entry needs the issuer certificate")
        return issuer_key_hash(issuer) + _u24(precert_tbs(certificate))
    return _u24(certificate.public_bytes(serialization.Encoding.DER))


def _entry_type_code(entry_type: LogEntryType) -> int:
    return 1 if entry_type == LogEntryType.PRE_CERTIFICATE else 0


def signature_input(
    ts_ms: int, entry_type: LogEntryType, entry: bytes, extensions: bytes = b""
) -> bytes:
    """version(0) signature_type(certificate_timestamp=0) timestamp entry_type entry ext."""
    return (
        struct.pack(">BBQH", 0, 0, ts_ms, _entry_type_code(entry_type))
        + entry
        + struct.pack(">H", len(extensions))
        + extensions
    )


def merkle_tree_leaf(ts_ms: int, entry_type: LogEntryType, entry: bytes, ext: bytes = b"") -> bytes:
    """The MerkleTreeLeaf of section 3.4: version(0) timestamped_entry(0) TimestampedEntry."""
    return (
        struct.pack(">BBQH", 0, 0, ts_ms, _entry_type_code(entry_type))
        + entry
        + struct.pack(">H", len(ext))
        + ext
    )


def sign(key: PrivateKey, data: bytes) -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def verify_signature(public_key: PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class SCT:
    """A v1 SCT as a log issues it (attribute names match ``cryptography``'s parsed SCT)."""

    log_id: bytes
    timestamp_ms: int
    entry_type: LogEntryType
    signature: bytes
    signature_algorithm: int = _SIG_ECDSA
    extension_bytes: bytes = b""

    @property
    def timestamp(self) -> dt.datetime:
        return _UNIX + dt.timedelta(milliseconds=self.timestamp_ms)

    def to_tls(self) -> bytes:
        """The TLS encoding of section 3.2 (what goes in an SCT list)."""
        return (
            struct.pack(">B32sQH", 0, self.log_id, self.timestamp_ms, len(self.extension_bytes))
            + self.extension_bytes
            + struct.pack(">BBH", _HASH_SHA256, self.signature_algorithm, len(self.signature))
            + self.signature
        )

    def to_json(self) -> dict[str, object]:
        """The add-chain response shape of section 4.1 (base64 fields)."""
        return {
            "sct_version": 0,
            "id": base64.b64encode(self.log_id).decode(),
            "timestamp": self.timestamp_ms,
            "extensions": base64.b64encode(self.extension_bytes).decode(),
            "signature": base64.b64encode(
                struct.pack(">BBH", _HASH_SHA256, self.signature_algorithm, len(self.signature))
                + self.signature
            ).decode(),
        }


def encode_sct_list(scts: Sequence[SCT]) -> bytes:
    """A SignedCertificateTimestampList (RFC 6962 section 3.3): uint16-prefixed SCTs."""
    body = b"".join(struct.pack(">H", len(s)) + s for s in (sct.to_tls() for sct in scts))
    return struct.pack(">H", len(body)) + body


def decode_sct_list(data: bytes, entry_type: LogEntryType) -> list[SCT]:
    """Parse a TLS-encoded SCT list (as delivered in the TLS extension)."""
    (total,) = struct.unpack_from(">H", data, 0)
    if total != len(data) - 2:
        raise ValueError("SCT list length does not match its content")
    out, i = [], 2
    while i < len(data):
        (n,) = struct.unpack_from(">H", data, i)
        raw, i = data[i + 2 : i + 2 + n], i + 2 + n
        version, log_id, ts, ext_len = struct.unpack_from(">B32sQH", raw, 0)
        if version != 0:
            raise ValueError(f"unsupported SCT version {version}")
        ext = raw[43 : 43 + ext_len]
        _, sig_alg, sig_len = struct.unpack_from(">BBH", raw, 43 + ext_len)
        sig = raw[47 + ext_len : 47 + ext_len + sig_len]
        out.append(SCT(log_id, ts, entry_type, sig, sig_alg, ext))
    return out


def embedded_scts(
    certificate: x509.Certificate,
) -> list[x509.certificate_transparency.SignedCertificateTimestamp]:
    """The SCTs embedded in a certificate (OID 1.3.6.1.4.1.11129.2.4.2), parsed by cryptography."""
    try:
        ext = certificate.extensions.get_extension_for_oid(SCT_LIST_OID)
    except x509.ExtensionNotFound:
        return []
    value = ext.value
    if isinstance(value, x509.PrecertificateSignedCertificateTimestamps):
        return list(value)
    return []


def verify_sct(
    sct: SCTLike,
    certificate: x509.Certificate,
    issuer: x509.Certificate | None,
    log_public_key: PublicKey,
) -> bool:
    """True if ``sct`` is ``log_public_key``'s valid signature over ``certificate``.

    Embedded SCTs are precert entries: the signature covers the issuer's key hash and the
    TBSCertificate without the SCT list (RFC 6962 sections 3.2 and 3.3). SCTs delivered
    in TLS or OCSP cover the whole certificate (x509_entry).
    """
    if sct.log_id != log_id_of(log_public_key):
        return False
    try:
        entry = signed_entry(sct.entry_type, certificate, issuer)
    except ValueError:
        return False
    data = signature_input(timestamp_ms(sct.timestamp), sct.entry_type, entry, sct.extension_bytes)
    return verify_signature(log_public_key, sct.signature, data)
