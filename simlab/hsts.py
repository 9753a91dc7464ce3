"""HTTP Strict Transport Security (RFC 6797): a header's directives and a client's Known HSTS Hosts.

HSTS matters here for one reason: on a host the browser knows as HSTS, every certificate
error is fatal (RFC 6797 section 12.1, "no user recourse"; Chromium
``TransportSecurityState::ShouldSSLErrorsBeFatal``; Firefox ``OverrideAllowedForHost``). That,
not pinning or CT, is what takes the "proceed anyway" button away from a user facing a
man-in-the-middle's certificate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simlab.clock import SimTime
from simlab.pins import covers, parent_domains

__all__ = ["KnownHSTSHosts", "Policy"]


@dataclass(frozen=True)
class Policy:
    """A ``Strict-Transport-Security`` header's directives (RFC 6797 section 6.1)."""

    max_age: int
    include_subdomains: bool = False


@dataclass(slots=True)
class KnownHSTSHosts:
    """A client's HSTS state: preloaded hosts (shipped with the browser) and noted ones."""

    preloaded: frozenset[str] = frozenset()
    _noted: dict[str, tuple[SimTime, bool]] = field(default_factory=dict)

    def note(self, host: str, policy: Policy, at: SimTime) -> None:
        """Section 8.1: a header over an error-free secure connection; max-age=0 removes."""
        if policy.max_age == 0:
            self._noted.pop(host, None)
        else:
            self._noted[host] = (at + policy.max_age, policy.include_subdomains)

    def known(self, host: str, at: SimTime, *, preload: bool = True) -> bool:
        """Whether ``host`` is a Known HSTS Host at ``at``; ``preload``: whether the preload
        list counts (a stale build ignores its list, see ``hsts_preload_timely_days``)."""
        if preload and host in self.preloaded:
            return True
        for candidate in parent_domains(host):
            entry = self._noted.get(candidate)
            if entry is not None and at < entry[0] and covers(candidate, entry[1], host):
                return True
        return False
