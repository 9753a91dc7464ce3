"""HTTP Strict Transport Security (RFC 6797): the header and a client's Known HSTS Hosts.

HSTS matters here for one reason: on a host the browser knows as HSTS, every certificate
error is fatal (RFC 6797 section 12.1, "no user recourse"; Chromium
``TransportSecurityState::ShouldSSLErrorsBeFatal``; Firefox ``OverrideAllowedForHost``). That,
not pinning or CT, is what takes the "proceed anyway" button away from a user facing a
man-in-the-middle's certificate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simlab.clock import SimTime
from simlab.errors import SimlabError
from simlab.pins import covers, parent_domains

__all__ = ["HSTSError", "KnownHSTSHosts", "Policy", "parse"]


class HSTSError(SimlabError):
    """A ``Strict-Transport-Security`` header is invalid (RFC 6797 section 6.1)."""


@dataclass(frozen=True)
class Policy:
    max_age: int
    include_subdomains: bool = False

    def serialise(self) -> str:
        return f"max-age={self.max_age}" + (
            "; includeSubDomains" if self.include_subdomains else ""
        )


def parse(header: str) -> Policy:
    """Parse a ``Strict-Transport-Security`` value: ``max-age`` required, once; names
    case-insensitive; ``includeSubDomains`` takes no value; unknown directives ignored."""
    max_age: int | None = None
    include = False
    seen: set[str] = set()
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        name = name.strip().lower()
        if not name:
            continue
        if name in seen:
            raise HSTSError(f"directive {name!r} appears more than once")
        seen.add(name)
        value = value.strip().strip('"')
        if name == "max-age":
            if not sep or not value.isascii() or not value.isdigit():
                raise HSTSError(f"max-age must be a non-negative integer, got {value!r}")
            max_age = int(value)
        elif name == "includesubdomains":
            if sep:
                raise HSTSError("includeSubDomains takes no value")
            include = True
    if max_age is None:
        raise HSTSError("max-age is required in Strict-Transport-Security")
    return Policy(max_age, include)


@dataclass
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

    def known(self, host: str, at: SimTime) -> bool:
        if host in self.preloaded:
            return True
        for candidate in parent_domains(host):
            entry = self._noted.get(candidate)
            if entry is not None and at < entry[0] and covers(candidate, entry[1], host):
                return True
        return False
