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
Report-Only header        evaluated and reported               not supported (Bugzilla 1091177)
========================  ===================================  ==================================

In both, a chain ending at a user-installed root bypasses enforcement: that is why corporate
TLS proxies (and mitmproxy) kept working on pinned sites.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from simlab.clock import DAY, DEFAULT_EPOCH, SimTime, to_datetime
from simlab.errors import SimlabError
from simlab.pins import (
    PinCheck,
    PinSource,
    PinVerdict,
    covers,
    is_valid_pin,
    matches,
    parent_domains,
)
from simlab.pki import AnchorOrigin

__all__ = [
    "TRANSITIONS",
    "HeaderError",
    "HeaderOutcome",
    "KnownPinnedHosts",
    "PinEntry",
    "PinEvent",
    "PinState",
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


@dataclass(frozen=True)
class Profile:
    """How one user agent applied RFC 7469 (see the module docstring's table)."""

    name: str
    max_age_cap: int = int(60 * DAY)
    min_pins: int = 1
    bare_max_age_zero_removes: bool = False
    note_from_local_root: bool = True
    send_reports: bool = True
    report_only_supported: bool = True
    report_dedupe_seconds: int = 3600


PROFILES: dict[str, Profile] = {
    "chromium": Profile("chromium", min_pins=2),
    "firefox": Profile(
        "firefox",
        bare_max_age_zero_removes=True,
        note_from_local_root=False,
        send_reports=False,
        report_only_supported=False,
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


# -- header grammar (RFC 7469 section 2.1, RFC 7230 section 3.2.6) -----------------------

_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_OWS = " \t"


def _directives(header: str) -> list[tuple[str, str | None]]:
    """Split a header into (lower-cased name, unquoted value or None).

    Empty directives (``;;`` or a trailing ``;``) are skipped, as Chromium's
    ``NameValuePairsIterator`` did.
    """
    out: list[tuple[str, str | None]] = []
    i, n = 0, len(header)
    while True:
        while i < n and header[i] in _OWS:
            i += 1
        if i >= n:
            return out
        if header[i] == ";":
            i += 1
            continue
        start = i
        while i < n and header[i] in _TCHAR:
            i += 1
        if i == start:
            raise HeaderError(f"expected a directive name at position {i}, found {header[i]!r}")
        name = header[start:i].lower()
        while i < n and header[i] in _OWS:
            i += 1
        value: str | None = None
        if i < n and header[i] == "=":
            i += 1
            while i < n and header[i] in _OWS:
                i += 1
            if i < n and header[i] == '"':
                value, i = _quoted_string(header, i)
            else:
                start = i
                while i < n and header[i] in _TCHAR:
                    i += 1
                if i == start:
                    raise HeaderError(f"directive {name!r} has '=' but no value (position {i})")
                value = header[start:i]
        while i < n and header[i] in _OWS:
            i += 1
        if i < n and header[i] != ";":
            raise HeaderError(f"unexpected {header[i]!r} at position {i} after directive {name!r}")
        out.append((name, value))


def _quoted_string(header: str, i: int) -> tuple[str, int]:
    """Parse a quoted-string starting at header[i] == '"'; return (content, next index)."""
    chars: list[str] = []
    i += 1
    while i < len(header):
        c = header[i]
        if c == '"':
            return "".join(chars), i + 1
        if c == "\\":
            if i + 1 >= len(header):
                break
            i += 1
            c = header[i]
        if c in "\r\n\x00" or (ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F:
            raise HeaderError(f"control character in quoted string at position {i}")
        chars.append(c)
        i += 1
    raise HeaderError("unterminated quoted string")


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


def parse(header: str, *, report_only: bool = False, profile: str = "chromium") -> Policy:
    """Parse a ``Public-Key-Pins`` header value (RFC 7469 section 2.1).

    Directive names are case-insensitive; values are tokens or quoted strings; ``max-age``
    is required except in Report-Only and is clamped to the profile's cap; each
    ``pin-sha256`` is base64 of 32 bytes; ``includeSubDomains`` takes no value;
    ``report-uri`` must be an absolute URI; repeating any directive but ``pin-sha256`` is an
    error; unknown directives (including ``pin-`` with other hash algorithms) are ignored.
    Raises :class:`HeaderError` naming the problem.
    """
    if not isinstance(header, str):
        raise HeaderError(f"header must be a string, not {type(header).__name__}")
    return _parse(header, report_only, profile)


@functools.lru_cache(maxsize=4096)
def _parse(header: str, report_only: bool, profile: str) -> Policy:
    """The parser proper. Pure and memoised: a browser sees the same header on every visit,
    and a Policy is immutable, so a cached answer is the answer (errors are not cached)."""
    cap = _profile_for(profile).max_age_cap
    pins: set[str] = set()
    seen: set[str] = set()
    max_age: int | None = None
    include_subdomains = False
    report_uri: str | None = None
    for name, value in _directives(header):
        if name != "pin-sha256":
            if name in seen and name in ("max-age", "includesubdomains", "report-uri"):
                raise HeaderError(f"directive {name!r} appears more than once")
            seen.add(name)
        if name == "pin-sha256":
            if value is None or not is_valid_pin(value):
                raise HeaderError(f"pin-sha256 value {value!r} is not base64 of a 32-byte SHA-256")
            pins.add(value)
        elif name == "max-age":
            if value is None or not value.isascii() or not value.isdigit():
                raise HeaderError(f"max-age must be a non-negative integer, got {value!r}")
            # Oversized values are clamped, not rejected (Chromium kMaxHPKPAgeSecs).
            max_age = cap if len(value) > 18 else min(int(value), cap)
        elif name == "includesubdomains":
            if value is not None:
                raise HeaderError(f"includeSubDomains takes no value, got {value!r}")
            include_subdomains = True
        elif name == "report-uri":
            if value is None or not _is_absolute_uri(value):
                raise HeaderError(f"report-uri must be an absolute URI, got {value!r}")
            report_uri = value
    if max_age is None and not report_only:
        raise HeaderError("max-age is required in Public-Key-Pins")
    return Policy(frozenset(pins), max_age, include_subdomains, report_uri, report_only)


def _profile_for(name: str | Profile) -> Profile:
    try:
        return profile(name)
    except SimlabError as exc:
        raise HeaderError(str(exc)) from None


def _is_absolute_uri(value: str) -> bool:
    try:
        parts = urllib.parse.urlsplit(value)
    except ValueError:
        return False
    allowed = not any(c.isspace() or ord(c) < 0x21 or ord(c) > 0x7E for c in value)
    return allowed and bool(parts.scheme) and bool(parts.netloc)


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


@dataclass(frozen=True)
class PinEntry:
    """A Known Pinned Host's pinning metadata (section 2.3.3)."""

    host: str
    pins: frozenset[str]
    noted_at: SimTime
    expires_at: SimTime
    include_subdomains: bool
    report_uri: str | None


@dataclass(frozen=True)
class HeaderOutcome:
    """What processing one header did: the event, the resulting state and why."""

    event: PinEvent
    state: PinState
    reason: str


@dataclass
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
            policy = (
                header if isinstance(header, Policy) else parse(header, profile=self.profile.name)
            )
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


def _rfc3339(at: SimTime, epoch: dt.datetime) -> str:
    return to_datetime(at, epoch).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pem_list(chain: Sequence[x509.Certificate]) -> list[str]:
    return [c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in chain]


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
        "served-certificate-chain": _pem_list(served_chain),
        "validated-certificate-chain": _pem_list(validated_chain),
        "known-pins": [f'pin-sha256="{p}"' for p in sorted(known_pins)],
    }


@dataclass
class ReportSender:
    """Decides which reports a UA actually sends (Chromium's rules).

    No report to an HTTPS report-uri on the pinned host itself (it would fail the same pin
    check), and identical reports within ``profile.report_dedupe_seconds`` are sent once.
    """

    profile: Profile = field(default_factory=lambda: PROFILES["chromium"])
    _recent: dict[str, SimTime] = field(default_factory=dict)

    def should_send(self, report_uri: str | None, report: dict[str, object], at: SimTime) -> bool:
        if report_uri is None or not self.profile.send_reports:
            return False
        parts = urllib.parse.urlsplit(report_uri)
        noted = str(report["noted-hostname"])
        if parts.scheme == "https" and parts.hostname is not None:
            target = parts.hostname.lower()
            if target == report["hostname"] or covers(
                noted, bool(report["include-subdomains"]), target
            ):
                return False
        body = dict(report)
        body.pop("date-time")
        key = report_uri + json.dumps(body, sort_keys=True)
        last = self._recent.get(key)
        if last is not None and at - last < self.profile.report_dedupe_seconds:
            return False
        self._recent[key] = at
        return True
