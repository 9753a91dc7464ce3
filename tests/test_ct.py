"""SCTs, logs, monitors, auditors and client CT policy on real artefacts."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from simlab.clock import DAY, HOUR
from simlab.ct import (
    POLICIES,
    Auditor,
    CTLog,
    KnownLog,
    Monitor,
    decode_sct_list,
    embedded_scts,
    encode_sct_list,
    precert_hook,
    verify_sct,
)
from simlab.ct.log import PUBLIC_VIEW, SignedTreeHead, proves_consistency, proves_inclusion
from simlab.ct.policy import CTFailure, CTPolicy, CTVerdict
from simlab.ct.sct import log_id_of, precert_tbs
from simlab.keys import derive_key
from simlab.pki import (
    CT_POISON_OID,
    AnchorOrigin,
    CertificateAuthority,
    Chain,
    spki_pin,
)
from simlab.runner import run
from tests.conftest import Owners, SmallPKI, openssl_text, with_sct_list

DATA = Path(__file__).parent / "data"


@pytest.fixture
def logs() -> list[CTLog]:
    return [CTLog("argon", "Google"), CTLog("nimbus", "Cloudflare"), CTLog("yeti", "DigiCert")]


def _known(logs: list[CTLog]) -> dict[bytes, KnownLog]:
    return {log.log_id: KnownLog(log.public_key, log.operator, log.name) for log in logs}


def _issue(
    small_pki: SmallPKI, logs: list[CTLog], at: float = 0.0, label: str = "s"
) -> x509.Certificate:
    key = derive_key(0, label).public_key()
    chain = small_pki.inter.issue(
        "owner", ["example.com"], key, at=at, precert_hook=precert_hook(logs, at)
    )
    return chain.leaf


def test_precert_flow_embeds_scts_that_verify(small_pki: SmallPKI, logs: list[CTLog]) -> None:
    leaf = _issue(small_pki, logs)
    scts = embedded_scts(leaf)
    assert [s.log_id for s in scts] == [log.log_id for log in logs]
    issuer = small_pki.inter.certificate
    assert all(
        verify_sct(s, leaf, issuer, log.public_key) for s, log in zip(scts, logs, strict=True)
    )
    # The log saw a poisoned precertificate whose TBS, minus the poison, is the final TBS.
    precert = logs[0].submissions[0].certificate
    assert precert.extensions.get_extension_for_oid(CT_POISON_OID).critical
    assert precert_tbs(precert) == leaf.tbs_precertificate_bytes


def test_openssl_prints_the_embedded_scts(small_pki: SmallPKI, logs: list[CTLog]) -> None:
    text = openssl_text(_issue(small_pki, logs).public_bytes(serialization.Encoding.PEM))
    assert "CT Precertificate SCTs" in text
    assert text.count("Signed Certificate Timestamp:") == 3


def test_tampered_unknown_and_misdirected_scts_fail(small_pki: SmallPKI, logs: list[CTLog]) -> None:
    leaf = _issue(small_pki, logs)
    other = _issue(small_pki, logs, label="other")
    sct = embedded_scts(leaf)[0]
    issuer = small_pki.inter.certificate
    key = logs[0].public_key
    assert verify_sct(sct, leaf, issuer, key)
    assert not verify_sct(sct, leaf, issuer, logs[1].public_key)  # another log's key
    assert not verify_sct(sct, leaf, issuer, CTLog("rogue", "Nobody").public_key)
    assert not verify_sct(sct, other, issuer, key)  # an SCT for a different certificate
    assert not verify_sct(sct, leaf, small_pki.root.certificate, key)  # wrong issuer key hash
    assert not verify_sct(sct, leaf, None, key)
    ours = logs[0].submissions[0].sct
    flipped = bytearray(ours.signature)
    flipped[-1] ^= 1
    assert not verify_sct(dataclasses.replace(ours, signature=bytes(flipped)), leaf, issuer, key)
    assert not verify_sct(
        dataclasses.replace(ours, timestamp_ms=ours.timestamp_ms + 1), leaf, issuer, key
    )


def test_a_precertificate_whose_tbs_differs_does_not_verify(
    small_pki: SmallPKI, logs: list[CTLog]
) -> None:
    # The CA logs one precertificate, then embeds the same SCTs in a final certificate
    # for another key: the signature covers the TBS, so the SCTs do not transfer.
    _issue(small_pki, logs[:1], label="logged")
    sct_list = encode_sct_list([logs[0].submissions[0].sct])
    final = with_sct_list(small_pki, sct_list, label="swapped")
    (sct,) = embedded_scts(final)
    assert sct.log_id == logs[0].log_id
    assert not verify_sct(sct, final, small_pki.inter.certificate, logs[0].public_key)


def test_x509_entry_sct_delivered_in_tls_verifies(small_pki: SmallPKI, logs: list[CTLog]) -> None:
    sct = logs[1].add_chain(small_pki.chain, at=0)
    decoded = decode_sct_list(encode_sct_list([sct]), sct.entry_type)
    assert decoded == [sct]
    assert verify_sct(sct, small_pki.chain.leaf, None, logs[1].public_key)
    assert sct.to_json()["sct_version"] == 0


def test_accepts_a_real_world_sct_from_another_ca_and_log() -> None:
    leaf = x509.load_pem_x509_certificate((DATA / "sigstore-staging-leaf.pem").read_bytes())
    issuer = x509.load_pem_x509_certificate(
        (DATA / "sigstore-staging-intermediate.pem").read_bytes()
    )
    key = serialization.load_pem_public_key(
        (DATA / "sigstore-staging-ctfe-2022-2.pub.pem").read_bytes()
    )
    (sct,) = embedded_scts(leaf)
    assert verify_sct(sct, leaf, issuer, key)  # type: ignore[arg-type]
    assert not verify_sct(sct, leaf, leaf, key)  # type: ignore[arg-type]


def test_accepts_real_web_pki_scts_from_two_production_logs() -> None:
    leaf = x509.load_pem_x509_certificate((DATA / "cryptography-io-2018-leaf.pem").read_bytes())
    issuer = x509.load_pem_x509_certificate((DATA / "lets-encrypt-authority-x3.pem").read_bytes())
    icarus = serialization.load_pem_public_key((DATA / "ct-google-icarus.pub.pem").read_bytes())
    mammoth = serialization.load_pem_public_key((DATA / "ct-comodo-mammoth.pub.pem").read_bytes())
    first, second = embedded_scts(leaf)
    assert verify_sct(first, leaf, issuer, icarus)  # type: ignore[arg-type]
    assert verify_sct(second, leaf, issuer, mammoth)  # type: ignore[arg-type]
    assert not verify_sct(first, leaf, issuer, mammoth)  # type: ignore[arg-type]
    assert not verify_sct(second, leaf, leaf, mammoth)  # type: ignore[arg-type]
    known = {
        log_id_of(icarus): KnownLog(icarus, "Google", "icarus"),  # type: ignore[arg-type]
        log_id_of(mammoth): KnownLog(mammoth, "Comodo", "mammoth"),  # type: ignore[arg-type]
    }
    verdict = POLICIES["chrome-2022"].evaluate(
        leaf, issuer, known, anchor_origin=AnchorOrigin.PUBLIC
    )
    assert verdict.ok and (verdict.valid_scts, verdict.operators) == (2, 2)
    one_log = {k: v for k, v in known.items() if v.operator == "Google"}
    assert (
        not POLICIES["chrome-2022"]
        .evaluate(leaf, issuer, one_log, anchor_origin=AnchorOrigin.PUBLIC)
        .ok
    )


# -- logs ---------------------------------------------------------------------------------


def test_entries_merge_within_the_mmd_with_real_sth_and_proofs(small_pki: SmallPKI) -> None:
    log = CTLog("argon", "Google", mmd=DAY, merge_delay=2 * HOUR)
    leaf = _issue(small_pki, [log], at=0)
    before = log.sth(2 * HOUR - 1)
    assert before.tree_size == 0 and before.verify(log.public_key)
    after = log.sth(2 * HOUR)
    assert after.tree_size == 1 and after.verify(log.public_key)
    entry = log.submissions[0]
    found = log.inclusion_proof_by_hash(entry.leaf_hash, after.tree_size)
    assert found is not None and proves_inclusion(entry, *found, after)
    assert entry.names == ("example.com",)
    _issue(small_pki, [log], at=HOUR, label="second")
    later = log.sth(DAY)
    assert proves_consistency(after, later, log.consistency_proof(1, later.tree_size))
    forged = dataclasses.replace(later, tree_size=later.tree_size + 1)
    assert not forged.verify(log.public_key)
    assert leaf.serial_number


def test_a_log_signs_a_new_sth_when_its_tree_grows_or_its_latest_is_an_mmd_old(
    small_pki: SmallPKI,
) -> None:
    log = CTLog("argon", "Google", mmd=DAY, merge_delay=2 * HOUR)
    first = log.sth(0)
    assert log.sth(HOUR) is first  # nothing merged: the latest STH is served again
    _issue(small_pki, [log], at=HOUR)
    grown = log.sth(3 * HOUR)
    assert grown.tree_size == 1 and grown.timestamp_ms == first.timestamp_ms + 3 * HOUR * 1000
    assert log.sth(3 * HOUR + DAY - 1) is grown
    fresh = log.sth(3 * HOUR + DAY)  # RFC 6962 3.5: never older than the MMD
    assert fresh.tree_size == 1 and fresh.timestamp_ms == grown.timestamp_ms + DAY * 1000
    assert fresh.root_hash == grown.root_hash and fresh.verify(log.public_key)


def test_a_log_that_never_merges_is_caught_by_the_auditor_after_the_mmd(
    small_pki: SmallPKI,
) -> None:
    honest, broken = CTLog("honest", "A", mmd=DAY), CTLog("broken", "B", mmd=DAY)
    _issue(small_pki, [honest, broken])
    auditor = Auditor([honest, broken])
    for log in (honest, broken):
        entry = log.submissions[0]
        auditor.remember(entry.sct, entry.leaf, seen_at=0)
    broken.withhold(broken.submissions[0].sct)
    assert auditor.audit(DAY - 1) == []
    findings = auditor.audit(DAY)
    assert [(f.log, f.kind) for f in findings] == [("broken", "unmerged")]


def test_a_split_view_is_exposed_by_a_consistency_check(small_pki: SmallPKI) -> None:
    log = CTLog("twofaced", "Evil", merge_delay=HOUR)
    _issue(small_pki, [log], at=0, label="benign")
    log.merge(HOUR)
    _issue(small_pki, [log], at=2 * HOUR, label="rogue")
    log.show_only_to(log.submissions[-1].sct, "victim")
    _issue(small_pki, [log], at=3 * HOUR, label="later")
    victim = log.sth(5 * HOUR, view="victim")
    public = log.sth(5 * HOUR)
    assert victim.verify(log.public_key) and public.verify(log.public_key)
    assert victim.tree_size == 3 and public.tree_size == 2
    auditor = Auditor([log])
    early = log.sth(HOUR)
    assert auditor.compare(log, early, public, at=5 * HOUR) is None
    finding = auditor.compare(log, victim, public, at=5 * HOUR)
    assert finding is not None and finding.kind == "split view"


# -- monitors -------------------------------------------------------------------------------


def test_monitor_alerts_on_an_unexpected_key_after_merge_and_poll(small_pki: SmallPKI) -> None:
    log = CTLog("argon", "Google", merge_delay=3 * HOUR)
    owner_key = derive_key(0, "owner-key")
    monitor = Monitor(
        frozenset({"example.com"}), {spki_pin(owner_key.public_key())}, [log], poll_interval=HOUR
    )
    small_pki.inter.issue(
        "owner",
        ["www.example.com"],
        owner_key.public_key(),
        at=0,
        precert_hook=precert_hook([log], 0),
    )
    rogue = small_pki.inter.compromise().issue(
        ["*.example.com"],
        derive_key(0, "attacker").public_key(),
        at=HOUR,
        precert_hook=precert_hook([log], HOUR),
    )
    small_pki.inter.issue("owner", ["example.com"], owner_key.public_key(), at=HOUR)  # unlogged
    assert monitor.poll(3 * HOUR) == []  # the owner's own certificate; the rogue is not merged
    alerts = monitor.poll(4 * HOUR)
    assert len(alerts) == 1
    assert alerts[0].names == ("*.example.com",)
    assert alerts[0].detection_delay == 3 * HOUR
    assert spki_pin(alerts[0].certificate) == spki_pin(rogue.leaf)
    assert monitor.poll(5 * HOUR) == []  # nothing new


def test_monitor_alerts_on_a_key_it_cannot_load() -> None:
    """A logged certificate for a watched name whose key is on a curve cryptography cannot
    load (secp112r1, made by openssl) is still pinned, from its SPKI bytes, and alerted."""
    log = CTLog("argon", "Google", merge_delay=HOUR)
    monitor = Monitor(frozenset({"example.com"}), set(), [log], poll_interval=HOUR)
    pem = (Path(__file__).parent / "data" / "openssl-secp112r1.pem").read_bytes()
    log.add_chain(Chain((x509.load_pem_x509_certificate(pem),)), at=0)
    (alert,) = monitor.poll(HOUR)
    assert alert.names == ("www.example.com",)


def test_monitor_refuses_a_forged_sth_and_stops_reading_that_log(
    small_pki: SmallPKI, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = CTLog("argon", "Google", merge_delay=HOUR)
    monitor = Monitor(frozenset({"example.com"}), set(), [log])
    _issue(small_pki, [log], at=0)
    genuine = log.sth
    monkeypatch.setattr(
        log, "sth", lambda at: dataclasses.replace(genuine(at), root_hash=bytes(32))
    )
    assert monitor.poll(2 * HOUR) == []  # the entry is not believed
    assert [(f.log, f.kind) for f in monitor.findings] == [("argon", "bad STH")]
    monkeypatch.setattr(log, "sth", genuine)
    assert monitor.poll(3 * HOUR) == []  # a log caught once is not read again


def test_monitor_catches_a_log_that_rewrites_its_history(small_pki: SmallPKI) -> None:
    # Two instances of one log (same name, same key) with different first entries: each
    # STH is validly signed, but the second history does not extend the first.
    first, rewritten = (CTLog("argon", "Google", merge_delay=HOUR) for _ in range(2))
    _issue(small_pki, [first], at=0, label="owner")
    _issue(small_pki, [rewritten], at=0, label="rogue")
    monitor = Monitor(frozenset({"example.com"}), set(), [first])
    assert len(monitor.poll(2 * HOUR)) == 1
    _issue(small_pki, [rewritten], at=2 * HOUR, label="later")
    monitor.logs = [rewritten]
    assert monitor.poll(4 * HOUR) == []
    (finding,) = monitor.findings
    assert (
        finding.kind == "inconsistent tree" and "do not hash to the signed root" in finding.detail
    )


# -- client policy -----------------------------------------------------------------------------


class _Issuer:
    """A CA and CT logs whose clocks start at ``epoch``: certificates of a policy's era."""

    def __init__(self, epoch: dt.datetime) -> None:
        root = CertificateAuthority.root(
            "Era Root", domain_control=Owners({"example.com": "owner"}), epoch=epoch
        )
        self.inter = root.create_intermediate("Era CA")
        self.epoch = epoch
        self.logs = {
            name: CTLog(name, operator, epoch=epoch)
            for name, operator in [
                ("argon", "Google"),
                ("xenon", "Google"),
                ("icarus", "Google"),
                ("nimbus", "Cloudflare"),
                ("yeti", "DigiCert"),
                ("nessie", "DigiCert"),
                ("stranger", "Nobody"),  # not in the clients' log list
            ]
        }
        self.known = _known([log for name, log in self.logs.items() if name != "stranger"])
        self.issuer = self.inter.certificate

    def chain(self, embedded: str = "", *, days: float = 90, label: str = "leaf") -> Chain:
        """A chain whose leaf embeds SCTs from the logs named (space-separated)."""
        logs = [self.logs[name] for name in embedded.split()]
        key = derive_key(0, label).public_key()
        hook = precert_hook(logs, 0.0) if logs else None
        return self.inter.issue(
            "owner", ["example.com"], key, at=0.0, lifetime=days * DAY, precert_hook=hook
        )

    def verdict(
        self, policy: str, embedded: str = "", tls: str = "", *, days: float = 90
    ) -> CTVerdict:
        chain = self.chain(embedded, days=days, label=f"{embedded}/{days}")
        delivered = [self.logs[name].add_chain(chain, at=0.0) for name in tls.split()]
        return POLICIES[policy].evaluate(
            chain.leaf,
            self.issuer,
            self.known,
            anchor_origin=AnchorOrigin.PUBLIC,
            tls_scts=delivered,
        )


@pytest.fixture(scope="module")
def in_2023() -> _Issuer:
    return _Issuer(dt.datetime(2023, 1, 1, tzinfo=dt.UTC))


@pytest.fixture(scope="module")
def in_2019() -> _Issuer:
    return _Issuer(dt.datetime(2019, 1, 1, tzinfo=dt.UTC))


def test_chrome_2022_counts_operators_over_every_sct_however_delivered(in_2023: _Issuer) -> None:
    # chrome_ct_policy_enforcer.cc, CheckCTPolicyCompliance (kPolicyUpdateDate onwards).
    def ok(embedded: str = "", tls: str = "", days: float = 90) -> bool:
        return in_2023.verdict("chrome-2022", embedded, tls, days=days).ok

    assert ok("argon nimbus") and not ok("argon xenon") and not ok("argon")
    assert in_2023.verdict("chrome-2022", "argon xenon").failure is CTFailure.TOO_FEW_OPERATORS
    assert in_2023.verdict("chrome-2022", "argon").failure is CTFailure.TOO_FEW_OPERATORS
    # One SCT over TLS is enough when the operators, counted over all SCTs, are diverse ...
    assert ok("argon", tls="nimbus") and ok(tls="argon nimbus")
    assert not ok(tls="argon") and not ok(tls="argon xenon")
    # ... and a TLS SCT lends its operator to embedded SCTs too few on their own.
    assert ok("argon xenon", tls="yeti")
    # Lifetimes: 2 embedded SCTs up to 180 days exactly, 3 above (base::Days(180)).
    assert ok("argon nimbus", days=180) and not ok("argon nimbus", days=180 + 1 / 24)
    assert ok("argon nimbus yeti", days=181)
    assert in_2023.verdict("chrome-2022", "argon stranger").failure is (
        CTFailure.TOO_FEW_OPERATORS  # the unknown log's SCT counts for nothing
    )
    assert in_2023.verdict("chrome-2022", "argon nimbus stranger", days=200).failure is (
        CTFailure.TOO_FEW_SCTS
    )


def test_chrome_2018_wants_google_and_non_google_and_counts_calendar_months(
    in_2019: _Issuer,
) -> None:
    def ok(embedded: str = "", tls: str = "", days: float = 90) -> bool:
        return in_2019.verdict("chrome-2018", embedded, tls, days=days).ok

    assert ok("argon nimbus") and not ok("nimbus yeti") and not ok("argon xenon")
    assert in_2019.verdict("chrome-2018", "nimbus yeti").failure is CTFailure.NO_GOOGLE_LOG
    assert ok("argon", tls="nimbus") and ok("nimbus", tls="argon")  # one TLS SCT, pooled
    assert not ok(tls="nimbus yeti")
    # RoundedDownMonthDifference from 1 January 2019: 15 months (to 1 April 2020) need 3.
    before_15_months = (dt.datetime(2020, 3, 31, tzinfo=dt.UTC) - in_2019.epoch).days
    at_15_months = (dt.datetime(2020, 4, 1, tzinfo=dt.UTC) - in_2019.epoch).days
    assert ok("argon nimbus", days=before_15_months)
    assert not ok("argon nimbus", days=at_15_months)
    assert ok("argon nimbus yeti", days=at_15_months)


def test_chrome_2022_judges_older_certificates_by_the_2018_rules(in_2019: _Issuer) -> None:
    # The earliest SCT is before 15 April 2022: one Google and one non-Google log, not two
    # operators, decide (Cloudflare and DigiCert, without Google, fail).
    assert in_2019.verdict("chrome-2022", "argon nimbus").ok
    assert not in_2019.verdict("chrome-2022", "nimbus yeti").ok
    assert in_2019.verdict("chrome-2022", "nimbus yeti").failure is CTFailure.NO_GOOGLE_LOG


def test_firefox_counts_embedded_and_tls_scts_separately(in_2023: _Issuer) -> None:
    # Mozilla's CT policy: embedded from distinct operators; over TLS, 2 from distinct logs.
    def ok(embedded: str = "", tls: str = "") -> bool:
        return in_2023.verdict("firefox-2025", embedded, tls).ok

    assert ok("argon nimbus") and not ok("argon xenon")
    assert ok(tls="argon nimbus") and not ok(tls="argon") and not ok(tls="argon xenon")
    assert not ok("argon", tls="nimbus")  # Chromium and Apple would pool these two


def test_apple_2021_caps_the_scts_one_operator_counts(in_2023: _Issuer) -> None:
    def ok(embedded: str, days: float) -> bool:
        return in_2023.verdict("apple-2021", embedded, days=days).ok

    assert ok("argon nimbus", 90) and not ok("argon xenon", 90)  # 1 per operator counts
    assert ok("argon xenon nimbus", 200)  # 2 per operator count: 3 needed, 3 counted
    assert not ok("argon xenon icarus", 200) and not ok("argon nimbus", 200)
    assert in_2023.verdict("apple-2021", "argon xenon icarus", days=200).detail == (
        "2 valid SCT(s) embedded from distinct logs counted (at most 2 per operator), 3 required"
    )


def test_apple_counts_two_scts_however_delivered_once_one_came_over_tls(in_2019: _Issuer) -> None:
    # Apple 103214: at least two SCTs, one presented via the TLS extension or OCSP stapling.
    assert in_2019.verdict("apple", "argon", tls="nimbus").ok
    assert in_2019.verdict("apple", tls="argon xenon").ok
    assert not in_2019.verdict("apple", tls="argon").ok
    assert not in_2019.verdict("apple", "argon").ok  # embedded alone: 2 needed


def test_chrome_2018_months_are_calendar_months_from_the_month_end() -> None:
    # RoundedDownMonthDifference from 31 January: a day of the month past the expiry's
    # counts one month less, and any other day a partial month.
    issuer = _Issuer(dt.datetime(2019, 1, 31, tzinfo=dt.UTC))

    def needed(until: tuple[int, int, int]) -> int:
        days = (dt.datetime(*until, tzinfo=dt.UTC) - issuer.epoch).days
        two = issuer.verdict("chrome-2018", "argon nimbus", days=days).ok
        three = issuer.verdict("chrome-2018", "argon nimbus yeti", days=days).ok
        assert three, until
        return 2 if two else 3

    assert needed((2019, 2, 28)) == 2  # 0 months and a part
    assert needed((2020, 4, 30)) == 2  # 14 months and a part
    assert needed((2020, 5, 1)) == 3  # 15 months and a part


def test_apple_2021_judges_older_certificates_by_the_2018_table(in_2019: _Issuer) -> None:
    # Issued before 21 April 2021: the 2018 table, no operator cap (2 below 15 months).
    assert in_2019.verdict("apple-2021", "argon xenon").ok
    assert in_2019.verdict("apple-2021", "argon xenon", days=200).ok


def test_an_earlier_policy_that_does_not_exist_is_named(in_2019: _Issuer) -> None:
    from simlab.errors import SimlabError

    odd = dataclasses.replace(POLICIES["chrome-2022"], earlier="chrome-1999")
    chain = in_2019.chain("argon nimbus", label="odd")
    with pytest.raises(SimlabError, match="unknown CT policy 'chrome-1999'"):
        odd.evaluate(chain.leaf, in_2019.issuer, in_2019.known, anchor_origin=AnchorOrigin.PUBLIC)


def test_the_chrome_requirement_starts_on_1_may_2018() -> None:
    # ChromeRequireCTDelegate::IsCTRequiredForHost: valid_start >= kMay_1_2018.
    for day, required in [((2018, 4, 30, 23, 59, 59), False), ((2018, 5, 1), True)]:
        issuer = _Issuer(dt.datetime(*day, tzinfo=dt.UTC))  # type: ignore[misc]
        verdict = issuer.verdict("chrome-2018")
        assert verdict.ok is not required, day
        assert ("issued before 2018-05-01" in verdict.exempt) is not required, day


def test_user_roots_are_exempt_and_none_policy_accepts(small_pki: SmallPKI) -> None:
    bare = small_pki.chain.leaf
    verdict = POLICIES["chrome-2022"].evaluate(bare, None, {}, anchor_origin=AnchorOrigin.USER)
    assert verdict.ok and "user-installed root" in verdict.exempt
    strict = CTPolicy("strict", ((float("inf"), 1),), exempt_user_roots=False)
    assert not strict.evaluate(bare, None, {}, anchor_origin=AnchorOrigin.USER).ok
    assert POLICIES["none"].evaluate(bare, None, {}, anchor_origin=AnchorOrigin.PUBLIC).ok


def test_era_rules_by_lifetime_and_issuance_date(small_pki: SmallPKI) -> None:
    chrome18, chrome22, apple = POLICIES["chrome-2018"], POLICIES["chrome-2022"], POLICIES["apple"]
    # Chrome 2018 counts calendar months, a partial one as a half (RoundedDownMonthDifference).
    assert [chrome18.required_scts(m) for m in (14, 14.5, 15, 27, 27.5, 39, 39.5)] == [
        2,
        2,
        3,
        3,
        4,
        4,
        5,
    ]
    assert [chrome22.required_scts(d) for d in (90, 180, 181, 398)] == [2, 2, 3, 3]
    # Apple's 2018 policy used the 2018 lifetime table; the 180/181-day split came in 2021.
    assert [apple.required_scts(d) for d in (180, 456, 457)] == [2, 2, 3]
    assert [POLICIES["apple-2021"].required_scts(d) for d in (180, 181, 398)] == [2, 3, 3]
    # simlab's default epoch is January 2016: before Chrome's May 2018 CT deadline.
    verdict = chrome18.evaluate(small_pki.chain.leaf, None, {}, anchor_origin=AnchorOrigin.PUBLIC)
    assert verdict.ok and "issued before 2018-05-01" in verdict.exempt


def test_sth_timestamp_is_the_whole_second_datetime_of_its_time() -> None:
    """get-sth's timestamp, computed without a datetime, is ``timestamp_ms(to_datetime(...))``
    also for an epoch with milliseconds and a time with a fraction of a second."""
    import datetime as dt

    from simlab.clock import to_datetime
    from simlab.ct.sct import timestamp_ms

    epoch = dt.datetime(2018, 10, 1, 12, 0, 0, 123_456, tzinfo=dt.UTC)
    log = CTLog("argon", "Google", seed=0, epoch=epoch)
    for at in (0.0, 0.999, 3 * DAY + 17.5, 2 * DAY):
        assert log.sth(at).timestamp_ms == timestamp_ms(to_datetime(at, epoch))


def test_a_log_id_is_the_hash_of_each_key_objects_spki_however_many_keys_come_and_go() -> None:
    """log_id_of remembers keys by object: a key dropped and another made at its address
    must still get its own ID."""
    icarus = serialization.load_pem_public_key((DATA / "ct-google-icarus.pub.pem").read_bytes())
    published = base64.b64decode("KTxRllTIOWW6qlD8WAfUt2+/WHopctykwwz05UVH9Hg=")  # log_list.json
    assert log_id_of(icarus) == log_id_of(icarus) == published  # type: ignore[arg-type]
    for i in range(300):  # more than it remembers; each key is dropped after use
        key = derive_key(0, f"log-id-{i}").public_key()
        spki = key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        assert log_id_of(key) == hashlib.sha256(spki).digest()


def test_a_runs_tree_heads_scts_and_certificates_are_the_bytes_they_always_were(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every tree head the monitor was served (signed fields, signature, view), and every
    submission's leaf, SCT signature and certificate, hash to the digest recorded before
    the polls were made cheaper: a faster log or monitor must sign and serve the same
    bytes, and sign a new tree head exactly as often. (A change to the model itself, such
    as what gets issued or logged, changes the digest on purpose: record the new one.)"""
    served: list[SignedTreeHead] = []
    genuine = CTLog.sth

    def sth(log: CTLog, at: float, *, view: str = PUBLIC_VIEW) -> SignedTreeHead:
        served.append(genuine(log, at, view=view))
        return served[-1]

    monkeypatch.setattr(CTLog, "sth", sth)
    result = run("ca-compromise", "hpkp+ct", seed=0, n_clients=50, days=30.0)
    digest = hashlib.sha256()
    for head in served:
        digest.update(head.log_id + head.signed_bytes() + head.signature + head.view.encode())
    for log in result.world.logs:
        for e in log.submissions:
            der = e.certificate.public_bytes(serialization.Encoding.DER)
            digest.update(e.leaf + e.sct.signature + der)
    assert result.metrics["detected_by"] == "ct_monitor"
    assert (len(served), len({id(head) for head in served})) == (3 * (30 * 24 + 1), 93)
    assert digest.hexdigest() == (
        "6061f99ed5056c2fe7a563d59d84822d5361c68df4b61ce10181252598f16681"
    )
