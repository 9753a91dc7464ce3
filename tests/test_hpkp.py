from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simlab import hpkp
from simlab.clock import DAY
from simlab.errors import SimlabError
from simlab.hpkp import (
    HeaderError,
    KnownPinnedHosts,
    PinEvent,
    PinState,
    Policy,
    ReportSender,
    parse,
    serialise,
    violation_report,
)
from simlab.keys import derive_key
from simlab.pins import PinVerdict
from simlab.pki import AnchorOrigin, Validator, spki_pin
from tests.conftest import SmallPKI

A = spki_pin(derive_key(0, "server:example.com").public_key())  # the small_pki leaf key
B = spki_pin(derive_key(0, "backup").public_key())
C = spki_pin(derive_key(0, "other").public_key())
PUBLIC, USER = AnchorOrigin.PUBLIC, AnchorOrigin.USER


# -- grammar ----------------------------------------------------------------------------


def test_parse_the_rfc_example_shape() -> None:
    header = (
        f'pin-sha256="{A}";\tpin-sha256="{B}"; max-age=3000; includeSubDomains; '
        'report-uri="https://other.example.net/pkp-report"'
    )
    policy = parse(header)
    assert policy == Policy(
        frozenset({A, B}), 3000, True, "https://other.example.net/pkp-report", False
    )


@pytest.mark.parametrize(
    "header",
    [
        f'PIN-SHA256="{A}"; Pin-Sha256="{B}"; MAX-AGE=10; IncludeSubdomains',
        f'pin-sha256="{A}";pin-sha256="{B}";max-age="10";includesubdomains',
        f'  pin-sha256 = "{A}" ;  pin-sha256="{B}" ; max-age = 10 ; includeSubDomains ; ',
        f'pin-sha256="{A}"; pin-sha256="{B}"; max-age=10; includeSubDomains; future-thing=x',
        f'pin-sha256="{A}"; pin-sha256="{B}"; pin-sha512="abc"; max-age=10; includeSubDomains',
    ],
)
def test_names_are_case_insensitive_values_token_or_quoted_unknown_ignored(header: str) -> None:
    assert parse(header) == Policy(frozenset({A, B}), 10, True, None)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (f'pin-sha256="{A}"', "max-age is required"),
        (f'pin-sha256="{A}"; max-age=-1', "non-negative integer"),
        (f'pin-sha256="{A}"; max-age=1.5', "non-negative integer"),
        (f'pin-sha256="{A}"; max-age=', "no value"),
        (f'pin-sha256="{A}"; max-age', "non-negative integer"),
        (f'pin-sha256="{A}"; max-age=10; max-age=20', "'max-age' appears more than once"),
        (f'pin-sha256="{A}"; max-age=1; includeSubDomains; includeSubDomains', "more than once"),
        (f'pin-sha256="{A}"; max-age=1; includeSubDomains=yes', "takes no value"),
        (f'pin-sha256="{A}"; max-age=1; report-uri="/relative"', "absolute URI"),
        (
            f'pin-sha256="{A}"; max-age=1; report-uri="https://a.example/"; report-uri="https://b.example/"',
            "more than once",
        ),
        ('pin-sha256="AAAA"; max-age=1', "not base64 of a 32-byte"),
        (f'pin-sha256="{A[:-4]}"; max-age=1', "not base64 of a 32-byte"),
        ("pin-sha256; max-age=1", "not base64"),
        (f'pin-sha256="{A}; max-age=1', "unterminated quoted string"),
        (f'pin-sha256="{A}" max-age=1', "unexpected 'm'"),
        ("=x; max-age=1", "expected a directive name"),
        (f'pin-sha256="{A}"; max-age=1, other=2', "unexpected ','"),
    ],
)
def test_invalid_headers_raise_header_error_with_the_reason(header: str, reason: str) -> None:
    with pytest.raises(HeaderError, match=reason):
        parse(header)


def test_header_error_is_a_simlab_error() -> None:
    assert issubclass(HeaderError, SimlabError)


def test_max_age_is_clamped_to_the_profile_cap_not_rejected() -> None:
    one_year = f'pin-sha256="{A}"; pin-sha256="{B}"; max-age=31536000'
    assert parse(one_year).max_age == 60 * 86400
    assert parse(one_year, profile="firefox").max_age == 60 * 86400
    huge = f'pin-sha256="{A}"; max-age=' + "9" * 5000  # beyond Python's int() digit limit
    assert parse(huge).max_age == 60 * 86400
    assert parse(f'pin-sha256="{A}"; max-age=0').max_age == 0


def test_report_only_makes_max_age_optional() -> None:
    policy = parse(f'pin-sha256="{A}"; report-uri="https://r.example.net/"', report_only=True)
    assert policy.max_age is None and policy.report_only
    assert policy.header_name == "Public-Key-Pins-Report-Only"


def test_unknown_profile_is_rejected_by_name() -> None:
    with pytest.raises(HeaderError, match="'safari'"):
        parse(f'pin-sha256="{A}"; max-age=1', profile="safari")


_pins = st.sets(st.binary(min_size=32, max_size=32), max_size=4).map(
    lambda raw: frozenset(__import__("base64").b64encode(b).decode() for b in raw)
)
_uris = st.none() | st.from_regex(r"https?://[a-z]{1,10}\.example/[a-z\"\\/]{0,10}", fullmatch=True)


@given(
    pins=_pins,
    max_age=st.integers(0, 60 * 86400),
    subdomains=st.booleans(),
    uri=_uris,
    report_only=st.booleans(),
)
def test_serialise_then_parse_round_trips(
    pins: frozenset[str], max_age: int, subdomains: bool, uri: str | None, report_only: bool
) -> None:
    policy = Policy(pins, max_age, subdomains, uri, report_only)
    assert parse(serialise(policy), report_only=report_only) == policy


@settings(max_examples=500)
@given(st.text())
def test_arbitrary_strings_never_raise_anything_but_header_error(text: str) -> None:
    with contextlib.suppress(HeaderError):
        parse(text)


@settings(max_examples=300)
@given(
    st.lists(
        st.sampled_from(
            [
                "pin-sha256",
                "=",
                f'"{A}"',
                '"',
                ";",
                " ",
                "max-age",
                "10",
                "includeSubDomains",
                "\\",
                "report-uri",
                '"https://x.example/"',
                "\t",
                ",",
                "\x00",
            ]
        )
    ).map("".join)
)
def test_header_shaped_noise_never_raises_anything_but_header_error(text: str) -> None:
    with contextlib.suppress(HeaderError):
        parse(text)


# -- noting (sections 2.3-2.5) ---------------------------------------------------------------


def _note(kph: KnownPinnedHosts, header: str, at: float = 0.0, **kw: object) -> hpkp.HeaderOutcome:
    args: dict[str, object] = {"validated_pins": {A}, "anchor_origin": PUBLIC} | kw
    return kph.process_header("example.com", header, at=at, **args)  # type: ignore[arg-type]


GOOD = f'pin-sha256="{A}"; pin-sha256="{B}"; max-age=1000'


def test_a_valid_header_with_live_and_backup_pin_is_noted() -> None:
    kph = KnownPinnedHosts()
    outcome = _note(kph, GOOD)
    assert outcome.event is PinEvent.VALID_HEADER and outcome.state is PinState.NOTED
    entry = kph.entry("example.com", 0)
    assert entry is not None and entry.pins == {A, B} and entry.expires_at == 1000


@pytest.mark.parametrize(
    ("header", "kw", "reason"),
    [
        (f'pin-sha256="{B}"; pin-sha256="{C}"; max-age=1000', {}, "no pin matches"),
        (f'pin-sha256="{A}"; max-age=1000', {}, "fewer than 2 pins"),
        (
            f'pin-sha256="{A}"; pin-sha256="{B}"; max-age=1000',
            {"validated_pins": {A, B}},
            "no backup pin",
        ),
        (GOOD, {"connection_ok": False}, "certificate errors"),
        ('max-age=1000; garbage="', {}, "invalid header"),
    ],
)
def test_rejected_headers_are_not_noted(header: str, kw: dict[str, object], reason: str) -> None:
    kph = KnownPinnedHosts()
    outcome = _note(kph, header, **kw)
    assert outcome.event is PinEvent.INVALID_HEADER and reason in outcome.reason
    assert kph.state("example.com", 0) is PinState.UNKNOWN


def test_a_rejected_header_leaves_the_old_entry_untouched_and_an_accepted_one_replaces_it() -> None:
    kph = KnownPinnedHosts()
    _note(kph, GOOD)
    _note(kph, f'pin-sha256="{C}"; pin-sha256="{B}"; max-age=50', at=10)  # no live pin: rejected
    assert kph.entry("example.com", 10).pins == {A, B}  # type: ignore[union-attr]
    _note(kph, f'pin-sha256="{A}"; pin-sha256="{C}"; max-age=50', at=20)
    entry = kph.entry("example.com", 20)
    assert entry is not None and entry.pins == {A, C} and entry.expires_at == 70


def test_entries_expire_exactly_at_max_age() -> None:
    kph = KnownPinnedHosts()
    _note(kph, GOOD, at=100)
    assert (
        kph.check("example.com", {C}, at=1099, anchor_origin=PUBLIC).verdict is PinVerdict.MISMATCH
    )
    assert kph.check("example.com", {C}, at=1100, anchor_origin=PUBLIC).verdict is (
        PinVerdict.NOT_PINNED
    )
    assert kph.state("example.com", 1100) is PinState.EXPIRED


def test_capped_max_age_expires_one_second_either_side_of_60_days() -> None:
    kph = KnownPinnedHosts()
    _note(kph, f'pin-sha256="{A}"; pin-sha256="{B}"; max-age=31536000')
    cap = 60 * DAY
    assert kph.check("example.com", {C}, at=cap - 1, anchor_origin=PUBLIC).blocks
    assert not kph.check("example.com", {C}, at=cap, anchor_origin=PUBLIC).blocks


def test_max_age_zero_chromium_needs_valid_pins_firefox_takes_it_bare() -> None:
    chromium = KnownPinnedHosts()
    _note(chromium, GOOD)
    assert _note(chromium, "max-age=0", at=5).event is PinEvent.INVALID_HEADER
    assert chromium.state("example.com", 5) is PinState.NOTED
    outcome = _note(chromium, f'pin-sha256="{A}"; pin-sha256="{B}"; max-age=0', at=6)
    assert outcome.event is PinEvent.MAX_AGE_ZERO
    assert chromium.state("example.com", 6) is PinState.REMOVED

    firefox = KnownPinnedHosts(hpkp.profile("firefox"))
    _note(firefox, GOOD)
    assert _note(firefox, "max-age=0", at=5).state is PinState.REMOVED
    assert firefox.lookup("example.com", 5) is None


def test_include_subdomains_covers_subdomains_only_when_set() -> None:
    kph = KnownPinnedHosts()
    _note(kph, GOOD)
    assert kph.check("www.example.com", {C}, at=1, anchor_origin=PUBLIC).verdict is (
        PinVerdict.NOT_PINNED
    )
    _note(kph, GOOD + "; includeSubDomains", at=2)
    check = kph.check("a.b.example.com", {C}, at=3, anchor_origin=PUBLIC)
    assert check.verdict is PinVerdict.MISMATCH and check.noted_host == "example.com"
    assert kph.check("notexample.com", {C}, at=3, anchor_origin=PUBLIC).verdict is (
        PinVerdict.NOT_PINNED
    )


def test_user_installed_root_chromium_notes_but_bypasses_firefox_does_not_note() -> None:
    chromium = KnownPinnedHosts()
    assert _note(chromium, GOOD, anchor_origin=USER).state is PinState.NOTED
    assert chromium.check("example.com", {C}, at=1, anchor_origin=USER).verdict is (
        PinVerdict.BYPASSED_LOCAL_ROOT
    )
    assert chromium.check("example.com", {C}, at=1, anchor_origin=PUBLIC).blocks
    firefox = KnownPinnedHosts(hpkp.profile("firefox"))
    assert _note(firefox, GOOD, anchor_origin=USER).event is PinEvent.INVALID_HEADER


def test_report_only_headers_are_never_noted() -> None:
    kph = KnownPinnedHosts()
    policy = parse(GOOD, report_only=True)
    assert _note(kph, policy).event is PinEvent.INVALID_HEADER  # type: ignore[arg-type]
    assert hpkp.evaluate_report_only(policy, {C})
    assert not hpkp.evaluate_report_only(policy, {A})


# -- pin validation (section 2.6) against real chains -----------------------------------------


def test_rogue_chain_with_the_genuine_leaf_appended_still_fails(small_pki: SmallPKI) -> None:
    validator = Validator()
    genuine = validator.validate(small_pki.chain, small_pki.store, "example.com", 10)
    kph = KnownPinnedHosts()
    kph.process_header(
        "example.com", GOOD, at=10, validated_pins=genuine.pins, anchor_origin=genuine.anchor_origin
    )
    rogue = small_pki.inter.compromise().issue(
        ["example.com"], derive_key(0, "attacker").public_key(), at=10
    )
    # The attacker serves its rogue chain with the genuine, pinned leaf tacked on the end.
    served = rogue + small_pki.chain
    validated = validator.validate(served, small_pki.store, "example.com", 20)
    assert validated.ok and A in served.pins
    assert A not in validated.pins
    assert kph.check("example.com", validated.pins, at=20, anchor_origin=PUBLIC).blocks


def test_a_pin_on_the_intermediate_or_root_matches(small_pki: SmallPKI) -> None:
    validated = Validator().validate(small_pki.chain, small_pki.store, "example.com", 10)
    root_pin = spki_pin(small_pki.root.certificate)
    kph = KnownPinnedHosts()
    kph.process_header(
        "example.com",
        f'pin-sha256="{root_pin}"; pin-sha256="{B}"; max-age=99',
        at=10,
        validated_pins=validated.pins,
        anchor_origin=PUBLIC,
    )
    assert kph.check("example.com", validated.pins, at=11, anchor_origin=PUBLIC).verdict is (
        PinVerdict.MATCH
    )


# -- reports (section 3) ---------------------------------------------------------------------


def _report(small_pki: SmallPKI, hostname: str = "example.com") -> dict[str, object]:
    return violation_report(
        hostname=hostname,
        port=443,
        at=3661,
        noted_hostname="example.com",
        include_subdomains=True,
        expires_at=60 * DAY,
        known_pins={A, B},
        served_chain=small_pki.chain.certificates,
        validated_chain=small_pki.chain.certificates,
    )


def test_violation_report_has_the_rfc_fields(small_pki: SmallPKI) -> None:
    report = json.loads(json.dumps(_report(small_pki)))
    assert set(report) == {
        "date-time",
        "hostname",
        "port",
        "effective-expiration-date",
        "include-subdomains",
        "noted-hostname",
        "served-certificate-chain",
        "validated-certificate-chain",
        "known-pins",
    }
    assert report["date-time"] == "2016-01-04T01:01:01Z"
    assert report["effective-expiration-date"] == "2016-03-04T00:00:00Z"
    assert report["known-pins"] == sorted([f'pin-sha256="{A}"', f'pin-sha256="{B}"'])
    assert report["served-certificate-chain"][0].startswith("-----BEGIN CERTIFICATE-----")


def test_report_sender_suppresses_same_host_https_and_duplicates(small_pki: SmallPKI) -> None:
    sender = ReportSender()
    report = _report(small_pki)
    assert not sender.should_send("https://example.com/report", report, 0)
    assert not sender.should_send("https://www.example.com/report", report, 0)  # covered host
    assert sender.should_send("http://example.com/report", report, 0)
    assert sender.should_send("https://reports.example.net/", report, 0)
    assert not sender.should_send("https://reports.example.net/", report, 3599)
    assert sender.should_send("https://reports.example.net/", report, 3600)
    assert not ReportSender(hpkp.profile("firefox")).should_send(
        "https://r.example.net/", report, 0
    )
    assert not sender.should_send(None, report, 0)


# -- the lifecycle table ------------------------------------------------------------------------


def test_every_state_event_pair_that_can_happen_is_in_the_table() -> None:
    for state in PinState:
        for event in (PinEvent.VALID_HEADER, PinEvent.INVALID_HEADER, PinEvent.MAX_AGE_ZERO):
            assert (state, event) in hpkp.TRANSITIONS


def test_readme_state_diagram_is_drawn_from_the_table() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert hpkp.state_diagram() in readme
