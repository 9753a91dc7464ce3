"""The world: CAs, logs, a registry, a network, a domain owner, an attacker and clients.

Every connection goes through one decision pipeline (:meth:`World.connect`), in order:
route (who answers) -> path validation -> revocation -> CT policy -> pins -> outcome ->
HPKP header processing -> reports. Each step is a real check on real artefacts from
:mod:`simlab.pki`, :mod:`simlab.hpkp`, :mod:`simlab.static_pins` and :mod:`simlab.ct`;
nothing here decides an outcome by itself.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import math
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from simlab import hpkp
from simlab.clock import DAY, DEFAULT_EPOCH, HOUR, SimTime
from simlab.ct import CTLog, CTPolicy, KnownLog, Monitor, precert_hook
from simlab.ct.sct import SCT
from simlab.engine import Engine
from simlab.errors import ScenarioError
from simlab.keys import PrivateKey, derive_key
from simlab.network import Network, Registry
from simlab.pins import PinCheck, PinVerdict
from simlab.pki import (
    CertificateAuthority,
    Chain,
    RevocationMode,
    RevocationResponder,
    TrustStore,
    Validation,
    Validator,
    spki_pin,
)
from simlab.static_pins import AppPinConfig, AppRelease, PreloadEntry, PreloadList, UpdateAdoption

__all__ = [
    "SETTING_LIMITS",
    "Client",
    "Decision",
    "Endpoint",
    "Outcome",
    "Settings",
    "World",
    "check_settings",
]


class Outcome(enum.StrEnum):
    CONNECTED = "connected"  # to the legitimate server
    INTERCEPTED = "intercepted"  # to the attacker, and the client accepted it
    BLOCKED = "blocked"
    CLICKED_THROUGH = "clicked_through"  # accepted after a certificate warning


@dataclass
class Endpoint:
    """What answers a TLS connection for the domain: a chain, SCTs and headers."""

    operator: str
    chain: Chain
    key: PrivateKey
    legit: bool
    pkp_header: str | None = None
    tls_scts: tuple[SCT, ...] = ()


@dataclass(frozen=True)
class Decision:
    """What the pipeline decided for one connection, before any user interaction.

    ``verdict`` is ``accept``, ``warn`` (a certificate error the user may click through)
    or ``block`` (a hard failure: pins, CT, revocation, or an error on a pinned host).
    """

    verdict: str
    reason: str
    validation: Validation
    pin_check: PinCheck | None = None


@dataclass
class Client:
    id: int
    kind: str  # "browser", "app" or "legacy"
    access: str  # access network node
    store: TrustStore
    click_through: float
    visit_prob: float
    kph: hpkp.KnownPinnedHosts | None = None
    reports: hpkp.ReportSender | None = None
    preload_build: SimTime | None = None  # build date of the browser's preload list
    auto_update: bool = True
    ct_policy: CTPolicy | None = None
    app_threshold: float = 0.0
    app_pins: bool = False
    first_day: int = 0


@dataclass
class Settings:
    """Everything a scenario and a defence can set (see ``simlab.scenarios`` for meanings)."""

    domain: str = "example.com"
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
    include_subdomains: bool = False
    preload: bool = False
    app_pins: bool = False
    hpkp: bool = False
    ct: bool = False
    hpkp_profile: str = "chromium"
    monitor_interval_hours: float = 1
    merge_delay_hours: float = 1
    mmd_hours: float = 24
    response_hours: float = 48
    attacker_blocks_reports: bool = True  # an on-path attacker drops reports from its victims
    user_report_prob: float = 0.02
    rogue_logged: bool = False
    hijacker_pins: bool = True
    app_update_days: float = 14
    app_adoption_mean_days: float = 7
    browser_release_days: float = 42
    stale_browser_share: float = 0.0
    theft_noticed_days: float = 14
    revocation: str = "soft-fail"
    ocsp_blockable: bool = False


def _at_least(low: float) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: v >= low), f">= {low:g}"


def _above(low: float) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: v > low), f"> {low:g}"


def _one_of(choices: Iterable[str]) -> tuple[Callable[[Any], bool], str]:
    valid = tuple(choices)
    return (lambda v: v in valid), "one of " + ", ".join(valid)


_SHARE = (lambda v: 0 <= v <= 1), "between 0 and 1"
_DNS_NAME = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$")

SETTING_LIMITS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "domain": ((lambda v: bool(_DNS_NAME.match(v))), "a lower-case DNS name like example.com"),
    "days": _above(0),
    "n_clients": _at_least(1),
    "browser_share": _SHARE,
    "app_share": _SHARE,
    "visit_prob": _SHARE,
    "new_visitor_share": _SHARE,
    "click_through": _SHARE,
    "access_networks": _at_least(1),
    "attacker_network": (
        (lambda v: bool(re.fullmatch(r"isp-\d+|ix", v))),
        "isp-N (an access network, N < access_networks) or ix (the exchange)",
    ),
    "attack_start_day": _at_least(0),
    "attack_days": _at_least(0),
    "max_age_days": _at_least(0),
    "hpkp_profile": _one_of(hpkp.PROFILES),
    "monitor_interval_hours": _above(0),  # a zero interval would poll forever at one instant
    "merge_delay_hours": _at_least(0),
    "mmd_hours": _above(0),
    "response_hours": _at_least(0),
    "user_report_prob": _SHARE,
    "app_update_days": _at_least(0),
    "app_adoption_mean_days": _above(0),
    "browser_release_days": _above(0),
    "stale_browser_share": _SHARE,
    "theft_noticed_days": _at_least(0),
    "revocation": _one_of(m.value for m in RevocationMode),
}
"""What each setting may be, beyond its type: nonsense fails before a world is built."""


def _check_setting(key: str, value: Any, where: str) -> None:
    """Raise :class:`ScenarioError` if ``value`` is out of range for setting ``key``."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ScenarioError(f"{where}: parameter {key!r} must be a finite number, got {value!r}")
    limit = SETTING_LIMITS.get(key)
    if limit is not None and not limit[0](value):
        raise ScenarioError(f"{where}: parameter {key!r} must be {limit[1]}, got {value!r}")


def check_settings(settings: Settings, where: str) -> None:
    """Every setting in range, and the ones that constrain each other consistent."""
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
    positions = [f"isp-{i}" for i in range(s.access_networks)] + ["ix"]
    if s.attacker_network not in positions:
        raise ScenarioError(
            f"{where}: parameter 'attacker_network' must be one of {', '.join(positions)}, "
            f"got {s.attacker_network!r}"
        )


class World:
    """One run's world. Build it, let a scenario story act on it, then :meth:`run`."""

    def __init__(
        self, settings: Settings, *, seed: int = 0, epoch: dt.datetime = DEFAULT_EPOCH
    ) -> None:
        self.s = settings
        self.seed = seed
        self.epoch = epoch
        self.rng = random.Random(seed)
        self.engine = Engine()
        self.validator = Validator(epoch=epoch)
        self.registry = Registry()
        self.host = settings.domain
        access = [f"isp-{i}" for i in range(settings.access_networks)]
        self.network = Network(access, ["dc-owner", "dc-attacker", "reports"])

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
            for name, op in (("argon", "Google"), ("nimbus", "Cloudflare"), ("yeti", "DigiCert"))
        ]
        self.known_logs = {
            log.log_id: KnownLog(log.public_key, log.operator, log.name) for log in self.logs
        }
        self.revocation_mode = RevocationMode(settings.revocation)
        self.ct_policy = CTPolicy("enforced", ((180, 2), (float("inf"), 3)), min_operators=2)

        self.registry.register(self.host, "owner", "dc-owner")
        self._generation = 0
        self.owner_key = self._new_key("owner")
        self.backup_key = self._new_key("owner-backup")
        self.owner = self._owner_endpoint(self.owner_key, at=-DAY)
        self.attacker: Endpoint | None = None
        self.attacker_position: str | None = None  # on-path node while intercepting
        self.serving: dict[str, Endpoint] = {"dc-owner": self.owner}

        backup_ca_pin = spki_pin(derive_key(seed, "ca:Backup CA").public_key())
        self.preload_pins = frozenset({spki_pin(self.issuing.certificate), backup_ca_pin})
        self._preloads: dict[SimTime, PreloadList] = {}
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
        self.clients = self._population()

    # -- actors ----------------------------------------------------------------------

    def _new_key(self, label: str) -> PrivateKey:
        return derive_key(self.seed, f"{label}:{self.host}")

    def issue(
        self,
        ca: CertificateAuthority,
        requester: str,
        key: PrivateKey,
        at: SimTime,
        *,
        logged: bool | None = None,
        validated: bool = True,
    ) -> Chain:
        """Issue a certificate for the domain; in a CT world CAs log every precertificate."""
        log = self.s.ct if logged is None else logged
        hook = precert_hook(self.logs, at) if log else None
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

    def _owner_endpoint(self, key: PrivateKey, at: SimTime) -> Endpoint:
        chain = self.issue(self.issuing, "owner", key, at)
        header = None
        if self.s.hpkp:
            header = self.pkp_header(
                {spki_pin(key.public_key()), spki_pin(self.backup_key.public_key())},
                report_uri="https://reports.example.net/hpkp",
            )
        return Endpoint("owner", chain, key, legit=True, pkp_header=header)

    def rekey(self, at: SimTime, *, use_backup: bool) -> None:
        """The owner replaces its key: with the pinned backup if it still has it, else a new one."""
        self._generation += 1
        new_key = self.backup_key if use_backup else self._new_key(f"owner-{self._generation}")
        self.backup_key = self._new_key(f"owner-backup-{self._generation}")
        self.owner_key = new_key
        self.owner = self._owner_endpoint(new_key, at)
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

    def poll_monitor(self) -> None:
        if self.monitor is None:
            return
        for alert in self.monitor.poll(self.engine.now):
            if alert.submitted_at >= self.attack_start - DAY:
                self.detect(self.engine.now, "ct_monitor")
        self.engine.at(self.engine.now + self.monitor.poll_interval, self.poll_monitor, priority=1)

    # -- clients -------------------------------------------------------------------------

    def _population(self) -> list[Client]:
        s, rng = self.s, self.rng
        clients: list[Client] = []
        access = [f"isp-{i}" for i in range(s.access_networks)]
        profile = hpkp.profile(s.hpkp_profile)
        for i in range(s.n_clients):
            r = rng.random()
            kind = (
                "browser"
                if r < s.browser_share
                else "app"
                if r < s.browser_share + s.app_share
                else "legacy"
            )
            client = Client(
                id=i,
                kind=kind,
                access=access[i % len(access)],
                store=self.public_store,
                click_through=s.click_through if kind != "app" else 0.0,
                visit_prob=s.visit_prob,
                app_threshold=rng.random(),
                first_day=int(rng.random() * s.days) if rng.random() < s.new_visitor_share else 0,
            )
            if kind == "browser":
                if s.hpkp:
                    client.kph = hpkp.KnownPinnedHosts(profile)
                    client.reports = hpkp.ReportSender(profile)
                if s.preload:
                    client.preload_build = -rng.random() * s.browser_release_days * DAY
                    client.auto_update = rng.random() >= s.stale_browser_share
                if s.ct:
                    client.ct_policy = self.ct_policy
            elif kind == "app":
                client.app_pins = s.app_pins
            clients.append(client)
        return clients

    def preload_for(self, client: Client, at: SimTime) -> PreloadList | None:
        if client.preload_build is None:
            return None
        build = client.preload_build
        if client.auto_update:
            period = self.s.browser_release_days * DAY
            build += ((at - build) // period) * period
        preload = self._preloads.get(build)
        if preload is None:
            entry = PreloadEntry(self.host, "owner", include_subdomains=True)
            preload = self._preloads[build] = PreloadList(
                {"owner": self.preload_pins}, {self.host: entry}, build
            )
        return preload

    def visits(self) -> list[tuple[SimTime, int]]:
        """Each client visits on a day with ``visit_prob``, at a uniformly random time."""
        out: list[tuple[SimTime, int]] = []
        rng = self.rng
        for day in range(int(self.s.days)):
            start = day * DAY
            for c in self.clients:
                if day >= c.first_day and rng.random() < c.visit_prob:
                    out.append((start + rng.random() * DAY, c.id))
        out.sort()
        return out

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
            # Chromium: any certificate error is fatal on a host with pins (ShouldSSLErrorsBeFatal);
            # apps have no interstitial at all.
            fatal = client.kind == "app" or self._pins_known(client, at)
            return Decision("block" if fatal else "warn", str(validation.reason), validation)
        mode = self.revocation_mode if client.kind != "legacy" else RevocationMode.NONE
        revoked = self.responder.check(
            validation.chain, at, mode, reachable=not (on_path and self.s.ocsp_blockable)
        )
        if revoked is not None:
            return Decision("block", str(revoked), validation)
        if client.ct_policy is not None and not self._ct_ok(client, chain, tls_scts, validation):
            return Decision("block", "ct_policy", validation)
        check = self._pin_check(client, validation, at)
        if check.blocks:
            return Decision("block", f"pin_mismatch_{check.source}", validation, check)
        return Decision("accept", "", validation, check)

    def connect(self, cid: int, at: SimTime) -> None:
        """One simulated visit: route, decide, let the user click through a warning (or
        not), send reports, record the outcome, and note HPKP headers."""
        client = self.clients[cid]
        endpoint = self.answerer(client)
        if endpoint is None:
            self._record(at, client, None, Outcome.BLOCKED, "unreachable")
            return
        on_path = endpoint is self.attacker and self.attacker_position is not None
        decision = self.decide(
            client, endpoint.chain, at, tls_scts=endpoint.tls_scts, on_path=on_path
        )
        if decision.verdict == "warn":
            clicked = self.rng.random() < client.click_through
            outcome = Outcome.CLICKED_THROUGH if clicked else Outcome.BLOCKED
            self._record(at, client, endpoint, outcome, decision.reason)
            return
        if decision.verdict == "block":
            if decision.pin_check is not None and decision.pin_check.blocks:
                self._pin_failure(client, endpoint, decision.validation, decision.pin_check, at)
            self._record(at, client, endpoint, Outcome.BLOCKED, decision.reason)
            return
        outcome = Outcome.CONNECTED if endpoint.legit else Outcome.INTERCEPTED
        self._record(at, client, endpoint, outcome, "")
        self.note_header(client, endpoint.pkp_header, decision.validation, at)

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

    def _pins_known(self, client: Client, at: SimTime) -> bool:
        if client.kph is not None and client.kph.lookup(self.host, at) is not None:
            return True
        preload = self.preload_for(client, at)
        return (
            preload is not None and preload.is_timely(at) and preload.lookup(self.host) is not None
        )

    def _ct_ok(
        self, client: Client, chain: Chain, tls_scts: tuple[SCT, ...], validation: Validation
    ) -> bool:
        assert client.ct_policy is not None
        key = (chain.key, client.ct_policy.name, validation.anchor_origin, tls_scts)
        ok = self._ct_memo.get(key)
        if ok is None:
            leaf = validation.chain[0]
            issuer = validation.chain[1] if len(validation.chain) > 1 else None
            verdict = client.ct_policy.evaluate(
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
        if client.kind == "app":
            if not client.app_pins:
                return PinCheck(PinVerdict.NOT_PINNED)
            release = self.adoption.release_for(client.app_threshold, self.releases, at)
            if release.pins is None:
                return PinCheck(PinVerdict.NOT_PINNED)
            return release.pins.check(self.host, validation.pins, at=at, anchor_origin=origin)
        if client.kph is not None:
            dynamic = client.kph.check(self.host, validation.pins, at=at, anchor_origin=origin)
            if dynamic.verdict is not PinVerdict.NOT_PINNED:
                return dynamic  # dynamic pins take precedence over static ones (Chromium)
        preload = self.preload_for(client, at)
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
        if (
            check.source is not None
            and check.source.value == "hpkp"
            and client.kph
            and client.reports
        ):
            entry = client.kph.lookup(self.host, at)
            if entry is not None:
                report = hpkp.violation_report(
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
                if client.reports.should_send(entry.report_uri, report, at) and self._delivered(
                    client
                ):
                    self.detect(at, "hpkp_report")
                    return
        if check.source is not None and check.source.value == "app":
            if self._delivered(client):
                self.detect(at, "app_pin_report")
        elif self.rng.random() < self.s.user_report_prob:
            self.detect(at, "user_report")

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
        end = self.s.days * DAY if until is None else min(until, self.s.days * DAY)
        if self.monitor is not None:
            self.engine.at(0.0, self.poll_monitor, priority=1)
        self.engine.run([v for v in self.visits() if v[0] <= end], self.connect)
        self.engine.run_events_until(end)
