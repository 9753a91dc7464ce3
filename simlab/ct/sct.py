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

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.certificate_transparency import (
    LogEntryType,
    SignedCertificateTimestamp,
)

from simlab.errors import CTError, shown
from simlab.keys import PrivateKey, PublicKey
from simlab.pki import CT_POISON_OID, SCT_LIST_OID

__all__ = [
    "SCT",
    "LeafContents",
    "SCTLike",
    "checked_timestamp_ms",
    "decode_digitally_signed",
    "decode_merkle_tree_leaf",
    "decode_sct_list",
    "encode_sct_list",
    "log_id_of",
    "precert_tbs",
    "signed_entry",
    "verify_sct",
]

_UNIX = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# TLS 1.2 SignatureAndHashAlgorithm codes (RFC 5246 section 7.4.1.4.1); RFC 6962 section
# 2.1.4 allows SHA-256 with ECDSA (P-256) or RSA.
_HASH_SHA256, _SIG_RSA, _SIG_ECDSA = 4, 1, 3
_POISON_OID_DER = bytes.fromhex("060a2b06010401d679020403")
_MAX_UINT16, _MAX_UINT64 = 2**16 - 1, 2**64 - 1
# The last millisecond a datetime holds (9999-12-31); no X.509 validity reaches past it.
_MAX_TIMESTAMP_MS = (dt.datetime.max.replace(tzinfo=dt.UTC) - _UNIX) // dt.timedelta(milliseconds=1)
_MIN_DATETIME_MS = (dt.datetime.min.replace(tzinfo=dt.UTC) - _UNIX) // dt.timedelta(milliseconds=1)
_ENTRY_TYPES = {0: LogEntryType.X509_CERTIFICATE, 1: LogEntryType.PRE_CERTIFICATE}


_LOG_IDS: dict[int, tuple[PublicKey, bytes]] = {}
_LOG_IDS_MAX = 256  # keys remembered (each held, so that its id names no other object)


def log_id_of(public_key: PublicKey) -> bytes:
    """RFC 6962 section 3.2: the log ID is SHA-256 of the log's DER SubjectPublicKeyInfo.

    Remembered per key object: a monitor checks it for every new tree head, and keys are
    immutable (but unhashable, hence the id, with the key held)."""
    found = _LOG_IDS.get(id(public_key))
    if found is not None and found[0] is public_key:
        return found[1]
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashlib.sha256(der).digest()
    if len(_LOG_IDS) >= _LOG_IDS_MAX:
        _LOG_IDS.clear()
    _LOG_IDS[id(public_key)] = (public_key, digest)
    return digest


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


# The algorithm parameters, built once: they hold no state, and a log signs and a monitor
# verifies a tree head at every poll that finds one new.
_ECDSA_SIGN = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
_ECDSA_VERIFY = ec.ECDSA(hashes.SHA256())
_SHA256 = hashes.SHA256()
_PKCS1V15 = padding.PKCS1v15()


def sign(key: PrivateKey, data: bytes) -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, _ECDSA_SIGN)
    return key.sign(data, _PKCS1V15, _SHA256)


def verify_signature(public_key: PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, _ECDSA_VERIFY)
        elif isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, _PKCS1V15, _SHA256)
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
    hash_algorithm: int = _HASH_SHA256

    @property
    def timestamp(self) -> dt.datetime:
        """``timestamp_ms`` as a UTC datetime; :class:`CTError` if no datetime holds it
        (before year 1 or after 9999-12-31, or not an int)."""
        ms = self.timestamp_ms
        if type(ms) is not int or not _MIN_DATETIME_MS <= ms <= _MAX_TIMESTAMP_MS:
            raise CTError(
                f"SCT timestamp_ms {_shown(ms)} is not a datetime: milliseconds from "
                f"{_MIN_DATETIME_MS} (year 1) to {_MAX_TIMESTAMP_MS} (9999-12-31)"
            )
        return _UNIX + dt.timedelta(milliseconds=ms)

    def _check_encodable(self) -> None:
        """:class:`CTError` naming the first field the section 3.2 structure cannot hold."""
        if not isinstance(self.log_id, bytes) or len(self.log_id) != 32:
            raise CTError(f"SCT log_id is 32 bytes, not {_shown(self.log_id)}")
        ms = self.timestamp_ms
        if type(ms) is not int or not 0 <= ms <= _MAX_UINT64:
            raise CTError(f"SCT timestamp_ms is an int from 0 to 2^64-1, not {_shown(ms)}")
        for name in ("hash_algorithm", "signature_algorithm"):
            code = getattr(self, name)
            if type(code) is not int or not 0 <= code <= 255:
                raise CTError(f"SCT {name} is an int from 0 to 255, not {_shown(code)}")
        for name in ("extension_bytes", "signature"):
            value = getattr(self, name)
            if not isinstance(value, bytes) or len(value) > _MAX_UINT16:
                raise CTError(f"SCT {name} is at most {_MAX_UINT16} bytes, not {_shown(value)}")

    def _digitally_signed(self) -> bytes:
        return (
            struct.pack(">BBH", self.hash_algorithm, self.signature_algorithm, len(self.signature))
            + self.signature
        )

    def to_tls(self) -> bytes:
        """The TLS encoding of section 3.2 (what goes in an SCT list); :class:`CTError`
        names a field that does not fit it."""
        self._check_encodable()
        return (
            struct.pack(">B32sQH", 0, self.log_id, self.timestamp_ms, len(self.extension_bytes))
            + self.extension_bytes
            + self._digitally_signed()
        )

    def to_json(self) -> dict[str, object]:
        """The add-chain response shape of section 4.1 (base64 fields); :class:`CTError`
        names a field that does not fit it, as :meth:`to_tls` does."""
        self._check_encodable()
        return {
            "sct_version": 0,
            "id": base64.b64encode(self.log_id).decode(),
            "timestamp": self.timestamp_ms,
            "extensions": base64.b64encode(self.extension_bytes).decode(),
            "signature": base64.b64encode(self._digitally_signed()).decode(),
        }


SCTLike = SCT | SignedCertificateTimestamp
"""What :func:`verify_sct` reads: simlab's :class:`SCT`, or ``cryptography``'s parsed one."""


def encode_sct_list(scts: Sequence[SCT]) -> bytes:
    """A SignedCertificateTimestampList (RFC 6962 section 3.3): ``<1..2^16-1>`` bytes of
    ``<1..2^16-1>``-byte SCTs, the bounds :func:`decode_sct_list` checks. :class:`CTError`
    names an SCT that does not fit, or the list's length if the SCTs together do not."""
    if not isinstance(scts, Sequence) or isinstance(scts, str | bytes):
        raise CTError(f"an SCT list is a sequence of SCTs, not {type(scts).__name__}")
    if not scts:
        raise CTError("an SCT list holds at least one SCT")
    parts: list[bytes] = []
    for i, sct in enumerate(scts):
        if not isinstance(sct, SCT):
            raise CTError(f"SCT list item {i} is a {type(sct).__name__}, not an SCT")
        raw = sct.to_tls()
        if len(raw) > _MAX_UINT16:
            raise CTError(f"SCT {i} is {_bytes(len(raw))} encoded, at most {_MAX_UINT16}")
        parts += (struct.pack(">H", len(raw)), raw)
    body = b"".join(parts)
    if len(body) > _MAX_UINT16:
        raise CTError(
            f"an SCT list of {len(scts)} SCTs is {_bytes(len(body))} encoded, at most {_MAX_UINT16}"
        )
    return struct.pack(">H", len(body)) + body


def _bytes(n: int) -> str:
    return f"{n} byte" if n == 1 else f"{n} bytes"


def _shown(value: object) -> str:
    """A bad value in a message: bytes by their length, anything else as :func:`shown`."""
    return _bytes(len(value)) if isinstance(value, bytes) else shown(value)


def _as_bytes(data: object, what: str) -> bytes:
    """``data`` as bytes if it is bytes-like, else :class:`CTError` naming ``what``."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CTError(f"{what} is bytes, not {type(data).__name__}")
    return bytes(data)


class _Reader:
    """Reads the TLS encoding (RFC 5246 section 4) of ``data[start:end]``; a field that runs
    past the end, or a length out of its range, raises :class:`CTError` naming the field
    and its offset in ``data``."""

    def __init__(self, data: bytes, what: str, start: int = 0, end: int | None = None) -> None:
        self.data, self.what, self.pos = data, what, start
        self.end = len(data) if end is None else end

    @property
    def left(self) -> int:
        return self.end - self.pos

    def uint(self, size: int, field: str) -> int:
        return int.from_bytes(self.take(size, field), "big")

    def take(self, n: int, field: str) -> bytes:
        if n > self.left:
            raise CTError(
                f"{self.what}: {field} needs {_bytes(n)} at offset {self.pos}, {self.left} left"
            )
        self.pos += n
        return self.data[self.pos - n : self.pos]

    def vector(self, length_size: int, field: str, minimum: int = 0) -> tuple[int, int]:
        """A ``<minimum..2^(8*length_size)-1>`` vector: where its content starts and ends."""
        at = self.pos
        n = self.uint(length_size, f"the length of {field}")
        if n < minimum:
            raise CTError(f"{self.what}: {field} at offset {at} is {_bytes(n)}, at least {minimum}")
        if n > self.left:
            raise CTError(
                f"{self.what}: {field} at offset {at} says {_bytes(n)}, only {self.left} follow"
            )
        self.pos += n
        return self.pos - n, self.pos

    def done(self, after: str) -> None:
        if self.left:
            raise CTError(f"{self.what}: {_bytes(self.left)} after {after} at offset {self.pos}")


def decode_digitally_signed(data: bytes, what: str) -> tuple[int, int, bytes]:
    """A TLS ``DigitallySigned`` (RFC 5246 section 4.7): (hash, signature algorithm codes,
    signature), with nothing after it; :class:`CTError` naming ``what`` otherwise."""
    data = _as_bytes(data, f"{what} (a DigitallySigned)")
    r = _Reader(data, what)
    hash_algorithm, signature_algorithm = (
        r.uint(1, "the hash algorithm"),
        r.uint(1, "the signature algorithm"),
    )
    start, end = r.vector(2, "the signature")
    r.done("the signature")
    return hash_algorithm, signature_algorithm, data[start:end]


def decode_sct_list(data: bytes, entry_type: LogEntryType) -> list[SCT]:
    """Parse a TLS-encoded SCT list (RFC 6962 section 3.3), as delivered in the TLS extension.

    Every length is checked against the bytes present, as Chromium's ``DecodeSCTList`` and
    ``DecodeSignedCertificateTimestamp`` (``net/cert/ct_serialization.cc``) do: the list is
    ``<1..2^16-1>`` bytes of ``<1..2^16-1>``-byte SCTs, each a v1 SCT (section 3.2) with
    nothing after its signature. :class:`CTError` names what is wrong and its offset.
    """
    data = _as_bytes(data, "an SCT list")
    r = _Reader(data, "SCT list")
    r.vector(2, "the SCT list", minimum=1)
    r.done("the SCT list")
    r = _Reader(data, "SCT list", 2)
    out: list[SCT] = []
    while r.left:
        start, end = r.vector(2, f"SCT {len(out)}", minimum=1)
        out.append(_decode_sct(_Reader(data, f"SCT list, SCT {len(out)}", start, end), entry_type))
    return out


def _decode_sct(r: _Reader, entry_type: LogEntryType) -> SCT:
    at = r.pos
    version = r.uint(1, "the version")
    if version != 0:
        raise CTError(f"{r.what}: version {version} at offset {at}; only v1 (0) is defined")
    log_id = r.take(32, "the log ID")
    timestamp = r.uint(8, "the timestamp")
    ext_start, ext_end = r.vector(2, "the extensions")
    hash_algorithm, signature_algorithm = (
        r.uint(1, "the hash algorithm"),
        r.uint(1, "the signature algorithm"),
    )
    sig_start, sig_end = r.vector(2, "the signature")
    r.done("the signature")
    return SCT(
        log_id,
        timestamp,
        entry_type,
        r.data[sig_start:sig_end],
        signature_algorithm,
        r.data[ext_start:ext_end],
        hash_algorithm,
    )


@dataclass(frozen=True)
class LeafContents:
    """What a MerkleTreeLeaf (RFC 6962 section 3.4) holds: the timestamp, the entry type,
    the ``signed_entry`` bytes (as :func:`signed_entry` builds them) and the extensions."""

    timestamp_ms: int
    entry_type: LogEntryType
    entry: bytes
    extensions: bytes


def decode_merkle_tree_leaf(leaf: bytes) -> LeafContents:
    """Parse a MerkleTreeLeaf: version 0, leaf type timestamped_entry (0), a TimestampedEntry
    whose x509_entry is ``<1..2^24-1>`` bytes of DER, or whose precert_entry is a 32-byte
    issuer key hash and ``<1..2^24-1>`` bytes of TBSCertificate; nothing after the
    extensions. :class:`CTError` names what is wrong and its offset."""
    leaf = _as_bytes(leaf, "a Merkle tree leaf")
    r = _Reader(leaf, "Merkle tree leaf")
    at = r.pos
    version, leaf_type = r.uint(1, "the version"), r.uint(1, "the leaf type")
    if (version, leaf_type) != (0, 0):
        raise CTError(
            f"Merkle tree leaf: version {version}, leaf type {leaf_type} at offset {at}; "
            "only v1 timestamped_entry (0, 0) is defined"
        )
    timestamp = r.uint(8, "the timestamp")
    at = r.pos
    code = r.uint(2, "the entry type")
    if code not in _ENTRY_TYPES:
        raise CTError(f"Merkle tree leaf: entry type {code} at offset {at} is neither 0 nor 1")
    start = r.pos
    if code == 1:
        r.take(32, "the issuer key hash")
    r.vector(3, "the certificate" if code == 0 else "the TBSCertificate", minimum=1)
    entry = leaf[start : r.pos]
    ext_start, ext_end = r.vector(2, "the extensions")
    r.done("the extensions")
    return LeafContents(timestamp, _ENTRY_TYPES[code], entry, leaf[ext_start:ext_end])


def embedded_scts(certificate: x509.Certificate) -> list[SignedCertificateTimestamp]:
    """The SCTs embedded in a certificate (OID 1.3.6.1.4.1.11129.2.4.2), parsed by cryptography.

    A certificate whose extensions do not parse has none a client can use: Chromium's
    ``MultiLogCTVerifier::Verify`` (``net/cert/multi_log_ct_verifier.cc``) verifies
    embedded SCTs only if ``ExtractEmbeddedSCTList`` and ``DecodeSCTList`` succeed.
    """
    try:
        ext = certificate.extensions.get_extension_for_oid(SCT_LIST_OID)
    except x509.ExtensionNotFound:
        return []
    except ValueError:  # cryptography parses every extension at once, and refuses junk
        return []
    value = ext.value
    if isinstance(value, x509.PrecertificateSignedCertificateTimestamps):
        return list(value)
    return []


def checked_timestamp_ms(sct: SCTLike) -> int:
    """``sct``'s timestamp in milliseconds, once every field is in range; otherwise
    :class:`CTError` names the first that is not.

    In range: a 32-byte log ID; a timestamp from 1970 to 9999-12-31 (beyond uint64 an SCT
    cannot be encoded, and past 9999 no datetime or X.509 validity reaches); an entry type
    of RFC 6962; extensions and a signature of at most 2^16-1 bytes; SHA-256 with ECDSA or
    RSA (section 2.1.4). A hash or signature algorithm the log's key does not use is left to
    :func:`verify_sct`.
    """
    if not isinstance(sct, SCT | SignedCertificateTimestamp):
        raise CTError(f"not an SCT: {type(sct).__name__}")
    if not isinstance(sct.log_id, bytes) or len(sct.log_id) != 32:
        raise CTError("an SCT's log ID is 32 bytes (SHA-256 of the log's key)")
    if sct.entry_type not in _ENTRY_TYPES.values():
        raise CTError(f"SCT entry type {sct.entry_type!r} is not an RFC 6962 LogEntryType")
    for name, value in (("extensions", sct.extension_bytes), ("signature", sct.signature)):
        if not isinstance(value, bytes) or len(value) > _MAX_UINT16:
            raise CTError(f"an SCT's {name} are bytes, at most {_MAX_UINT16} of them")
    if _algorithms(sct) not in ((_HASH_SHA256, _SIG_ECDSA), (_HASH_SHA256, _SIG_RSA)):
        hash_code, signature_code = _algorithms(sct)
        raise CTError(
            f"SCT algorithms (hash {hash_code}, signature {signature_code}) are not SHA-256 "
            "with ECDSA or RSA"
        )
    ms = _timestamp(sct)
    if ms is None or not 0 <= ms <= _MAX_TIMESTAMP_MS:
        raise CTError("an SCT's timestamp is milliseconds from 1970 to 9999-12-31")
    return ms


def _timestamp(sct: SCTLike) -> int | None:
    if isinstance(sct, SCT):
        ms = sct.timestamp_ms
        return ms if type(ms) is int else None
    try:  # cryptography builds the datetime on access, and refuses years past 9999
        return timestamp_ms(sct.timestamp)
    except (ValueError, OverflowError):
        return None


def _algorithms(sct: SCTLike) -> tuple[object, object]:
    """(hash, signature) codes of RFC 5246 section 7.4.1.4.1."""
    if isinstance(sct, SCT):
        return sct.hash_algorithm, sct.signature_algorithm
    hash_code = _HASH_SHA256 if isinstance(sct.signature_hash_algorithm, hashes.SHA256) else None
    return hash_code, sct.signature_algorithm.value


def verify_sct(
    sct: SCTLike,
    certificate: x509.Certificate,
    issuer: x509.Certificate | None,
    log_public_key: PublicKey,
) -> bool:
    """True if ``sct`` is ``log_public_key``'s valid signature over ``certificate``.

    Embedded SCTs are precert entries: the signature covers the issuer's key hash and the
    TBSCertificate without the SCT list (RFC 6962 sections 3.2 and 3.3). SCTs delivered
    in TLS or OCSP cover the whole certificate (x509_entry). An SCT with any field out of
    range (:func:`checked_timestamp_ms`), or whose signature algorithm is not the log key's
    (Chromium's ``DigitallySigned::SignatureParametersMatch``), is False, never an error:
    the SCT is data from the wire. So is a precert SCT checked without its issuer (None).

    The other arguments are the caller's own (a parsed certificate, a configured log key):
    one of the wrong type is a mistake to be told about, so :class:`CTError` names it
    rather than a False that would read as a bad SCT.
    """
    _check_arguments(certificate, issuer, log_public_key)
    try:
        ms = checked_timestamp_ms(sct)
    except CTError:
        return False
    if sct.log_id != log_id_of(log_public_key):
        return False
    key_algorithm = (
        _SIG_ECDSA if isinstance(log_public_key, ec.EllipticCurvePublicKey) else _SIG_RSA
    )
    if _algorithms(sct)[1] != key_algorithm:
        return False
    try:
        entry = signed_entry(sct.entry_type, certificate, issuer)
    except ValueError:
        return False
    data = signature_input(ms, sct.entry_type, entry, sct.extension_bytes)
    return verify_signature(log_public_key, sct.signature, data)


def _check_arguments(certificate: object, issuer: object, log_public_key: object) -> None:
    """:class:`CTError` naming the first of :func:`verify_sct`'s trusted arguments that has
    the wrong type (RFC 6962 section 2.1.4: a log key is ECDSA or RSA)."""
    if not isinstance(certificate, x509.Certificate):
        raise CTError(
            f"verify_sct: certificate is an x509.Certificate, not {type(certificate).__name__}"
        )
    if not (issuer is None or isinstance(issuer, x509.Certificate)):
        raise CTError(
            f"verify_sct: issuer is an x509.Certificate or None, not {type(issuer).__name__}"
        )
    if not isinstance(log_public_key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise CTError(
            "verify_sct: log_public_key is an ECDSA or RSA public key, "
            f"not {type(log_public_key).__name__}"
        )
