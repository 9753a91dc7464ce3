"""CT on hostile input: malformed SCT lists, out-of-range SCTs, lying logs (issue 17 item 6).

Every decoder either returns a result or raises :class:`CTError` naming what was wrong and
where; :func:`verify_sct` is a predicate that never raises; a monitor turns whatever a log
serves into alerts or findings, never into an exception.
"""

from __future__ import annotations

import dataclasses
import re
import struct
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.x509.certificate_transparency import LogEntryType

from simlab.ct import CTLog, decode_sct_list, embedded_scts, encode_sct_list, verify_sct
from simlab.ct.sct import SCT
from simlab.errors import CTError, SimlabError
from simlab.keys import derive_key
from tests.conftest import SmallPKI

X509, PRECERT = LogEntryType.X509_CERTIFICATE, LogEntryType.PRE_CERTIFICATE


@pytest.fixture
def log() -> CTLog:
    return CTLog("argon", "Google")


@pytest.fixture
def tls_sct(small_pki: SmallPKI, log: CTLog) -> SCT:
    """A genuine x509_entry SCT for ``small_pki``'s leaf (72 bytes of ECDSA signature)."""
    return log.add_chain(small_pki.chain, at=0)


def _list_of(*raw_scts: bytes) -> bytes:
    body = b"".join(struct.pack(">H", len(raw)) + raw for raw in raw_scts)
    return struct.pack(">H", len(body)) + body


def test_ct_error_is_a_simlab_error_and_a_value_error() -> None:
    assert issubclass(CTError, SimlabError) and issubclass(CTError, ValueError)


# -- decode_sct_list: every length checked against what is present -----------------------------

# Offsets in an SCT list: 0 list length, 2 first SCT's length, 4 its version, 5 log ID,
# 37 timestamp, 45 extensions length, 47 hash, 48 signature algorithm, 49 signature length.


def _with(raw: bytes, at: int, value: bytes) -> bytes:
    return raw[:at] + value + raw[at + len(value) :]


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda raw: b"", "the length of the SCT list needs 2 bytes at offset 0, 0 left"),
        (lambda raw: b"\x00", "needs 2 bytes at offset 0, 1 left"),
        (lambda raw: b"\x00\x00", "the SCT list at offset 0 is 0 bytes, at least 1"),
        (lambda raw: _list_of(raw)[:-1], "the SCT list at offset 0 says"),
        (lambda raw: _list_of(raw) + b"\x00", "1 byte after the SCT list at offset"),
        (lambda raw: _list_of(b""), "SCT 0 at offset 2 is 0 bytes, at least 1"),
        (lambda raw: _list_of(raw, b""), "SCT 1 at offset"),
        (lambda raw: _list_of(b"\x01" + raw[1:]), "version 1 at offset 4; only v1"),
        (lambda raw: _list_of(raw[:20]), "the log ID needs 32 bytes at offset 5, 19 left"),
        (lambda raw: _list_of(raw[:40]), "the timestamp needs 8 bytes at offset 37"),
        (
            lambda raw: _list_of(_with(raw, 41, b"\xff\xff")),
            "the extensions at offset 45 says 65535 bytes, only 74 follow",
        ),
        # Issue 17: a signature length of 65,535 with 70 bytes present was accepted.
        (
            lambda raw: _list_of(_with(raw, 45, b"\xff\xff")),
            "the signature at offset 49 says 65535 bytes, only 70 follow",
        ),
        (lambda raw: _list_of(raw + b"\x00\x00"), "2 bytes after the signature at offset"),
        (lambda raw: _list_of(raw[:43]), "the hash algorithm needs 1 byte at offset 47, 0 left"),
    ],
    ids=[
        "empty",
        "one byte",
        "empty list",
        "list cut short",
        "trailing byte",
        "empty SCT",
        "empty second SCT",
        "version 1",
        "log ID cut",
        "timestamp cut",
        "extensions past the end",
        "signature length 65535",
        "bytes after the signature",
        "algorithms missing",
    ],
)
def test_a_malformed_sct_list_names_the_field_and_its_offset(
    tls_sct: SCT, mangle: Callable[[bytes], bytes], message: str
) -> None:
    raw = dataclasses.replace(tls_sct, signature=bytes(70)).to_tls()
    data = mangle(raw)
    with pytest.raises(CTError, match=re.escape(message)):
        decode_sct_list(data, X509)


def test_a_well_formed_list_round_trips_with_every_field(tls_sct: SCT) -> None:
    odd = dataclasses.replace(tls_sct, extension_bytes=b"ext", hash_algorithm=2)
    assert decode_sct_list(encode_sct_list([tls_sct, odd]), X509) == [tls_sct, odd]
    assert decode_sct_list(bytearray(encode_sct_list([tls_sct])), X509) == [tls_sct]
    with pytest.raises(CTError, match="not str"):
        decode_sct_list("abc", X509)  # type: ignore[arg-type]


def test_an_sct_that_does_not_fit_its_encoding_is_refused(tls_sct: SCT) -> None:
    for bad in (
        dataclasses.replace(tls_sct, timestamp_ms=2**64),
        dataclasses.replace(tls_sct, log_id=b"short"),
        dataclasses.replace(tls_sct, signature=bytes(2**16)),
    ):
        with pytest.raises(CTError, match="does not fit its TLS encoding"):
            encode_sct_list([bad])


# -- verify_sct: False for anything out of range, never an exception -------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"timestamp_ms": 2**63},  # issue 17: OverflowError
        {"timestamp_ms": 2**64},
        {"timestamp_ms": -1},
        {"timestamp_ms": 253402300800000},  # 10000-01-01
        {"timestamp_ms": 1.0},
        {"log_id": b"\x00" * 31},
        {"log_id": "not bytes"},
        {"entry_type": 2},
        {"signature": "not bytes"},
        {"signature": bytes(2**16)},
        {"extension_bytes": None},
        {"hash_algorithm": 2},  # SHA-1
        {"signature_algorithm": 1},  # RSA, from a log whose key is ECDSA
        {"signature_algorithm": 256},
    ],
    ids=str,
)
def test_verify_sct_is_false_for_any_field_out_of_range(
    small_pki: SmallPKI, log: CTLog, tls_sct: SCT, change: dict[str, object]
) -> None:
    assert verify_sct(tls_sct, small_pki.chain.leaf, None, log.public_key)
    bad = dataclasses.replace(tls_sct, **change)  # type: ignore[arg-type]
    assert verify_sct(bad, small_pki.chain.leaf, None, log.public_key) is False


def _embedding(small_pki: SmallPKI, sct_list: bytes) -> x509.Certificate:
    return small_pki.inter.issue(
        "owner",
        ["example.com"],
        derive_key(0, "embedded").public_key(),
        at=0,
        precert_hook=lambda precert, issuer: sct_list,
    ).leaf


def test_an_embedded_sct_past_year_9999_is_false_not_an_error(
    small_pki: SmallPKI, log: CTLog
) -> None:
    # cryptography parses the SCT, then refuses to build its datetime on access.
    far = dataclasses.replace(
        log.add_chain(small_pki.chain, at=0), entry_type=PRECERT, timestamp_ms=2**63
    )
    leaf = _embedding(small_pki, encode_sct_list([far]))
    (sct,) = embedded_scts(leaf)
    with pytest.raises(ValueError):
        _ = sct.timestamp
    assert verify_sct(sct, leaf, small_pki.inter.certificate, log.public_key) is False


@pytest.mark.parametrize("junk", [b"", b"\x00\x05abcde", b"\x00\x03\x00\x01\x00"])
def test_an_unparsable_embedded_list_holds_no_scts(small_pki: SmallPKI, junk: bytes) -> None:
    # MultiLogCTVerifier::Verify skips embedded SCTs whose list does not decode.
    assert embedded_scts(_embedding(small_pki, junk)) == []
