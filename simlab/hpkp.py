"""HTTP Public Key Pinning (RFC 7469): headers, Known Pinned Hosts, pin checks and reports.

Where Chromium, Firefox and the RFC differ, the difference is a field of :class:`Profile`;
``chromium`` is the default and ``firefox`` the alternative:

========================  ===================================  ==================================
rule                      chromium                             firefox
========================  ===================================  ==================================
max-age cap               60 days (``kMaxHPKPAgeSecs``)        60 days (``max_max_age_seconds``)
minimum pins              2                                    1 (the backup rule implies 2)
``max-age=0``             removes only with a valid live pin   a bare ``max-age=0`` removes
                          and a backup pin
header over a chain to a  noted, but never enforced            not noted
user-installed root
violation reports         sent (report-uri), de-duplicated     not implemented
Report-Only header        evaluated and reported               not supported (Bugzilla 1091176)
longest header value      256 KiB (``kMaxHeaderBufSize``)      1 MiB (measured; see below)
========================  ===================================  ==================================

Each browser reads the header with its own tokenizer (``Profile.header_grammar``). Chromium's
is lenient where Firefox's follows the RFC 2616 grammar, and each has quirks of its own:

=====================  =====================================  ================================
header text            chromium [C]                           firefox [F]
=====================  =====================================  ================================
directives             split at ``;`` outside ``"..."`` *or*  ``directive *( ";" directive )``
                       ``'...'``; an open quote runs to the   and nothing left over
                       end of the header
directive name         anything before the first ``=``,       a token, possibly empty (``;;``
                       SP/HT trimmed; ``=`` first, or a       and ``=x`` pass as unknown
                       quote before ``=``, rejects            directives)
value                  anything after ``=``, SP/HT trimmed;   a token or a ``"`` string;
                       ``a=`` and nothing more rejects        ``a=`` gives an empty value
quoted value           ``"`` or ``'``; ``\\x`` becomes ``x``;  ``"`` only, and it must close;
                       with no closing quote, the text after  a quoted-pair keeps its
                       the opening one, *not* quoted          backslash in the value
whitespace             SP and HT                              SP, HT, CRLF line folding
``max-age``            digits, quoted or not; repeats         digits, quoted or not; once;
                       allowed, the last wins; any number     past 2**64 - 1 rejects
                       past the cap (past 2**32 too) clamps   (``CheckedUint64``)
``pin-sha256``         quoted; padded base64 of 32 bytes      token or quoted; base64 of 32
                                                              bytes, padding optional
``includeSubDomains``  any value ignored; repeats allowed     once; no value
``report-uri``         quoted; a valid URL; the last wins     once; otherwise ignored
=====================  =====================================  ================================

[C] Chromium until HPKP left it in version 72; read in the Chromium 57 sources and in a later
copy that already parsed Expect-CT, the same code in both. ``net/http/http_security_headers.cc``
``ParseHPKPHeaderImpl`` (with ``ParseAndAppendPin`` and ``MaxAgeToLimitedInt``) reads the header
with ``HttpUtil::NameValuePairsIterator`` (``net/http/http_util.cc``: ``GetNext``, ``IsQuote``,
``Unquote``) in ``Values::NOT_REQUIRED`` and ``Quotes::NOT_STRICT`` mode, over
``HttpUtil::ValuesIterator`` and ``base/strings/string_tokenizer.h``
(``StringTokenizerT::AdvanceOne``); numbers go through ``ParseUint32``
(``net/base/parse_number.cc``), base64 through ``modp_b64_decode`` with ``DOPAD``
(``third_party/modp_b64``). ``net/http/http_security_headers_unittest.cc``
(``TestBogusPinsHeaders``, ``TestValidPKPHeaders``) exercises them; ``tests/test_hpkp.py``
mirrors its cases. Chromium compared pins as bytes, so simlab stores them re-encoded.

[F] Firefox until HPKP was turned off in version 72; read in a 2017-18 copy.
``security/manager/ssl/nsSecurityHeaderParser.cpp`` (``Header``, ``Directive``,
``DirectiveValue``, ``QuotedString``, ``LWSMultiple``, ``IsTokenSymbol``,
``IsQuotedTextSymbol``) and ``nsSiteSecurityService.cpp`` ``ParseSSSHeaders`` (repeats, values,
``stringIsBase64EncodingOf256bitValue`` over ``xpcom/io/Base64.cpp`` ``Base64Decode``; max-age
through ``xpcom/ds/Tokenizer.cpp`` ``TokenizerBase::Parse`` and ``Tokenizer::ReadInteger``);
``security/manager/ssl/tests/unit/test_pinning_header_parsing.js`` exercises them. Firefox
compared pins as the strings sent, and so does simlab.

A header never reaches either parser from a response whose head is too large: Chromium fails
the whole response with ``ERR_RESPONSE_HEADERS_TOO_BIG`` once its head passes 256 KiB
(``net/http/http_stream_parser.h``, ``kMaxHeaderBufSize``). No such constant was found in
Firefox's sources; curl's maintainer, sending an endless head to both browsers, saw Firefox give
up at "around 1MB" and Chrome between 256 and 300 KB (curl/curl pull request 11582, 2023).
simlab takes 1 MiB for Firefox, a measurement of a later release than the one read above.
:func:`parse` refuses a header value longer than its profile's limit (it alone makes the head
too large), so hostile input costs bounded time.

Choices where the sources leave a gap, stated rather than silent: Chromium's ``report-uri`` must
be a valid ``GURL``; simlab asks for a scheme and a host free of spaces and control characters
(anything is allowed in the path, which ``GURL`` percent-escapes). Firefox's parser read a C
string, so a NUL would end the header early; no HTTP header value carries a NUL, and simlab
rejects one for Firefox (Chromium's tokenizer treats it as an ordinary character).

In both, a chain ending at a user-installed root bypasses enforcement: that is why corporate
TLS proxies (and mitmproxy) kept working on pinned sites.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import functools
import json
import re
import urllib.parse
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from simlab.clock import DAY, DEFAULT_EPOCH, SimTime, to_datetime
from simlab.errors import SimlabError, shown
from simlab.pins import (
    PinCheck,
    PinSource,
    PinVerdict,
    covers,
    matches,
    parent_domains,
)
from simlab.pki import AnchorOrigin

__all__ = [
    "TRANSITIONS",
    "HeaderError",
    "HeaderGrammar",
    "HeaderOutcome",
    "KnownPinnedHosts",
    "PinEntry",
    "PinEvent",
    "PinState",
    "PinViolation",
    "Policy",
    "Profile",
    "ReportSender",
    "parse",
    "profile",
    "serialise",
    "state_diagram",
    "violation_report",
]


class HeaderError(SimlabError):
    """A ``Public-Key-Pins`` header is invalid; the message says why and where.

    A browser ignores an invalid header, and so does simlab.
    """


class HeaderGrammar(enum.StrEnum):
    """Whose tokenizer reads a ``Public-Key-Pins`` header (the module docstring's second table)."""

    CHROMIUM = "chromium"  # NameValuePairsIterator, Quotes::NOT_STRICT
    FIREFOX = "firefox"  # nsSecurityHeaderParser (RFC 2616 section 2.2)


@dataclass(frozen=True)
class Profile:
    """How one user agent applied RFC 7469 (see the module docstring's tables)."""

    name: str
    max_age_cap: int = int(60 * DAY)
    min_pins: int = 1
    bare_max_age_zero_removes: bool = False
    note_from_local_root: bool = True
    send_reports: bool = True
    report_only_supported: bool = True
    report_dedupe_seconds: int = 3600
    header_grammar: HeaderGrammar = HeaderGrammar.CHROMIUM
    max_header_bytes: int = 256 * 1024  # the response head's limit (module docstring)


PROFILES: dict[str, Profile] = {
    "chromium": Profile("chromium", min_pins=2),
    "firefox": Profile(
        "firefox",
        bare_max_age_zero_removes=True,
        note_from_local_root=False,
        send_reports=False,
        report_only_supported=False,
        header_grammar=HeaderGrammar.FIREFOX,
        max_header_bytes=1024 * 1024,
    ),
}


def profile(name: str | Profile) -> Profile:
    """Look up a profile by name (``chromium`` or ``firefox``)."""
    if isinstance(name, Profile):
        return name
    try:
        return PROFILES[name]
    except KeyError:
        raise SimlabError(
            f"unknown HPKP profile {name!r}; expected one of {sorted(PROFILES)}"
        ) from None


# -- header grammar (RFC 7469 section 2.1; each browser's tokenizer) ----------------------

_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_B64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


@dataclass(frozen=True)
class _Directive:
    """One ``name[=value]`` as a tokenizer hands it on.

    ``name`` is lower-cased: both browsers compared names ignoring ASCII case, and no other
    character lower-cases into the letters of the four directive names, so ``str.lower()``
    matches exactly the names they matched.
    """

    name: str
    value: str | None  # None: no '='
    quoted: bool  # the value was a quoted string (Chromium: quotes matched and were stripped)
    at: int  # where it starts in the header, for error messages


def _digits(name: str, value: str | None, limit: int) -> int | None:
    """The value of ``max-age``'s ASCII digits if it is at most ``limit``, else None.

    O(len(value)) and never an ``int()`` of more digits than ``limit`` has: leading zeros
    are dropped first (a run of any length of them is 0), and a longer number is over.
    """
    if value is None or not value.isascii() or not value.isdigit():
        raise HeaderError(f"{name} must be a non-negative integer, got {shown(value)}")
    digits = value.lstrip("0")
    if len(digits) > len(str(limit)):
        return None
    number = int(digits or "0")
    return number if number <= limit else None


def _chromium_max_age(name: str, value: str | None, cap: int) -> int:
    """``MaxAgeToLimitedInt``: the digits' value, clamped to ``cap``; a number past uint32
    (``ParseUint32``'s ``FAILED_OVERFLOW``) saturates to ``cap`` too."""
    number = _digits(name, value, cap)
    return cap if number is None else number


_UINT64_MAX = 2**64 - 1


def _firefox_max_age(name: str, value: str | None, cap: int) -> int:
    """``ParseSSSHeaders`` reads the digits with ``Tokenizer::ReadInteger`` into a uint64:
    past 2**64 - 1 the token is an error (``TokenizerBase::Parse`` counts in a
    ``CheckedUint64``) and the header is rejected (``ERROR_INVALID_MAX_AGE``);
    ``ProcessPKPHeader`` then clamps to ``max_max_age_seconds``."""
    number = _digits(name, value, _UINT64_MAX)
    if number is None:
        raise HeaderError(f"{name} {shown(value)} is more than 2**64 - 1")
    return min(number, cap)


# Chromium: HttpUtil::NameValuePairsIterator(..., ';', Values::NOT_REQUIRED, Quotes::NOT_STRICT)

_CR_LWS = " \t"  # HTTP_LWS
_CR_QUOTES = "\"'"  # HttpUtil::IsQuote: "some servers rely on" single quotes


def _chromium_split(header: str) -> Iterator[tuple[int, str]]:
    """``ValuesIterator``: split at ';' outside quotes; a backslash inside quotes skips the next
    character; an unclosed quote runs to the end (``StringTokenizerT::AdvanceOne``)."""
    start, quote, escaped = 0, "", False
    for i, c in enumerate(header):
        if quote:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == quote:
                quote = ""
        elif c == ";":
            yield start, header[start:i]
            start = i + 1
        elif c in _CR_QUOTES:
            quote = c
    yield start, header[start:]


_CR_ESCAPE = re.compile(r"\\(.?)", re.DOTALL)


def _chromium_unquote(value: str) -> str:
    """``HttpUtil::Unquote`` (non-strict): drop the quotes; ``\\x`` becomes ``x``."""
    return _CR_ESCAPE.sub(r"\1", value[1:-1])


def _chromium_directives(header: str) -> Iterator[_Directive]:
    """``NameValuePairsIterator::GetNext``, one pair at a time (an error stops the iteration)."""
    for start, token in _chromium_split(header):
        text = token.lstrip(_CR_LWS)
        at = start + len(token) - len(text)
        text = text.rstrip(_CR_LWS)
        if not text:
            continue  # ValuesIterator skips empty values: ';;' and a trailing ';'
        equals = text.find("=")
        if equals == 0:
            raise HeaderError(f"directive at position {at} has no name")
        if equals < 0:
            yield _Directive(text.lower(), None, False, at)
            continue
        if any(q in text[:equals] for q in _CR_QUOTES):
            raise HeaderError(f"quote before '=' in the directive at position {at}")
        name = text[:equals].rstrip(_CR_LWS).lower()
        value = text[equals + 1 :].lstrip(_CR_LWS)
        if not value:
            raise HeaderError(f"directive {shown(name)} has '=' but no value (position {at})")
        if value[0] not in _CR_QUOTES:
            yield _Directive(name, value, False, at)
        elif len(value) > 1 and value[-1] == value[0]:
            yield _Directive(name, _chromium_unquote(value), True, at)
        else:
            # "Gracefully recover from mismatching quotes" (crbug.com/39836): the text after
            # the opening quote is the value, and it does not count as quoted.
            yield _Directive(name, value[1:], False, at)


def _chromium_pin(value: str) -> str | None:
    """``ParseAndAppendPin``: ``modp_b64_decode`` with ``DOPAD`` (length a multiple of 4, at
    most two '=' at the end) giving 32 bytes; returned re-encoded, as Chromium kept bytes."""
    if len(value) % 4 or not value:
        return None
    data = value[:-2] if value.endswith("==") else value[:-1] if value.endswith("=") else value
    if not _B64.issuperset(data) or len(data) != 43:  # 43 characters carry 32 bytes
        return None
    return base64.b64encode(base64.b64decode(data + "=")).decode("ascii")


_C0_OR_SPACE = "".join(map(chr, range(0x21)))


def _chromium_report_uri_ok(value: str) -> bool:
    """simlab's reading of ``GURL::is_valid`` for report URIs: GURL trims controls and spaces
    at the ends and drops tabs and newlines, then needs a scheme and a host; the path may hold
    anything (GURL percent-escapes it)."""
    try:
        parts = urllib.parse.urlsplit(value.strip(_C0_OR_SPACE))  # urlsplit drops HT, CR, LF
    except ValueError:
        return False
    host = parts.netloc
    return bool(parts.scheme) and bool(host) and not any(c.isspace() or c < " " for c in host)


def _parse_chromium(header: str, report_only: bool, cap: int) -> Policy:
    """``ParseHPKPHeaderImpl``: pins and report-uri must be quoted; repeats are allowed (the
    last ``max-age`` and ``report-uri`` win); ``includeSubDomains`` ignores any value."""
    pins: set[str] = set()
    max_age: int | None = None
    include_subdomains = False
    report_uri: str | None = None
    for d in _chromium_directives(header):
        if d.name == "max-age":
            max_age = _chromium_max_age(d.name, d.value, cap)
        elif d.name == "pin-sha256":
            if not d.quoted:
                raise HeaderError(f"pin-sha256 at position {d.at} must be a quoted string")
            pin = _chromium_pin(d.value or "")
            if pin is None:
                raise HeaderError(f"pin-sha256 value {shown(d.value)} is not base64 of 32 bytes")
            pins.add(pin)
        elif d.name == "includesubdomains":
            include_subdomains = True
        elif d.name == "report-uri":
            if not d.quoted:
                raise HeaderError(f"report-uri at position {d.at} must be a quoted string")
            if not d.value or not _chromium_report_uri_ok(d.value):
                raise HeaderError(f"report-uri must be an absolute URI, got {shown(d.value)}")
            report_uri = d.value
        # anything else: "Silently ignore unknown directives for forward compatibility."
    if max_age is None and not report_only:
        raise HeaderError("max-age is required in Public-Key-Pins")
    return Policy(frozenset(pins), max_age, include_subdomains, report_uri, report_only)


# Firefox: nsSecurityHeaderParser, then nsSiteSecurityService ParseSSSHeaders

# Each scanner is one regular expression, so a header of megabytes is read at C speed.
# Every repeat is possessive (Python 3.11): a match keeps no backtracking state, so memory
# stays constant however long the run of spaces or quoted text.
# LWSMultiple: SP and HT, and CRLF only as line folding (followed by SP or HT).
_FF_LWS_TEXT = r"[ \t]*+(?:\r\n[ \t]++)*+"
_FF_LWS = re.compile(_FF_LWS_TEXT)
_FF_EMPTY_DIRECTIVES = re.compile(f"(?:{_FF_LWS_TEXT};)*+")  # ';;' and '; ;' name nothing
_FF_TOKEN = re.compile("[" + re.escape("".join(sorted(_TCHAR))) + "]*+")
# QuotedString: IsQuotedTextSymbol (octets 32-126 but '"' and '\', plus HT, LF and CR; a
# signed char, so nothing above 127), or a quoted-pair: '\' and any ASCII character.
_FF_QUOTED = re.compile(r"(?:[\t\n\r !#-\[\]-~]++|\\[\x00-\x7f])*+")


def _firefox_lws(header: str, i: int) -> int:
    """``LWSMultiple``; a CR that is not line folding is an error."""
    end = _FF_LWS.match(header, i).end()  # type: ignore[union-attr]  # '*' always matches
    if header[end : end + 1] == "\r":
        raise HeaderError(f"CR at position {end} is not CRLF line folding")
    return end


def _firefox_token(header: str, i: int) -> int:
    return _FF_TOKEN.match(header, i).end()  # type: ignore[union-attr]


def _firefox_quoted(header: str, i: int) -> tuple[str, int]:
    """``QuotedString`` from the '"' at ``header[i]``: the content, with the backslash of each
    quoted-pair kept (``Advance`` copies every character it accepts), and the next index."""
    start = i + 1
    i = _FF_QUOTED.match(header, start).end()  # type: ignore[union-attr]
    if i < len(header) and header[i] == '"':
        return header[start:i], i + 1
    if i >= len(header) or (header[i] == "\\" and i + 1 >= len(header)):
        raise HeaderError("unterminated quoted string")
    if header[i] == "\\":
        raise HeaderError(f"backslash before a non-ASCII character at position {i}")
    raise HeaderError(f"{header[i]!r} is not allowed in a quoted string (position {i})")


_FF_KNOWN = frozenset({"max-age", "includesubdomains", "pin-sha256", "report-uri"})


def _firefox_directives(header: str) -> Iterator[_Directive]:
    """``nsSecurityHeaderParser::Parse``, one directive at a time; a syntax error anywhere
    raises when the scan reaches it (:func:`_parse_firefox` reads to the end first).

    Only the directives ``ParseSSSHeaders`` reads are handed on: any other is ignored
    there, so skipping it here (and a run of empty ones at C speed) changes nothing.
    """
    if "\x00" in header:
        raise HeaderError(f"NUL at position {header.index(chr(0))}")
    i = 0
    while True:
        i = _FF_EMPTY_DIRECTIVES.match(header, i).end()  # type: ignore[union-attr]
        at = i = _firefox_lws(header, i)
        i = _firefox_token(header, i)
        name = header[at:i].lower()
        i = _firefox_lws(header, i)
        value: str | None = None
        quoted = False
        if i < len(header) and header[i] == "=":
            i = _firefox_lws(header, i + 1)
            if i < len(header) and header[i] == '"':
                value, i = _firefox_quoted(header, i)
                quoted = True
            else:
                start, i = i, _firefox_token(header, i)
                value = header[start:i]  # may be empty: DirectiveValue accepts nothing
            i = _firefox_lws(header, i)
        if name in _FF_KNOWN:
            yield _Directive(name, value, quoted, at)
        if i < len(header) and header[i] == ";":
            i += 1
            continue
        if i < len(header):
            raise HeaderError(
                f"unexpected {header[i]!r} at position {i} after directive {shown(name)}"
            )
        return


def _mozilla_pin_ok(value: str) -> bool:
    """``stringIsBase64EncodingOf256bitValue``: ``Base64Decode`` strips '=' padding only from a
    length that is a multiple of 4, accepts unpadded input, and must give 32 bytes."""
    data = value
    if data and len(data) % 4 == 0:
        data = data[:-2] if data.endswith("==") else data[:-1] if data.endswith("=") else data
    return len(data) == 43 and _B64.issuperset(data)


def _parse_firefox(header: str, report_only: bool, cap: int) -> Policy:
    """``ParseSSSHeaders``: ``max-age``, ``includeSubDomains`` and ``report-uri`` at most once;
    ``includeSubDomains`` takes no value; ``report-uri`` is otherwise ignored.

    Firefox parses the whole header before it reads a directive, so a syntax error anywhere
    wins over a bad directive before it; the directives stream past (nothing but the pins is
    kept) and the first bad one is raised once the scan has finished.
    """
    pins: set[str] = set()
    seen: set[str] = set()
    max_age: int | None = None
    include_subdomains = False
    problem: HeaderError | None = None
    for d in _firefox_directives(header):
        if problem is not None:
            continue
        try:
            if d.name in ("max-age", "includesubdomains", "report-uri"):
                if d.name in seen:
                    raise HeaderError(f"directive {d.name!r} appears more than once")
                seen.add(d.name)
            if d.name == "max-age":
                max_age = _firefox_max_age(d.name, d.value, cap)
            elif d.name == "includesubdomains":
                if d.value:
                    raise HeaderError(f"includeSubDomains takes no value, got {shown(d.value)}")
                include_subdomains = True
            elif d.name == "pin-sha256":
                if not _mozilla_pin_ok(d.value or ""):
                    raise HeaderError(
                        f"pin-sha256 value {shown(d.value)} is not base64 of 32 bytes"
                    )
                pins.add(d.value or "")
        except HeaderError as exc:
            problem = exc
    if problem is not None:
        raise problem
    if max_age is None and not report_only:
        raise HeaderError("max-age is required in Public-Key-Pins")
    return Policy(frozenset(pins), max_age, include_subdomains, None, report_only)


@dataclass(frozen=True)
class Policy:
    """A parsed ``Public-Key-Pins`` (or ``-Report-Only``) header."""

    pins: frozenset[str]
    max_age: int | None
    include_subdomains: bool = False
    report_uri: str | None = None
    report_only: bool = False

    @property
    def header_name(self) -> str:
        return "Public-Key-Pins-Report-Only" if self.report_only else "Public-Key-Pins"

    def serialise(self) -> str:
        return serialise(self)


def parse(header: str, *, report_only: bool = False, profile: str | Profile = "chromium") -> Policy:
    """Parse a ``Public-Key-Pins`` header value (RFC 7469 section 2.1) as ``profile`` did.

    Directive names are case-insensitive; ``max-age`` is required except in Report-Only and is
    clamped to the profile's cap; each ``pin-sha256`` is base64 of 32 bytes; ``report-uri``
    must be an absolute URI; unknown directives (including ``pin-`` with other hash
    algorithms) are ignored. How the text is tokenized, and which repeats and values are
    tolerated, follows the profile's browser (the module docstring's second table). A header
    longer than the profile's response-head limit is refused unread (``max_header_bytes``).
    Raises :class:`HeaderError` naming the problem.
    """
    if not isinstance(header, str):
        raise HeaderError(f"header must be a string, not {type(header).__name__}")
    if not isinstance(report_only, bool):  # 'yes' would be kept as the policy's flag
        raise HeaderError(f"report_only must be True or False, not {shown(report_only)}")
    ua = _profile_for(profile)
    size = len(header) if header.isascii() else len(header.encode("utf-8", "surrogatepass"))
    if size > ua.max_header_bytes:
        raise HeaderError(
            f"the header is {size:,} bytes long in UTF-8; {ua.name} fails a response whose"
            f" headers pass {ua.max_header_bytes:,} bytes before reading any pin"
        )
    if len(header) > _CACHED_HEADER_CHARS:
        return _parse(header, report_only, ua)
    return _parse_cached(header, report_only, ua)


def _parse(header: str, report_only: bool, profile: Profile) -> Policy:
    """The parser proper: pure, O(len(header)) in time and memory."""
    if profile.header_grammar is HeaderGrammar.FIREFOX:
        return _parse_firefox(header, report_only, profile.max_age_cap)
    return _parse_chromium(header, report_only, profile.max_age_cap)


_CACHED_HEADER_CHARS = 1024
_parse_cached = functools.lru_cache(maxsize=4096)(_parse)
"""Memoised :func:`_parse`: a browser sees the same header on every visit, and a Policy is
immutable, so a cached answer is the answer (errors are not cached). Only headers of at
most ``_CACHED_HEADER_CHARS`` characters are kept, so the cache holds at most 4,096 x 1,024
characters (a real header is a few hundred: ten pins and a report-uri fit in 800); a longer
one is parsed on every call, in time linear in its length."""


def _profile_for(name: str | Profile) -> Profile:
    try:
        return profile(name)
    except SimlabError as exc:
        raise HeaderError(str(exc)) from None


def serialise(policy: Policy) -> str:
    """The header value for ``policy``; ``parse(serialise(p))`` gives back ``p``."""
    parts = [f'pin-sha256="{pin}"' for pin in sorted(policy.pins)]
    if policy.max_age is not None:
        parts.append(f"max-age={policy.max_age}")
    if policy.include_subdomains:
        parts.append("includeSubDomains")
    if policy.report_uri is not None:
        escaped = policy.report_uri.replace("\\", "\\\\").replace('"', '\\"')
        parts.append(f'report-uri="{escaped}"')
    return "; ".join(parts)


# -- the Known Pinned Host lifecycle (RFC 7469 sections 2.3-2.7) ------------------------


class PinState(enum.StrEnum):
    UNKNOWN = "unknown"
    NOTED = "noted"
    EXPIRED = "expired"
    REMOVED = "removed"


class PinEvent(enum.StrEnum):
    VALID_HEADER = "valid header"
    INVALID_HEADER = "rejected header"
    MAX_AGE_ZERO = "max-age=0"
    EXPIRY = "max-age elapses"
    PIN_MATCH = "pins match"
    PIN_FAILURE = "pin failure (hard fail + report)"


_S, _E = PinState, PinEvent
TRANSITIONS: dict[tuple[PinState, PinEvent], PinState] = {
    (_S.UNKNOWN, _E.VALID_HEADER): _S.NOTED,
    (_S.UNKNOWN, _E.INVALID_HEADER): _S.UNKNOWN,
    (_S.UNKNOWN, _E.MAX_AGE_ZERO): _S.UNKNOWN,
    (_S.NOTED, _E.VALID_HEADER): _S.NOTED,  # the new header replaces the entry
    (_S.NOTED, _E.INVALID_HEADER): _S.NOTED,  # a rejected header leaves it untouched
    (_S.NOTED, _E.MAX_AGE_ZERO): _S.REMOVED,
    (_S.NOTED, _E.EXPIRY): _S.EXPIRED,
    (_S.NOTED, _E.PIN_MATCH): _S.NOTED,
    (_S.NOTED, _E.PIN_FAILURE): _S.NOTED,  # failures never change the pins
    (_S.EXPIRED, _E.VALID_HEADER): _S.NOTED,
    (_S.EXPIRED, _E.INVALID_HEADER): _S.EXPIRED,
    (_S.EXPIRED, _E.MAX_AGE_ZERO): _S.EXPIRED,
    (_S.REMOVED, _E.VALID_HEADER): _S.NOTED,
    (_S.REMOVED, _E.INVALID_HEADER): _S.REMOVED,
    (_S.REMOVED, _E.MAX_AGE_ZERO): _S.REMOVED,
}
"""The whole lifecycle of one host's pin state; :class:`KnownPinnedHosts` follows it."""


def state_diagram() -> str:
    """A Mermaid state diagram drawn from :data:`TRANSITIONS` (the README embeds it)."""
    lines = ["stateDiagram-v2", f"    [*] --> {PinState.UNKNOWN.name}"]
    for (src, event), dst in TRANSITIONS.items():
        lines.append(f"    {src.name} --> {dst.name}: {event.value}")
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class PinEntry:
    """A Known Pinned Host's pinning metadata (section 2.3.3)."""

    host: str
    pins: frozenset[str]
    noted_at: SimTime
    expires_at: SimTime
    include_subdomains: bool
    report_uri: str | None


@dataclass(frozen=True, slots=True)
class HeaderOutcome:
    """What processing one header did: the event, the resulting state and why."""

    event: PinEvent
    state: PinState
    reason: str


@dataclass(slots=True)
class KnownPinnedHosts:
    """One user agent's store of dynamic pins, following :data:`TRANSITIONS`."""

    profile: Profile = field(default_factory=lambda: PROFILES["chromium"])
    _entries: dict[str, PinEntry] = field(default_factory=dict)
    _states: dict[str, PinState] = field(default_factory=dict)

    def state(self, host: str, at: SimTime) -> PinState:
        self._expire(host, at)
        return self._states.get(host, PinState.UNKNOWN)

    def entry(self, host: str, at: SimTime) -> PinEntry | None:
        """The unexpired entry noted for exactly ``host``."""
        self._expire(host, at)
        return self._entries.get(host)

    def lookup(self, host: str, at: SimTime) -> PinEntry | None:
        """The entry that governs ``host``: its own, else a superdomain's with includeSubDomains."""
        if not self._entries:
            return None
        for candidate in parent_domains(host):
            entry = self._entries.get(candidate)
            if entry is None:
                continue
            if at >= entry.expires_at:
                self._apply(candidate, PinEvent.EXPIRY)
                continue
            if covers(entry.host, entry.include_subdomains, host):
                return entry
        return None

    def process_header(
        self,
        host: str,
        header: str | Policy,
        *,
        at: SimTime,
        validated_pins: Iterable[str],
        anchor_origin: AnchorOrigin | None,
        connection_ok: bool = True,
    ) -> HeaderOutcome:
        """Note (or reject) a ``Public-Key-Pins`` header received from ``host`` (section 2.5).

        ``validated_pins`` are the SPKI pins of the connection's validated chain.
        """
        self._expire(host, at)
        try:
            policy = header if isinstance(header, Policy) else parse(header, profile=self.profile)
        except HeaderError as exc:
            return self._reject(host, f"invalid header: {exc}")
        if policy.report_only:
            return self._reject(host, "Report-Only headers are evaluated, never noted")
        if not connection_ok:
            return self._reject(host, "the connection had certificate errors")
        if anchor_origin is AnchorOrigin.USER and not self.profile.note_from_local_root:
            return self._reject(host, "the chain ends at a user-installed root")
        assert policy.max_age is not None
        if policy.max_age == 0 and self.profile.bare_max_age_zero_removes:
            return self._outcome(host, PinEvent.MAX_AGE_ZERO, "max-age=0 removes the entry")
        chain = frozenset(validated_pins)
        if len(policy.pins) < self.profile.min_pins:
            return self._reject(host, f"fewer than {self.profile.min_pins} pins")
        if not matches(policy.pins, chain):
            return self._reject(host, "no pin matches the validated chain")
        if policy.pins <= chain:
            return self._reject(host, "no backup pin outside the validated chain")
        if policy.max_age == 0:
            return self._outcome(host, PinEvent.MAX_AGE_ZERO, "max-age=0 removes the entry")
        entry = PinEntry(
            host,
            policy.pins,
            at,
            at + policy.max_age,
            policy.include_subdomains,
            policy.report_uri,
        )
        return self._outcome(host, PinEvent.VALID_HEADER, "noted", entry)

    def renote(self, entry: PinEntry) -> PinState:
        """Note ``entry`` again: what processing once more the valid header that gave it
        does (section 2.5: the new entry replaces the old, whatever the state), returning the
        state it leaves. For a caller that has processed that header before and knows the
        entry it gives (the batched engine, for thousands of clients at once: no
        :class:`HeaderOutcome` is made)."""
        return self._apply(entry.host, PinEvent.VALID_HEADER, entry)

    def check(
        self,
        host: str,
        validated_pins: Iterable[str],
        *,
        at: SimTime,
        anchor_origin: AnchorOrigin | None,
    ) -> PinCheck:
        """Pin validation (section 2.6) for a connection whose chain validated."""
        entry = self.lookup(host, at)
        if entry is None:
            return PinCheck(PinVerdict.NOT_PINNED)
        if anchor_origin is AnchorOrigin.USER:
            return PinCheck(PinVerdict.BYPASSED_LOCAL_ROOT, PinSource.DYNAMIC, entry.host)
        if not matches(entry.pins, validated_pins):
            self._apply(entry.host, PinEvent.PIN_FAILURE)
            return PinCheck(PinVerdict.MISMATCH, PinSource.DYNAMIC, entry.host)
        return PinCheck(PinVerdict.MATCH, PinSource.DYNAMIC, entry.host)

    # -- the table drives every change ----------------------------------------------------

    def _reject(self, host: str, reason: str) -> HeaderOutcome:
        return self._outcome(host, PinEvent.INVALID_HEADER, reason)

    def _outcome(
        self, host: str, event: PinEvent, reason: str, entry: PinEntry | None = None
    ) -> HeaderOutcome:
        state = self._apply(host, event, entry)
        return HeaderOutcome(event, state, reason)

    def _apply(self, host: str, event: PinEvent, entry: PinEntry | None = None) -> PinState:
        state = TRANSITIONS[(self._states.get(host, PinState.UNKNOWN), event)]
        self._states[host] = state
        if state is PinState.NOTED and entry is not None:
            self._entries[host] = entry
        elif state is not PinState.NOTED:
            self._entries.pop(host, None)
        return state

    def _expire(self, host: str, at: SimTime) -> None:
        entry = self._entries.get(host)
        if entry is not None and at >= entry.expires_at:
            self._apply(host, PinEvent.EXPIRY)


def evaluate_report_only(policy: Policy, validated_pins: Iterable[str]) -> bool:
    """True if a Report-Only policy is violated by this connection (it reports, never blocks)."""
    return not matches(policy.pins, validated_pins)


# -- violation reports (RFC 7469 section 3) ---------------------------------------------


@functools.lru_cache(maxsize=1024)
def _rfc3339(at: SimTime, epoch: dt.datetime) -> str:
    # Memoised: every report of a pin entry repeats its effective-expiration-date.
    return to_datetime(at, epoch).strftime("%Y-%m-%dT%H:%M:%SZ")


_PEM_MEMO: dict[int, tuple[x509.Certificate, str]] = {}
_PEM_MEMO_MAX = 4096


def _pem(cert: x509.Certificate) -> str:
    """``cert`` as PEM, memoised by identity: a world serves the same few certificate objects
    on every connection, and a certificate never changes. The memo holds each certificate, so
    its id cannot be reused while the entry lives; it is emptied when it grows too large."""
    hit = _PEM_MEMO.get(id(cert))
    if hit is not None and hit[0] is cert:
        return hit[1]
    pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
    if len(_PEM_MEMO) >= _PEM_MEMO_MAX:
        _PEM_MEMO.clear()
    _PEM_MEMO[id(cert)] = (cert, pem)
    return pem


@dataclass(frozen=True)
class PinViolation:
    """A pin validation failure before it becomes a report (RFC 7469 section 3).

    Rendering the report PEM-encodes two chains; :meth:`ReportSender.should_send_violation`
    decides from these fields, so only a report that is sent needs :meth:`report`.
    """

    hostname: str
    port: int
    at: SimTime
    noted_hostname: str
    include_subdomains: bool
    expires_at: SimTime
    known_pins: frozenset[str]
    served_chain: Sequence[x509.Certificate]
    validated_chain: Sequence[x509.Certificate]
    epoch: dt.datetime = DEFAULT_EPOCH

    def report(self) -> dict[str, object]:
        """The JSON object a UA POSTs to report-uri (section 3)."""
        return violation_report(
            hostname=self.hostname,
            port=self.port,
            at=self.at,
            noted_hostname=self.noted_hostname,
            include_subdomains=self.include_subdomains,
            expires_at=self.expires_at,
            known_pins=self.known_pins,
            served_chain=self.served_chain,
            validated_chain=self.validated_chain,
            epoch=self.epoch,
        )

    def dedupe_key(self, report_uri: str) -> Hashable:
        """What identifies this report for de-duplication: the report without its date-time,
        and where it goes (the same key :meth:`ReportSender.should_send` derives from a dict)."""
        return (
            report_uri,
            self.hostname,
            self.port,
            _rfc3339(self.expires_at, self.epoch),
            self.include_subdomains,
            self.noted_hostname,
            tuple(_pem(c) for c in self.served_chain),
            tuple(_pem(c) for c in self.validated_chain),
            tuple(_known_pins(self.known_pins)),
        )


def violation_report(
    *,
    hostname: str,
    port: int,
    at: SimTime,
    noted_hostname: str,
    include_subdomains: bool,
    expires_at: SimTime,
    known_pins: Iterable[str],
    served_chain: Sequence[x509.Certificate],
    validated_chain: Sequence[x509.Certificate],
    epoch: dt.datetime = DEFAULT_EPOCH,
) -> dict[str, object]:
    """The JSON object a UA POSTs to report-uri on a pin validation failure (section 3)."""
    return {
        "date-time": _rfc3339(at, epoch),
        "hostname": hostname,
        "port": port,
        "effective-expiration-date": _rfc3339(expires_at, epoch),
        "include-subdomains": include_subdomains,
        "noted-hostname": noted_hostname,
        "served-certificate-chain": [_pem(c) for c in served_chain],
        "validated-certificate-chain": [_pem(c) for c in validated_chain],
        "known-pins": _known_pins(known_pins),
    }


def _known_pins(pins: Iterable[str]) -> list[str]:
    return [f'pin-sha256="{p}"' for p in sorted(pins)]


# The report fields other than date-time, in the order of PinViolation.dedupe_key, and the
# JSON type each has in a report violation_report renders.
_KEY_FIELDS: tuple[tuple[str, type], ...] = (
    ("hostname", str),
    ("port", int),
    ("effective-expiration-date", str),
    ("include-subdomains", bool),
    ("noted-hostname", str),
    ("served-certificate-chain", list),
    ("validated-certificate-chain", list),
    ("known-pins", list),
)


def _has_json_type(value: object, kind: type) -> bool:
    if kind is list:
        return isinstance(value, (list, tuple)) and all(type(v) is str for v in value)
    return type(value) is kind  # exact: JSON tells true from 1


def _report_key(report_uri: str, report: Mapping[str, object]) -> Hashable:
    """The de-duplication key of a rendered report: everything but its date-time.

    For a report shaped as :func:`violation_report` renders one, this is the tuple
    :meth:`PinViolation.dedupe_key` gives, equal exactly when the JSON bodies are equal; any
    other dict is keyed by its JSON text, as before.
    """
    if "date-time" not in report:
        raise KeyError("date-time")
    values = [report.get(name) for name, _ in _KEY_FIELDS]
    if len(report) == len(_KEY_FIELDS) + 1 and all(
        _has_json_type(v, kind) for v, (_, kind) in zip(values, _KEY_FIELDS, strict=True)
    ):
        return (report_uri, *(tuple(v) if isinstance(v, list) else v for v in values))
    body = {k: v for k, v in report.items() if k != "date-time"}
    return report_uri + json.dumps(body, sort_keys=True)


@functools.lru_cache(maxsize=256)
def _https_host(report_uri: str) -> str | None:
    """The lower-cased host of an ``https`` report-uri, else None."""
    parts = urllib.parse.urlsplit(report_uri)
    if parts.scheme == "https" and parts.hostname is not None:
        return parts.hostname.lower()
    return None


@dataclass(slots=True)
class ReportSender:
    """Decides which reports a UA actually sends (Chromium's rules).

    No report to an HTTPS report-uri on the pinned host itself (it would fail the same pin
    check), and identical reports (all but the date-time, to the same report-uri) within
    ``profile.report_dedupe_seconds`` are sent once. :meth:`should_send` takes a rendered
    report; :meth:`should_send_violation` decides the same without rendering one.
    """

    profile: Profile = field(default_factory=lambda: PROFILES["chromium"])
    _recent: dict[Hashable, SimTime] = field(default_factory=dict)

    def should_send(self, report_uri: str | None, report: dict[str, object], at: SimTime) -> bool:
        if report_uri is None or not self.profile.send_reports:
            return False
        if self._to_pinned_host(
            report_uri,
            report["hostname"],
            str(report["noted-hostname"]),
            bool(report["include-subdomains"]),
        ):
            return False
        return self.send_if_fresh(_report_key(report_uri, report), at)

    def should_send_violation(
        self, report_uri: str | None, violation: PinViolation, at: SimTime
    ) -> bool:
        """:meth:`should_send` for ``violation.report()``, without rendering the report."""
        key = self.violation_key(report_uri, violation)
        return key is not None and self.send_if_fresh(key, at)

    def violation_key(self, report_uri: str | None, violation: PinViolation) -> Hashable | None:
        """The de-duplication key :meth:`should_send_violation` checks, or None if this
        sender never sends the report. It does not depend on ``violation.at``, so a UA that
        fails the same pins again can check :meth:`send_if_fresh` with the same key."""
        if report_uri is None or not self.profile.send_reports:
            return None
        if self._to_pinned_host(
            report_uri,
            violation.hostname,
            violation.noted_hostname,
            violation.include_subdomains,
        ):
            return None
        return violation.dedupe_key(report_uri)

    def _to_pinned_host(
        self, report_uri: str, hostname: object, noted: str, include_subdomains: bool
    ) -> bool:
        target = _https_host(report_uri)
        return target is not None and (
            target == hostname or covers(noted, include_subdomains, target)
        )

    def send_if_fresh(self, key: Hashable, at: SimTime) -> bool:
        """Whether a report with de-duplication ``key`` is sent at ``at`` (none identical
        within the dedupe interval), remembering it if so."""
        last = self._recent.get(key)
        if last is not None and at - last < self.profile.report_dedupe_seconds:
            return False
        self._recent[key] = at
        return True
