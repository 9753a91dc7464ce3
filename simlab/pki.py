"""Certificate authorities, trust stores, path validation, revocation and SPKI pins.

Everything here is real X.509: certificates are built with ``cryptography``'s builders and
validated with ``cryptography.x509.verification`` (RFC 5280 path building plus the CA/B
Forum server profile). simlab never keeps an "is trusted" flag of its own; when a chain
fails, simlab only *diagnoses* which step failed so that charts can count reasons.

Time is simulated (:mod:`simlab.clock`): a CA converts it to datetimes with its epoch.
"""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import enum
import functools
import hashlib
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from simlab.clock import DAY, DEFAULT_EPOCH, SimTime, from_datetime, to_datetime
from simlab.errors import PKIError, ValidationRefused, shown
from simlab.keys import KeyAlgorithm, PrivateKey, PublicKey, derive_key

__all__ = [
    "AnchorOrigin",
    "CertificateAuthority",
    "Chain",
    "CompromisedCA",
    "DomainControl",
    "FailureReason",
    "Issuance",
    "RevocationMode",
    "RevocationResponder",
    "RevocationStatus",
    "TrustStore",
    "Validation",
    "Validator",
    "check_hostname",
    "load_chain",
    "load_pem_chain",
    "self_signed",
    "spki_pin",
]

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def check_hostname(name: str, *, wildcard: bool = False) -> str:
    """Return ``name`` lower-cased if it is a valid DNS host name, else raise PKIError.

    A leading ``*.`` label is accepted only where ``wildcard`` is true (SAN entries). An
    error quotes up to 253 characters of the name, the most a DNS name has.
    """
    if not isinstance(name, str):
        raise PKIError(f"bad host name {shown(name)}: a {type(name).__name__}, not text")
    if not name:
        raise PKIError("bad host name '': empty")
    host = name.lower().rstrip(".")
    labels = host.split(".")
    if wildcard and labels[0] == "*":
        labels = labels[1:]
        if len(labels) < 2:
            raise PKIError(
                f"bad host name {shown(name, 253)}: a wildcard needs at least two labels"
            )
    if len(host) > 253 or not labels or not all(_LABEL.match(label) for label in labels):
        raise PKIError(
            f"bad host name {shown(name, 253)}: expected dot-separated labels of letters, "
            "digits and hyphens (1-63 characters, no leading or trailing hyphen)"
        )
    return host


def spki_pin(obj: x509.Certificate | PublicKey) -> str:
    """The RFC 7469 pin of a certificate or public key: base64(SHA-256(DER SPKI)).

    A certificate's pin hashes its subjectPublicKeyInfo exactly as the certificate encodes
    it (section 2.4; Chromium hashes the bytes it extracts, ``asn1::ExtractSPKIFromDERCert``
    in net/cert/asn1_util.cc), so it exists for any key, even one ``cryptography`` cannot
    load, and a key encoded unusually (an EC key with explicit curve parameters, RSA-PSS
    parameters) keeps its own bytes: re-encoding the loaded key would change them. The
    same as ``openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst
    -sha256 -binary | base64`` (tests/data holds such certificates). A public key (no
    certificate) is hashed as its DER encoding.
    """
    if isinstance(obj, x509.Certificate):
        der = _spki_bytes(obj.tbs_certificate_bytes)
    else:
        der = obj.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    return base64.b64encode(hashlib.sha256(der).digest()).decode("ascii")


def _spki_bytes(tbs: bytes) -> bytes:
    """The subjectPublicKeyInfo element of a TBSCertificate, as encoded (RFC 5280 section
    4.1: an optional [0] version, then serial, signature, issuer, validity and subject come
    before it). ``tbs`` is DER that ``cryptography`` has parsed already, so every element
    is there and every length is in range."""
    position = _element(tbs, 0)[0]  # inside the TBSCertificate SEQUENCE
    if tbs[position] == 0xA0:  # [0] EXPLICIT version
        position = sum(_element(tbs, position))
    for _ in range(5):  # serialNumber, signature, issuer, validity, subject
        position = sum(_element(tbs, position))
    start, length = _element(tbs, position)
    return tbs[position : start + length]


def _element(der: bytes, position: int) -> tuple[int, int]:
    """Where the contents of the DER element at ``position`` start, and their length
    (a one-byte tag: every tag before subjectPublicKeyInfo is a low-numbered one)."""
    first = der[position + 1]
    if first < 0x80:
        return position + 2, first
    size = first & 0x7F
    return position + 2 + size, int.from_bytes(der[position + 2 : position + 2 + size], "big")


def _fingerprint(cert: x509.Certificate) -> bytes:
    return cert.fingerprint(hashes.SHA256())


@dataclass(frozen=True)
class Chain:
    """A certificate chain as served: leaf first, then intermediates (the root is optional)."""

    certificates: tuple[x509.Certificate, ...]
    key: tuple[bytes, ...] = field(init=False, repr=False, compare=True)

    def __post_init__(self) -> None:
        if not self.certificates:
            raise PKIError("a chain needs at least one certificate")
        object.__setattr__(self, "key", tuple(_fingerprint(c) for c in self.certificates))

    @property
    def leaf(self) -> x509.Certificate:
        return self.certificates[0]

    @property
    def intermediates(self) -> tuple[x509.Certificate, ...]:
        return self.certificates[1:]

    @property
    def pins(self) -> tuple[str, ...]:
        """The SPKI pin of each certificate, leaf first."""
        return tuple(spki_pin(c) for c in self.certificates)

    def pem(self) -> str:
        """The chain as concatenated PEM blocks, leaf first (what a server's chain file holds)."""
        return "".join(
            c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in self.certificates
        )

    def __add__(self, other: Chain) -> Chain:
        return Chain(self.certificates + other.certificates)


FileData = bytes | bytearray | memoryview | str
"""What a certificate file's content may be given as: its bytes, or its text."""


def _file_bytes(data: FileData, source: str) -> bytes:
    """``data`` as bytes, or PKIError naming ``source``: text is encoded as read (file names'
    surrogate escapes become their bytes again), a lone surrogate no file holds is refused,
    and so is anything that is neither text nor bytes."""
    if isinstance(data, str):
        try:
            return data.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a lone surrogate that no byte decodes to
            raise PKIError(f"{source}: text that no file holds, not a certificate") from None
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    raise PKIError(f"{source}: a {type(data).__name__}, not the bytes of a certificate file")


def load_pem_chain(data: FileData, *, source: str = "<input>") -> Chain:
    """Parse every PEM certificate in ``data``; raise PKIError naming ``source`` if none parse."""
    raw = _file_bytes(data, source)
    try:
        certs = x509.load_pem_x509_certificates(raw)
    except ValueError:  # its message is the parser's debug text: find the block at fault
        raise PKIError(f"{source}: {_pem_problem(raw)}") from None
    return Chain(tuple(certs))


_PEM_BEGIN_CERTIFICATE, _PEM_END = b"-----BEGIN CERTIFICATE-----", b"-----END CERTIFICATE-----"


def _pem_problem(raw: bytes) -> str:
    """Which CERTIFICATE block of ``raw`` does not parse, and why, in a user's words."""
    begins = [m.start() for m in re.finditer(re.escape(_PEM_BEGIN_CERTIFICATE), raw)]
    for number, start in enumerate(begins, 1):
        line = raw.count(b"\n", 0, start) + 1
        where = f"certificate block {number} (line {line})"
        body_start = start + len(_PEM_BEGIN_CERTIFICATE)
        end = raw.find(_PEM_END, body_start)
        if end < 0 or (number < len(begins) and end > begins[number]):
            return f"{where} has no -----END CERTIFICATE----- line"
        try:
            der = base64.b64decode(b"".join(raw[body_start:end].split()), validate=True)
        except ValueError:
            return f"{where} is not valid base64"
        try:
            x509.load_der_x509_certificate(der)
        except ValueError:
            return f"{where} does not hold an X.509 certificate ({len(der):,} bytes)"
    if not begins:
        return "no -----BEGIN CERTIFICATE----- block"
    return "not a readable PEM certificate file"


_PEM_BEGIN = re.compile(rb"-----BEGIN ([A-Z0-9 ]{1,64})-----")


def load_chain(data: FileData, *, source: str = "<input>") -> Chain:
    """The certificates in a file a user names: PEM blocks (a chain file, other blocks
    skipped) or one DER certificate (``openssl x509 -outform der``). Anything else is a
    PKIError naming ``source`` and what it holds instead, e.g. only a private key."""
    data = _file_bytes(data, source)
    labels = {m.group(1).decode("ascii") for m in _PEM_BEGIN.finditer(data)}
    if not labels:
        if not data.strip():
            raise PKIError(f"{source}: empty, not a certificate")
        try:
            return Chain((x509.load_der_x509_certificate(data),))
        except ValueError:
            raise PKIError(
                f"{source}: not a certificate: neither PEM (-----BEGIN CERTIFICATE-----) nor DER"
            ) from None
    if "CERTIFICATE" not in labels:
        keys = [label for label in labels if label.endswith("PRIVATE KEY")]
        held = "a private key" if keys else f"a PEM {min(labels)} block"
        raise PKIError(f"{source} holds {held}, not a certificate")
    return load_pem_chain(data, source=source)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "simlab"),
        ]
    )


def _sign(builder: x509.CertificateBuilder, key: PrivateKey) -> x509.Certificate:
    """Sign with SHA-256; ECDSA uses RFC 6979 deterministic nonces so bytes are reproducible."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return builder.sign(key, hashes.SHA256(), ecdsa_deterministic=True)
    return builder.sign(key, hashes.SHA256())


def _ca_extensions(
    builder: x509.CertificateBuilder,
    public_key: PublicKey,
    issuer_key: PublicKey,
    path_length: int | None,
) -> x509.CertificateBuilder:
    return (
        builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=path_length), critical=True
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key), critical=False
        )
    )


def self_signed(
    common_name: str,
    key: PrivateKey,
    *,
    not_before: SimTime = 0.0,
    not_after: SimTime = 3650 * DAY,
    epoch: dt.datetime = DEFAULT_EPOCH,
    ca: bool = True,
    names: Sequence[str] = (),
) -> x509.Certificate:
    """A self-signed certificate: a root CA, or (``ca=False``) a self-signed server cert.

    A self-signed server certificate is what the MyEtherWallet hijackers served in 2018.
    """
    if not_after <= not_before:
        raise PKIError(f"inverted validity window for {common_name!r}: {not_before} >= {not_after}")
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(_serial(common_name, 0))
        .not_valid_before(to_datetime(not_before, epoch))
        .not_valid_after(to_datetime(not_after, epoch))
    )
    if ca:
        builder = _ca_extensions(builder, key.public_key(), key.public_key(), None)
    else:
        hosts = [check_hostname(n, wildcard=True) for n in (names or [common_name])]
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), critical=False
        )
    return _sign(builder, key)


def _serial(label: str, counter: int) -> int:
    """A positive 127-bit serial, deterministic in (issuer, counter)."""
    digest = hashlib.sha256(f"simlab-serial|{label}|{counter}".encode()).digest()
    return int.from_bytes(digest[:16], "big") >> 1 or 1


class DomainControl(Protocol):
    """The oracle a CA asks during domain validation: the registry / DNS model."""

    def controls(self, requester: str, name: str, at: SimTime) -> bool:
        """Whether ``requester`` controls ``name`` at time ``at`` (it can answer a DV challenge)."""
        ...


@dataclass(frozen=True)
class Issuance:
    """One certificate a CA signed. ``validated`` is False for issuance with a stolen CA key."""

    serial: int
    names: tuple[str, ...]
    requester: str
    at: SimTime
    certificate: x509.Certificate
    validated: bool


PrecertHook = Callable[[x509.Certificate, x509.Certificate], bytes]
"""Given (precertificate, issuer certificate), return the TLS-encoded SCT list to embed."""

CT_POISON_OID = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.3")
SCT_LIST_OID = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")


class CertificateAuthority:
    """A root or intermediate CA that issues server certificates after domain validation.

    Create a root with :meth:`root`, then ``root.create_intermediate("...")`` and
    ``inter.issue(requester, ["example.com"], key.public_key(), at=...)``.
    """

    def __init__(
        self,
        name: str,
        key: PrivateKey,
        certificate: x509.Certificate,
        *,
        parent: CertificateAuthority | None,
        domain_control: DomainControl | None,
        epoch: dt.datetime,
    ) -> None:
        self.name = name
        self.key = key
        self.certificate = certificate
        self.parent = parent
        self.domain_control = domain_control
        self.epoch = epoch
        self.issued: list[Issuance] = []
        self._revoked: dict[int, SimTime] = {}
        self._counter = 0

    @classmethod
    def root(
        cls,
        name: str,
        *,
        seed: int | str = 0,
        key_algorithm: KeyAlgorithm = "ec-p256",
        not_before: SimTime = -365 * DAY,
        not_after: SimTime = 3650 * DAY,
        domain_control: DomainControl | None = None,
        epoch: dt.datetime = DEFAULT_EPOCH,
    ) -> CertificateAuthority:
        """A self-signed root CA whose key is derived from ``(seed, name)``."""
        key = derive_key(seed, f"ca:{name}", key_algorithm)
        cert = self_signed(name, key, not_before=not_before, not_after=not_after, epoch=epoch)
        return cls(name, key, cert, parent=None, domain_control=domain_control, epoch=epoch)

    def create_intermediate(
        self,
        name: str,
        *,
        seed: int | str = 0,
        key_algorithm: KeyAlgorithm = "ec-p256",
        not_before: SimTime | None = None,
        not_after: SimTime | None = None,
    ) -> CertificateAuthority:
        """A subordinate CA signed by this one; it inherits the domain-control oracle."""
        nb = self._not_before() if not_before is None else not_before
        na = self._not_after() if not_after is None else not_after
        self._check_window(name, nb, na)
        key = derive_key(seed, f"ca:{name}", key_algorithm)
        builder = self._builder(_name(name), key.public_key(), nb, na)
        builder = _ca_extensions(builder, key.public_key(), self.key.public_key(), 0)
        cert = _sign(builder, self.key)
        child = CertificateAuthority(
            name, key, cert, parent=self, domain_control=self.domain_control, epoch=self.epoch
        )
        self.issued.append(Issuance(cert.serial_number, (name,), self.name, nb, cert, True))
        return child

    # -- issuance ----------------------------------------------------------------------

    def issue(
        self,
        requester: str,
        names: Sequence[str],
        public_key: PublicKey,
        *,
        at: SimTime,
        lifetime: SimTime = 90 * DAY,
        precert_hook: PrecertHook | None = None,
    ) -> Chain:
        """Issue a server certificate for ``names`` after domain validation at time ``at``.

        The CA asks its domain-control oracle whether ``requester`` controls each name (a
        hijacker who controls the registrar passes, as Sea Turtle's did). With a
        ``precert_hook`` the CA follows RFC 6962 section 3.1: it signs a poisoned
        precertificate, obtains SCTs for it, and embeds them in the final certificate.
        Returns the served chain: leaf, then this CA and its parents up to (not including)
        the root.
        """
        hosts = [check_hostname(n, wildcard=True) for n in names]
        if not hosts:
            raise PKIError("a server certificate needs at least one DNS name")
        if self.domain_control is None:
            raise PKIError(f"CA {self.name!r} has no domain-control oracle to validate with")
        for host in hosts:
            if not self.domain_control.controls(requester, host.removeprefix("*."), at):
                raise ValidationRefused(
                    f"CA {self.name!r} refused {host!r} for {requester!r}: domain validation failed"
                )
        return self._issue(requester, hosts, public_key, at, lifetime, precert_hook, validated=True)

    def compromise(self) -> CompromisedCA:
        """Hand this CA's signing key to an attacker (DigiNotar 2011, Comodo RA 2011)."""
        return CompromisedCA(self)

    def _issue(
        self,
        requester: str,
        hosts: Sequence[str],
        public_key: PublicKey,
        at: SimTime,
        lifetime: SimTime,
        precert_hook: PrecertHook | None,
        *,
        validated: bool,
    ) -> Chain:
        self._check_usable(at)
        not_after = at + lifetime
        self._check_window(hosts[0], at, not_after)
        if not_after > self._not_after():
            raise PKIError(
                f"CA {self.name!r} cannot issue past its own expiry: requested validity ends at "
                f"{to_datetime(not_after, self.epoch):%Y-%m-%d}"
            )
        self._counter += 1
        builder = (
            self._builder(_name(hosts[0]), public_key, at, not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=isinstance(public_key, rsa.RSAPublicKey),
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), critical=False
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )
        if precert_hook is not None:
            # RFC 6962 section 3.1: the precertificate differs from the final certificate only
            # by the poison extension, which sits where the SCT list will sit (last).
            precert = _sign(
                builder.add_extension(x509.UnrecognizedExtension(CT_POISON_OID, b"\x05\x00"), True),
                self.key,
            )
            sct_list = precert_hook(precert, self.certificate)
            builder = builder.add_extension(
                x509.UnrecognizedExtension(SCT_LIST_OID, _der_octet_string(sct_list)), False
            )
        cert = _sign(builder, self.key)
        self.issued.append(
            Issuance(cert.serial_number, tuple(hosts), requester, at, cert, validated)
        )
        return Chain((cert, *self.chain_to_root()[:-1]))

    def chain_to_root(self) -> tuple[x509.Certificate, ...]:
        """This CA's certificate and its ancestors', ending with the root."""
        chain: list[x509.Certificate] = []
        ca: CertificateAuthority | None = self
        while ca is not None:
            chain.append(ca.certificate)
            ca = ca.parent
        return tuple(chain)

    # -- revocation --------------------------------------------------------------------

    def revoke(self, serial: int, *, at: SimTime) -> None:
        """Revoke a certificate this CA issued, from simulated time ``at`` on."""
        if not any(i.serial == serial for i in self.issued):
            raise PKIError(f"CA {self.name!r} never issued serial {serial:#x}")
        self._revoked.setdefault(serial, at)

    def is_revoked(self, serial: int, at: SimTime) -> bool:
        revoked_at = self._revoked.get(serial)
        return revoked_at is not None and at >= revoked_at

    # -- helpers -----------------------------------------------------------------------

    def _builder(
        self, subject: x509.Name, public_key: PublicKey, not_before: SimTime, not_after: SimTime
    ) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(_serial(self.name, self._counter))
            .not_valid_before(to_datetime(not_before, self.epoch))
            .not_valid_after(to_datetime(not_after, self.epoch))
        )

    def _not_before(self) -> SimTime:
        return from_datetime(self.certificate.not_valid_before_utc, self.epoch)

    def _not_after(self) -> SimTime:
        return from_datetime(self.certificate.not_valid_after_utc, self.epoch)

    def _check_window(self, subject: str, not_before: SimTime, not_after: SimTime) -> None:
        if not_after <= not_before:
            raise PKIError(
                f"inverted validity window for {subject!r}: not_after ({not_after}) must be "
                f"after not_before ({not_before})"
            )

    def _check_usable(self, at: SimTime) -> None:
        if not self._not_before() <= at <= self._not_after():
            raise PKIError(
                f"CA {self.name!r} is not valid at {to_datetime(at, self.epoch):%Y-%m-%d %H:%M} "
                "and cannot issue"
            )
        if self.parent is not None and self.parent.is_revoked(self.certificate.serial_number, at):
            raise PKIError(f"CA {self.name!r} has been revoked and cannot issue")

    def __repr__(self) -> str:
        return f"CertificateAuthority({self.name!r})"


def _der_octet_string(content: bytes) -> bytes:
    """DER OCTET STRING wrapping ``content`` (the SCT list extension is wrapped twice)."""
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        body = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(body)]) + body
    return b"\x04" + length + content


class CompromisedCA:
    """A CA whose signing key an attacker holds: it issues anything, with no validation.

    The issuance is still recorded at the CA (as DigiNotar's logs recorded the 531 rogue
    certificates), so that revocation and audits can find it later.
    """

    def __init__(self, ca: CertificateAuthority) -> None:
        self.ca = ca

    def issue(
        self,
        names: Sequence[str],
        public_key: PublicKey,
        *,
        at: SimTime,
        lifetime: SimTime = 365 * DAY,
        requester: str = "attacker",
        precert_hook: PrecertHook | None = None,
    ) -> Chain:
        hosts = [check_hostname(n, wildcard=True) for n in names]
        return self.ca._issue(
            requester, hosts, public_key, at, lifetime, precert_hook, validated=False
        )


# -- trust stores and validation ---------------------------------------------------------


class AnchorOrigin(enum.StrEnum):
    """Where a trust anchor came from. Browsers skip pin and CT checks for ``USER`` roots."""

    PUBLIC = "public"
    USER = "user"


class FailureReason(enum.StrEnum):
    """Why a connection's certificate checks failed; charts count these."""

    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    NAME_MISMATCH = "name_mismatch"
    UNKNOWN_ISSUER = "unknown_issuer"
    REVOKED = "revoked"
    REVOCATION_UNAVAILABLE = "revocation_unavailable"
    INVALID = "invalid"


class TrustStore:
    """Trust anchors, each remembering whether it came from the public root program or the user.

    Immutable: :meth:`with_user_root` returns a new store (an enterprise proxy's root, or a
    malicious root a user was tricked into installing).
    """

    def __init__(
        self,
        public_roots: Iterable[x509.Certificate] = (),
        user_roots: Iterable[x509.Certificate] = (),
    ) -> None:
        self._origin: dict[bytes, AnchorOrigin] = {}
        certs: list[x509.Certificate] = []
        for origin, roots in ((AnchorOrigin.PUBLIC, public_roots), (AnchorOrigin.USER, user_roots)):
            for root in roots:
                fp = _fingerprint(root)
                if fp not in self._origin:
                    self._origin[fp] = origin
                    certs.append(root)
        self.certificates: tuple[x509.Certificate, ...] = tuple(certs)
        # What validation reads: the anchors, and where each came from (pins are bypassed
        # for a user-installed anchor), so equal keys mean equal answers.
        self.key: tuple[tuple[bytes, str], ...] = tuple(
            sorted((fp, origin.value) for fp, origin in self._origin.items())
        )
        self.store: verification.Store | None = verification.Store(certs) if certs else None

    def with_user_root(self, root: x509.Certificate) -> TrustStore:
        public = [c for c in self.certificates if self.origin_of(c) is AnchorOrigin.PUBLIC]
        user = [c for c in self.certificates if self.origin_of(c) is AnchorOrigin.USER]
        return TrustStore(public, [*user, root])

    def origin_of(self, certificate: x509.Certificate) -> AnchorOrigin | None:
        return self._origin.get(_fingerprint(certificate))

    def __len__(self) -> int:
        return len(self.certificates)

    def __repr__(self) -> str:
        n_user = sum(o is AnchorOrigin.USER for o in self._origin.values())
        return f"TrustStore({len(self) - n_user} public, {n_user} user)"


@dataclass(frozen=True)
class Validation:
    """The result of path validation.

    On success ``chain`` is the validated chain (leaf first, ending at the anchor) and
    ``anchor_origin`` says where that anchor came from. On failure ``reason`` names the step.
    """

    ok: bool
    chain: tuple[x509.Certificate, ...] = ()
    anchor_origin: AnchorOrigin | None = None
    reason: FailureReason | None = None
    detail: str = ""

    @functools.cached_property
    def pins(self) -> frozenset[str]:
        """SPKI pins of the validated chain: what RFC 7469 section 2.6 matches against."""
        return frozenset(spki_pin(c) for c in self.chain)


def _epoch_seconds(when: dt.datetime) -> int:
    return int(when.timestamp())


class Validator:
    """Path validation with ``cryptography.x509.verification``, memoised exactly.

    The memo key is (chain, store, host, time bucket). A bucket is the interval between two
    consecutive validity boundaries (notBefore, notAfter + 1 s) of the chain's and the store's
    certificates: inside one, every date comparison the verifier makes has the same answer,
    so a memo hit can never differ from a fresh validation.
    """

    def __init__(self, *, epoch: dt.datetime = DEFAULT_EPOCH, memoise: bool = True) -> None:
        self.epoch = epoch
        self.memoise = memoise
        self.hits = 0
        self.misses = 0
        self._memo: dict[tuple[object, ...], Validation] = {}
        self._boundaries: dict[tuple[object, ...], list[int]] = {}
        self._epoch_ts = _epoch_seconds(epoch)

    def validate(self, chain: Chain, store: TrustStore, host: str, at: SimTime) -> Validation:
        """Validate ``chain`` for ``host`` against ``store`` at simulated time ``at``."""
        if not self.memoise:
            return self._validate(chain, store, host, at)
        when = self._epoch_ts + int(at)
        pair = (chain.key, store.key)
        bounds = self._boundaries.get(pair)
        if bounds is None:
            bounds = self._boundaries[pair] = _validity_boundaries(
                chain.certificates + store.certificates
            )
        key = (chain.key, store.key, host, bisect.bisect_right(bounds, when))
        result = self._memo.get(key)
        if result is None:
            self.misses += 1
            result = self._memo[key] = self._validate(chain, store, host, at)
        else:
            self.hits += 1
        return result

    def bucket_end(self, chain: Chain, store: TrustStore, at: SimTime) -> SimTime:
        """The first simulated time after ``at`` (>= 0) whose validation of ``chain`` against
        ``store`` may differ: the next validity boundary (infinity if none)."""
        pair = (chain.key, store.key)
        bounds = self._boundaries.get(pair)
        if bounds is None:
            bounds = self._boundaries[pair] = _validity_boundaries(
                chain.certificates + store.certificates
            )
        i = bisect.bisect_right(bounds, self._epoch_ts + int(at))
        return float(bounds[i] - self._epoch_ts) if i < len(bounds) else math.inf

    def _validate(self, chain: Chain, store: TrustStore, host: str, at: SimTime) -> Validation:
        when = to_datetime(at, self.epoch)
        if store.store is None:
            return Validation(
                False, reason=FailureReason.UNKNOWN_ISSUER, detail="empty trust store"
            )
        verifier = (
            verification.PolicyBuilder()
            .store(store.store)
            .time(when)
            .build_server_verifier(x509.DNSName(check_hostname(host)))
        )
        try:
            built = verifier.verify(chain.leaf, list(chain.intermediates))
        except verification.VerificationError as exc:
            return Validation(False, reason=_diagnose(chain, host, when), detail=str(exc))
        return Validation(True, chain=tuple(built), anchor_origin=store.origin_of(built[-1]))


def _validity_boundaries(certs: Iterable[x509.Certificate]) -> list[int]:
    points: set[int] = set()
    for c in certs:
        points.add(_epoch_seconds(c.not_valid_before_utc))
        points.add(_epoch_seconds(c.not_valid_after_utc) + 1)
    return sorted(points)


def _san_matches(pattern: str, host: str) -> bool:
    if pattern.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == host


def _diagnose(chain: Chain, host: str, when: dt.datetime) -> FailureReason:
    """Name the step that failed after the verifier refused the chain (for charts only)."""
    for cert in chain.certificates:
        if when < cert.not_valid_before_utc:
            return FailureReason.NOT_YET_VALID
        if when > cert.not_valid_after_utc:
            return FailureReason.EXPIRED
    try:
        san = chain.leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        patterns = san.value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        patterns = []
    if not any(_san_matches(p.lower(), host.lower()) for p in patterns):
        return FailureReason.NAME_MISMATCH
    return FailureReason.UNKNOWN_ISSUER


# -- revocation --------------------------------------------------------------------------


class RevocationMode(enum.StrEnum):
    """How a client treats revocation (OCSP/CRL). Browsers mostly soft-failed."""

    NONE = "none"
    SOFT_FAIL = "soft-fail"
    HARD_FAIL = "hard-fail"


class RevocationStatus(enum.StrEnum):
    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


class RevocationResponder:
    """The OCSP responders of a set of CAs, keyed by issuer subject key identifier.

    Every query is counted per serial. After DigiNotar's breach was public, Fox-IT used the
    OCSP logs to *size* the attack on the rogue *.google.com (about 300,000 IPs, over 99%
    from Iran); the logs did not find it: a Chrome user's pin warning did (Fox-IT interim
    report, September 2011).
    """

    def __init__(self, cas: Iterable[CertificateAuthority] = ()) -> None:
        self._by_ski: dict[bytes, CertificateAuthority] = {}
        self._by_chain: dict[
            int,
            tuple[Sequence[x509.Certificate], tuple[tuple[CertificateAuthority | None, int], ...]],
        ] = {}
        self.queries: dict[int, int] = {}
        for ca in cas:
            self.add(ca)

    def add(self, ca: CertificateAuthority) -> None:
        ski = x509.SubjectKeyIdentifier.from_public_key(ca.key.public_key()).digest
        self._by_ski[ski] = ca
        self._by_chain.clear()  # a certificate whose issuer was unknown may now be known

    def revocations(self) -> tuple[tuple[bytes, int, SimTime], ...]:
        """Every revocation by these CAs, as (issuer key identifier, serial, time), sorted:
        what tells two states of the responders apart (two revocations may share a time)."""
        return tuple(
            sorted(
                (ski, serial, at)
                for ski, ca in self._by_ski.items()
                for serial, at in ca._revoked.items()
            )
        )

    def revocation_times(self, certificates: Sequence[x509.Certificate]) -> tuple[SimTime, ...]:
        """When each revocation of ``certificates`` (a served chain) takes effect, sorted:
        the only moments at which an answer of :meth:`check` or :meth:`pushed` for the chain
        can change (a validated chain's non-anchor certificates are among those served, so
        no other revocation changes its answers)."""
        issued = ((self._issuer(c), c.serial_number) for c in certificates)
        revoked = (
            ca._revoked[serial] for ca, serial in issued if ca is not None and serial in ca._revoked
        )
        return tuple(sorted(set(revoked)))

    def status(self, certificate: x509.Certificate, at: SimTime) -> RevocationStatus:
        return self._query(self._issuer(certificate), certificate.serial_number, at)

    def _query(self, ca: CertificateAuthority | None, serial: int, at: SimTime) -> RevocationStatus:
        if ca is None:
            return RevocationStatus.UNKNOWN
        self.queries[serial] = self.queries.get(serial, 0) + 1
        return RevocationStatus.REVOKED if ca.is_revoked(serial, at) else RevocationStatus.GOOD

    def _issuers(
        self, chain: Sequence[x509.Certificate]
    ) -> tuple[tuple[CertificateAuthority | None, int], ...]:
        """(issuing CA, serial) of each non-anchor certificate, cached per chain object.

        The cache holds the chain itself, so its id cannot be reused while it is cached; the
        validator hands out the same chain tuple for every memoised validation.
        """
        cached = self._by_chain.get(id(chain))
        if cached is None or cached[0] is not chain:
            pairs = tuple((self._issuer(c), c.serial_number) for c in chain[:-1])
            cached = self._by_chain[id(chain)] = (chain, pairs)
        return cached[1]

    def _issuer(self, certificate: x509.Certificate) -> CertificateAuthority | None:
        try:
            aki = certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
        except x509.ExtensionNotFound:
            return None
        return self._by_ski.get(aki.value.key_identifier or b"")

    def pushed(
        self, validated_chain: Sequence[x509.Certificate], built_at: SimTime, *, leaves: bool
    ) -> bool:
        """Whether a revocation list pushed to browsers and built at ``built_at`` (Chrome's
        CRLSet, Firefox's CRLite; OneCRL when ``leaves`` is false: intermediates only) lists
        a certificate of the chain. Nothing is queried, so nothing is counted or blockable."""
        pairs = self._issuers(validated_chain)
        if not leaves:
            pairs = pairs[1:]
        return any(ca is not None and ca.is_revoked(serial, built_at) for ca, serial in pairs)

    def check(
        self,
        validated_chain: Sequence[x509.Certificate],
        at: SimTime,
        mode: RevocationMode,
        *,
        reachable: bool = True,
    ) -> FailureReason | None:
        """None if the chain passes the client's revocation policy, else the failure reason.

        ``reachable=False`` models a responder the attacker blocks: soft-fail then passes,
        which is why revocation alone never stopped an on-path attacker.
        """
        if mode is RevocationMode.NONE:
            return None
        for ca, serial in self._issuers(validated_chain):
            status = self._query(ca, serial, at) if reachable else RevocationStatus.UNKNOWN
            if status is RevocationStatus.REVOKED:
                return FailureReason.REVOKED
            if status is RevocationStatus.UNKNOWN and mode is RevocationMode.HARD_FAIL:
                return FailureReason.REVOCATION_UNAVAILABLE
        return None
