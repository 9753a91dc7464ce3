"""The client release table: its data, its eras, and every rule tested at its boundaries.

For each family, every rule that changes between two consecutive releases is observed through
the world's decision pipeline in the last month before the change and the first month after
it; the observation must flip, and each side must match what its release record says.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from simlab import clients, hpkp
from simlab.clients import Era, Release
from simlab.clock import DAY
from simlab.errors import SimlabError
from simlab.keys import derive_key
from simlab.pki import Chain, self_signed
from simlab.world import HSTS_HEADER, Client, Settings, World

README = Path(__file__).resolve().parents[1] / "README.md"


def _month_before(month: Era) -> Era:
    return Era(month.year - 1, 12) if month.month == 1 else Era(month.year, month.month - 1)


def _start(release: Release) -> Era:
    return clients._in_force_from(release.released)


def _families() -> dict[str, list[Release]]:
    out: dict[str, list[Release]] = {}
    for r in clients.releases():
        out.setdefault(r.family, []).append(r)
    return {f: sorted(rs, key=lambda r: r.released) for f, rs in out.items()}


# -- the data ---------------------------------------------------------------------------------


def test_every_changed_rule_cites_its_source() -> None:
    rules = [f.name for f in dataclasses.fields(Release) if f.name not in ("id", "name", "source")]
    for releases in _families().values():
        for prev, cur in itertools.pairwise(releases):
            changed = [r for r in rules if getattr(prev, r) != getattr(cur, r)]
            changed.remove("released")
            missing = [r for r in changed if r not in cur.source]
            assert not missing, f"{cur.id}: changed {missing} without a source"
        first = releases[0]
        for rule in ("revocation", "overridable", "user_roots"):
            assert rule in first.source, f"{first.id}: {rule} without a source"


def test_a_release_counts_from_the_month_it_shipped_by_the_15th() -> None:
    assert clients._in_force_from(dt.date(2011, 8, 2)) == Era(2011, 8)  # Chrome 13
    assert clients._in_force_from(dt.date(2018, 7, 24)) == Era(2018, 8)  # Chrome 68
    assert clients._in_force_from(dt.date(2019, 12, 20)) == Era(2020, 1)


def test_each_release_is_current_from_its_first_month_and_not_the_month_before() -> None:
    for family, releases in _families().items():
        for r in releases:
            start = _start(r)
            assert clients.current(family, start) == r
            before = clients.current(family, _month_before(start))
            assert before != r


def test_population_shares_sum_to_one_per_kind() -> None:
    for month in ("2011-01", "2016-10", "2018-10", "2025-12"):
        for kind, mix in clients.population(month).items():
            assert mix, (month, kind)
            assert sum(w for _, w in mix) == pytest.approx(1.0)
            assert {r.kind for r, _ in mix} == {kind}


@pytest.mark.parametrize("bad", ["2010-12", "2026-01", "2018-13", "18-10", "", "2018/10"])
def test_an_era_outside_the_table_is_refused_naming_the_valid_range(bad: str) -> None:
    with pytest.raises(SimlabError, match="era") as exc:
        clients.era(bad)
    if "-" in bad and len(bad) == 7 and bad[5:] != "13":
        assert "valid from 2011-01 to 2025-12" in str(exc.value)


def test_the_readme_table_is_generated_from_the_data() -> None:
    assert clients.release_table() in README.read_text(encoding="utf-8")


def test_a_malformed_release_row_is_a_typed_error_naming_the_field() -> None:
    row = {f.name: None for f in dataclasses.fields(Release)}
    row |= {"id": "x", "kind": "browser", "released": dt.date(2020, 1, 1)}
    row |= dict.fromkeys(clients._BOOLS, False) | dict.fromkeys(clients._DAYS, 0)
    row |= {"hpkp": "none", "ct_policy": "none", "ct_scope": "none", "revocation": "crlset"}
    row |= {"overridable": ["authority_invalid"], "fatal_on": []}
    assert clients._release(row, "row").id == "x"
    with pytest.raises(clients.ClientDataError, match="row: revocation = 'ocsp'"):
        clients._release(row | {"revocation": "ocsp"}, "row")
    with pytest.raises(clients.ClientDataError, match="static_pins_timely_days must be a whole"):
        clients._release(row | {"static_pins_timely_days": -1}, "row")
    with pytest.raises(clients.ClientDataError, match="missing \\['fatal_on'\\]"):
        clients._release({k: v for k, v in row.items() if k != "fatal_on"}, "row")


def test_a_client_has_each_field_it_was_given_and_its_releases_state() -> None:
    """World makes clients positionally, for speed: each value must land in its field."""
    world = World(
        Settings(n_clients=200, hsts_preload=True, click_through=0.25, visit_prob=0.125), seed=3
    )
    chrome, firefox, ios = (
        next(r for kind in world.population.values() for r, _ in kind if r.name.startswith(n))
        for n in ("Chrome 68", "Firefox", "iOS")
    )
    c = world.new_client(chrome, id=7, access="isp-2", app_threshold=0.5, first_day=4)
    fields = (c.id, c.release, c.access, c.store, c.click_through, c.visit_prob)
    assert fields == (7, chrome, "isp-2", world.public_store, 0.25, 0.125)
    assert (c.build_date, c.auto_update, c.app_threshold, c.first_day) == (0.0, True, 0.5, 4)
    assert c.kph == hpkp.KnownPinnedHosts(hpkp.profile("chromium"))
    assert c.reports == hpkp.ReportSender(hpkp.profile("chromium")) and c.expect_ct == {}
    assert c.hsts is not None and c.hsts.known(world.host, 0.0)  # preloaded
    f = world.new_client(firefox, id=5)
    assert f.access == "isp-1" and f.kph is not None and f.reports is None
    app = world.new_client(ios, id=8, app_threshold=0.75)
    assert (app.access, app.click_through, app.kph, app.reports, app.hsts) == (
        "isp-0",
        0.0,
        None,
        None,
        None,
    )
    assert (app.build_date, app.auto_update, app.app_threshold) == (None, True, 0.75)
    population = world.clients
    assert [p.id for p in population] == list(range(200))
    assert len({id(p.expect_ct) for p in population}) == 200  # each client's own
    for p in population:
        browser = p.kind == "browser"
        assert (p.build_date is not None and p.build_date <= 0) == browser
        assert p.access == f"isp-{p.id % 4}" and 0 <= p.first_day < 60
        assert (p.kph is not None) == (p.release.hpkp is not None and browser)


# -- rules at their boundaries ------------------------------------------------------------------

AT = 5 * DAY  # a moment inside the month, before any build is stale


def _world(month: Era, **settings: object) -> World:
    return World(Settings(era=str(month), n_clients=1, **settings), seed=3)  # type: ignore[arg-type]


def _client(world: World, release: Release) -> Client:
    return world.new_client(release, access="isp-1")


def _rogue_chain(world: World, *, logged: bool) -> Chain:
    key = derive_key(3, "probe-attacker")
    return world.issue(
        world.other_ca, "attacker", key, 0.0, logs=3 if logged else 0, validated=False
    )


def _self_signed(world: World) -> Chain:
    key = derive_key(3, "probe-self")
    cert = self_signed(
        world.host, key, ca=False, names=[world.host], not_before=-DAY, epoch=world.epoch
    )
    return Chain((cert,))


def _returning_visitor(month: Era, release: Release, **settings: object) -> tuple[World, Client]:
    """A world whose site deploys ``settings``, and a client of ``release`` that has visited
    the real site once and noted its headers."""
    world = _world(month, **settings)
    client = _client(world, release)
    decision = world.decide(client, world.owner.chain, AT)
    world.note_headers(client, world.owner, decision.validation, AT)
    return world, client


def probe_static_pins(month: Era, release: Release) -> bool:
    """A rogue chain from another public CA fails the site's static pins."""
    world = _world(month, preload=True, app_pins=True)
    client = _client(world, release)
    return world.decide(client, _rogue_chain(world, logged=True), AT).reason.startswith(
        "pin_mismatch"
    )


def probe_hpkp(month: Era, release: Release) -> bool:
    """A valid Public-Key-Pins header from the site is noted."""
    world, client = _returning_visitor(month, release, hpkp=True)
    return client.kph is not None and client.kph.lookup(world.host, AT) is not None


def probe_hpkp_reports(month: Era, release: Release) -> bool:
    return _client(_world(month, hpkp=True), release).reports is not None


def probe_requires_ct(month: Era, release: Release) -> bool:
    """An unlogged certificate from a public CA is refused or warned about (CT)."""
    world = _world(month)
    decision = world.decide(_client(world, release), _rogue_chain(world, logged=False), AT)
    return decision.reason == "ct_policy"


def probe_expect_ct(month: Era, release: Release) -> bool:
    """After the site's Expect-CT header, an unlogged certificate fails CT."""
    world, client = _returning_visitor(month, release, ct=True)
    return world.decide(client, _rogue_chain(world, logged=False), AT).reason == "ct_policy"


def probe_revocation(month: Era, release: Release) -> bool:
    """A revoked certificate served by an on-path attacker (who drops OCSP) is refused
    once a pushed list could carry it."""
    world = _world(month)
    chain = _rogue_chain(world, logged=True)
    world.other_ca.revoke(chain.leaf.serial_number, at=0.0)
    decision = world.decide(_client(world, release), chain, AT, on_path=True)
    return decision.reason == "revoked"


def probe_pushed_intermediate_revocation(month: Era, release: Release) -> bool:
    """A chain through a revoked intermediate, served on-path (OCSP dropped), is refused:
    a pushed list carries intermediates (CRLSet, CRLite, and Firefox's OneCRL)."""
    world = _world(month)
    chain = _rogue_chain(world, logged=True)
    world.other_root.revoke(world.other_ca.certificate.serial_number, at=0.0)
    decision = world.decide(_client(world, release), chain, AT, on_path=True)
    return decision.reason == "revoked"


def probe_hsts(month: Era, release: Release) -> bool:
    """After the site's HSTS header, a certificate error can no longer be clicked through."""
    world, client = _returning_visitor(month, release, hsts=True)
    return world.decide(client, _self_signed(world), AT).verdict == "block"


def probe_overridable_ct(month: Era, release: Release) -> bool:
    """A CT failure is a warning the user may click through."""
    world = _world(month, rogue_logged=False)
    decision = world.decide(_client(world, release), _rogue_chain(world, logged=False), AT)
    return decision.verdict == "warn"


def probe_fatal_on_dynamic_pins(month: Era, release: Release) -> bool:
    """Once the site's HPKP pins are noted, an untrusted certificate is fatal."""
    world, client = _returning_visitor(month, release, hpkp=True)
    return world.decide(client, _self_signed(world), AT).verdict == "block"


PROBES: dict[str, tuple[Callable[[Era, Release], bool], Callable[[Release], bool]]] = {
    "static_pins": (probe_static_pins, lambda r: r.static_pins and r.kind == "browser"),
    "hpkp": (probe_hpkp, lambda r: r.hpkp is not None),
    "hpkp_reports": (probe_hpkp_reports, lambda r: r.hpkp is not None and r.hpkp_reports),
    "ct_scope": (probe_requires_ct, lambda r: r.requires_ct),
    "expect_ct": (probe_expect_ct, lambda r: r.requires_ct or (r.expect_ct and bool(r.ct_policy))),
    "revocation": (probe_revocation, lambda r: r.revocation in ("crlset", "crlite")),
    "revocation_intermediates": (
        probe_pushed_intermediate_revocation,
        lambda r: r.revocation in ("crlset", "crlite", "onecrl+ocsp-soft-fail"),
    ),
    "hsts": (probe_hsts, lambda r: r.hsts and "hsts" in r.fatal_on),
    "overridable": (
        probe_overridable_ct,
        lambda r: r.requires_ct and "ct_required" in r.overridable,
    ),
    "fatal_on": (
        probe_fatal_on_dynamic_pins,
        lambda r: r.hpkp is not None and "dynamic_pins" in r.fatal_on,
    ),
}
"""Per rule: a probe through the pipeline, and what the release record predicts it shows."""


def _boundaries() -> list[tuple[str, Release, Release]]:
    cases = []
    for releases in _families().values():
        for prev, cur in itertools.pairwise(releases):
            for rule, (_, predict) in PROBES.items():
                if predict(prev) != predict(cur):
                    cases.append((rule, prev, cur))
    return cases


@pytest.mark.parametrize(
    ("rule", "prev", "cur"),
    _boundaries(),
    ids=[f"{rule}:{prev.id}->{cur.id}" for rule, prev, cur in _boundaries()],
)
def test_each_rule_changes_exactly_at_its_release(rule: str, prev: Release, cur: Release) -> None:
    probe, predict = PROBES[rule]
    first = _start(cur)
    last = _month_before(first)
    assert clients.current(cur.family, last) == prev
    assert probe(last, prev) == predict(prev)
    assert probe(first, cur) == predict(cur)


def test_the_boundary_cases_cover_the_eras_turning_points() -> None:
    seen = {(rule, cur.id) for rule, _, cur in _boundaries()}
    for case in [
        ("static_pins", "chrome-13"),
        ("hpkp", "chrome-38"),
        ("hpkp", "chrome-72"),
        ("ct_scope", "chrome-68"),
        ("expect_ct", "chrome-61"),
        ("revocation", "chrome-19"),
        ("ct_scope", "chrome-android-99"),
        ("static_pins", "chrome-android-106"),
        ("hpkp", "firefox-35"),
        ("ct_scope", "firefox-135"),
        ("revocation", "firefox-137"),
        ("revocation_intermediates", "firefox-37"),
        ("ct_scope", "safari-12-1"),
        ("hsts", "safari-7"),
        ("hsts", "ie-11-hsts"),
    ]:
        assert case in seen, case


def test_apps_follow_their_platform_on_user_roots() -> None:
    pre, nsc = (
        clients.current("android-app", Era(2018, 10)),
        clients.current("android-app", Era(2018, 11)),
    )
    assert pre is not None and nsc is not None
    assert pre.user_roots and not nsc.user_roots
    assert not pre.user_roots_bypass_pins and not nsc.user_roots_bypass_pins


def test_a_stale_build_fails_open_for_ct_and_static_pins() -> None:
    world = _world(Era(2018, 10), preload=True)
    release = clients.current("chrome-desktop", Era(2018, 10))
    assert release is not None
    client = _client(world, release)
    client.auto_update = False
    rogue = _rogue_chain(world, logged=False)
    fresh, stale = 69 * DAY, 71 * DAY
    assert world.decide(client, rogue, fresh).verdict == "block"  # static pins: error is fatal
    late = world.decide(client, rogue, stale)
    assert late.verdict == "accept"  # CT_POLICY_BUILD_NOT_TIMELY and IsBuildTimely both open


@pytest.mark.parametrize(("family", "days"), [("chrome-desktop", 70), ("firefox", 126)])
def test_a_stale_build_ignores_its_hsts_preload_list(family: str, days: int) -> None:
    """A preloaded HSTS host makes an untrusted certificate fatal only while the build is
    timely: Chromium's GetStaticDomainState checks IsBuildTimely (70 days), Firefox drops
    its list at gPreloadListExpirationTime (18 weeks). Past that, a stale browser shows an
    ordinary warning the user may click through; an updating one keeps the list."""
    month = Era(2018, 10)
    world = _world(month, hsts_preload=True)
    release = clients.current(family, month)
    assert release is not None and release.hsts_preload_timely_days == days
    stale = _client(world, release)
    stale.auto_update = False
    chain = _self_signed(world)
    assert world.decide(stale, chain, (days - 1) * DAY).verdict == "block"
    assert world.decide(stale, chain, (days + 1) * DAY).verdict == "warn"  # click-through
    updating = _client(world, release)
    assert world.decide(updating, chain, (days + 1) * DAY).verdict == "block"
    assert stale.hsts is not None
    stale.hsts.note(world.host, HSTS_HEADER, days * DAY)
    assert world.decide(stale, chain, (days + 1) * DAY).verdict == "block"  # noted, not preload


def test_a_release_without_an_hsts_preload_expiry_keeps_its_list() -> None:
    """Safari and IE/Edge Legacy have no build-age rule for their preload list."""
    month = Era(2018, 10)
    world = _world(month, hsts_preload=True)
    for family in ("safari", "ie-edge"):
        release = clients.current(family, month)
        assert release is not None and release.hsts_preload_timely_days == 0
        client = _client(world, release)
        client.auto_update = False
        assert world.decide(client, _self_signed(world), 3000 * DAY).verdict == "block"


def test_a_local_root_bypasses_pins_only_where_there_are_pins() -> None:
    from simlab.pins import PinVerdict
    from simlab.pki import CertificateAuthority

    release = clients.current("chrome-desktop", Era(2018, 10))
    assert release is not None
    for settings, verdict in (({"hsts": True}, PinVerdict.NOT_PINNED), ({"preload": True}, None)):
        world = _world(Era(2018, 10), **settings)
        client = _client(world, release)
        proxy = CertificateAuthority.root("Proxy CA", seed=3, epoch=world.epoch)
        client.store = client.store.with_user_root(proxy.certificate)
        key = derive_key(3, "probe-proxy")
        chain = proxy.compromise().issue([world.host], key.public_key(), at=0.0, requester="p")
        decision = world.decide(client, chain, AT)
        assert decision.verdict == "accept"  # local roots bypass pins (is_issued_by_known_root)
        assert decision.pin_check is not None
        expected = verdict or PinVerdict.BYPASSED_LOCAL_ROOT
        assert decision.pin_check.verdict is expected, settings
