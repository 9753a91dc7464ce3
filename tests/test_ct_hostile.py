"""CT on hostile input: malformed SCT lists, out-of-range SCTs, lying logs (issue 17 item 6).

Every decoder either returns a result or raises :class:`CTError` naming what was wrong and
where; :func:`verify_sct` is a predicate that never raises; a monitor turns whatever a log
serves into alerts or findings, never into an exception.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import re
import struct
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.certificate_transparency import LogEntryType
from hypothesis import given
from hypothesis import strategies as st

from simlab.clock import DAY, HOUR
from simlab.ct import (
    Auditor,
    CTLog,
    LogEntry,
    MerkleTree,
    Monitor,
    decode_sct_list,
    embedded_scts,
    encode_sct_list,
    precert_hook,
    sth_from_json,
    verify_consistency,
    verify_inclusion,
    verify_sct,
)
from simlab.ct.log import sth_signature_input
from simlab.ct.monitor import sth_problem
from simlab.ct.sct import SCT, checked_timestamp_ms, decode_digitally_signed, sign
from simlab.errors import CTError, SimlabError, shown
from simlab.keys import derive_key
from simlab.pki import CertificateAuthority, spki_pin
from tests.bounds import bounded
from tests.conftest import Owners, SmallPKI, with_sct_list

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


UNENCODABLE: list[tuple[dict[str, object], str]] = [
    (
        {"timestamp_ms": 2**64},
        "SCT timestamp_ms is an int from 0 to 2^64-1, not an integer of about 20 digits",
    ),
    ({"timestamp_ms": -1}, "SCT timestamp_ms is an int from 0 to 2^64-1, not -1"),
    ({"timestamp_ms": 10**5000}, "from 0 to 2^64-1, not an integer of about 5,001 digits"),
    ({"timestamp_ms": "5"}, "SCT timestamp_ms is an int from 0 to 2^64-1, not '5'"),
    ({"timestamp_ms": True}, "SCT timestamp_ms is an int from 0 to 2^64-1, not True"),
    ({"log_id": b"short"}, "SCT log_id is 32 bytes, not 5 bytes"),
    ({"log_id": None}, "SCT log_id is 32 bytes, not None"),
    ({"log_id": "x" * 64}, "SCT log_id is 32 bytes, not '" + "x" * 40 + "'... (64 characters)"),
    ({"signature": bytes(70_000)}, "SCT signature is at most 65535 bytes, not 70000 bytes"),
    ({"signature": "sig"}, "SCT signature is at most 65535 bytes, not 'sig'"),
    ({"extension_bytes": None}, "SCT extension_bytes is at most 65535 bytes, not None"),
    ({"hash_algorithm": 256}, "SCT hash_algorithm is an int from 0 to 255, not 256"),
    ({"signature_algorithm": None}, "SCT signature_algorithm is an int from 0 to 255, not None"),
]


@pytest.mark.parametrize(("change", "message"), UNENCODABLE, ids=[m for _, m in UNENCODABLE])
@pytest.mark.parametrize(
    "encode",
    [SCT.to_tls, SCT.to_json, lambda sct: encode_sct_list([sct])],
    ids=["to_tls", "to_json", "encode_sct_list"],
)
def test_an_sct_that_does_not_fit_its_encoding_names_the_field(
    tls_sct: SCT, change: dict[str, object], message: str, encode: Callable[[SCT], object]
) -> None:
    encode(tls_sct)
    bad = dataclasses.replace(tls_sct, **change)  # type: ignore[arg-type]
    with pytest.raises(CTError, match=re.escape(message)):
        encode(bad)


def test_to_json_is_the_add_chain_answer(tls_sct: SCT) -> None:
    answer = tls_sct.to_json()
    signature = base64.b64decode(str(answer["signature"]))
    assert answer["timestamp"] == tls_sct.timestamp_ms
    assert base64.b64decode(str(answer["id"])) == tls_sct.log_id
    assert signature == struct.pack(">BBH", 4, 3, len(tls_sct.signature)) + tls_sct.signature


def test_sct_lists_past_their_uint16_bounds_are_refused(tls_sct: SCT) -> None:
    """Each SCT, and the list, is a ``<1..2^16-1>`` vector: SCTs that each pass
    ``checked_timestamp_ms`` can still overflow the list together."""
    room = 65_535 - 2 - 2 - len(tls_sct.to_tls())  # the list's own length is not counted
    biggest = dataclasses.replace(tls_sct, signature=bytes(room - 47))  # 47: all but signature
    assert checked_timestamp_ms(biggest) == tls_sct.timestamp_ms
    assert decode_sct_list(encode_sct_list([biggest, tls_sct]), X509) == [biggest, tls_sct]
    with pytest.raises(CTError, match="an SCT list of 2 SCTs is 65536 bytes encoded, at most"):
        encode_sct_list([biggest, dataclasses.replace(tls_sct, signature=tls_sct.signature + b"x")])
    largest = dataclasses.replace(tls_sct, signature=bytes(65_535))
    with pytest.raises(CTError, match="SCT 1 is 65582 bytes encoded, at most 65535"):
        encode_sct_list([tls_sct, largest])
    for junk, message in (
        ([], "holds at least one SCT"),
        ([tls_sct, None], "SCT list item 1 is a NoneType, not an SCT"),
        (b"\x00\x01", "a sequence of SCTs, not bytes"),
        (None, "a sequence of SCTs, not NoneType"),
    ):
        with pytest.raises(CTError, match=re.escape(message)):
            encode_sct_list(junk)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ms", "when"),
    [
        (0, "1970-01-01 00:00:00"),
        (-1, "1969-12-31 23:59:59.999000"),
        (253402300799999, "9999-12-31 23:59:59.999000"),
        (-62135596800000, "0001-01-01 00:00:00"),
    ],
)
def test_an_sct_timestamp_within_datetime_converts(tls_sct: SCT, ms: int, when: str) -> None:
    timestamp = dataclasses.replace(tls_sct, timestamp_ms=ms).timestamp
    assert str(timestamp) == when + "+00:00"


@pytest.mark.parametrize(
    "ms", [2**63, 253402300800000, -62135596800001, -(2**63), 10**5000, 1.5, "0", True], ids=shown
)
def test_an_sct_timestamp_no_datetime_holds_is_a_ct_error(tls_sct: SCT, ms: object) -> None:
    with pytest.raises(CTError, match=r"SCT timestamp_ms .* is not a datetime"):
        dataclasses.replace(tls_sct, timestamp_ms=ms).timestamp  # type: ignore[arg-type]  # noqa: B018


@pytest.mark.parametrize("data", [None, "abc", 3, 3.0, ["\x04"]], ids=repr)
def test_decode_digitally_signed_refuses_what_is_not_bytes(data: object) -> None:
    with pytest.raises(CTError, match=r"^x \(a DigitallySigned\) is bytes, not "):
        decode_digitally_signed(data, "x")  # type: ignore[arg-type]
    assert decode_digitally_signed(bytearray(b"\x04\x03\x00\x01s"), "x") == (4, 3, b"s")


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


def test_an_embedded_sct_past_year_9999_is_false_not_an_error(
    small_pki: SmallPKI, log: CTLog
) -> None:
    # cryptography parses the SCT, then refuses to build its datetime on access.
    far = dataclasses.replace(
        log.add_chain(small_pki.chain, at=0), entry_type=PRECERT, timestamp_ms=2**63
    )
    leaf = with_sct_list(small_pki, encode_sct_list([far]))
    (sct,) = embedded_scts(leaf)
    with pytest.raises(ValueError):
        _ = sct.timestamp
    assert verify_sct(sct, leaf, small_pki.inter.certificate, log.public_key) is False


@pytest.mark.parametrize("junk", [b"", b"\x00\x05abcde", b"\x00\x03\x00\x01\x00"])
def test_an_unparsable_embedded_list_holds_no_scts(small_pki: SmallPKI, junk: bytes) -> None:
    # MultiLogCTVerifier::Verify skips embedded SCTs whose list does not decode.
    assert embedded_scts(with_sct_list(small_pki, junk)) == []


# -- tree heads ------------------------------------------------------------------------------


def _one_entry_log(small_pki: SmallPKI, label: str = "rogue") -> CTLog:
    """A log holding one merged precertificate entry for ``label``.example.com."""
    log = CTLog("argon", "Google", merge_delay=HOUR)
    small_pki.inter.issue(
        "owner",
        [f"{label}.example.com"],
        derive_key(0, label).public_key(),
        at=0,
        precert_hook=precert_hook([log], 0),
    )
    log.merge(HOUR)
    return log


BAD_HEADS: list[tuple[dict[str, object], str]] = [
    ({"tree_size": -1}, "tree_size -1 is not a uint64"),
    ({"tree_size": 2**64}, "tree_size 18446744073709551616 is not a uint64"),
    ({"tree_size": 10**5000}, "tree_size a 16610-bit integer is not a uint64"),
    ({"tree_size": 1.0}, "tree_size a float is not a uint64"),
    ({"timestamp_ms": -5}, "timestamp -5 is not a uint64"),
    ({"root_hash": "ab" * 16}, "the root hash is a str, not 32 bytes"),
    ({"root_hash": bytes(31)}, "the root hash is 31 bytes, not 32 bytes"),
    ({"log_id": None}, "the log ID is a NoneType, not 32 bytes"),
    ({"signature": b""}, "the signature is 0 bytes, not 1 to 65535 bytes"),
    ({"signature": [1, 2]}, "the signature is a list, not 1 to 65535 bytes"),
    ({"signature": bytes(70)}, "the STH signature is invalid"),
    ({"view": 7}, "the view is 7, not a name"),
]


@pytest.mark.parametrize(("change", "detail"), BAD_HEADS, ids=[d for _, d in BAD_HEADS])
def test_a_tree_head_out_of_range_never_verifies_nor_raises(
    change: dict[str, object], detail: str
) -> None:
    log = CTLog("argon", "Google")
    bad = dataclasses.replace(log.sth(0), **change)  # type: ignore[arg-type]
    assert bad.verify(log.public_key) is False
    assert sth_problem(log, bad) == detail


@pytest.mark.parametrize(("change", "detail"), BAD_HEADS, ids=[d for _, d in BAD_HEADS])
def test_the_monitor_turns_a_malformed_tree_head_into_a_finding(
    small_pki: SmallPKI, monkeypatch: pytest.MonkeyPatch, change: dict[str, object], detail: str
) -> None:
    log = _one_entry_log(small_pki)
    monitor = Monitor(frozenset({"example.com"}), set(), [log])
    genuine = log.sth
    monkeypatch.setattr(log, "sth", lambda at: dataclasses.replace(genuine(at), **change))
    assert monitor.poll(2 * HOUR) == []
    assert [(f.log, f.kind, f.detail) for f in monitor.findings] == [("argon", "bad STH", detail)]
    monkeypatch.setattr(log, "sth", genuine)
    assert monitor.poll(3 * HOUR) == []  # a log caught once is not read again


@pytest.mark.parametrize("junk", [None, {"tree_size": 1}, 42], ids=repr)
def test_the_monitor_takes_no_tree_head_from_get_sth_that_is_not_one(
    small_pki: SmallPKI, monkeypatch: pytest.MonkeyPatch, junk: object
) -> None:
    log = _one_entry_log(small_pki)
    monitor = Monitor(frozenset({"example.com"}), set(), [log])
    monkeypatch.setattr(log, "sth", lambda at: junk)
    assert monitor.poll(2 * HOUR) == []
    (finding,) = monitor.findings
    assert finding.kind == "bad STH" and "not a signed tree head" in finding.detail


# -- entries -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("position", "junk", "message"),
    [
        (1, None, "certificate is an x509.Certificate, not NoneType"),
        (1, b"DER", "certificate is an x509.Certificate, not bytes"),
        (2, "CA", "issuer is an x509.Certificate or None, not str"),
        (3, None, "log_public_key is an ECDSA or RSA public key, not NoneType"),
        (3, b"key", "log_public_key is an ECDSA or RSA public key, not bytes"),
        (
            3,
            ed25519.Ed25519PrivateKey.generate().public_key(),
            "log_public_key is an ECDSA or RSA public key, not Ed25519PublicKey",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_verify_sct_names_a_trusted_argument_of_the_wrong_type(
    small_pki: SmallPKI, log: CTLog, tls_sct: SCT, position: int, junk: object, message: str
) -> None:
    """The SCT is data (False); the certificate, issuer and log key are the caller's."""
    args: list[object] = [tls_sct, small_pki.chain.leaf, None, log.public_key]
    args[position] = junk
    with pytest.raises(CTError, match=re.escape(f"verify_sct: {message}")):
        verify_sct(*args)  # type: ignore[arg-type]
    args[0] = None  # the SCT is checked only once the caller's arguments are right
    with pytest.raises(CTError, match=re.escape(message)):
        verify_sct(*args)  # type: ignore[arg-type]


def test_verify_sct_is_false_for_a_precert_sct_without_its_issuer(
    small_pki: SmallPKI, log: CTLog, tls_sct: SCT
) -> None:
    precert = dataclasses.replace(tls_sct, entry_type=PRECERT)
    assert verify_sct(precert, small_pki.chain.leaf, None, log.public_key) is False
    assert verify_sct(None, small_pki.chain.leaf, None, log.public_key) is False  # type: ignore[arg-type]


def _other_certificate(small_pki: SmallPKI) -> x509.Certificate:
    return small_pki.inter.issue(
        "owner", ["www.example.com"], derive_key(0, "owner").public_key(), at=0
    ).leaf


BAD_ENTRIES: list[tuple[Callable[[LogEntry, SmallPKI], object], str]] = [
    (lambda e, pki: object(), "entry 0: a object, not a log entry"),
    (lambda e, pki: dataclasses.replace(e, leaf="text"), "a Merkle tree leaf is bytes, not str"),
    (lambda e, pki: dataclasses.replace(e, leaf=b"junk"), "version 106, leaf type 117"),
    (lambda e, pki: dataclasses.replace(e, leaf=e.leaf[:9]), "the timestamp needs 8 bytes"),
    (lambda e, pki: dataclasses.replace(e, leaf=e.leaf + b"\x00"), "1 byte after the extensions"),
    (
        lambda e, pki: dataclasses.replace(e, leaf=b"\x01" + e.leaf[1:]),
        "version 1, leaf type 0 at offset 0",
    ),
    (
        lambda e, pki: dataclasses.replace(e, leaf=e.leaf[:10] + b"\x00\x07" + e.leaf[12:]),
        "entry type 7 at offset 10",
    ),
    (lambda e, pki: dataclasses.replace(e, certificate=b"DER"), "the certificate is a bytes"),
    (lambda e, pki: dataclasses.replace(e, issuer="CA"), "the issuer is a str"),
    (
        lambda e, pki: dataclasses.replace(e, issuer=None),
        "makes no PRE_CERTIFICATE entry: a precert_entry needs the issuer certificate",
    ),
    (lambda e, pki: dataclasses.replace(e, entry_type=1), "the entry type is a int"),
    (
        lambda e, pki: dataclasses.replace(e, submitted_at=float("nan")),
        "the submission time is not a finite number",
    ),
    (
        lambda e, pki: dataclasses.replace(e, submitted_at=10**400),  # issue 17: OverflowError
        "the submission time is not a finite number",
    ),
    (
        lambda e, pki: dataclasses.replace(e, submitted_at=-float("inf")),
        "the submission time is not a finite number",
    ),
    # The leaf is genuine (the tree adds up); the certificate served with it is not.
    (
        lambda e, pki: dataclasses.replace(e, certificate=_other_certificate(pki)),
        "makes no PRE_CERTIFICATE entry: Could not find pre-certificate SCT list extension",
    ),
    (
        lambda e, pki: dataclasses.replace(
            e, certificate=_one_entry_log(pki, "www").submissions[0].certificate
        ),
        "the leaf does not hold the certificate served with it",
    ),
    (
        lambda e, pki: dataclasses.replace(e, issuer=pki.root.certificate),
        "the leaf does not hold the certificate served with it",
    ),
    (
        lambda e, pki: dataclasses.replace(e, entry_type=X509),
        "the leaf does not hold the certificate served with it",
    ),
]


@pytest.mark.parametrize(("mangle", "detail"), BAD_ENTRIES, ids=[d for _, d in BAD_ENTRIES])
def test_the_monitor_turns_a_junk_entry_into_a_finding(
    small_pki: SmallPKI,
    monkeypatch: pytest.MonkeyPatch,
    mangle: Callable[[LogEntry, SmallPKI], object],
    detail: str,
) -> None:
    log = _one_entry_log(small_pki)
    monitor = Monitor(frozenset({"example.com"}), set(), [log])
    genuine = log.entries
    monkeypatch.setattr(
        log, "entries", lambda start, end: [mangle(e, small_pki) for e in genuine(start, end)]
    )
    assert monitor.poll(2 * HOUR) == []
    (finding,) = monitor.findings
    assert finding.kind == "bad entry" and detail in finding.detail
    assert monitor.poll(3 * HOUR) == []


@pytest.mark.parametrize(
    ("served", "detail"),
    [
        (None, "get-entries gave a NoneType, not a list of entries"),
        ([], "get-entries gave 0 entries for 0..0"),
        ("entries", "get-entries gave a str, not a list of entries"),
    ],
    ids=repr,
)
def test_the_monitor_turns_a_wrong_entry_list_into_a_finding(
    small_pki: SmallPKI, monkeypatch: pytest.MonkeyPatch, served: object, detail: str
) -> None:
    log = _one_entry_log(small_pki)
    monitor = Monitor(frozenset({"example.com"}), set(), [log])
    monkeypatch.setattr(log, "entries", lambda start, end: served)
    assert monitor.poll(2 * HOUR) == []
    assert [(f.kind, f.detail) for f in monitor.findings] == [("bad entry", detail)]


def test_a_log_cannot_hide_a_rogue_certificate_behind_the_owners(
    small_pki: SmallPKI, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The log merged the rogue precertificate and signed the tree; it then serves the
    # owner's certificate with the rogue's leaf. Trusting the certificate, a monitor would
    # see the owner's key and stay quiet; reading the leaf, it does not.
    log = _one_entry_log(small_pki, "www")
    owner = _other_certificate(small_pki)
    monitor = Monitor(frozenset({"example.com"}), {spki_pin(owner)}, [log])
    genuine = log.entries
    monkeypatch.setattr(
        log,
        "entries",
        lambda start, end: [
            dataclasses.replace(e, certificate=owner, entry_type=X509, issuer=None)
            for e in genuine(start, end)
        ],
    )
    assert monitor.poll(2 * HOUR) == []
    assert [f.kind for f in monitor.findings] == ["bad entry"]
    honest = Monitor(frozenset({"example.com"}), {spki_pin(owner)}, [_one_entry_log(small_pki)])
    assert len(honest.poll(2 * HOUR)) == 1  # the same log, honest: the rogue key alerts


def test_the_monitor_reads_the_names_from_the_certificate_not_the_log(
    small_pki: SmallPKI, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _one_entry_log(small_pki)
    monitor = Monitor(frozenset({"example.com"}), set(), [log])
    genuine = log.entries
    monkeypatch.setattr(
        log,
        "entries",
        lambda start, end: [dataclasses.replace(e, names=(7,)) for e in genuine(start, end)],
    )
    (alert,) = monitor.poll(2 * HOUR)
    assert alert.names == ("rogue.example.com",) and monitor.findings == []


# -- the auditor --------------------------------------------------------------------------------


def _auditor_with_pending(small_pki: SmallPKI) -> tuple[CTLog, Auditor]:
    log = _one_entry_log(small_pki)
    auditor = Auditor([log])
    entry = log.submissions[0]
    auditor.remember(entry.sct, entry.leaf, seen_at=0)
    auditor.remember(entry.sct, entry.leaf, seen_at=0)
    return log, auditor


def test_the_auditor_refuses_to_remember_an_sct_out_of_range(small_pki: SmallPKI) -> None:
    log, auditor = _auditor_with_pending(small_pki)
    entry = log.submissions[0]
    with pytest.raises(CTError, match="timestamp"):
        auditor.remember(dataclasses.replace(entry.sct, timestamp_ms=2**63), entry.leaf, 0)
    with pytest.raises(CTError, match="not str"):
        auditor.remember(entry.sct, "leaf", 0)  # type: ignore[arg-type]


def test_a_bad_tree_head_is_one_finding_and_the_audit_waits_for_a_good_one(
    small_pki: SmallPKI, monkeypatch: pytest.MonkeyPatch
) -> None:
    log, auditor = _auditor_with_pending(small_pki)
    genuine = log.sth
    monkeypatch.setattr(log, "sth", lambda at: dataclasses.replace(genuine(at), tree_size=-1))
    (finding,) = auditor.audit(DAY)
    assert (finding.kind, finding.detail) == ("bad STH", "tree_size -1 is not a uint64")
    monkeypatch.setattr(log, "sth", genuine)
    assert auditor.audit(DAY + 1) == []  # both SCTs audited against the good tree head


@pytest.mark.parametrize(
    "proof",
    [None, 5, (), (0,), ("0", []), (0, None), (0, ["x"]), (0, [bytes(31)]), (0, [], 1)],
    ids=repr,
)
def test_an_inclusion_proof_of_the_wrong_shape_is_a_finding(
    small_pki: SmallPKI, monkeypatch: pytest.MonkeyPatch, proof: object
) -> None:
    log, auditor = _auditor_with_pending(small_pki)
    monkeypatch.setattr(log, "inclusion_proof_by_hash", lambda leaf_hash, size: proof)
    assert [f.kind for f in auditor.audit(DAY)] == ["unmerged", "unmerged"]


def test_gossip_flags_a_malformed_head_and_one_the_log_cannot_prove(small_pki: SmallPKI) -> None:
    log = _one_entry_log(small_pki)
    auditor = Auditor([log])
    good = log.sth(HOUR)
    rootless = dataclasses.replace(good, root_hash=None)  # type: ignore[arg-type]
    finding = auditor.compare(log, good, rootless, at=HOUR)
    assert finding is not None and finding.kind == "bad STH"
    # Validly signed, by the log, for a tree it does not have: no proof joins the two.
    ts, size, root = good.timestamp_ms, 2**40, bytes(32)
    signature = sign(log._key, sth_signature_input(ts, size, root))
    claimed = dataclasses.replace(good, tree_size=size, root_hash=root, signature=signature)
    finding = auditor.compare(log, good, claimed, at=HOUR)
    assert finding is not None and finding.kind == "split view"
    assert "the log gives no proof: tree size 1099511627776 out of range 0..1" in finding.detail
    assert auditor.compare(log, good, log.sth(2 * HOUR), at=HOUR) is None


# -- Merkle proofs are data: wrong shapes are False ------------------------------------------------

_ROOT = bytes(32)


@pytest.mark.parametrize(
    "args",
    [
        ("leaf", 0, 1, [], _ROOT),
        (b"leaf", "0", 1, [], _ROOT),
        (b"leaf", 0, 1.0, [], _ROOT),
        (b"leaf", 0, 2, None, _ROOT),
        (b"leaf", 0, 2, [b"short"], _ROOT),
        (b"leaf", 0, 2, ["x" * 32], _ROOT),
        (b"leaf", 0, 2, [7], _ROOT),
        (b"leaf", 0, 2**5000, [_ROOT] * 3, _ROOT),
        (b"leaf", -1, 2, [_ROOT], _ROOT),
    ],
    ids=repr,
)
def test_verify_inclusion_is_false_for_arguments_of_the_wrong_shape(
    args: tuple[object, ...],
) -> None:
    assert verify_inclusion(*args) is False  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "args",
    [
        ("1", 2, _ROOT, _ROOT, [_ROOT]),
        (1, 2, None, _ROOT, [_ROOT]),
        (1, 2, _ROOT, "root", [_ROOT]),
        (1, 2, _ROOT, _ROOT, [b""]),
        (1, 2, _ROOT, _ROOT, {"a": 1}),
        (2, 1, _ROOT, _ROOT, []),
        (1, 2**5000, _ROOT, _ROOT, [_ROOT] * 3),
    ],
    ids=repr,
)
def test_verify_consistency_is_false_for_arguments_of_the_wrong_shape(
    args: tuple[object, ...],
) -> None:
    assert verify_consistency(*args) is False  # type: ignore[arg-type]


def test_a_tree_size_out_of_range_is_a_ct_error() -> None:
    tree = MerkleTree()
    tree.append(b"a")
    for call in (lambda: tree.root(2), lambda: tree.inclusion_proof(1, 1)):
        with pytest.raises(CTError, match="out of range"):
            call()
    with pytest.raises(CTError, match="has no view 'elsewhere'"):
        CTLog("argon", "Google").sth(0, view="elsewhere")


def _three_leaves() -> MerkleTree:
    tree = MerkleTree()
    for leaf in (b"a", b"b", b"c"):
        tree.append(leaf)
    return tree


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda t: t.root(2.0), "size is an int, not float 2.0"),
        (lambda t: t.root("3"), "size is an int, not str '3'"),
        (lambda t: t.root(True), "size is an int, not bool True"),
        (lambda t: t.inclusion_proof("0", 3), "index is an int, not str '0'"),
        (lambda t: t.inclusion_proof(0, None), "size is an int, not NoneType None"),
        (lambda t: t.consistency_proof(1.5, 3), "size1 is an int, not float 1.5"),
        (lambda t: t.consistency_proof(1, b"3"), "size2 is an int, not bytes b'3'"),
        (lambda t: t.append(None), "leaf is bytes, not NoneType"),
        (lambda t: t.append("c"), "leaf is bytes, not str"),
        (lambda t: t.append_hash(None), "digest is a 32-byte SHA-256 leaf hash, not NoneType"),
        (lambda t: t.append_hash(b"short"), "digest is a 32-byte SHA-256 leaf hash, not 5 bytes"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_a_merkle_argument_of_the_wrong_type_is_named(
    call: Callable[[MerkleTree], object], message: str
) -> None:
    tree = _three_leaves()
    with pytest.raises(CTError, match=re.escape(f"MerkleTree: {message}")):
        call(tree)
    assert tree.size == 3 and tree.root() == _three_leaves().root()  # nothing half-added


def test_a_merkle_tree_takes_numpy_integers_and_bytes_like_leaves() -> None:
    np = pytest.importorskip("numpy")
    tree, plain = _three_leaves(), _three_leaves()
    assert tree.root(np.int64(2)) == plain.root(2)
    assert tree.inclusion_proof(np.uint8(0), np.int32(3)) == plain.inclusion_proof(0, 3)
    assert tree.consistency_proof(np.int16(1), np.int64(3)) == plain.consistency_proof(1, 3)
    tree.append(bytearray(b"d"))
    tree.append(memoryview(b"e"))
    plain.append(b"d")
    plain.append(b"e")
    assert tree.root() == plain.root()
    with pytest.raises(CTError, match="size is an int, not bool"):
        tree.root(np.bool_(True))


# -- get-sth answers ------------------------------------------------------------------------------


def _sth_json(**change: object) -> dict[str, object]:
    data = CTLog("argon", "Google").sth(0).to_json()
    data.update(change)
    return {k: v for k, v in data.items() if v is not _DROP}


_DROP = object()
_B64_SIG = base64.b64encode(struct.pack(">BBH", 4, 3, 2) + b"\x30\x00").decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "a get-sth answer is a JSON object, not a list"),
        (
            _sth_json(tree_size=_DROP),
            "tree_size must be a JSON integer from 0 to 2**64 - 1, got NoneType",
        ),
        (_sth_json(tree_size=-1), "tree_size must be a JSON integer from 0 to 2**64 - 1, got -1"),
        (_sth_json(tree_size="5"), "got str"),
        (_sth_json(tree_size=5.0), "got float"),
        (_sth_json(tree_size=True), "got bool"),
        (_sth_json(timestamp=2**64), "timestamp must be a JSON integer"),
        (_sth_json(timestamp=10**5000), "got int"),
        (_sth_json(sha256_root_hash=5), "sha256_root_hash must be a base64 string, got int"),
        (_sth_json(sha256_root_hash="%%%"), "sha256_root_hash is not valid base64"),
        (_sth_json(sha256_root_hash="AAAA"), "sha256_root_hash is 3 bytes, not 32"),
        (
            _sth_json(tree_head_signature="AA=="),
            "the signature algorithm needs 1 byte at offset 1, 0 left",
        ),
        (
            _sth_json(tree_head_signature=base64.b64encode(b"\x04\x03\xff\xff\x30").decode()),
            "the signature at offset 2 says 65535 bytes, only 1 follow",
        ),
        (
            _sth_json(tree_head_signature=base64.b64encode(b"\x02\x03\x00\x01\x30").decode()),
            "uses hash 2 and signature 3",
        ),
        (
            _sth_json(tree_head_signature=base64.b64encode(b"\x04\x03\x00\x00").decode()),
            "an empty signature",
        ),
        (
            _sth_json(tree_head_signature=_B64_SIG + "AA=="),
            "1 byte after the signature at offset 6",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_a_malformed_get_sth_answer_is_a_ct_error(data: object, message: str) -> None:
    with pytest.raises(CTError, match=re.escape(message)):
        sth_from_json(data, bytes(32))  # type: ignore[arg-type]


def test_a_well_formed_get_sth_answer_still_parses() -> None:
    log = CTLog("argon", "Google")
    assert sth_from_json(log.sth(0).to_json(), log.log_id) == log.sth(0)


# -- fuzz: a typed error or a result, never an exception, never a forged SCT accepted -------------


@functools.cache
def _fuzz_world() -> tuple[x509.Certificate, tuple[CTLog, ...], tuple[SCT, ...], CTLog]:
    """Built once for every example: a leaf, two logs with an x509_entry SCT each for it,
    and a third log holding one merged precertificate entry for a monitor to read."""
    owners = Owners({"example.com": "owner"})
    root = CertificateAuthority.root("Sim Root CA", domain_control=owners)
    inter = root.create_intermediate("Sim Issuing CA")
    chain = inter.issue("owner", ["example.com"], derive_key(0, "leaf").public_key(), at=0)
    logs = (CTLog("argon", "Google"), CTLog("nimbus", "Cloudflare"))
    scts = tuple(log.add_chain(chain, at=0) for log in logs)
    watched = CTLog("yeti", "DigiCert", merge_delay=HOUR)
    rogue_key = derive_key(0, "rogue").public_key()
    inter.issue(
        "owner", ["www.example.com"], rogue_key, at=0, precert_hook=precert_hook([watched], 0)
    )
    watched.sth(2 * HOUR)  # merged and signed, once
    return chain.leaf, logs, scts, watched


def _accepted(scts: list[SCT]) -> list[SCT]:
    leaf, logs, _, _ = _fuzz_world()
    return [s for s in scts for log in logs if verify_sct(s, leaf, None, log.public_key)]


@st.composite
def _mutated_lists(draw: st.DrawFn) -> bytes:
    """A valid two-SCT list with up to four edits: a byte changed, bytes inserted, a span
    deleted, or a 16-bit length field (at any offset) overwritten."""
    data = encode_sct_list(list(_fuzz_world()[2]))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(data) - 1))
        edit = draw(st.sampled_from(["byte", "insert", "delete", "length"]))
        if edit == "byte":
            data = data[:i] + bytes([draw(st.integers(0, 255))]) + data[i + 1 :]
        elif edit == "insert":
            data = data[:i] + draw(st.binary(min_size=1, max_size=8)) + data[i:]
        elif edit == "delete":
            data = data[:i] + data[i + draw(st.integers(1, 8)) :]
        else:
            data = data[:i] + struct.pack(">H", draw(st.integers(0, 2**16 - 1))) + data[i + 2 :]
    return data


def _decoded_or_refused(data: bytes) -> list[SCT]:
    try:
        return bounded(
            lambda: decode_sct_list(data, X509), seconds=2.0, megabytes=1 + 50 * len(data) / 2**20
        )
    except CTError:
        return []


@pytest.mark.fuzz
@given(data=st.binary(max_size=400))
def test_fuzz_any_bytes_decode_to_scts_or_a_ct_error(data: bytes) -> None:
    scts = _decoded_or_refused(data)
    if scts:  # every byte accounted for: the SCTs encode back to exactly the input
        assert encode_sct_list(scts) == data
    assert _accepted(scts) == []  # no random bytes carry a valid SCT


@pytest.mark.fuzz
@given(data=_mutated_lists())
def test_fuzz_a_mutated_sct_list_never_yields_a_forged_sct(data: bytes) -> None:
    genuine = _fuzz_world()[2]
    scts = _decoded_or_refused(data)
    if scts:
        assert encode_sct_list(scts) == data
    assert all(sct in genuine for sct in _accepted(scts))


_junk = st.one_of(
    st.integers(),
    st.sampled_from([-1, 2**63, 2**64, 10**30, 10**400]),
    st.binary(max_size=40),
    st.text(max_size=4),
    st.none(),
    st.floats(),
)


@pytest.mark.fuzz
@given(
    change=st.dictionaries(
        st.sampled_from(
            [
                "log_id",
                "timestamp_ms",
                "entry_type",
                "signature",
                "signature_algorithm",
                "extension_bytes",
                "hash_algorithm",
            ]
        ),
        _junk,
        min_size=1,
    ),
    which=st.integers(0, 1),
)
def test_fuzz_verify_sct_is_a_bool_and_false_for_any_changed_field(
    change: dict[str, object], which: int
) -> None:
    leaf, logs, scts, _ = _fuzz_world()
    sct = dataclasses.replace(scts[which], **change)  # type: ignore[arg-type]
    verdict = verify_sct(sct, leaf, None, logs[which].public_key)
    assert verdict is (sct == scts[which])


class _LyingLog:
    """A log that serves the tree head and entries a test hands it (what Monitor reads)."""

    def __init__(self, real: CTLog, head: object, entries: object) -> None:
        self.name, self.public_key = real.name, real.public_key
        self._head, self._entries = head, entries

    def sth(self, at: float) -> object:
        return self._head

    def entries(self, start: int, end: int) -> object:
        return self._entries


_SIGNED = ("log_id", "tree_size", "timestamp_ms", "root_hash", "signature")


@pytest.mark.fuzz
@given(
    change=st.dictionaries(st.sampled_from([*_SIGNED, "view"]), _junk, min_size=1),
)
def test_fuzz_the_monitor_finds_any_change_to_a_signed_tree_head(change: dict[str, object]) -> None:
    real = _fuzz_world()[3]
    genuine = real.sth(2 * HOUR)
    head = dataclasses.replace(genuine, **change)  # type: ignore[arg-type]
    monitor = Monitor(
        frozenset({"example.com"}), set(), [_LyingLog(real, head, real.entries(0, 1))]
    )
    alerts = monitor.poll(2 * HOUR)
    forged = any(
        type(v) is not type(getattr(genuine, k)) or v != getattr(genuine, k)
        for k, v in change.items()
        if k in _SIGNED
    )
    if forged:
        assert alerts == [] and [f.kind for f in monitor.findings] == ["bad STH"]
    else:  # only the view changed: one alert, or (a view that is no name) one finding
        assert len(alerts) + len(monitor.findings) == 1


@st.composite
def _junk_entries(draw: st.DrawFn) -> object:
    """The genuine entry list with its entry edited: a field replaced by junk, its leaf
    mutated, the entry replaced by junk, or the list cut, doubled or replaced."""
    entry = _fuzz_world()[3].entries(0, 1)[0]
    edit = draw(st.sampled_from(["field", "leaf", "entry", "list"]))
    if edit == "field":
        name = draw(
            st.sampled_from(["certificate", "issuer", "entry_type", "leaf", "submitted_at"])
        )
        return [dataclasses.replace(entry, **{name: draw(_junk)})]
    if edit == "leaf":
        i = draw(st.integers(0, len(entry.leaf) - 1))
        leaf = entry.leaf[:i] + draw(st.binary(max_size=3)) + entry.leaf[i + 1 :]
        return [dataclasses.replace(entry, leaf=leaf)]
    if edit == "entry":
        return [draw(_junk)]
    return draw(st.sampled_from([[], [entry, entry], None, (entry,), "entries"]))


@pytest.mark.fuzz
@given(served=_junk_entries())
def test_fuzz_the_monitor_never_raises_on_junk_entries(served: object) -> None:
    real = _fuzz_world()[3]
    genuine = real.entries(0, 1)
    monitor = Monitor(
        frozenset({"example.com"}), set(), [_LyingLog(real, real.sth(2 * HOUR), served)]
    )
    alerts = monitor.poll(2 * HOUR)
    if isinstance(served, list | tuple) and list(served) == genuine:
        assert len(alerts) == 1 and monitor.findings == []
    elif not (
        isinstance(served, list)
        and len(served) == 1
        and isinstance(served[0], LogEntry)
        and served[0].leaf == genuine[0].leaf
        and served[0].certificate == genuine[0].certificate
        and served[0].issuer == genuine[0].issuer
        and served[0].entry_type == genuine[0].entry_type
    ):
        assert alerts == [] and len(monitor.findings) == 1
