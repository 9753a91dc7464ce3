"""A client's CT policy: how many valid SCTs, from how many distinct operators.

The policies of the releases in ``simlab/data/clients.toml``:

- ``chrome-2018``: Chrome 68 required CT for certificates whose notBefore is on or after
  1 May 2018 (``components/certificate_transparency/chrome_require_ct_delegate.cc``,
  ``ChromeRequireCTDelegate::IsCTRequiredForHost``), and judged them by
  ``ChromeCTPolicyEnforcer::CheckCTPolicyCompliance``
  (``components/certificate_transparency/chrome_ct_policy_enforcer.cc``). Either at least
  one SCT delivered in the TLS handshake or a stapled OCSP response, with SCTs from a
  Google-operated log and from a non-Google log among all SCTs however delivered; or
  embedded SCTs from a Google and a non-Google log, from at least 2 distinct logs below
  15 months of lifetime, 3 up to 27, 4 up to 39 and 5 above, in calendar months as
  ``RoundedDownMonthDifference`` counts them.
- ``chrome-2022``: the same function from Chrome 100, for certificates whose earliest SCT
  is on or after 15 April 2022 (``kPolicyUpdateDate``; older ones keep the 2018 rules):
  SCTs from 2 distinct operators among all SCTs, and either one delivered over TLS/OCSP or
  embedded SCTs from 2 distinct logs for a lifetime up to 180 days, 3 above.
- ``firefox-2025``: Firefox 135 (Mozilla wiki, SecurityEngineering/Certificate_Transparency,
  and its CT policy as restated on dev-security-policy, October 2025;
  ``security/ct/CTPolicyEnforcer.cpp``, ``NonEmbeddedSCTsCompliant``): embedded, 2 SCTs from
  distinct operators up to 180 days of lifetime and 3 above; over TLS/OCSP, 2 SCTs from
  distinct logs of 2 operators. The two ways are counted separately.
- ``apple``: certificates issued after 15 October 2018 (iOS 12.1.1, macOS 10.14.2): the 2018
  lifetime table, SCTs from distinct logs (support.apple.com 103214), or 2 SCTs however
  delivered with at least one over TLS/OCSP; ``apple-2021`` (iOS
  14.6, macOS 11.4), for certificates issued from 21 April 2021 (older ones keep the 2018
  table): 2 SCTs up to 180 days of lifetime and 3 for 181-398 days, of which at most 1 (up
  to 180 days) or 2 (above) from the same operator count. Apple's page gives the counts in
  months (2018) and days (2021); simlab reads its 2018 months as 456, 821 and 1186 days.

Lifetimes in days are exact: a certificate 180 days and an hour long needs the count above
180 days (Chromium compares ``base::Days(180)``; Apple counts any part of a day).

Chromium skips its CT requirement for chains ending at a locally installed root: that is
why CT, like pinning, does nothing against a malicious root the user installed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from cryptography import x509

from simlab.ct.sct import SCTLike, checked_timestamp_ms, embedded_scts, timestamp_ms, verify_sct
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


class Counting(enum.StrEnum):
    """How SCTs delivered in different ways add up (the module docstring)."""

    POOLED = "pooled"  # Chromium: diversity over every SCT; one TLS/OCSP SCT suffices
    SEPARATE = "separate"  # Firefox, Apple: the embedded SCTs, or the TLS/OCSP option's


@dataclass(frozen=True)
class CTPolicy:
    """``lifetime_rules``: (maximum lifetime, embedded SCTs required), ascending, in days, or
    in calendar months if ``in_months``; ``tls_scts``: SCTs required when delivered over TLS
    or OCSP instead; ``operator_cap``: (maximum lifetime in days, SCTs of one operator that
    count), ascending; ``earlier``: the policy that judges certificates issued before
    ``earlier_until`` (by notBefore, or by the earliest SCT if ``Counting.POOLED``)."""

    name: str
    lifetime_rules: tuple[tuple[float, int], ...] = ()
    min_operators: int = 0
    required_from: dt.datetime | None = None  # CT applies from this notBefore
    exempt_user_roots: bool = True
    tls_scts: int = 2
    tls_min_operators: int = 0
    tls_with_embedded: bool = False  # the TLS/OCSP option counts embedded SCTs too (Apple)
    google_log: bool = False  # one SCT from a Google log and one from a non-Google log
    counting: Counting = Counting.SEPARATE
    in_months: bool = False
    operator_cap: tuple[tuple[float, int], ...] = ()
    earlier: str | None = None
    earlier_until: dt.datetime | None = None

    def required_scts(self, lifetime: float) -> int:
        """Embedded SCTs required for ``lifetime`` (days, or months if ``in_months``)."""
        return _rule(self.lifetime_rules, lifetime)

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
        start = certificate.not_valid_before_utc
        if self.required_from is not None and start < self.required_from:
            return CTVerdict(True, 0, 0, exempt=f"issued before {self.required_from:%Y-%m-%d}")
        embedded = _valid_logs(certificate, issuer, known_logs, embedded_scts(certificate))
        delivered = _valid_logs(certificate, issuer, known_logs, tls_scts) if tls_scts else {}
        if self.earlier is not None and self.earlier_until is not None:
            issued: float = timestamp_ms(start)
            if self.counting is Counting.POOLED:  # kPolicyUpdateDate: the earliest SCT
                issued = min(
                    (ms for _, ms in (*embedded.values(), *delivered.values())),
                    default=math.inf,  # no valid SCT: the newer rules, as in Chromium
                )
            if issued < timestamp_ms(self.earlier_until):
                return dataclasses.replace(
                    ct_policy(self.earlier), required_from=None, exempt_user_roots=False
                ).evaluate(
                    certificate, issuer, known_logs, anchor_origin=anchor_origin, tls_scts=tls_scts
                )
        lifetime = certificate.not_valid_after_utc - start
        needed = self.required_scts(
            _months(start, certificate.not_valid_after_utc)
            if self.in_months
            else lifetime / dt.timedelta(days=1)
        )
        embedded_logs = [log for log, _ in embedded.values()]
        if self.counting is Counting.POOLED:
            return self._pooled(embedded_logs, [log for log, _ in delivered.values()], needed)
        cap = _rule(self.operator_cap, lifetime / dt.timedelta(days=1)) if self.operator_cap else 0
        verdict = self._judge(embedded_logs, needed, self.min_operators, cap)
        if verdict.ok or not delivered:
            return verdict
        tls_logs = {**embedded, **delivered} if self.tls_with_embedded else delivered
        tls = self._judge(
            [log for log, _ in tls_logs.values()],
            self.tls_scts,
            self.tls_min_operators,
            0,
            "over TLS",
        )
        return tls if tls.ok else verdict

    def _pooled(
        self, embedded: list[KnownLog], delivered: list[KnownLog], needed: int
    ) -> CTVerdict:
        """Chromium's ``CheckCTPolicyCompliance``: diversity over all SCTs, then one TLS/OCSP
        SCT, or enough embedded ones. (Its separate embedded-diversity test under the 2018
        rules decides nothing more: without a delivered SCT the embedded ones are all.)"""
        every = {id(log): log for log in (*embedded, *delivered)}.values()
        operators = len({log.operator for log in every})
        if self.google_log:
            diverse = _google_and_other(every)
            missing, detail = CTFailure.NO_GOOGLE_LOG, "need one Google and one non-Google log"
        else:
            diverse = operators >= self.min_operators
            missing = CTFailure.TOO_FEW_OPERATORS
            detail = f"from {operators} operator(s), {self.min_operators} required"
        if len(delivered) >= self.tls_scts and diverse:
            return CTVerdict(True, len(every), operators)
        if embedded and not diverse:
            return CTVerdict(False, len(every), operators, missing, f"SCTs {detail}")
        if len(embedded) < needed:
            return CTVerdict(
                False,
                len(every),
                operators,
                CTFailure.TOO_FEW_SCTS,
                f"{len(embedded)} valid SCT(s) embedded from distinct logs, {needed} required"
                + (f" ({len(delivered)} over TLS, without diversity)" if delivered else ""),
            )
        return CTVerdict(True, len(every), operators)

    def _judge(
        self,
        valid: list[KnownLog],
        needed: int,
        min_operators: int,
        cap: int,
        how: str = "embedded",
    ) -> CTVerdict:
        operators = len({log.operator for log in valid})
        counted = len(valid)
        if cap:  # at most ``cap`` SCTs of one operator count (Apple, 2021)
            per_operator: dict[str, int] = {}
            for log in valid:
                per_operator[log.operator] = per_operator.get(log.operator, 0) + 1
            counted = sum(min(n, cap) for n in per_operator.values())
        if counted < needed:
            return CTVerdict(
                False,
                len(valid),
                operators,
                CTFailure.TOO_FEW_SCTS,
                f"{counted} valid SCT(s) {how} from distinct logs"
                + (f" counted (at most {cap} per operator)" if cap else "")
                + f", {needed} required",
            )
        if operators < min_operators:
            return CTVerdict(
                False,
                len(valid),
                operators,
                CTFailure.TOO_FEW_OPERATORS,
                f"SCTs {how} from {operators} operator(s), {min_operators} required",
            )
        if self.google_log and not _google_and_other(valid):
            return CTVerdict(
                False,
                len(valid),
                operators,
                CTFailure.NO_GOOGLE_LOG,
                f"SCTs {how} need one Google and one non-Google log",
            )
        return CTVerdict(True, len(valid), operators)


def _rule(rules: tuple[tuple[float, int], ...], value: float) -> int:
    for most, count in rules:
        if value <= most:
            return count
    return rules[-1][1] if rules else 0


def _google_and_other(logs: Iterable[KnownLog]) -> bool:
    operators = [log.operator == "Google" for log in logs]
    return any(operators) and not all(operators)


def _months(start: dt.datetime, end: dt.datetime) -> float:
    """Chromium's ``RoundedDownMonthDifference``, as one number: whole calendar months, plus
    a half if the last month is partial (so 15 months and a day is above 15, as ``>= 15``
    and ``== 27 && has_partial_month`` read it)."""
    if end < start:
        return 0.0
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day < start.day:
        return months - 1 + 0.5
    return months + (0.5 if end.day != start.day else 0.0)


def _valid_logs(
    certificate: x509.Certificate,
    issuer: x509.Certificate | None,
    known_logs: Mapping[bytes, KnownLog],
    scts: Iterable[SCTLike],
) -> dict[bytes, tuple[KnownLog, int]]:
    """Distinct known logs with at least one valid SCT for this certificate, by log ID,
    each with the earliest time one of its valid SCTs states (Unix milliseconds)."""
    found: dict[bytes, tuple[KnownLog, int]] = {}
    for sct in scts:
        log = known_logs.get(sct.log_id)
        if log is None or not verify_sct(sct, certificate, issuer, log.public_key):
            continue
        ms = checked_timestamp_ms(sct)
        earlier = found.get(sct.log_id)
        if earlier is None or ms < earlier[1]:
            found[sct.log_id] = (log, ms)
    return found


_UTC = dt.UTC
_LIFETIMES_2018 = ((456, 2), (821, 3), (1186, 4), (float("inf"), 5))  # 15 / 27 / 39 months
# RoundedDownMonthDifference: 2 below 15 months, 3 from 15, 4 past 27, 5 past 39.
# Apple: "issued after October 15, 2018", read to the second, as notBefore past its midnight.
_APPLE_FROM = dt.datetime(2018, 10, 15, 0, 0, 1, tzinfo=_UTC)
_MONTHS_2018 = ((14.5, 2), (27, 3), (39, 4), (float("inf"), 5))
POLICIES: dict[str, CTPolicy] = {
    "none": CTPolicy("none"),
    "chrome-2018": CTPolicy(
        "chrome-2018",
        _MONTHS_2018,
        required_from=dt.datetime(2018, 5, 1, tzinfo=_UTC),
        tls_scts=1,
        google_log=True,
        counting=Counting.POOLED,
        in_months=True,
    ),
    "chrome-2022": CTPolicy(
        "chrome-2022",
        ((180, 2), (float("inf"), 3)),
        min_operators=2,
        required_from=dt.datetime(2018, 5, 1, tzinfo=_UTC),
        tls_scts=1,
        counting=Counting.POOLED,
        earlier="chrome-2018",
        earlier_until=dt.datetime(2022, 4, 15, tzinfo=_UTC),
    ),
    "firefox-2025": CTPolicy(
        "firefox-2025",
        ((180, 2), (float("inf"), 3)),
        min_operators=2,
        tls_scts=2,
        tls_min_operators=2,
    ),
    "apple": CTPolicy("apple", _LIFETIMES_2018, required_from=_APPLE_FROM, tls_with_embedded=True),
    "apple-2021": CTPolicy(
        "apple-2021",
        ((180, 2), (398, 3), (float("inf"), 3)),
        required_from=_APPLE_FROM,
        operator_cap=((180, 1), (float("inf"), 2)),
        tls_with_embedded=True,
        earlier="apple",
        earlier_until=dt.datetime(2021, 4, 21, tzinfo=_UTC),
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
