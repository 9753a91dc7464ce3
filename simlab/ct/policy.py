"""A client's CT policy: how many valid SCTs, from how many distinct operators.

The policies of the releases in ``simlab/data/clients.toml``:

- ``chrome-2018``: Chrome 68 required CT for certificates issued after 30 April 2018
  (``components/certificate_transparency/chrome_ct_policy_enforcer.cc``). Embedded SCTs: 2
  below 15 months of lifetime, 3 up to 27, 4 up to 39, 5 above. SCTs delivered in the TLS
  handshake or a stapled OCSP response: 2, whatever the lifetime. Either way at least one
  from a Google-operated log and one from a non-Google log.
- ``chrome-2022``: Chrome's policy from 15 April 2022: embedded, 2 SCTs for lifetimes up to
  180 days and 3 above; over TLS/OCSP, 2; from at least 2 distinct operators. Firefox 135
  enforces the same counts.
- ``apple``: certificates issued after 15 October 2018 (iOS 12.1.1, macOS 10.14.2): the 2018
  lifetime table, SCTs from distinct logs (support.apple.com 103214); ``apple-2021`` (iOS 14.6,
  macOS 11.4): 2 SCTs up to 180 days of lifetime, 3 for 181-398 days.

Embedded and TLS-delivered SCTs are counted separately, as Chromium does: a certificate
complies if its embedded SCTs meet the lifetime rule, or its TLS/OCSP SCTs meet theirs.

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
    NO_GOOGLE_LOG = "no_google_log"


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
    """``lifetime_rules``: (maximum lifetime in days, embedded SCTs required), ascending;
    ``tls_scts``: SCTs required when delivered over TLS or OCSP instead."""

    name: str
    lifetime_rules: tuple[tuple[float, int], ...] = ()
    min_operators: int = 0
    issued_after: dt.datetime | None = None
    exempt_user_roots: bool = True
    tls_scts: int = 2
    google_log: bool = False  # one SCT from a Google log and one from a non-Google log

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
        lifetime = (certificate.not_valid_after_utc - certificate.not_valid_before_utc).days
        embedded = self._judge(
            _valid_logs(certificate, issuer, known_logs, embedded_scts(certificate)),
            self.required_scts(lifetime),
        )
        if embedded.ok or not tls_scts:
            return embedded
        delivered = self._judge(
            _valid_logs(certificate, issuer, known_logs, tls_scts), self.tls_scts, "over TLS"
        )
        return delivered if delivered.ok else embedded

    def _judge(self, valid: list[KnownLog], needed: int, how: str = "embedded") -> CTVerdict:
        operators = len({log.operator for log in valid})
        if len(valid) < needed:
            return CTVerdict(
                False,
                len(valid),
                operators,
                CTFailure.TOO_FEW_SCTS,
                f"{len(valid)} valid SCT(s) {how} from distinct logs, {needed} required",
            )
        if operators < self.min_operators:
            return CTVerdict(
                False,
                len(valid),
                operators,
                CTFailure.TOO_FEW_OPERATORS,
                f"SCTs {how} from {operators} operator(s), {self.min_operators} required",
            )
        google = sum(log.operator == "Google" for log in valid)
        if self.google_log and not 0 < google < len(valid):
            return CTVerdict(
                False,
                len(valid),
                operators,
                CTFailure.NO_GOOGLE_LOG,
                f"SCTs {how} need one Google and one non-Google log",
            )
        return CTVerdict(True, len(valid), operators)


def _valid_logs(
    certificate: x509.Certificate,
    issuer: x509.Certificate | None,
    known_logs: Mapping[bytes, KnownLog],
    scts: Iterable[SCTLike],
) -> list[KnownLog]:
    """Distinct known logs with at least one valid SCT for this certificate."""
    found: dict[bytes, KnownLog] = {}
    for sct in scts:
        log = known_logs.get(sct.log_id)
        if (
            log is not None
            and sct.log_id not in found
            and verify_sct(sct, certificate, issuer, log.public_key)
        ):
            found[sct.log_id] = log
    return list(found.values())


_UTC = dt.UTC
_LIFETIMES_2018 = ((456, 2), (821, 3), (1186, 4), (float("inf"), 5))  # 15 / 27 / 39 months
POLICIES: dict[str, CTPolicy] = {
    "none": CTPolicy("none"),
    "chrome-2018": CTPolicy(
        "chrome-2018",
        _LIFETIMES_2018,
        min_operators=2,
        issued_after=dt.datetime(2018, 4, 30, tzinfo=_UTC),
        google_log=True,
    ),
    "chrome-2022": CTPolicy("chrome-2022", ((180, 2), (float("inf"), 3)), min_operators=2),
    "apple": CTPolicy(
        "apple", _LIFETIMES_2018, issued_after=dt.datetime(2018, 10, 15, tzinfo=_UTC)
    ),
    "apple-2021": CTPolicy(
        "apple-2021",
        ((180, 2), (398, 3), (float("inf"), 3)),
        issued_after=dt.datetime(2018, 10, 15, tzinfo=_UTC),
    ),
}


def ct_policy(name: str | CTPolicy) -> CTPolicy:
    """A named CT policy (a key of :data:`POLICIES`)."""
    if isinstance(name, CTPolicy):
        return name
    try:
        return POLICIES[name]
    except KeyError:
        raise SimlabError(
            f"unknown CT policy {name!r}; expected one of {sorted(POLICIES)}"
        ) from None
