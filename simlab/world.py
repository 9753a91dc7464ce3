"""The world: CAs, logs, a registry, a network, a domain owner, an attacker and clients.

Two things decide an outcome, and they are kept apart. The *site* deploys a defence
(:class:`Settings` ``preload``, ``app_pins``, ``hpkp``, ``ct``, ``hsts``): what it serves and
where it is listed. The *clients* are software of the run's ``era``: each runs a
:class:`~simlab.clients.Release` whose rules (from ``simlab/data/clients.toml``, with sources)
say what it enforces. An HPKP-capable browser notes any valid header it receives, whatever
the site chose; a CT-enforcing browser requires SCTs of every site.

Every connection goes through one decision pipeline (:meth:`World.decide`), in order:
route (who answers) -> path validation -> revocation -> CT policy -> pins -> verdict, then
the user's click-through on an overridable error, header processing (HPKP, HSTS,
Expect-CT) and reports. Each step is a real check on real artefacts from :mod:`simlab.pki`,
:mod:`simlab.hpkp`, :mod:`simlab.static_pins` and :mod:`simlab.ct`; which step applies, and
whether its failure can be clicked through, comes from the client's release.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import math
import random
import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from simlab import clients, hpkp, hsts
from simlab.clients import Release
from simlab.clock import DAY, HOUR, SimTime
from simlab.ct import POLICIES, CTLog, CTPolicy, KnownLog, Monitor, precert_hook
from simlab.ct.sct import SCT
from simlab.draws import draw_visits
from simlab.engine import Engine
from simlab.errors import ScenarioError, SimlabError, shown
from simlab.keys import PrivateKey, derive_key
from simlab.network import Network, Registry
from simlab.pins import PinCheck, PinSource, PinVerdict
from simlab.pki import (
    AnchorOrigin,
    CertificateAuthority,
    Chain,
    FailureReason,
    RevocationMode,
    RevocationResponder,
    TrustStore,
    Validation,
    Validator,
    spki_pin,
)
from simlab.static_pins import AppPinConfig, AppRelease, PreloadEntry, PreloadList, UpdateAdoption

__all__ = [
    "MAX_DOMAIN",
    "RUN_SIZE",
    "SETTING_LIMITS",
    "TEN_YEARS",
    "Client",
    "Decision",
    "Endpoint",
    "Outcome",
    "RunSize",
    "Settings",
    "World",
    "check_settings",
]


class Outcome(enum.StrEnum):
    CONNECTED = "connected"  # to the legitimate server
    INTERCEPTED = "intercepted"  # to the attacker, and the client accepted it
    BLOCKED = "blocked"
    CLICKED_THROUGH = "clicked_through"  # accepted after a certificate warning


HSTS_HEADER = hsts.Policy(365 * 86400)
"""What a site deploying HSTS sends: one year, the common choice (and the preload minimum)."""

EXPECT_CT_MAX_AGE = 30 * DAY
"""``Expect-CT: max-age=2592000, enforce`` (a month), sent by a site deploying CT."""

_VIOLATION_KEYS_MAX = 1 << 16  # report keys kept (World._violation_key): bounds memory

_ERROR_OF: dict[FailureReason, str] = {
    FailureReason.UNKNOWN_ISSUER: "authority_invalid",  # ERR_CERT_AUTHORITY_INVALID
    FailureReason.EXPIRED: "date_invalid",  # ERR_CERT_DATE_INVALID
    FailureReason.NOT_YET_VALID: "date_invalid",
    FailureReason.NAME_MISMATCH: "name_invalid",  # ERR_CERT_COMMON_NAME_INVALID
}
"""Path-validation failures as the interstitial's error classes (Chromium's net errors);
anything else (ERR_CERT_INVALID) is never overridable."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """What answers a TLS connection for the domain: a chain, SCTs and headers.

    Frozen: a story that changes what a server sends replaces its endpoint
    (``dataclasses.replace``), so that an endpoint's identity names what it serves."""

    operator: str
    chain: Chain
    key: PrivateKey
    legit: bool
    pkp_header: str | None = None
    tls_scts: tuple[SCT, ...] = ()
    hsts: bool = False
    expect_ct: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    """What the pipeline decided for one connection, before any user interaction.

    ``verdict`` is ``accept``, ``warn`` (a certificate error the user may click through)
    or ``block`` (a hard failure: pins, revocation, an error the release never lets users
    override, or any error on an HSTS or pinned host).
    """

    verdict: str
    reason: str
    validation: Validation
    pin_check: PinCheck | None = None

    @property
    def fails_pins(self) -> bool:
        """A block by a pin check, which :meth:`World.conclude` follows with a report."""
        return self.verdict == "block" and self.pin_check is not None and self.pin_check.blocks


@dataclass(slots=True)
class Client:
    """One user's software: a release of the run's era, and the state it keeps. (Slotted:
    a run makes one per simulated user and reads its fields at every visit.)"""

    id: int
    release: Release
    access: str  # access network node
    store: TrustStore
    click_through: float
    visit_prob: float
    kph: hpkp.KnownPinnedHosts | None = None  # HPKP-capable releases only
    reports: hpkp.ReportSender | None = None
    hsts: hsts.KnownHSTSHosts | None = None
    expect_ct: dict[str, SimTime] = dataclasses.field(default_factory=dict)
    build_date: SimTime | None = None  # browsers: when the installed build was made
    auto_update: bool = True
    app_threshold: float = 0.0
    first_day: int = 0

    @property
    def kind(self) -> str:
        """``browser``, ``app`` or ``legacy`` (curl/OpenSSL/Java-style: no interstitial)."""
        return self.release.kind


@dataclass
class Settings:
    """Everything a scenario and a defence can set (see :mod:`simlab.parameter_help`)."""

    domain: str = "example.com"
    era: str = "2018-10"
    days: float = 60
    n_clients: int = 300
    browser_share: float = 0.6
    app_share: float = 0.3
    visit_prob: float = 0.3
    new_visitor_share: float = 0.5  # clients whose first visit falls during the run
    click_through: float = 0.4
    access_networks: int = 4
    attacker_network: str = "isp-0"
    attack_start_day: float = 10
    attack_days: float = 7
    max_age_days: float = 60
    backup_key_survives: bool = False
    old_key_kept: bool = False  # key replaced, not destroyed: the owner can go back to it
    hpkp_report_uri: bool = True
    include_subdomains: bool = False
    preload: bool = False
    app_pins: bool = False
    hpkp: bool = False
    ct: bool = False
    hsts: bool = False
    hsts_preload: bool = False
    owner_scts: int | None = None  # None: what the era's CAs embedded
    rekey_scts: int | None = None  # SCTs on certificates after a re-key (None: as owner_scts)
    monitor_interval_hours: float = 1
    merge_delay_hours: float = 1
    mmd_hours: float = 24
    response_hours: float = 48
    attacker_blocks_reports: bool = True  # an on-path attacker drops reports from its victims
    user_report_prob: float = 0.02
    rogue_logged: bool | None = None  # None: the attacker logs when the era's clients check
    rogue_used: bool = True  # False: the misissued certificate is never served (a test cert)
    hijacker_pins: bool = False
    log_distrusted_day: float | None = None  # the Google log is rejected by clients that day
    app_update_days: float = 14
    app_adoption_mean_days: float = 7
    browser_release_days: float = 42
    stale_browser_share: float = 0.0
    theft_noticed_days: float = 14
    ocsp_blockable: bool = True
    revocation_push_days: float = 2


Limit = tuple[Callable[[Any], bool], str]
"""A setting's test and the range ``simlab show`` prints for it."""

TEN_YEARS = 3650.0
"""The longest a run, or any delay or period in it, may last, in days: far beyond every story
(the longest built-in runs 90 days), and every time in seconds stays an exact float."""

MAX_CLIENTS = 500_000
"""DigiNotar's real size, 300,000 clients, with room to spare; each client costs about 1.4 kB
of state whether it visits or not (700 MB at the cap)."""

MAX_ACCESS_NETWORKS = 1000
"""More access networks only split the same clients finer (each costs a route per host)."""

_PIN_CAP_DAYS = max(p.max_age_cap for p in hpkp.PROFILES.values()) / DAY


def _between(low: float, high: float, why: str, *, above: bool = False) -> Limit:
    """``low <= v <= high`` (``low < v`` with ``above``), stated as ``simlab show`` prints it."""
    text = f"{'>' if above else '>='} {low:g} and <= {high:,g} ({why})"
    if above:
        return (lambda v: low < v <= high), text
    return (lambda v: low <= v <= high), text


def _is_era(value: Any) -> bool:
    try:
        clients.era(value)
    except SimlabError:
        return False
    return True


_SHARE = (lambda v: 0 <= v <= 1), "between 0 and 1"
_DAYS = _between(0, TEN_YEARS, "ten years")
_HOURS = _between(0, TEN_YEARS * 24, "ten years")
_DNS_NAME = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")

MAX_DOMAIN = 64
"""The domain is the common name of every certificate simlab issues for it, and RFC 5280
(appendix A.1, ``ub-common-name``) bounds a common name at 64 characters; a wildcard
``*.domain`` only ever appears among the subject alternative names, which have no such bound."""


def _is_domain(value: Any) -> bool:
    """A lower-case DNS name that fits a certificate's common name: labels of at most 63
    characters (RFC 1035), and every ``xn--`` label valid punycode (RFC 3492, as IDNA
    decodes it), so no accepted name fails once the run builds certificates."""
    if len(value) > MAX_DOMAIN or not _DNS_NAME.fullmatch(value):
        return False
    try:
        return "xn--" not in value or bool(value.encode("ascii").decode("idna"))
    except UnicodeError:
        return False


_SCTS = (
    (lambda v: v is None or 0 <= v <= 3),
    "between 0 and 3 (simlab runs 3 logs), or none for the default",
)

SETTING_LIMITS: dict[str, Limit] = {
    "domain": (
        _is_domain,
        f"a lower-case DNS name like example.com of at most {MAX_DOMAIN} characters (a "
        "certificate's common name, RFC 5280), labels of letters, digits and hyphens, "
        "xn-- labels valid punycode",
    ),
    "era": (
        _is_era,
        "a month 'YYYY-MM' from {} to {} (simlab/data/clients.toml)".format(*clients.valid_range()),
    ),
    "days": _between(0, TEN_YEARS, "ten years; and see the run size", above=True),
    "n_clients": _between(1, MAX_CLIENTS, "see the run size"),
    "browser_share": _SHARE,
    "app_share": _SHARE,
    "visit_prob": _SHARE,
    "new_visitor_share": _SHARE,
    "click_through": _SHARE,
    "access_networks": _between(1, MAX_ACCESS_NETWORKS, "more only split the clients finer"),
    "attacker_network": (
        (lambda v: bool(re.fullmatch(r"isp-(?:0|[1-9][0-9]{0,2})|ix", v))),
        "isp-N (an access network, N < access_networks) or ix (the exchange)",
    ),
    "attack_start_day": _between(0, TEN_YEARS, "and before the run ends"),
    "attack_days": _DAYS,
    # RFC 7469 section 4.1 lets a browser cap max-age; Chrome and Firefox kept a pin set at
    # most 60 days, so a longer max-age is sent as given and capped by each client.
    "max_age_days": _between(0, TEN_YEARS, f"browsers keep pins at most {_PIN_CAP_DAYS:g} days"),
    "owner_scts": _SCTS,
    "rekey_scts": _SCTS,
    # A zero interval would poll forever at one instant; the run size bounds the polls.
    "monitor_interval_hours": _between(0, TEN_YEARS * 24, "and see the run size", above=True),
    "merge_delay_hours": _HOURS,
    "mmd_hours": _between(0, TEN_YEARS * 24, "ten years", above=True),
    "response_hours": _HOURS,
    "user_report_prob": _SHARE,
    "app_update_days": _DAYS,
    "app_adoption_mean_days": _between(0, TEN_YEARS, "ten years", above=True),
    # Under a day, every visit would run a build of its own, with its own preload list.
    "browser_release_days": _between(1, TEN_YEARS, "browsers shipped every 4 to 6 weeks"),
    "stale_browser_share": _SHARE,
    "theft_noticed_days": _DAYS,
    "revocation_push_days": _DAYS,
    "log_distrusted_day": (
        (lambda v: v is None or 0 <= v <= TEN_YEARS),
        f">= 0 and <= {TEN_YEARS:,g}, or none: never",
    ),
}
"""What each setting may be, beyond its type: nonsense fails before a world is built, and
every number has an upper bound, so nothing accepted overflows or runs without end."""


@dataclass(frozen=True)
class RunSize:
    """A bound on one run's cost, from settings that multiply (each may be in range alone)."""

    formula: str
    cap: float
    why: str
    cost: Callable[[Settings], float]


RUN_SIZE = (
    RunSize(
        "n_clients * days",
        50_000_000,
        "client-days: every client draws a random number each day, visiting or not",
        lambda s: s.n_clients * s.days,
    ),
    RunSize(
        "n_clients * days * visit_prob",
        4_000_000,
        "expected visits, a table row each; DigiNotar at its real size expects 3,600,000",
        lambda s: s.n_clients * s.days * s.visit_prob,
    ),
    RunSize(
        "days * 24 / monitor_interval_hours",
        500_000,
        "CT monitor polls: hourly for 57 years, or every minute for 347 days",
        lambda s: s.days * 24 / s.monitor_interval_hours,
    ),
    RunSize(
        "days * 24 / max(mmd_hours, monitor_interval_hours)",
        10_000,
        "tree heads each log signs and the monitor verifies: a new one per poll once the last "
        "is an MMD old; hourly for 416 days, or every minute for a week",
        lambda s: s.days * 24 / max(s.mmd_hours, s.monitor_interval_hours),
    ),
)
"""What one run may cost. At the caps the batched engine stays in its tested scale (the
DigiNotar benchmark: 300,000 clients, 40 days, about 15 s and 0.8 GB on one core)."""


def _check_setting(key: str, value: Any, where: str) -> None:
    """Raise :class:`ScenarioError` if ``value`` is out of range for setting ``key``."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ScenarioError(f"{where}: parameter {key!r} must be a finite number, got {value!r}")
    limit = SETTING_LIMITS.get(key)
    if limit is not None and not limit[0](value):
        raise ScenarioError(f"{where}: parameter {key!r} must be {limit[1]}, got {shown(value)}")


def check_settings(settings: Settings, where: str) -> None:
    """Every setting in range, the ones that constrain each other consistent, and the run's
    size (:data:`RUN_SIZE`) within bounds. Costs the same whatever the values."""
    for f in dataclasses.fields(settings):
        _check_setting(f.name, getattr(settings, f.name), where)
    s = settings
    if s.browser_share + s.app_share > 1:
        raise ScenarioError(
            f"{where}: browser_share + app_share must be at most 1 (the rest are legacy "
            f"clients), got {s.browser_share:g} + {s.app_share:g}"
        )
    if s.attack_start_day >= s.days:  # else the run would report a harmless-looking 0%
        raise ScenarioError(
            f"{where}: attack_start_day ({s.attack_start_day:g}) must be before the run ends "
            f"(days = {s.days:g}): the attack would never happen"
        )
    if s.attacker_network != "ix" and int(s.attacker_network[4:]) >= s.access_networks:
        raise ScenarioError(
            f"{where}: parameter 'attacker_network' must be ix or one of isp-0 to "
            f"isp-{s.access_networks - 1} (access_networks = {s.access_networks}), "
            f"got {s.attacker_network!r}"
        )
    for size in RUN_SIZE:
        cost = size.cost(s)
        if cost > size.cap:
            got = f"{cost:,.0f}" if cost < 1e15 else f"{cost:.3g}"
            raise ScenarioError(
                f"{where}: {size.formula} must be at most {size.cap:,.0f} ({size.why}), got {got}"
            )


_LOGS = (("argon", "Google"), ("nimbus", "Cloudflare"), ("yeti", "DigiCert"))


class World:
    """One run's world. Build it, let a scenario story act on it, then :meth:`run`.

    Simulated time 0 is the first day of the era's month, so certificate dates, CT policy
    dates and the clients' releases agree (``epoch`` overrides it, as live mode does).
    """

    def __init__(
        self, settings: Settings, *, seed: int = 0, epoch: dt.datetime | None = None
    ) -> None:
        self.s = settings
        self.seed = seed
        self.era = clients.era(settings.era)
        self.population = clients.population(self.era)
        self.epoch = epoch = self.era.start if epoch is None else epoch
        self.rng = random.Random(seed)
        self.engine = Engine()
        self.validator = Validator(epoch=epoch)
        self.registry = Registry()
        self.host = settings.domain
        # The access networks' nodes; client i is on the (i mod n)-th.
        self.access_nodes = [f"isp-{i}" for i in range(settings.access_networks)]
        self.network = Network(self.access_nodes, ["dc-owner", "dc-attacker", "reports"])

        dv = self.registry
        self.root = CertificateAuthority.root(
            "Public Root CA", seed=seed, domain_control=dv, epoch=epoch
        )
        self.issuing = self.root.create_intermediate("Issuing CA", seed=seed)
        self.other_root = CertificateAuthority.root(
            "Other Root CA", seed=seed, domain_control=dv, epoch=epoch
        )
        self.other_ca = self.other_root.create_intermediate("Other Issuing CA", seed=seed)
        self.public_store = TrustStore([self.root.certificate, self.other_root.certificate])
        self.responder = RevocationResponder(
            [self.root, self.issuing, self.other_root, self.other_ca]
        )
        self.logs = [
            CTLog(
                name,
                op,
                seed=seed,
                mmd=settings.mmd_hours * HOUR,
                merge_delay=settings.merge_delay_hours * HOUR,
                epoch=epoch,
            )
            for name, op in _LOGS
        ]
        self.known_logs = {
            log.log_id: KnownLog(log.public_key, log.operator, log.name) for log in self.logs
        }

        self.registry.register(self.host, "owner", "dc-owner")
        self._generation = 0
        self.owner_key = self._new_key("owner")
        self.backup_key = self._new_key("owner-backup")
        self.owner = self.owner_endpoint(self.owner_key, at=-DAY)
        self.attacker: Endpoint | None = None
        self.attacker_position: str | None = None  # on-path node while intercepting
        self.serving: dict[str, Endpoint] = {"dc-owner": self.owner}

        backup_ca_pin = spki_pin(derive_key(seed, "ca:Backup CA").public_key())
        self.preload_pins = frozenset({spki_pin(self.issuing.certificate), backup_ca_pin})
        self._preloads: dict[tuple[SimTime, float], PreloadList] = {}
        self.adoption = UpdateAdoption(mean_days=settings.app_adoption_mean_days)
        self.releases = [AppRelease("1.0", -365 * DAY, self._app_config())]

        self.monitor: Monitor | None = None
        if settings.ct:
            self.monitor = Monitor(
                frozenset({self.host}),
                {spki_pin(self.owner_key.public_key())},
                self.logs,
                settings.monitor_interval_hours * HOUR,
            )
        self.attack_start = settings.attack_start_day * DAY
        self.attack_end: SimTime | None = None
        self.detections: list[tuple[SimTime, str]] = []
        self.events: list[tuple[SimTime, str]] = []
        self.on_detect: list[Callable[[SimTime], None]] = []
        self.rows: list[tuple[Any, ...]] = []
        self._ct_memo: dict[tuple[object, ...], bool] = {}
        # A locked-out client fails the same pins at every visit: its report's key, by the
        # entry, served chain and validation (held, so that their ids name no other object).
        self._violation_keys: dict[tuple[int, int, int], tuple[object, Hashable | None]] = {}
        self.clients = self._population()

    # -- actors ----------------------------------------------------------------------

    def _new_key(self, label: str) -> PrivateKey:
        return derive_key(self.seed, f"{label}:{self.host}")

    @property
    def owner_sct_count(self) -> int:
        """SCTs embedded in the owner's certificates: ``owner_scts``, or by default one per
        log when the site deploys CT or the era's CAs logged every certificate."""
        if self.s.owner_scts is not None:
            return self.s.owner_scts
        return len(self.logs) if self.s.ct or clients.cas_log_everything(self.era) else 0

    def clients_check_ct(self) -> bool:
        """Whether some client of the era would warn about or refuse an unlogged certificate
        for this site: a release that requires CT of every certificate, or one that honours
        the Expect-CT header this site sends. A rational attacker logs exactly then."""
        for kind in self.population.values():
            for release, _ in kind:
                if release.requires_ct or (self.s.ct and release.expect_ct and release.ct_policy):
                    return True
        return False

    def issue(
        self,
        ca: CertificateAuthority,
        requester: str,
        key: PrivateKey,
        at: SimTime,
        *,
        logs: int = 0,
        validated: bool = True,
    ) -> Chain:
        """Issue a certificate for the domain, with SCTs from the first ``logs`` logs."""
        hook = precert_hook(self.logs[:logs], at) if logs else None
        names = [self.host, f"*.{self.host}"]
        if validated:
            return ca.issue(
                requester, names, key.public_key(), at=at, lifetime=365 * DAY, precert_hook=hook
            )
        return ca.compromise().issue(
            names, key.public_key(), at=at, lifetime=365 * DAY, precert_hook=hook
        )

    def pkp_header(self, pins: set[str], *, report_uri: str | None = None) -> str:
        policy = hpkp.Policy(
            frozenset(pins), int(self.s.max_age_days * DAY), self.s.include_subdomains, report_uri
        )
        return policy.serialise()

    def owner_endpoint(self, key: PrivateKey, at: SimTime, *, scts: int | None = None) -> Endpoint:
        """The owner's server with a new certificate for ``key`` (``scts`` embedded SCTs;
        default :attr:`owner_sct_count`) and the headers the site's defence sends."""
        count = self.owner_sct_count if scts is None else scts
        chain = self.issue(self.issuing, "owner", key, at, logs=count)
        header = None
        if self.s.hpkp:
            header = self.pkp_header(
                {spki_pin(key.public_key()), spki_pin(self.backup_key.public_key())},
                report_uri="https://reports.example.net/hpkp" if self.s.hpkp_report_uri else None,
            )
        return Endpoint(
            "owner",
            chain,
            key,
            legit=True,
            pkp_header=header,
            hsts=self.s.hsts,
            expect_ct=self.s.ct,
        )

    def rekey(self, at: SimTime, *, use_backup: bool) -> None:
        """The owner replaces its key: with the pinned backup if it still has it, else a new one."""
        self._generation += 1
        new_key = self.backup_key if use_backup else self._new_key(f"owner-{self._generation}")
        self.backup_key = self._new_key(f"owner-backup-{self._generation}")
        self.owner_key = new_key
        # A re-key is a new certificate: a misconfigured renewal may carry too few SCTs,
        # which browsers that noted Expect-CT refuse (RFC 9163 section 2.2).
        self.owner = self.owner_endpoint(new_key, at, scts=self.s.rekey_scts)
        self.serving["dc-owner"] = self.owner
        if self.monitor is not None:
            self.monitor.expected_pins.add(spki_pin(new_key.public_key()))
        self.events.append((at, "owner re-keys" + (" to the backup key" if use_backup else "")))
        if not use_backup:
            # A new app release with the new pins ships after review.
            ship = at + self.s.app_update_days * DAY
            self.releases.append(AppRelease(f"1.{self._generation}", ship, self._app_config()))

    def _app_config(self) -> AppPinConfig:
        pins = frozenset(
            {spki_pin(self.owner_key.public_key()), spki_pin(self.backup_key.public_key())}
        )
        return AppPinConfig(self.host, pins, include_subdomains=True)

    def detect(self, at: SimTime, by: str) -> None:
        """A detection signal reaches the owner; the first one triggers its response."""
        first = not self.detections
        self.detections.append((at, by))
        if first:
            self.events.append((at, f"first detection ({by})"))
            respond_at = at + self.s.response_hours * HOUR
            for react in self.on_detect:
                self.engine.at(respond_at, functools.partial(react, respond_at))

    def distrust_log(self, name: str) -> None:
        """Clients stop trusting a log (Chrome's "Rejected" state: its SCTs never count
        again, GoogleChrome/CertificateTransparency log_states.md). Certificates that relied
        on it for their SCT count, or for the one Google-log SCT of the 2018 policy, fail."""
        self.known_logs = {k: v for k, v in self.known_logs.items() if v.name != name}
        self._ct_memo.clear()
        self.events.append((self.engine.now, f"clients distrust the {name} CT log"))

    def poll_monitor(self) -> None:
        """The owner's CT monitor polls the logs, every ``monitor_interval_hours``. A quiet
        event: it changes no route or decision input (the response to what it detects is a
        separate event)."""
        monitor, engine = self.monitor, self.engine
        if monitor is None:
            return
        now = engine.now
        for alert in monitor.poll(now):
            if alert.submitted_at >= self.attack_start - DAY:
                self.detect(now, "ct_monitor")
        engine.at(now + monitor.poll_interval, self.poll_monitor, priority=1, quiet=True)

    # -- clients -------------------------------------------------------------------------

    def _population(self) -> list[Client]:
        """The run's clients, drawn from its ``rng`` in this order: kind, release, app
        update threshold, first day and, for a browser, its build date and whether it
        updates. One plain loop: a run makes up to 500,000 of them."""
        s, rand = self.s, self.rng.random
        browsers, apps = s.browser_share, s.browser_share + s.app_share
        access, make, population = self.access_nodes, self._client, self.population
        out: list[Client] = []
        for i in range(s.n_clients):
            r = rand()
            kind = "browser" if r < browsers else "app" if r < apps else "legacy"
            release = _draw(population[kind], rand())
            app_threshold = rand()
            first_day = int(rand() * s.days) if rand() < s.new_visitor_share else 0
            build_date: SimTime | None = None
            auto_update = True
            if kind == "browser":
                build_date = -rand() * s.browser_release_days * DAY
                auto_update = rand() >= s.stale_browser_share
            out.append(
                make(
                    release,
                    i,
                    access[i % len(access)],
                    app_threshold,
                    first_day,
                    build_date,
                    auto_update,
                )
            )
        return out

    def new_client(
        self,
        release: Release,
        *,
        id: int = 0,
        access: str | None = None,
        app_threshold: float = 0.0,
        first_day: int = 0,
    ) -> Client:
        """A client running ``release``, with the state its release keeps (HPKP pins, HSTS)
        and, for a browser, a build made on day 0."""
        return self._client(
            release,
            id,
            access or self.access_nodes[id % len(self.access_nodes)],
            app_threshold,
            first_day,
            0.0 if release.kind == "browser" else None,
            True,
        )

    def _client(
        self,
        release: Release,
        id: int,
        access: str,
        app_threshold: float,
        first_day: int,
        build_date: SimTime | None,
        auto_update: bool,
    ) -> Client:
        """A client and the state its release keeps: for a browser, HPKP pins (and a report
        sender) and HSTS where its release has them, and the run's click-through rate."""
        s = self.s
        kph = reports = known_hsts = None
        click_through = 0.0
        if release.kind == "browser":
            click_through = s.click_through
            if release.hpkp is not None:
                profile = hpkp.profile(release.hpkp)
                kph = hpkp.KnownPinnedHosts(profile)
                if release.hpkp_reports:
                    reports = hpkp.ReportSender(profile)
            if release.hsts:
                preloaded = s.hsts_preload and release.hsts_preload
                known_hsts = hsts.KnownHSTSHosts(
                    frozenset({self.host}) if preloaded else frozenset()
                )
        # Every field, in order (positional: a third of the cost of a keyword call).
        return Client(
            id,
            release,
            access,
            self.public_store,
            click_through,
            s.visit_prob,
            kph,
            reports,
            known_hsts,
            {},
            build_date,
            auto_update,
            app_threshold,
            first_day,
        )

    def build_of(self, client: Client, at: SimTime) -> SimTime | None:
        """When the browser build a client runs at ``at`` was made (auto-updating browsers
        move to a new build every ``browser_release_days``)."""
        build = client.build_date
        if build is None or not client.auto_update:
            return build
        period = self.s.browser_release_days * DAY
        return build + ((at - build) // period) * period

    def _timely(self, client: Client, at: SimTime, days: float) -> bool:
        """Chromium ``IsBuildTimely``: a build-time list counts only while younger than
        ``days`` (0: it never expires)."""
        build = self.build_of(client, at)
        return days <= 0 or build is None or at - build < days * DAY

    def preload_for(self, client: Client, at: SimTime) -> PreloadList | None:
        """The static pin list of the client's build, if its release enforces static pins
        and the site is on it (the ``static`` defence)."""
        release = client.release
        if not (self.s.preload and release.static_pins and client.kind == "browser"):
            return None
        build = self.build_of(client, at)
        assert build is not None
        key = (build, release.static_pins_timely_days)
        preload = self._preloads.get(key)
        if preload is None:
            entry = PreloadEntry(self.host, "owner", include_subdomains=True)
            preload = self._preloads[key] = PreloadList(
                {"owner": self.preload_pins},
                {self.host: entry},
                build,
                timely_days=release.static_pins_timely_days or math.inf,
            )
        return preload

    def visits(self) -> list[tuple[SimTime, int]]:
        """Each client visits on a day with ``visit_prob``, at a uniformly random time."""
        times, ids = self.visit_arrays()
        return list(zip(times.tolist(), ids.tolist(), strict=True))

    def visit_arrays(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """:meth:`visits` as sorted arrays of times and client ids: the same draws from the
        run's ``rng``, made in bulk when every client has the same ``visit_prob``."""
        probs = {c.visit_prob for c in self.clients}
        days = int(self.s.days)
        if len(probs) == 1:
            first_days = [c.first_day for c in self.clients]
            times, index = draw_visits(self.rng, first_days, probs.pop(), days)
            return times, np.array([c.id for c in self.clients], dtype=np.int64)[index]
        out: list[tuple[SimTime, int]] = []
        rng = self.rng
        for day in range(days):
            start = day * DAY
            for c in self.clients:
                if day >= c.first_day and rng.random() < c.visit_prob:
                    out.append((start + rng.random() * DAY, c.id))
        out.sort()
        return (
            np.array([v[0] for v in out], dtype=np.float64),
            np.array([v[1] for v in out], dtype=np.int64),
        )

    # -- the decision pipeline --------------------------------------------------------------

    def answerer(self, client: Client) -> Endpoint | None:
        """Route: who answers this client for the domain (the real server or the attacker)."""
        address = self.registry.resolve(self.host)
        if address is None:
            return None
        if (
            self.attacker is not None
            and self.attacker_position is not None
            and self.network.on_path(self.attacker_position, client.access, address)
        ):
            return self.attacker
        return self.serving.get(address)

    def decide(
        self,
        client: Client,
        chain: Chain,
        at: SimTime,
        *,
        tls_scts: tuple[SCT, ...] = (),
        on_path: bool = False,
    ) -> Decision:
        """Path validation -> revocation -> CT policy -> pins for a served ``chain``.

        Used for every simulated visit and, on real sockets, by :mod:`simlab.live`, so the
        simulation and a real client decide with the same code.
        """
        validation = self.validator.validate(chain, client.store, self.host, at)
        if not validation.ok:
            error = _ERROR_OF.get(validation.reason) if validation.reason else None
            return self._error(client, at, error, str(validation.reason), validation)
        if self.revoked(client, validation, at, reachable=not (on_path and self.s.ocsp_blockable)):
            # ERR_CERT_REVOKED is never overridable (IsCertErrorFatal).
            return Decision("block", str(FailureReason.REVOKED), validation)
        if not self._ct_ok(client, chain, tls_scts, validation, at):
            return self._error(client, at, "ct_required", "ct_policy", validation)
        check = self._pin_check(client, validation, at)
        if check.blocks:
            return Decision("block", f"pin_mismatch_{check.source}", validation, check)
        return Decision("accept", "", validation, check)

    def _error(
        self, client: Client, at: SimTime, error: str | None, reason: str, validation: Validation
    ) -> Decision:
        """A certificate error: a warning the user may click through if the release lets
        users override it and the host is neither HSTS nor pinned; else a hard failure."""
        overridable = error in client.release.overridable and not self.errors_fatal(client, at)
        return Decision("warn" if overridable else "block", reason, validation)

    def errors_fatal(self, client: Client, at: SimTime) -> bool:
        """Chromium ``ShouldSSLErrorsBeFatal`` / Firefox ``OverrideAllowedForHost``: on a
        host the client knows as HSTS or pinned, every certificate error is fatal."""
        states = client.release.fatal_on
        if "hsts" in states and self.knows_hsts(client, at):
            return True
        dynamic = client.kph.lookup(self.host, at) if client.kph is not None else None
        if "dynamic_pins" in states and dynamic is not None:
            return True
        if "static_pins" in states:
            preload = self.preload_for(client, at)
            if preload is not None and preload.is_timely(at) and preload.lookup(self.host):
                return True
        return False

    def knows_hsts(self, client: Client, at: SimTime) -> bool:
        """Whether the client knows the host as HSTS: noted from a header, or on its build's
        preload list while the build is timely for its release (``hsts_preload_timely_days``:
        Chromium ``GetStaticDomainState`` checks ``IsBuildTimely``; Firefox drops its list
        at ``gPreloadListExpirationTime``)."""
        known = client.hsts
        if known is None:
            return False
        timely = self._timely(client, at, client.release.hsts_preload_timely_days)
        return known.known(self.host, at, preload=timely)

    def revoked(
        self, client: Client, validation: Validation, at: SimTime, *, reachable: bool
    ) -> bool:
        """Revocation as the release did it (see ``revocation`` in clients.toml).

        Pushed lists (Chrome's CRLSets, Firefox's CRLite and OneCRL) reach the client
        ``revocation_push_days`` after the CA revokes, and an on-path attacker cannot stop
        them; OneCRL carries intermediates only. An online OCSP check soft-fails: an on-path
        attacker who drops it (``ocsp_blockable``) makes it pass.
        """
        method = client.release.revocation
        chain = validation.chain
        if method == "none":
            return False
        delay = self.s.revocation_push_days * DAY
        if method in ("crlset", "crlite"):
            return self.responder.pushed(chain, at - delay, leaves=True)
        if method == "onecrl+ocsp-soft-fail" and self.responder.pushed(
            chain, at - delay, leaves=False
        ):
            return True
        mode = RevocationMode.SOFT_FAIL
        return self.responder.check(chain, at, mode, reachable=reachable) is not None

    def connect(self, cid: int, at: SimTime) -> None:
        """One simulated visit: route, decide, let the user click through a warning (or
        not), send reports, record the outcome, and note the headers served."""
        client = self.clients[cid]
        endpoint = self.answerer(client)
        if endpoint is None:
            self._record(at, client, None, Outcome.BLOCKED, "unreachable")
            return
        on_path = endpoint is self.attacker and self.attacker_position is not None
        decision = self.decide(
            client, endpoint.chain, at, tls_scts=endpoint.tls_scts, on_path=on_path
        )
        outcome, reason = self.conclude(client, endpoint, decision, at)
        self._record(at, client, endpoint, outcome, reason)

    def conclude(
        self, client: Client, endpoint: Endpoint, decision: Decision, at: SimTime
    ) -> tuple[Outcome, str]:
        """What follows a decision: the user clicks through a warning (or not), a pin failure
        is reported, an accepted connection's headers are noted. Returns the outcome."""
        if decision.verdict == "warn":
            clicked = self.rng.random() < client.click_through
            return (Outcome.CLICKED_THROUGH if clicked else Outcome.BLOCKED), decision.reason
        if decision.verdict == "block":
            if decision.fails_pins:
                assert decision.pin_check is not None  # fails_pins says so
                self._pin_failure(client, endpoint, decision.validation, decision.pin_check, at)
            return Outcome.BLOCKED, decision.reason
        self.note_headers(client, endpoint, decision.validation, at)
        return (Outcome.CONNECTED if endpoint.legit else Outcome.INTERCEPTED), ""

    def note_headers(
        self, client: Client, endpoint: Endpoint, validation: Validation, at: SimTime
    ) -> None:
        """Header processing after an error-free connection: HPKP (RFC 7469 section 2.5),
        HSTS (RFC 6797 section 8.1) and Expect-CT, each only where the release honours it."""
        self.note_header(client, endpoint.pkp_header, validation, at)
        if endpoint.hsts and client.hsts is not None:
            client.hsts.note(self.host, HSTS_HEADER, at)
        honoured = endpoint.expect_ct and client.release.expect_ct and client.release.ct_policy
        # Noted only from a connection that complies with the policy (Expect-CT draft 2.3.1).
        if honoured and self._complies(client, endpoint.chain, endpoint.tls_scts, validation, None):
            client.expect_ct[self.host] = at + EXPECT_CT_MAX_AGE

    def note_header(
        self, client: Client, header: str | None, validation: Validation, at: SimTime
    ) -> None:
        """HPKP header processing after an accepted connection (RFC 7469 section 2.5)."""
        if client.kph is not None and header is not None:
            client.kph.process_header(
                self.host,
                header,
                at=at,
                validated_pins=validation.pins,
                anchor_origin=validation.anchor_origin,
            )

    def ct_policy_for(self, client: Client, at: SimTime) -> CTPolicy | None:
        """The CT policy this client applies to the site's certificate at ``at``, if any:
        its release's, when the release requires CT of every certificate or the host sent
        Expect-CT (which applies whatever the issuance date); none on a stale build when the
        release fails open (``CT_POLICY_BUILD_NOT_TIMELY`` counts as compliant)."""
        release = client.release
        if release.ct_policy is None:
            return None
        policy = POLICIES[release.ct_policy]
        if not release.requires_ct:
            expires = client.expect_ct.get(self.host)
            if not (release.expect_ct and expires is not None and at < expires):
                return None
            policy = _any_issuance(release.ct_policy)
        if not self._timely(client, at, release.ct_timely_days):
            return None
        return policy

    def _ct_ok(
        self,
        client: Client,
        chain: Chain,
        tls_scts: tuple[SCT, ...],
        validation: Validation,
        at: SimTime,
    ) -> bool:
        policy = self.ct_policy_for(client, at)
        return policy is None or self._complies(client, chain, tls_scts, validation, policy)

    def _complies(
        self,
        client: Client,
        chain: Chain,
        tls_scts: tuple[SCT, ...],
        validation: Validation,
        policy: CTPolicy | None,
    ) -> bool:
        if policy is None:
            assert client.release.ct_policy is not None
            policy = _any_issuance(client.release.ct_policy)
        key = (chain.key, policy, validation.anchor_origin, tls_scts)
        ok = self._ct_memo.get(key)
        if ok is None:
            leaf = validation.chain[0]
            issuer = validation.chain[1] if len(validation.chain) > 1 else None
            verdict = policy.evaluate(
                leaf,
                issuer,
                self.known_logs,
                anchor_origin=validation.anchor_origin,
                tls_scts=tls_scts,
            )
            ok = self._ct_memo[key] = verdict.ok
        return ok

    def _pin_check(self, client: Client, validation: Validation, at: SimTime) -> PinCheck:
        origin = validation.anchor_origin
        release = client.release
        if client.kind == "app":
            if not (self.s.app_pins and release.static_pins):
                return PinCheck(PinVerdict.NOT_PINNED)
            app = self.adoption.release_for(client.app_threshold, self.releases, at)
            if app.pins is None:
                return PinCheck(PinVerdict.NOT_PINNED)
            return app.pins.check(self.host, validation.pins, at=at, anchor_origin=origin)
        preload = self.preload_for(client, at)
        if origin is AnchorOrigin.USER and release.user_roots_bypass_pins:
            # Chromium skips pins for local roots (is_issued_by_known_root); say whether any
            # pins were skipped, so charts can count bypasses.
            noted = client.kph is not None and client.kph.lookup(self.host, at) is not None
            pinned = noted or (preload is not None and preload.lookup(self.host) is not None)
            verdict = PinVerdict.BYPASSED_LOCAL_ROOT if pinned else PinVerdict.NOT_PINNED
            return PinCheck(verdict)
        if client.kph is not None:
            dynamic = client.kph.check(self.host, validation.pins, at=at, anchor_origin=origin)
            if dynamic.verdict is not PinVerdict.NOT_PINNED:
                return dynamic  # dynamic pins take precedence over static ones (Chromium)
        if preload is not None:
            return preload.check(self.host, validation.pins, at=at, anchor_origin=origin)
        return PinCheck(PinVerdict.NOT_PINNED)

    def _pin_failure(
        self,
        client: Client,
        endpoint: Endpoint,
        validation: Validation,
        check: PinCheck,
        at: SimTime,
    ) -> None:
        """Reports: HPKP report-uri, TrustKit-style app reports, or a user telling the world."""
        reports = client.reports
        if check.source is PinSource.DYNAMIC and client.kph is not None and reports is not None:
            entry = client.kph.lookup(self.host, at)
            if entry is not None:
                key = self._violation_key(reports, entry, endpoint, validation, at)
                sent = key is not None and reports.send_if_fresh(key, at)
                if sent and self._delivered(client):
                    self.detect(at, "hpkp_report")
                    return
        if check.source is PinSource.APP:
            if self._delivered(client):
                self.detect(at, "app_pin_report")
        elif self.rng.random() < self.s.user_report_prob:
            self.detect(at, "user_report")

    def _violation_key(
        self,
        sender: hpkp.ReportSender,
        entry: hpkp.PinEntry,
        endpoint: Endpoint,
        validation: Validation,
        at: SimTime,
    ) -> Hashable | None:
        """``sender``'s de-duplication key for this pin failure's report (None: not sent),
        made once per entry, served chain and validation (the key does not depend on the
        time, and an entry belongs to one client, so to one sender)."""
        memo = (id(entry), id(endpoint.chain), id(validation))
        found = self._violation_keys.get(memo)
        if found is not None:
            return found[1]
        violation = hpkp.PinViolation(
            hostname=self.host,
            port=443,
            at=at,
            noted_hostname=entry.host,
            include_subdomains=entry.include_subdomains,
            expires_at=entry.expires_at,
            known_pins=entry.pins,
            served_chain=endpoint.chain.certificates,
            validated_chain=validation.chain,
            epoch=self.epoch,
        )
        key = sender.violation_key(entry.report_uri, violation)
        if len(self._violation_keys) >= _VIOLATION_KEYS_MAX:
            self._violation_keys.clear()
        self._violation_keys[memo] = ((entry, endpoint.chain, validation), key)
        return key

    def _delivered(self, client: Client) -> bool:
        """A report reaches the collector unless an on-path attacker drops it."""
        position = self.attacker_position
        return not (
            self.s.attacker_blocks_reports
            and position is not None
            and self.network.on_path(position, client.access, "reports")
        )

    def _record(
        self, at: SimTime, client: Client, endpoint: Endpoint | None, outcome: Outcome, reason: str
    ) -> None:
        legit = endpoint is not None and endpoint.legit
        self.rows.append(
            (
                at,
                client.id,
                client.kind,
                client.release.name,
                client.access,
                endpoint.operator if endpoint else "none",
                legit,
                outcome.value,
                reason,
            )
        )

    # -- running --------------------------------------------------------------------------

    def run(self, until: SimTime | None = None) -> None:
        """Run every visit and event up to ``until`` (default: the end of the scenario)."""
        end, times, clients = self.begin(until)
        self.engine.run(zip(times.tolist(), clients.tolist(), strict=True), self.connect)
        self.engine.run_events_until(end)

    def begin(
        self, until: SimTime | None = None
    ) -> tuple[SimTime, npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """Schedule the world's own events (monitor polls, a log distrust) and draw the
        visits: the run's end, and the sorted visit times and clients up to it."""
        end = self.s.days * DAY if until is None else min(until, self.s.days * DAY)
        if self.monitor is not None:
            self.engine.at(0.0, self.poll_monitor, priority=1, quiet=True)
        if self.s.log_distrusted_day is not None:
            self.engine.at(self.s.log_distrusted_day * DAY, lambda: self.distrust_log(_LOGS[0][0]))
        times, clients = self.visit_arrays()
        keep = times <= end
        return end, times[keep], clients[keep]


@functools.cache
def _any_issuance(name: str) -> CTPolicy:
    """Policy ``name`` applied whatever the certificate's issuance date (Expect-CT)."""
    return dataclasses.replace(POLICIES[name], required_from=None)


def _draw(weighted: tuple[tuple[Release, float], ...], r: float) -> Release:
    """The release at cumulative share ``r`` in [0, 1)."""
    total = 0.0
    for release, share in weighted:
        total += share
        if r < total:
            return release
    return weighted[-1][0]
