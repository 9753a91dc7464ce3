"""Static pinning: a browser's preload list and pins bundled in a mobile app.

(a) Chrome's preload pins lived in ``transport_security_state_static.json`` (pinsets, and
domains with ``include_subdomains``), were compiled into the browser, and were enforced only
while the build was less than 70 days old (``IsBuildTimely``); after that they failed open.

(b) Apps bundled pins: TrustKit (``kTSKPublicKeyHashes``, at least two pins when
enforcing, ``kTSKExpirationDate``), OkHttp's ``CertificatePinner`` and Android's Network
Security Config (``<pin-set expiration=...>``; after expiration the pins are ignored and
all installed CAs are trusted: fail open, OWASP MASTG-TEST-0241). A pin set reaches users
only as fast as they update the app, which :class:`UpdateAdoption` models.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from simlab.clock import DAY, SimTime
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
    "AppPinConfig",
    "AppRelease",
    "PinConfigError",
    "PreloadEntry",
    "PreloadList",
    "UpdateAdoption",
]


class PinConfigError(SimlabError):
    """A static pin configuration is invalid (e.g. an enforcing app with fewer than 2 pins)."""


def _checked_pins(pins: Iterable[str], where: str) -> frozenset[str]:
    result = frozenset(p.removeprefix("sha256/") for p in pins)
    bad = sorted(p for p in result if not is_valid_pin(p))
    if bad:
        raise PinConfigError(f"{where}: {bad[0]!r} is not base64 of a 32-byte SHA-256")
    return result


@dataclass(frozen=True)
class PreloadEntry:
    domain: str
    pinset: str
    include_subdomains: bool = True


@dataclass(frozen=True)
class PreloadList:
    """A browser build's static pins, and the date the build was made."""

    pinsets: Mapping[str, frozenset[str]]
    entries: Mapping[str, PreloadEntry]
    build_date: SimTime = 0.0
    timely_days: float = 70.0

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, build_date: SimTime = 0.0) -> PreloadList:
        """Read Chrome's ``transport_security_state_static.json`` shape (pins given inline)."""
        try:
            pinsets = {
                str(p["name"]): _checked_pins(p["static_spki_hashes"], f"pinset {p['name']!r}")
                for p in data["pinsets"]
            }
            entries = {
                str(e["name"]).lower(): PreloadEntry(
                    str(e["name"]).lower(), str(e["pins"]), bool(e.get("include_subdomains", False))
                )
                for e in data["entries"]
                if "pins" in e
            }
        except (KeyError, TypeError) as exc:
            raise PinConfigError(f"preload list: missing or malformed field {exc}") from None
        unknown = sorted({e.pinset for e in entries.values()} - set(pinsets))
        if unknown:
            raise PinConfigError(f"preload list: entries name unknown pinset {unknown[0]!r}")
        return cls(pinsets, entries, build_date)

    def to_json(self) -> dict[str, Any]:
        return {
            "pinsets": [
                {"name": name, "static_spki_hashes": [f"sha256/{p}" for p in sorted(pins)]}
                for name, pins in sorted(self.pinsets.items())
            ],
            "entries": [
                {"name": e.domain, "include_subdomains": e.include_subdomains, "pins": e.pinset}
                for e in sorted(self.entries.values(), key=lambda e: e.domain)
            ],
        }

    def is_timely(self, at: SimTime) -> bool:
        """Chrome's ``IsBuildTimely``: the build is less than ``timely_days`` old."""
        return at - self.build_date < self.timely_days * DAY

    def lookup(self, host: str) -> PreloadEntry | None:
        for candidate in parent_domains(host):
            entry = self.entries.get(candidate)
            if entry is not None and covers(entry.domain, entry.include_subdomains, host):
                return entry
        return None

    def check(
        self,
        host: str,
        validated_pins: Iterable[str],
        *,
        at: SimTime,
        anchor_origin: AnchorOrigin | None,
    ) -> PinCheck:
        entry = self.lookup(host)
        if entry is None:
            return PinCheck(PinVerdict.NOT_PINNED)
        if not self.is_timely(at):
            return PinCheck(PinVerdict.FAILED_OPEN, PinSource.PRELOAD, entry.domain)
        if anchor_origin is AnchorOrigin.USER:
            return PinCheck(PinVerdict.BYPASSED_LOCAL_ROOT, PinSource.PRELOAD, entry.domain)
        if not matches(self.pinsets[entry.pinset], validated_pins):
            return PinCheck(PinVerdict.MISMATCH, PinSource.PRELOAD, entry.domain)
        return PinCheck(PinVerdict.MATCH, PinSource.PRELOAD, entry.domain)


@dataclass(frozen=True)
class AppPinConfig:
    """Pins bundled in one app version, for one domain (TrustKit / OkHttp / Android NSC)."""

    domain: str
    pins: frozenset[str]
    include_subdomains: bool = False
    expiration: SimTime | None = None
    enforce: bool = True
    report_uris: tuple[str, ...] = ()
    override_for_user_roots: bool = False  # Android NSC <trust-anchors overridePins="true">

    def __post_init__(self) -> None:
        pins = _checked_pins(self.pins, f"app pins for {self.domain!r}")
        object.__setattr__(self, "pins", pins)
        if self.enforce and len(pins) < 2:
            raise PinConfigError(
                f"app pins for {self.domain!r}: at least 2 pins are required when enforcing "
                f"(TrustKit kTSKPublicKeyHashes), got {len(pins)}"
            )

    def check(
        self,
        host: str,
        validated_pins: Iterable[str],
        *,
        at: SimTime,
        anchor_origin: AnchorOrigin | None,
    ) -> PinCheck:
        if not covers(self.domain, self.include_subdomains, host):
            return PinCheck(PinVerdict.NOT_PINNED)
        if self.expiration is not None and at >= self.expiration:
            return PinCheck(PinVerdict.FAILED_OPEN, PinSource.APP, self.domain)
        if anchor_origin is AnchorOrigin.USER and self.override_for_user_roots:
            return PinCheck(PinVerdict.BYPASSED_LOCAL_ROOT, PinSource.APP, self.domain)
        if not matches(self.pins, validated_pins):
            verdict = PinVerdict.MISMATCH if self.enforce else PinVerdict.REPORT_ONLY_MISMATCH
            return PinCheck(verdict, PinSource.APP, self.domain)
        return PinCheck(PinVerdict.MATCH, PinSource.APP, self.domain)


@dataclass(frozen=True)
class AppRelease:
    version: str
    released_at: SimTime
    pins: AppPinConfig | None


@dataclass(frozen=True)
class UpdateAdoption:
    """How fast users move to a new app release.

    The fraction of users running a release ``t`` seconds after it ships is
    ``1 - exp(-(t - delay) / mean)`` for ``t > delay`` (store review plus staged rollout as
    ``delay``). Each user has a fixed threshold in [0, 1); the user runs the newest release
    whose adoption fraction has passed that threshold.
    """

    mean_days: float = 7.0
    delay_days: float = 1.0

    def fraction(self, elapsed: SimTime) -> float:
        t = elapsed / DAY - self.delay_days
        return 0.0 if t <= 0 else 1.0 - math.exp(-t / self.mean_days)

    def release_for(
        self, threshold: float, releases: Sequence[AppRelease], at: SimTime
    ) -> AppRelease:
        """The release a user with ``threshold`` runs at ``at`` (the first: installed base)."""
        return releases[self._index_for(threshold, releases, at)]

    def _index_for(self, threshold: float, releases: Sequence[AppRelease], at: SimTime) -> int:
        current = 0
        for index, release in enumerate(releases[1:], start=1):
            if release.released_at <= at and self.fraction(at - release.released_at) > threshold:
                current = index
        return current

    def release_holds_until(
        self, threshold: float, releases: Sequence[AppRelease], at: SimTime
    ) -> SimTime:
        """A time before which :meth:`release_for` gives the release it gives at ``at``
        (``inf``: no later release in ``releases`` displaces it), so that a simulation need
        not ask again at every visit. Only a release later in the list than the one in use
        can displace it; :meth:`fraction` only grows, so a time at which it is checked not
        to have passed the threshold bounds every earlier time too."""
        until = math.inf
        # Days after shipping where 1 - exp(-t / mean) first exceeds the threshold.
        crossing = self.delay_days - self.mean_days * math.log1p(-threshold)
        for release in releases[self._index_for(threshold, releases, at) + 1 :]:
            shipped = release.released_at
            safe = shipped + crossing * DAY - 1.0  # a second's margin
            if not (safe > shipped and self.fraction(safe - shipped) <= threshold):
                safe = shipped  # before it ships, it is not in use
            until = min(until, safe)
        return until
