"""What every pin check returns, whichever mechanism (HPKP, preload list, app) made it.

A pin check answers in the shape of ``cryptography``'s extension points: pinned and matched,
pinned and failed, or not applicable (with why), so the client pipeline can compose the
mechanisms and charts can count reasons.
"""

from __future__ import annotations

import base64
import binascii
import enum
import functools
from collections.abc import Iterable
from dataclasses import dataclass


class PinSource(enum.StrEnum):
    DYNAMIC = "hpkp"
    PRELOAD = "preload"
    APP = "app"


class PinVerdict(enum.StrEnum):
    NOT_PINNED = "not_pinned"
    MATCH = "match"
    MISMATCH = "mismatch"
    BYPASSED_LOCAL_ROOT = "bypassed_local_root"
    FAILED_OPEN = "failed_open"  # stale preload list, expired app pins
    REPORT_ONLY_MISMATCH = "report_only_mismatch"  # reported, never blocks


@dataclass(frozen=True, slots=True)
class PinCheck:
    """The outcome of matching a validated chain against one pin set (RFC 7469 section 2.6)."""

    verdict: PinVerdict
    source: PinSource | None = None
    noted_host: str | None = None

    @property
    def blocks(self) -> bool:
        """A mismatch is a hard failure with no click-through.

        Chrome: ERR_SSL_PINNED_KEY_NOT_IN_CERT_CHAIN;
        Firefox: MOZILLA_PKIX_ERROR_KEY_PINNING_FAILURE.
        """
        return self.verdict is PinVerdict.MISMATCH


NOT_PINNED = PinCheck(PinVerdict.NOT_PINNED)


def is_valid_pin(pin: str) -> bool:
    """True if ``pin`` is standard base64 of exactly 32 bytes (a SHA-256 digest)."""
    try:
        return len(base64.b64decode(pin, validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


def matches(pins: frozenset[str], validated_chain_pins: Iterable[str]) -> bool:
    """RFC 7469 section 2.6: any SPKI anywhere in the *validated* chain matches any pin."""
    return not pins.isdisjoint(validated_chain_pins)


def covers(entry_host: str, include_subdomains: bool, host: str) -> bool:
    """Whether a pin entry noted for ``entry_host`` applies to ``host`` (section 2.1.3)."""
    return host == entry_host or (include_subdomains and host.endswith("." + entry_host))


@functools.lru_cache(maxsize=1024)
def parent_domains(host: str) -> tuple[str, ...]:
    """``a.b.example.com`` -> (a.b.example.com, b.example.com, example.com, com)."""
    labels = host.split(".")
    return tuple(".".join(labels[i:]) for i in range(len(labels)))
