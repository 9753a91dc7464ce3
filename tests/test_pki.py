from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings
from hypothesis import strategies as st

from simlab.clock import DAY, DEFAULT_EPOCH
from simlab.errors import PKIError, SimlabError, ValidationRefused
from simlab.keys import derive_key
from simlab.pki import (
    AnchorOrigin,
    CertificateAuthority,
    FailureReason,
    RevocationMode,
    RevocationResponder,
    TrustStore,
    Validator,
    check_hostname,
    load_chain,
    load_pem_chain,
    self_signed,
    spki_pin,
)
from tests.conftest import SmallPKI, openssl_text, openssl_verify, require_tool

DATA = Path(__file__).parent / "data"


def test_issued_leaf_is_a_real_server_certificate(small_pki: SmallPKI) -> None:
    leaf = small_pki.chain.leaf
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["example.com", "*.example.com"]
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.SERVER_AUTH in eku
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = small_pki.inter.certificate.extensions.get_extension_for_class(
        x509.SubjectKeyIdentifier
    ).value
    assert aki.key_identifier == ski.digest
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc == dt.timedelta(days=90)


def test_validation_returns_leaf_first_chain_ending_at_public_anchor(small_pki: SmallPKI) -> None:
    result = Validator().validate(small_pki.chain, small_pki.store, "www.example.com", 3600.0)
    assert result.ok
    assert result.chain[0] == small_pki.chain.leaf
    assert result.chain[-1] == small_pki.root.certificate
    assert result.anchor_origin is AnchorOrigin.PUBLIC
    assert result.pins == {spki_pin(c) for c in result.chain}


@pytest.mark.parametrize(
    ("host", "at", "reason"),
    [
        ("example.com", 91 * DAY, FailureReason.EXPIRED),
        ("example.com", -1.0, FailureReason.NOT_YET_VALID),
        ("example.org", 10.0, FailureReason.NAME_MISMATCH),
        ("a.b.example.com", 10.0, FailureReason.NAME_MISMATCH),
    ],
)
def test_failures_name_the_step(
    small_pki: SmallPKI, host: str, at: float, reason: FailureReason
) -> None:
    result = Validator().validate(small_pki.chain, small_pki.store, host, at)
    assert not result.ok
    assert result.reason is reason
    assert result.chain == ()


def test_validity_boundaries_are_exact_to_the_second(small_pki: SmallPKI) -> None:
    validator = Validator()
    last_valid = 90 * DAY
    assert validator.validate(small_pki.chain, small_pki.store, "example.com", last_valid).ok
    after = validator.validate(small_pki.chain, small_pki.store, "example.com", last_valid + 1)
    assert after.reason is FailureReason.EXPIRED


def test_unknown_issuer_and_self_signed_server_cert_fail(small_pki: SmallPKI) -> None:
    other = CertificateAuthority.root("Other Root")
    validator = Validator()
    foreign = validator.validate(small_pki.chain, TrustStore([other.certificate]), "example.com", 0)
    assert foreign.reason is FailureReason.UNKNOWN_ISSUER
    mitm = self_signed("example.com", derive_key(0, "mitm"), ca=False)
    from simlab.pki import Chain

    assert validator.validate(Chain((mitm,)), small_pki.store, "example.com", 0).reason is (
        FailureReason.UNKNOWN_ISSUER
    )
    assert validator.validate(small_pki.chain, TrustStore(), "example.com", 0).reason is (
        FailureReason.UNKNOWN_ISSUER
    )


def test_user_installed_root_is_remembered_as_such(small_pki: SmallPKI) -> None:
    proxy = CertificateAuthority.root("Corporate Proxy CA", domain_control=small_pki.owners)
    rogue = proxy.compromise().issue(["example.com"], derive_key(0, "proxy").public_key(), at=0)
    store = small_pki.store.with_user_root(proxy.certificate)
    result = Validator().validate(rogue, store, "example.com", 10.0)
    assert result.ok
    assert result.anchor_origin is AnchorOrigin.USER
    # The original store is unchanged (stores are immutable).
    assert not Validator().validate(rogue, small_pki.store, "example.com", 10.0).ok


def test_the_memo_tells_a_public_root_from_the_same_root_installed_by_the_user(
    small_pki: SmallPKI,
) -> None:
    """Pins are bypassed for user-installed anchors, so the anchor's origin is part of the
    answer: one validator must not give a public store's answer to a user store."""
    public = small_pki.store
    user = TrustStore(user_roots=[small_pki.root.certificate])
    validator = Validator()
    assert validator.validate(small_pki.chain, public, "example.com", 10.0).anchor_origin is (
        AnchorOrigin.PUBLIC
    )
    assert validator.validate(small_pki.chain, user, "example.com", 10.0).anchor_origin is (
        AnchorOrigin.USER
    )


def test_domain_validation_refuses_a_requester_without_control(small_pki: SmallPKI) -> None:
    key = derive_key(0, "mallory").public_key()
    with pytest.raises(ValidationRefused, match="'mallory'.*domain validation failed"):
        small_pki.inter.issue("mallory", ["example.com"], key, at=0)
    small_pki.owners.controllers["example.com"] = "mallory"  # a registrar takeover
    chain = small_pki.inter.issue("mallory", ["example.com"], key, at=0)
    assert chain.leaf.public_key() == key


def test_compromised_ca_issues_without_validation_and_records_it(small_pki: SmallPKI) -> None:
    rogue = small_pki.inter.compromise().issue(
        ["*.google.com"], derive_key(0, "attacker").public_key(), at=0
    )
    assert Validator().validate(rogue, small_pki.store, "mail.google.com", 10).ok
    record = small_pki.inter.issued[-1]
    assert record.names == ("*.google.com",)
    assert record.validated is False


@pytest.mark.parametrize(
    "bad",
    ["", "exa mple.com", "-bad.com", "a..b", "x" * 64 + ".com", "*.com", "b\u00e4d.com"],
)
def test_bad_host_names_raise_simlab_errors_naming_them(bad: str) -> None:
    with pytest.raises(PKIError) as info:
        check_hostname(bad, wildcard=True)
    assert repr(bad) in str(info.value)
    assert isinstance(info.value, SimlabError)


@pytest.mark.parametrize(("bad", "said"), [(None, "a NoneType"), (b"example.com", "a bytes")])
def test_a_host_name_that_is_not_text_is_said_to_be_so(bad: object, said: str) -> None:
    with pytest.raises(PKIError, match=f"{said}, not text"):
        check_hostname(bad)  # type: ignore[arg-type]


def test_issuance_errors_name_the_bad_value(small_pki: SmallPKI) -> None:
    key = derive_key(0, "k").public_key()
    with pytest.raises(PKIError, match="inverted validity window"):
        small_pki.inter.issue("owner", ["example.com"], key, at=0, lifetime=-DAY)
    with pytest.raises(PKIError, match="bad host name 'bad_name.com'"):
        small_pki.inter.issue("owner", ["bad_name.com"], key, at=0)
    with pytest.raises(PKIError, match="is not valid at 2046"):
        small_pki.inter.issue("owner", ["example.com"], key, at=11_000 * DAY)
    with pytest.raises(PKIError, match="inverted validity window for 'Broken'"):
        self_signed("Broken", derive_key(0, "b"), not_before=10, not_after=5)


def test_revoked_intermediate_cannot_issue(small_pki: SmallPKI) -> None:
    small_pki.root.revoke(small_pki.inter.certificate.serial_number, at=5 * DAY)
    key = derive_key(0, "k").public_key()
    small_pki.inter.issue("owner", ["example.com"], key, at=DAY)
    with pytest.raises(PKIError, match="'Sim Issuing CA' has been revoked"):
        small_pki.inter.issue("owner", ["example.com"], key, at=6 * DAY)


def test_revocation_modes(small_pki: SmallPKI) -> None:
    responder = RevocationResponder([small_pki.root, small_pki.inter])
    validated = Validator().validate(small_pki.chain, small_pki.store, "example.com", 0).chain
    small_pki.inter.revoke(small_pki.chain.leaf.serial_number, at=DAY)
    soft, hard, off = RevocationMode.SOFT_FAIL, RevocationMode.HARD_FAIL, RevocationMode.NONE
    assert responder.check(validated, DAY - 1, soft) is None
    assert responder.check(validated, DAY, soft) is FailureReason.REVOKED
    assert responder.check(validated, DAY, off) is None
    # An attacker who blocks the responder wins against soft-fail, not against hard-fail.
    assert responder.check(validated, DAY, soft, reachable=False) is None
    assert responder.check(validated, DAY, hard, reachable=False) is (
        FailureReason.REVOCATION_UNAVAILABLE
    )
    assert responder.queries[small_pki.chain.leaf.serial_number] == 2


def test_revocation_times_of_a_chain_are_its_own_certificates_only(small_pki: SmallPKI) -> None:
    """The batched engine reuses a decision on a chain across another certificate's
    revocation: only the chain's own revocation times can change its answers."""
    responder = RevocationResponder([small_pki.root, small_pki.inter])
    key = derive_key(1, "other").public_key()
    other = small_pki.inter.issue("owner", ["example.com"], key, at=0.0)
    small_pki.inter.revoke(other.leaf.serial_number, at=2 * DAY)
    assert responder.revocation_times(other.certificates) == (2 * DAY,)
    assert responder.revocation_times(small_pki.chain.certificates) == ()
    small_pki.root.revoke(small_pki.inter.certificate.serial_number, at=3 * DAY)
    assert responder.revocation_times(small_pki.chain.certificates) == (3 * DAY,)
    assert responder.revocation_times(other.certificates) == (2 * DAY, 3 * DAY)


def test_revocations_at_one_time_are_told_apart(small_pki: SmallPKI) -> None:
    """Two revocations as of the same time are two changes of the responders' state (the
    batched engine's version reads :meth:`RevocationResponder.revocations`)."""
    responder = RevocationResponder([small_pki.root, small_pki.inter])
    key = derive_key(1, "other").public_key()
    other = small_pki.inter.issue("owner", ["example.com"], key, at=0.0)
    small_pki.inter.revoke(other.leaf.serial_number, at=2 * DAY)
    before = responder.revocations()
    small_pki.inter.revoke(small_pki.chain.leaf.serial_number, at=2 * DAY)
    after = responder.revocations()
    chains = [*other.certificates, *small_pki.chain.certificates]
    assert responder.revocation_times(chains) == (2 * DAY,)
    assert len(before) == 1 and len(after) == 2 and before[0] in after
    assert {serial for _, serial, _ in after} == {
        other.leaf.serial_number,
        small_pki.chain.leaf.serial_number,
    }


@pytest.mark.parametrize("load", [load_chain, load_pem_chain])
def test_either_reader_takes_text_and_any_bytes_and_refuses_the_rest(
    small_pki: SmallPKI, load: Any
) -> None:
    pem = small_pki.chain.pem()
    for data in (pem, pem.encode(), bytearray(pem.encode()), memoryview(pem.encode())):
        assert load(data, source="c.pem") == small_pki.chain
    with pytest.raises(PKIError, match="c.pem: a NoneType, not the bytes of a certificate file"):
        load(None, source="c.pem")
    with pytest.raises(PKIError, match="c.pem: text that no file holds"):
        load("\ud800", source="c.pem")  # a lone surrogate: no bytes decode to it


def test_unreadable_pem_names_its_source_the_block_and_what_is_wrong(small_pki: SmallPKI) -> None:
    good = small_pki.chain.pem().encode()
    begin, end = b"-----BEGIN CERTIFICATE-----\n", b"-----END CERTIFICATE-----\n"
    blocks, lines = good.count(begin), good.count(b"\n")
    after = f"certificate block {blocks + 1} (line {lines + 1})"  # after the good ones
    cases = {
        begin + b"not base64!\n" + end: "certificate block 1 (line 1) is not valid base64",
        good + begin + b"aGVsbG8=\n" + end: f"{after} does not hold an X.509 certificate",
        good.replace(end, b"", 1): "certificate block 1 (line 1) has no -----END CERTIFICATE",
        b"hello": "no -----BEGIN CERTIFICATE----- block",
    }
    for data, problem in cases.items():
        with pytest.raises(PKIError, match=re.escape(f"cert.pem: {problem}")):
            load_pem_chain(data, source="cert.pem")


@settings(max_examples=60, deadline=None)
@given(
    times=st.lists(st.integers(min_value=-400 * DAY, max_value=400 * DAY), min_size=1, max_size=30)
)
def test_memo_never_changes_an_answer(times: list[int]) -> None:
    owners = {"example.com": "owner"}

    class Oracle:
        def controls(self, requester: str, name: str, at: float) -> bool:
            return owners.get(name.removeprefix("www.")) == requester

    root = CertificateAuthority.root("Memo Root", domain_control=Oracle(), not_after=300 * DAY)
    inter = root.create_intermediate("Memo Inter", not_before=-10 * DAY, not_after=200 * DAY)
    chain = inter.issue("owner", ["example.com"], derive_key(0, "m").public_key(), at=5 * DAY)
    store = TrustStore([root.certificate])
    memo, fresh = Validator(), Validator(memoise=False)
    boundary_times = [5 * DAY - 1, 5 * DAY, 95 * DAY, 95 * DAY + 1, 200 * DAY + 1, 300 * DAY + 1]
    for at in [*times, *boundary_times]:
        for host in ("example.com", "www.example.com"):
            assert memo.validate(chain, store, host, at) == fresh.validate(chain, store, host, at)
    assert memo.hits > 0


def _write(path: object, data: bytes) -> None:
    Path(str(path)).write_bytes(data)


def _openssl_pin(pem: bytes) -> str:
    openssl = require_tool("openssl")
    pipeline = (
        f"{openssl} x509 -pubkey -noout | {openssl} pkey -pubin -outform der | "
        f"{openssl} dgst -sha256 -binary | base64"
    )
    out = subprocess.run(pipeline, shell=True, input=pem, capture_output=True, check=True)
    return out.stdout.decode().strip()


def test_spki_pin_matches_the_openssl_pipeline(small_pki: SmallPKI) -> None:
    leaf = small_pki.chain.leaf
    assert _openssl_pin(leaf.public_bytes(serialization.Encoding.PEM)) == spki_pin(leaf)


# Certificates made by openssl (tests/data/README.md), with the pins the openssl pipeline
# gave when they were made: keys encoded unusually (explicit curve parameters, RSA-PSS
# parameters), a curve cryptography cannot load, and a version 1 certificate (its
# TBSCertificate has no [0] version element).
UNUSUAL_KEYS = {
    "openssl-explicit-ec.pem": "bYGRIitsBLpJ5v0555YcCx12ysb67rRmm2mykHg+Lvw=",
    "openssl-rsa-pss.pem": "zD2VSXLNVpscGjZvGBgMPPUuF77RwDEy44r5yjOAexw=",
    "openssl-secp112r1.pem": "VWiPe4Rn9MVss2+6pIfPYZQYxWw2KnaubkQ2uG7LUT8=",
    "openssl-v1.pem": "al//lxXCQgViUIxw1NGC5N/ZoMpyv/5Y4xEPOg5pvGM=",
}


@pytest.mark.parametrize(("name", "pin"), UNUSUAL_KEYS.items())
def test_a_certificates_pin_hashes_its_spki_as_the_certificate_encodes_it(
    name: str, pin: str
) -> None:
    pem = (DATA / name).read_bytes()
    assert spki_pin(x509.load_pem_x509_certificate(pem)) == pin
    assert _openssl_pin(pem) == pin


def test_exported_chain_is_accepted_by_openssl(small_pki: SmallPKI, tmp_path: object) -> None:
    d = Path(str(tmp_path))
    pem = serialization.Encoding.PEM
    _write(d / "root.pem", small_pki.root.certificate.public_bytes(pem))
    _write(d / "inter.pem", small_pki.inter.certificate.public_bytes(pem))
    _write(d / "leaf.pem", small_pki.chain.leaf.public_bytes(pem))
    text = openssl_text((d / "leaf.pem").read_bytes())
    assert "DNS:example.com, DNS:*.example.com" in text
    assert "TLS Web Server Authentication" in text
    # Simulated time starts in 2016: openssl must be told the moment to verify at.
    attime = str(int((DEFAULT_EPOCH + dt.timedelta(days=1)).timestamp()))
    ok = openssl_verify(attime, d / "root.pem", d / "inter.pem", d / "leaf.pem")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.strip().endswith(": OK")
    other = CertificateAuthority.root("Other Root")
    _write(d / "other.pem", other.certificate.public_bytes(pem))
    refused = openssl_verify(attime, d / "other.pem", d / "inter.pem", d / "leaf.pem")
    assert refused.returncode != 0
