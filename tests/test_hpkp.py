from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import re
import time
import tracemalloc
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings
from hypothesis import strategies as st

from simlab import hpkp
from simlab.clock import DAY
from simlab.errors import SimlabError
from simlab.hpkp import (
    HeaderError,
    HeaderGrammar,
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
from tests.bounds import bounded
from tests.conftest import SmallPKI

A = spki_pin(derive_key(0, "server:example.com").public_key())  # the small_pki leaf key
B = spki_pin(derive_key(0, "backup").public_key())
C = spki_pin(derive_key(0, "other").public_key())
PUBLIC, USER = AnchorOrigin.PUBLIC, AnchorOrigin.USER


# -- grammar: what both browsers accept ---------------------------------------------------------

PROFILES = ("chromium", "firefox")
AB = frozenset({A, B})
PINS = f'pin-sha256="{A}"; pin-sha256="{B}"'  # a live and a backup pin, as good_pin + backup_pin
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# A with the two unused low bits of its last base64 digit set differently: the same 32 bytes.
A_ODD = A[:42] + _ALPHABET[_ALPHABET.index(A[42]) ^ 1] + "="


def _expect(header: str, profile: str, expected: Policy | str, **kw: bool) -> None:
    """``expected`` is the Policy parsed, or a fragment of the HeaderError's message."""
    if isinstance(expected, Policy):
        assert parse(header, profile=profile, **kw) == expected
    else:
        with pytest.raises(HeaderError, match=re.escape(expected)):
            parse(header, profile=profile, **kw)


def _firefox_view(policy: Policy) -> Policy:
    """Firefox parsed report-uri and ignored it: reporting was never implemented."""
    return dataclasses.replace(policy, report_uri=None)


def test_each_profile_names_its_grammar() -> None:
    assert hpkp.profile("chromium").header_grammar is HeaderGrammar.CHROMIUM
    assert hpkp.profile("firefox").header_grammar is HeaderGrammar.FIREFOX


@pytest.mark.parametrize("profile", PROFILES)
def test_parse_the_rfc_example_shape(profile: str) -> None:
    header = (
        f'pin-sha256="{A}";\tpin-sha256="{B}"; max-age=3000; includeSubDomains; '
        'report-uri="https://other.example.net/pkp-report"'
    )
    policy = Policy(AB, 3000, True, "https://other.example.net/pkp-report", False)
    expected = policy if profile == "chromium" else _firefox_view(policy)
    assert parse(header, profile=profile) == expected


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(
    "header",
    [
        f'PIN-SHA256="{A}"; Pin-Sha256="{B}"; MAX-AGE=10; IncludeSubdomains',
        f'pin-sha256="{A}";pin-sha256="{B}";max-age="10";includesubdomains',
        f'  pin-sha256 = "{A}" ;  pin-sha256="{B}" ; max-age = 10 ; includeSubDomains ; ',
        f'pin-sha256="{A}"; pin-sha256="{B}"; max-age=10; includeSubDomains; future-thing=x',
        f'pin-sha256="{A}"; pin-sha256="{B}"; pin-sha512="abc"; max-age=10; includeSubDomains',
        f'pin-sha256="{A}"; pin-sha256="{B}"; max-age=10; includeSubDomains; a="q;uoted"',
    ],
)
def test_names_are_case_insensitive_values_token_or_quoted_unknown_ignored(
    header: str, profile: str
) -> None:
    assert parse(header, profile=profile) == Policy(AB, 10, True, None)


# TestValidPKPHeaders in net/http/http_security_headers_unittest.cc, case by case (its
# good_pin/backup_pin are PINS here). Each parses the same in Firefox, but for report-uri.
@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(
    ("header", "policy"),
    [
        (f"max-age=243; {PINS}", Policy(AB, 243)),
        (
            f'max-age=243; {PINS}; report-uri= "http://example.test/foo"',
            Policy(AB, 243, False, "http://example.test/foo"),
        ),
        (
            f'   {PINS}  ; Max-agE    = 567; repOrT-URi = "http://example.test/foo"',
            Policy(AB, 567, False, "http://example.test/foo"),
        ),
        (f"includeSubDOMAINS;{PINS}  ; mAx-aGe    = 890      ", Policy(AB, 890, True)),
        (f"{PINS}; max-age=123;IGNORED;", Policy(AB, 123)),
        (f"max-age=394082;{PINS};  ", Policy(AB, 394082)),
        (f"max-age=39408299  ;{PINS};  ", Policy(AB, 60 * 86400)),  # kMaxHPKPAgeSecs
        (
            f"max-age=39408038  ;    cybers=39408038  ;  includeSubdomains; {PINS};   ",
            Policy(AB, 60 * 86400, True),
        ),
        (f"  max-age=0  ;  {PINS}", Policy(AB, 0)),
        (f"  max-age=0 ; includeSubdomains;  {PINS}", Policy(AB, 0, True)),
        # "Test that the parser correctly parses an unencoded ';' inside a quoted report-uri."
        (
            f'max-age=999; {PINS}; report-uri="http://foo.com/?;bar"',
            Policy(AB, 999, False, "http://foo.com/?;bar"),
        ),
    ],
)
def test_the_chromium_unittest_valid_headers(header: str, policy: Policy, profile: str) -> None:
    assert parse(header, profile=profile) == (
        policy if profile == "chromium" else _firefox_view(policy)
    )


def test_report_only_needs_no_max_age_and_takes_single_quotes_in_chromium() -> None:
    # TestValidPKPHeaders: "Test that the parser does not require max-age for Report-Only
    # headers" (backup_pin; good_pin; report-uri='http://foo.com').
    header = f'pin-sha256="{B}"; pin-sha256="{A}"; report-uri=\'http://foo.com\''
    assert parse(header, report_only=True) == Policy(AB, None, False, "http://foo.com", True)


# TestBogusPinsHeaders (chromium) and test_pinning_header_parsing.js checkFailParseInvalidPin
# (firefox): rejected by both, often for different reasons.
@pytest.mark.parametrize(
    ("header", "chromium", "firefox"),
    [
        ("", "max-age is required", "max-age is required"),
        ("    ", "max-age is required", "max-age is required"),
        ("  abc   ", "max-age is required", "max-age is required"),
        ("  max-age  ", "non-negative integer", "non-negative integer"),
        ("max-age=", "has '=' but no value", "non-negative integer"),
        ("   max-age  =     xy", "non-negative integer", "non-negative integer"),
        ("max-age=3488a923  ", "non-negative integer", "non-negative integer"),
        ("max-age==3488923", "got '=3488923'", "unexpected '='"),
        ("amax-age=3488923", "max-age is required", "max-age is required"),
        ("max-age=-3488923", "non-negative integer", "non-negative integer"),
        ("max-age=+3488923", "non-negative integer", "non-negative integer"),  # ParseUint32
        ("max-age=3488923     e", "non-negative integer", "unexpected 'e'"),
        ('max-age=3488923     report-uri="http://foo.com"', "non-negative integer", "'r'"),
        ("max-age=34889.23", "non-negative integer", "non-negative integer"),
        ("max-age=INVALID", "non-negative integer", "non-negative integer"),  # the .js case
        (f'pin-sha256="{A}"', "max-age is required", "max-age is required"),  # VALID_PIN1
        # good_pin_unquoted: "Pins are always quoted" in ParseHPKPHeaderImpl.
        (f'max-age=243; pin-sha256={A}; pin-sha256="{B}"', "must be a quoted", "unexpected"),
        # ";report-uri=http://foo.com;": "report-uris are always quoted".
        (f"max-age=243; {PINS};report-uri=http://foo.com;", "must be a quoted", "':'"),
        # "Test that the parser rejects misquoted strings."
        (f"max-age=999; {PINS}; report-uri=\"http://foo;bar'", "must be a quoted", "unterminated"),
        # "Test that the parser rejects invalid report-uris."
        (f"max-age=999; {PINS}; report-uri=\"foo;bar'", "must be a quoted", "unterminated"),
        ('pin-sha256="AAAA"; max-age=1', "not base64 of 32 bytes", "not base64 of 32 bytes"),
        # BROKEN_PIN1 in the .js test.
        (f'max-age=1; {PINS}; pin-sha256="jdjsjsjs"', "not base64", "not base64"),
        (f'pin-sha256="{A[:-4]}"; max-age=1', "not base64", "not base64"),
        ("pin-sha256; max-age=1", "must be a quoted string", "not base64"),
        (f'pin-sha256="{A}" max-age=1', "must be a quoted string", "unexpected 'm'"),
        (f'pin-sha256="{A}"; max-age=1, other=2', "non-negative integer", "unexpected ','"),
    ],
)
def test_headers_both_browsers_reject(header: str, chromium: str, firefox: str) -> None:
    _expect(header, "chromium", chromium)
    _expect(header, "firefox", firefox)


# -- grammar: where Chromium's tokenizer and Firefox's parser part ------------------------------


@pytest.mark.parametrize(
    ("header", "chromium", "firefox"),
    [
        # TestValidPKPHeaders, "Test that the parser allows quoted max-age values":
        # max-age='999'. Firefox has no single quotes; "'999'" is a token, and not digits.
        pytest.param(
            f"max-age='999'; {PINS}",
            Policy(AB, 999),
            "non-negative integer",
            id="single-quoted max-age",
        ),
        # TestValidPKPHeaders, "Test that the parser handles escaped values":
        # report-uri='http://foo.com\'\a' is http://foo.com'a to Chromium.
        pytest.param(
            f"max-age=999; {PINS}; report-uri='http://foo.com\\'\\a'",
            Policy(AB, 999, False, "http://foo.com'a"),
            "unexpected ':'",
            id="single-quoted escaped report-uri",
        ),
        # TestValidPKPHeaders, "report-uri with a >0x7f character" (the case appends 0x7f,
        # which RFC 2616's quoted-string excludes as a CTL).
        pytest.param(
            f'max-age=999; {PINS}; report-uri="http://foo.com/\x7f"',
            Policy(AB, 999, False, "http://foo.com/\x7f"),
            "not allowed in a quoted string",
            id="DEL in report-uri",
        ),
        # TestValidPKPHeaders, "Test that the parser handles escaped values", applied to a
        # pin: Unquote drops the backslash; Firefox's QuotedString keeps it, not base64.
        pytest.param(
            f'max-age=1; pin-sha256="\\{A}"; pin-sha256="{B}"',
            Policy(AB, 1),
            "not base64",
            id="escaped pin character",
        ),
        # TestValidPKPHeaders' Report-Only case quotes with ' (HttpUtil::IsQuote); to Firefox
        # a '-quoted pin is a token that stops at '/' or the '=' padding.
        pytest.param(
            f"max-age=1; pin-sha256='{A}'; pin-sha256='{B}'",
            Policy(AB, 1),
            "unexpected",  # at the '=' padding, or at a '/' before it
            id="single-quoted pins",
        ),
        # TestBogusPinsHeaders, report-uri='' (empty once unquoted). Firefox ignores the
        # value, and '' is a token.
        pytest.param(
            f"max-age=243; {PINS}; report-uri=''",
            "absolute URI",
            Policy(AB, 243),
            id="empty report-uri",
        ),
        # TestBogusPinsHeaders, ";report-uri=;": GetNext's "Malformed; value is empty".
        # Firefox's DirectiveValue takes nothing after '=' as an empty value.
        pytest.param(
            f"max-age=243; {PINS};report-uri=;",
            "has '=' but no value",
            Policy(AB, 243),
            id="report-uri= with no value",
        ),
        # TestBogusPinsHeaders, "Test that the parser rejects invalid report-uris": GURL needs
        # an absolute URL. Firefox never looked at the value.
        pytest.param(
            f'max-age=1; {PINS}; report-uri="/relative"',
            "absolute URI",
            Policy(AB, 1),
            id="relative report-uri",
        ),
        # TestBogusPinsHeaders, "Test that the parser rejects misquoted strings": in Chromium
        # an open quote runs to the end of the header, here swallowing max-age; to Firefox
        # it's is a token (' is a tchar).
        pytest.param(
            f"{PINS}; note=it's; max-age=10",
            "max-age is required",
            Policy(AB, 10),
            id="apostrophe in a value",
        ),
        # http_util.cc NameValuePairsIterator::GetNext: "we also accept values with missing
        # close quotemark (http://crbug.com/39836)"; Firefox's Expect('"') fails.
        pytest.param(
            f'{PINS}; max-age="999',
            Policy(AB, 999),
            "unterminated quoted string",
            id="unclosed quote",
        ),
        # GetNext: "Malformed, no name". Firefox's DirectiveName is a token of zero or more
        # characters, so '=x' is an unknown directive with an empty name.
        pytest.param(f"=x; max-age=1; {PINS}", "has no name", Policy(AB, 1), id="empty name"),
        # test_pinning_header_parsing.js: GOOD_MAX_AGE + GOOD_MAX_AGE fails (ParseSSSHeaders
        # ERROR_MULTIPLE_MAX_AGES). ParseHPKPHeaderImpl counts nothing: the last one wins.
        pytest.param(
            f"max-age=10; max-age=20; {PINS}",
            Policy(AB, 20),
            "'max-age' appears more than once",
            id="max-age twice",
        ),
        # test_pinning_header_parsing.js: INCLUDE_SUBDOMAINS + INCLUDE_SUBDOMAINS.
        pytest.param(
            f"max-age=1; {PINS}; includeSubDomains; includeSubDomains",
            Policy(AB, 1, True),
            "'includesubdomains' appears more than once",
            id="includeSubDomains twice",
        ),
        # test_pinning_header_parsing.js: REPORT_URI + REPORT_URI. Chromium keeps the last.
        pytest.param(
            f'max-age=1; {PINS}; report-uri="https://a.example/"; report-uri="https://b.example/"',
            Policy(AB, 1, False, "https://b.example/"),
            "'report-uri' appears more than once",
            id="report-uri twice",
        ),
        # No case in either test: ParseSSSHeaders returns ERROR_INVALID_INCLUDE_SUBDOMAINS for
        # a value; ParseHPKPHeaderImpl sets include_subdomains whatever follows.
        pytest.param(
            f"max-age=1; {PINS}; includeSubDomains=yes",
            Policy(AB, 1, True),
            "takes no value",
            id="includeSubDomains=yes",
        ),
        # No case in either test: modp_b64_decode (DOPAD) needs the '=' padding, xpcom's
        # Base64Decode does not; Firefox keeps the string, which can never match a chain.
        pytest.param(
            f'max-age=1; pin-sha256="{A[:-1]}"; pin-sha256="{B}"',
            "not base64 of 32 bytes",
            Policy(frozenset({A[:-1], B}), 1),
            id="unpadded pin",
        ),
        # TestValidPKPHeaders, max-age of 45 nines: MaxAgeToLimitedInt saturates a number past
        # uint32 to the cap. Firefox's Tokenizer counts in a CheckedUint64, and past 2**64 - 1
        # ReadInteger fails: ERROR_INVALID_MAX_AGE.
        pytest.param(
            f"  max-age={'9' * 45}  ;  {PINS};   ",
            Policy(AB, 60 * 86400),
            "is more than 2**64 - 1",
            id="max-age past uint64",
        ),
        # No case in either test: Chromium kept pins as bytes (HashValue), Firefox as strings
        # (PublicKeyPinningService EvalCert compares base64 text), so unused bits differ.
        pytest.param(
            f'max-age=1; pin-sha256="{A_ODD}"; pin-sha256="{B}"',
            Policy(AB, 1),
            Policy(frozenset({A_ODD, B}), 1),
            id="non-canonical base64",
        ),
    ],
)
def test_headers_the_browsers_read_differently(
    header: str, chromium: Policy | str, firefox: Policy | str
) -> None:
    _expect(header, "chromium", chromium)
    _expect(header, "firefox", firefox)


def test_firefox_takes_crlf_line_folding_only_as_folding() -> None:
    # nsSecurityHeaderParser::LWSMultiple / LWSCRLF: CR must be followed by LF and SP or HT.
    assert parse(f"max-age=1;\r\n {PINS}", profile="firefox") == Policy(AB, 1)
    for bad in (f"max-age=1;\r {PINS}", f"max-age=1;\r\n{PINS}", f"max-age=1;\n {PINS}"):
        with pytest.raises(HeaderError):
            parse(bad, profile="firefox")


def test_a_nul_is_an_ordinary_character_to_chromium_and_rejected_for_firefox() -> None:
    header = f"note=a\x00b; max-age=1; {PINS}"
    assert parse(header) == Policy(AB, 1)  # StringTokenizer works on std::string
    with pytest.raises(HeaderError, match="NUL at position 6"):
        parse(header, profile="firefox")


@pytest.mark.parametrize(("header", "report_only"), [(b"max-age=1", False), ("max-age=1", "yes")])
def test_parse_refuses_arguments_of_the_wrong_type(header: object, report_only: object) -> None:
    with pytest.raises(HeaderError, match="must be"):
        parse(header, report_only=report_only)  # type: ignore[arg-type]


def test_header_error_is_a_simlab_error() -> None:
    assert issubclass(HeaderError, SimlabError)


CAP = 60 * 86400
U64 = 2**64 - 1


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(
    ("digits", "max_age"),
    [
        ("31536000", CAP),  # a year: clamped, not rejected
        ("0", 0),
        ("0" * 19, 0),  # the value counts, not the length: this removes the pins
        ("0" * 100_000, 0),
        ("0" * 50 + "86400", 86400),
        ("0" * 30 + str(CAP + 1), CAP),
        (str(2**32), CAP),  # past ParseUint32: FAILED_OVERFLOW saturates to the cap
        (str(U64), CAP),  # the largest uint64 Firefox's Tokenizer reads
        ("0" * 30 + str(U64), CAP),
    ],
)
def test_max_age_is_the_value_of_its_digits_clamped_to_the_cap(
    profile: str, digits: str, max_age: int
) -> None:
    assert parse(f"{PINS}; max-age={digits}", profile=profile).max_age == max_age


@pytest.mark.parametrize("digits", [str(U64 + 1), "9" * 5000, "1" + "0" * 200_000])
def test_max_age_past_uint64_saturates_in_chromium_and_is_rejected_by_firefox(
    digits: str,
) -> None:
    header = f"{PINS}; max-age={digits}"
    assert parse(header, profile="chromium").max_age == CAP
    with pytest.raises(HeaderError, match=r"more than 2\*\*64 - 1") as caught:
        parse(header, profile="firefox")
    assert len(str(caught.value)) < 200  # names the value without repeating a megabyte


def test_max_age_zero_written_long_removes_the_pins_in_both_profiles() -> None:
    for name in PROFILES:
        kph = KnownPinnedHosts(hpkp.profile(name))
        noted = kph.process_header(
            "example.com", f"max-age=600; {PINS}", at=0, validated_pins={A}, anchor_origin=PUBLIC
        )
        assert noted.state is PinState.NOTED
        removed = kph.process_header(
            "example.com",
            f"max-age={'0' * 19}; {PINS}",
            at=1,
            validated_pins={A},
            anchor_origin=PUBLIC,
        )
        assert (removed.event, removed.state) == (PinEvent.MAX_AGE_ZERO, PinState.REMOVED)


def test_the_parse_cache_keeps_repeated_short_headers() -> None:
    hpkp._parse_cached.cache_clear()
    header = f"max-age=600; {PINS}"
    first = parse(header)
    assert parse(header) is first  # a browser sees the same header on every visit
    assert hpkp._parse_cached.cache_info().hits == 1


@pytest.mark.parametrize("profile", PROFILES)
def test_the_parse_cache_does_not_hold_long_headers(profile: str) -> None:
    # Issue 17: 1,000 distinct 1 MB headers took memory from 30 MiB to 984 MiB.
    long = f"max-age=1; {PINS}; note={'x' * 4096}"
    assert parse(long, profile=profile) is not parse(long, profile=profile)  # not memoised
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(16):
            parse(f"max-age={i}; {PINS}; note={'x' * 65536}", profile=profile)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 128 * 1024  # the 1 MiB of headers parsed is all released


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(
    "filler",
    ["a;", " ", ";", "\\a", "0", "x"],
    ids=["directives", "spaces", "semicolons", "escapes", "zeros", "one-name"],
)
def test_a_header_as_long_as_the_profile_reads_parses_in_linear_time(
    profile: str, filler: str
) -> None:
    # Up to the profile's limit (256 KiB or 1 MiB) every scan must be linear: a quadratic
    # one would take hours here.
    body = filler * ((hpkp.profile(profile).max_header_bytes - 1024) // len(filler))
    headers = {
        "\\a": f'max-age=1; a="{body}"',
        "0": f"max-age={body}; {PINS}",
        "x": f"{body}=1; max-age=1; {PINS}",
    }
    header = headers.get(filler, f"{body}max-age=1; {PINS}")
    start = time.perf_counter()
    with contextlib.suppress(HeaderError):
        parse(header, profile=profile)
    assert time.perf_counter() - start < 5.0


@pytest.mark.parametrize(("profile", "limit"), [("chromium", 256 * 1024), ("firefox", 1 << 20)])
def test_a_header_longer_than_a_response_head_may_be_is_refused_unread(
    profile: str, limit: int
) -> None:
    # Chromium fails a response whose head passes kMaxHeaderBufSize; Firefox was measured
    # giving up near 1 MiB. A header at the limit is still read.
    at_limit = f"max-age=600; {PINS}; x=" + "y" * (limit - len(f"max-age=600; {PINS}; x="))
    assert len(at_limit) == limit
    assert parse(at_limit, profile=profile).pins == AB
    with pytest.raises(HeaderError, match=f"{limit + 1:,} bytes long in UTF-8; {profile} fails"):
        parse(at_limit + "y", profile=profile)
    # The limit is in bytes: a character of 3 bytes counts 3 (Chromium reads bytes).
    wide = at_limit[: -(limit // 2)] + "\u20ac" * (limit // 6 + 1)
    assert len(wide) < limit
    with pytest.raises(HeaderError, match="bytes long in UTF-8"):
        parse(wide, profile=profile)
    kph = KnownPinnedHosts(hpkp.profile(profile))
    outcome = kph.process_header(
        "example.com", at_limit + "y", at=0.0, validated_pins=[A], anchor_origin=None
    )
    assert outcome.event is PinEvent.INVALID_HEADER
    assert kph.lookup("example.com", 0.0) is None


def test_report_only_makes_max_age_optional() -> None:
    policy = parse(f'pin-sha256="{A}"; report-uri="https://r.example.net/"', report_only=True)
    assert policy.max_age is None and policy.report_only
    assert policy.header_name == "Public-Key-Pins-Report-Only"


def test_unknown_profile_is_rejected_by_name() -> None:
    with pytest.raises(HeaderError, match="'safari'"):
        parse(f'pin-sha256="{A}"; max-age=1', profile="safari")


def test_a_profile_outside_the_table_parses_with_its_grammar() -> None:
    # A release-specific Profile (not in PROFILES) is used as it is, not looked up by name.
    strict = hpkp.Profile("firefox-60", header_grammar=HeaderGrammar.FIREFOX)
    with pytest.raises(HeaderError, match="more than once"):
        parse(f"max-age=1; max-age=2; {PINS}", profile=strict)
    kph = KnownPinnedHosts(hpkp.Profile("chrome-70", min_pins=2))
    outcome = kph.process_header(
        "example.com", f"max-age=9; {PINS}", at=0, validated_pins={A}, anchor_origin=PUBLIC
    )
    assert outcome.state is PinState.NOTED


_pins = st.sets(st.binary(min_size=32, max_size=32), max_size=4).map(
    lambda raw: frozenset(base64.b64encode(b).decode() for b in raw)
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
    firefox = parse(serialise(policy), report_only=report_only, profile="firefox")
    assert firefox == _firefox_view(policy)


@pytest.mark.parametrize("profile", PROFILES)
@settings(max_examples=300)
@given(text=st.text())
def test_arbitrary_strings_never_raise_anything_but_header_error(text: str, profile: str) -> None:
    with contextlib.suppress(HeaderError):
        parse(text, profile=profile)


@pytest.mark.parametrize("profile", PROFILES)
@settings(max_examples=300)
@given(
    text=st.lists(
        st.sampled_from(
            [
                "pin-sha256",
                "=",
                f'"{A}"',
                f"'{B}'",
                '"',
                "'",
                ";",
                " ",
                "max-age",
                "10",
                "includeSubDomains",
                "\\",
                "report-uri",
                '"https://x.example/"',
                "\t",
                "\r\n ",
                "\r",
                ",",
                "\x00",
                "\x7f",
                "é",
            ]
        )
    ).map("".join)
)
def test_header_shaped_noise_never_raises_anything_but_header_error(
    text: str, profile: str
) -> None:
    with contextlib.suppress(HeaderError):
        policy = parse(text, profile=profile)
        assert policy.max_age is not None and 0 <= policy.max_age <= 60 * 86400


# -- fuzz: a typed error or a valid policy, within a time and memory bound ----------------------


def _valid_pin(pin: str) -> bool:
    """Base64 of 32 bytes: 43 characters, then at most one '=' (Firefox keeps unused bits)."""
    digits = pin.removesuffix("=")
    return len(digits) == 43 and set(digits) <= set(_ALPHABET)


def _parsed_or_refused(header: str, profile: str, report_only: bool = False) -> None:
    """The fuzz oracle: HeaderError, or a Policy whose every field is in range, as the
    uncached parser gives it, in under 2 s and 1 MiB plus 200 bytes a character."""
    try:
        policy = bounded(
            lambda: parse(header, profile=profile, report_only=report_only),
            seconds=2.0,
            megabytes=1 + 200 * len(header) / 2**20,
        )
    except HeaderError:
        return
    assert policy == hpkp._parse(header, report_only, hpkp.profile(profile))
    assert policy.report_only is report_only and type(policy.include_subdomains) is bool
    assert all(_valid_pin(p) for p in policy.pins)
    if policy.max_age is None:
        assert report_only
    else:
        assert 0 <= policy.max_age <= 60 * 86400
    if profile == "firefox":
        assert policy.report_uri is None  # parsed, never used
    else:
        assert policy.report_uri is None or "//" in policy.report_uri


_VALID_HEADERS = [
    f"max-age=600; {PINS}",
    serialise(Policy(AB, 5184000, True, "https://r.example/report")),
    f'pin-sha256="{A}"; pin-sha256="{C}"; max-age="0"; includeSubDomains',
    f'  Max-Age = {"0" * 25}86400 ;\r\n {PINS} ; report-uri="http://x.example/?a;b"',
]


@st.composite
def _mutated_headers(draw: st.DrawFn) -> str:
    """A valid header with up to four edits: text inserted, a span deleted or replaced, or
    a span repeated up to 200 times (long runs of digits, quotes or ';')."""
    header = draw(st.sampled_from(_VALID_HEADERS))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(header)))
        j = draw(st.integers(i, min(len(header), i + 12)))
        edit = draw(st.sampled_from(["insert", "delete", "replace", "repeat"]))
        if edit == "insert":
            header = header[:i] + draw(st.text(max_size=6)) + header[i:]
        elif edit == "delete":
            header = header[:i] + header[j:]
        elif edit == "replace":
            header = header[:i] + draw(st.text(min_size=1, max_size=6)) + header[j:]
        else:
            header = header[:j] + header[i:j] * draw(st.integers(2, 200)) + header[j:]
    return header


@pytest.mark.fuzz
@pytest.mark.parametrize("profile", PROFILES)
@given(text=st.text(), report_only=st.booleans())
def test_fuzz_any_text_is_a_header_error_or_a_valid_policy(
    text: str, report_only: bool, profile: str
) -> None:
    _parsed_or_refused(text, profile, report_only)


@pytest.mark.fuzz
@pytest.mark.parametrize("profile", PROFILES)
@given(header=_mutated_headers())
def test_fuzz_a_mutated_header_is_a_header_error_or_a_valid_policy(
    header: str, profile: str
) -> None:
    _parsed_or_refused(header, profile)


def test_the_fuzzed_headers_start_valid_in_both_profiles() -> None:
    for header in _VALID_HEADERS:
        for profile in PROFILES:
            assert parse(header, profile=profile).max_age is not None


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
        (GOOD + "; =garbage", {}, "invalid header: directive at position"),
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


def test_renoting_an_entry_is_processing_its_header_again() -> None:
    """What the batched engine does for a header a client keeps receiving: the store ends
    as processing the header again would leave it, expired or not, noted or removed."""
    for first_at, again_at in ((0.0, 10.0), (0.0, 5000.0)):
        processed, renoted = KnownPinnedHosts(), KnownPinnedHosts()
        for kph in (processed, renoted):
            _note(kph, GOOD, at=first_at)
        noted = renoted.entry("example.com", first_at)
        assert noted is not None
        _note(processed, GOOD, at=again_at)
        state = renoted.renote(
            dataclasses.replace(noted, noted_at=again_at, expires_at=again_at + 1000)
        )
        assert state is PinState.NOTED
        for at in (again_at, again_at + 999, again_at + 1000):
            assert renoted.entry("example.com", at) == processed.entry("example.com", at)
            assert renoted.state("example.com", at) == processed.state("example.com", at)


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


def test_a_pin_failure_leaves_the_store_as_it_was() -> None:
    """RFC 7469 section 2.6: a failure is reported and the pins stay. The batched engine
    relies on it to reuse a mismatch decision for every client in the same state."""
    kph = KnownPinnedHosts()
    _note(kph, GOOD + "; includeSubDomains")
    before = (kph.entry("example.com", 5), kph.state("example.com", 5))
    for host in ("example.com", "www.example.com"):
        assert kph.check(host, {C}, at=5, anchor_origin=PUBLIC).verdict is PinVerdict.MISMATCH
    assert (kph.entry("example.com", 5), kph.state("example.com", 5)) == before


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


def test_pem_encoding_is_memoised_by_identity_and_stays_correct(
    small_pki: SmallPKI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hpkp, "_PEM_MEMO", {})
    certs = small_pki.chain.certificates
    expected = [c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in certs]
    assert [hpkp._pem(c) for c in certs] == expected
    assert all(hpkp._pem(c) is hpkp._pem(c) for c in certs)  # the second call is the memo
    twin = x509.load_pem_x509_certificate(expected[0].encode())  # equal, not the same object
    assert hpkp._pem(twin) == expected[0]
    monkeypatch.setattr(hpkp, "_PEM_MEMO", {})
    monkeypatch.setattr(hpkp, "_PEM_MEMO_MAX", 1)
    assert [hpkp._pem(c) for c in certs * 2] == expected * 2  # emptied on the way, still right
    assert len(hpkp._PEM_MEMO) <= 1


def _violation(small_pki: SmallPKI, **changes: object) -> hpkp.PinViolation:
    fields: dict[str, object] = {
        "hostname": "example.com",
        "port": 443,
        "at": 3661,
        "noted_hostname": "example.com",
        "include_subdomains": True,
        "expires_at": 60 * DAY,
        "known_pins": frozenset({A, B}),
        "served_chain": small_pki.chain.certificates,
        "validated_chain": small_pki.chain.certificates,
    }
    return hpkp.PinViolation(**(fields | changes))  # type: ignore[arg-type]


def test_a_pin_violation_renders_the_report_violation_report_builds(small_pki: SmallPKI) -> None:
    assert _violation(small_pki).report() == _report(small_pki)


def test_report_decisions_are_the_same_from_a_violation_or_its_rendered_report(
    small_pki: SmallPKI,
) -> None:
    rogue = small_pki.inter.compromise().issue(
        ["example.com"], derive_key(0, "attacker").public_key(), at=10
    )
    # (report-uri, changes to the violation, time): duplicates inside and after the hour,
    # and every field that makes a report different.
    script: list[tuple[str | None, dict[str, object], float]] = [
        ("https://r.example.net/", {}, 0),
        ("https://r.example.net/", {"at": 5000}, 100),  # only date-time differs: a duplicate
        ("https://r.example.net/", {}, 3599),
        ("https://r.example.net/", {}, 3600),
        ("https://other.example.net/", {}, 3600),
        ("https://r.example.net/", {"served_chain": rogue.certificates}, 3601),
        ("https://r.example.net/", {"validated_chain": rogue.certificates}, 3601),
        ("https://r.example.net/", {"known_pins": frozenset({A, C})}, 3601),
        ("https://r.example.net/", {"expires_at": 61 * DAY}, 3601),
        ("https://r.example.net/", {"expires_at": 61 * DAY + 0.5}, 3602),  # same second
        ("https://r.example.net/", {"include_subdomains": False}, 3601),
        ("https://r.example.net/", {"hostname": "www.example.com"}, 3601),
        ("https://r.example.net/", {"port": 8443}, 3601),
        ("https://example.com/r", {}, 3601),  # the pinned host itself
        ("https://a.example.com/r", {}, 3601),  # covered by includeSubDomains
        ("http://example.com/r", {}, 3601),
        (None, {}, 3601),
    ]
    rendered, lazy = ReportSender(), ReportSender()
    from_reports = [
        rendered.should_send(uri, _violation(small_pki, **change).report(), at)
        for uri, change, at in script
    ]
    from_violations = [
        lazy.should_send_violation(uri, _violation(small_pki, **change), at)
        for uri, change, at in script
    ]
    assert from_reports == from_violations
    # A key made once, from the first failure's violation, decides the later ones alike.
    keyed = ReportSender()
    keys = [
        keyed.violation_key(uri, _violation(small_pki, **{"at": 0} | c)) for uri, c, _ in script
    ]
    from_keys = [
        key is not None and keyed.send_if_fresh(key, at)
        for key, (_, _, at) in zip(keys, script, strict=True)
    ]
    assert from_keys == from_violations
    assert from_reports == [
        True, False, False, True, True, True, True, True, True, False,
        True, True, True, False, False, True, False,
    ]  # fmt: skip


def test_both_entry_points_share_one_memory_of_sent_reports(small_pki: SmallPKI) -> None:
    sender = ReportSender()
    assert sender.should_send("https://r.example.net/", _report(small_pki), 0)
    assert not sender.should_send_violation("https://r.example.net/", _violation(small_pki), 1)
    assert not ReportSender(hpkp.profile("firefox")).should_send_violation(
        "https://r.example.net/", _violation(small_pki), 0
    )


def test_a_report_of_another_shape_is_still_keyed_by_its_json(small_pki: SmallPKI) -> None:
    sender = ReportSender()
    extra = _report(small_pki) | {"x-note": "a"}
    assert sender.should_send("https://r.example.net/", extra, 0)
    assert not sender.should_send("https://r.example.net/", dict(extra), 1)
    assert sender.should_send("https://r.example.net/", extra | {"x-note": "b"}, 2)
    # JSON tells true from 1, so a hand-made report with 1 is a different report.
    assert sender.should_send("https://r.example.net/", _report(small_pki), 3)
    assert sender.should_send(
        "https://r.example.net/", _report(small_pki) | {"include-subdomains": 1}, 4
    )


# -- the lifecycle table ------------------------------------------------------------------------


def test_every_state_event_pair_that_can_happen_is_in_the_table() -> None:
    for state in PinState:
        for event in (PinEvent.VALID_HEADER, PinEvent.INVALID_HEADER, PinEvent.MAX_AGE_ZERO):
            assert (state, event) in hpkp.TRANSITIONS


def test_readme_state_diagram_is_drawn_from_the_table() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert hpkp.state_diagram() in readme
