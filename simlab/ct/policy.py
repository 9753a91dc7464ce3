"""A client's CT policy: how many valid SCTs, from how many distinct operators.

Rules of the eras simlab simulates (see REFERENCE.md for sources):

- ``chrome-2018``: Chrome 68 required CT for certificates issued after 30 April 2018:
  2 SCTs below 15 months of lifetime, 3 up to 27, 4 up to 39, 5 above; and SCTs from at
  least two distinct log operators (Chrome asked for one Google and one non-Google log).
- ``chrome-2022``: since April 2022, 2 SCTs for lifetimes up to 180 days, 3 above, from at
  least 2 distinct operators.
- ``apple``: certificates issued after 15 October 2018: 2 SCTs up to 180 days, 3 for
  181-398 days.

Chromium skips its CT requirement for chains ending at a locally installed root: that is
why CT, like pinning, does nothing against a malicious root the user installed.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from cryptography import x509

from simlab.ct.sct import SCTLike, embedded_scts, verify_sct
from simlab.errors import SimlabError
from simlab.keys import PublicKey
from simlab.pki import AnchorOrigin

__all__ = ["POLICIES", "CTPolicy", "CTVerdict", "KnownLog", "ct_policy"]


@dataclass(frozen=True)
class KnownLog:
    """An entry of the client's log list."""

    public_key: PublicKey
    operator: str
    name: str = ""


class CTFailure(enum.StrEnum):
    TOO_FEW_SCTS = "too_few_scts"
    TOO_FEW_OPERATORS = "too_few_operators"


@dataclass(frozen=True)
class CTVerdict:
    ok: bool
    valid_scts: int
    operators: int
    failure: CTFailure | None = None
    detail: str = ""
    exempt: str = ""  # why the policy did not apply ("user root", "issued before ...", "none")


@dataclass(frozen=True)
class CTPolicy:
    """``lifetime_rules``: (maximum lifetime in days, SCTs required), ascending."""

    name: str
    lifetime_rules: tuple[tuple[float, int], ...] = ()
    min_operators: int = 0
    issued_after: dt.datetime | None = None
    exempt_user_roots: bool = True

    def required_scts(self, lifetime_days: float) -> int:
        for max_days, count in self.lifetime_rules:
            if lifetime_days <= max_days:
                return count
        return self.lifetime_rules[-1][1] if self.lifetime_rules else 0

    def evaluate(
        self,
        certificate: x509.Certificate,
        issuer: x509.Certificate | None,
        known_logs: Mapping[bytes, KnownLog],
        *,
        anchor_origin: AnchorOrigin | None,
        tls_scts: Sequence[SCTLike] = (),
    ) -> CTVerdict:
        """Count the valid SCTs (embedded and delivered in TLS) against this policy."""
        if not self.lifetime_rules:
            return CTVerdict(True, 0, 0, exempt="no CT policy")
        if anchor_origin is AnchorOrigin.USER and self.exempt_user_roots:
            return CTVerdict(True, 0, 0, exempt="chain ends at a user-installed root")
        if self.issued_after is not None and certificate.not_valid_before_utc <= self.issued_after:
            return CTVerdict(True, 0, 0, exempt=f"issued before {self.issued_after:%Y-%m-%d}")
        valid = _valid_logs(certificate, issuer, known_logs, embedded_scts(certificate), tls_scts)
        operators = len({log.operator for log in valid})
        lifetime = (certificate.not_valid_after_utc - certificate.not_valid_before_utc).days
        needed = self.required_scts(lifetime)
        if len(valid) < needed:
            return CTVerdict(
                False,
                len(valid),
                operators,
                CTFailure.TOO_FEW_SCTS,
                f"{len(valid)} valid SCT(s) from distinct logs, {needed} required",
            )
        if operators < self.min_operators:
            return CTVerdict(
                False,
                len(valid),
                operators,
                CTFailure.TOO_FEW_OPERATORS,
                f"SCTs from {operators} operator(s), {self.min_operators} required",
            )
        return CTVerdict(True, len(valid), operators)


def _valid_logs(
    certificate: x509.Certificate,
    issuer: x509.Certificate | None,
    known_logs: Mapping[bytes, KnownLog],
    embedded: Iterable[SCTLike],
    tls: Iterable[SCTLike],
) -> list[KnownLog]:
    """Distinct known logs with at least one valid SCT for this certificate."""
    found: dict[bytes, KnownLog] = {}
    for sct in [*embedded, *tls]:
        log = known_logs.get(sct.log_id)
        if (
            log is not None
            and sct.log_id not in found
            and verify_sct(sct, certificate, issuer, log.public_key)
        ):
            found[sct.log_id] = log
    return list(found.values())


_UTC = dt.UTC
POLICIES: dict[str, CTPolicy] = {
    "none": CTPolicy("none"),
    "chrome-2018": CTPolicy(
        "chrome-2018",
        ((456, 2), (821, 3), (1186, 4), (float("inf"), 5)),  # 15 / 27 / 39 months
        min_operators=2,
        issued_after=dt.datetime(2018, 4, 30, tzinfo=_UTC),
    ),
    "chrome-2022": CTPolicy("chrome-2022", ((180, 2), (float("inf"), 3)), min_operators=2),
    "apple": CTPolicy(
        "apple",
        ((180, 2), (float("inf"), 3)),
        min_operators=1,
        issued_after=dt.datetime(2018, 10, 15, tzinfo=_UTC),
    ),
}


def ct_policy(name: str | CTPolicy) -> CTPolicy:
    """A named CT policy (``none``, ``chrome-2018``, ``chrome-2022``, ``apple``)."""
    if isinstance(name, CTPolicy):
        return name
    try:
        return POLICIES[name]
    except KeyError:
        raise SimlabError(
            f"unknown CT policy {name!r}; expected one of {sorted(POLICIES)}"
        ) from None
