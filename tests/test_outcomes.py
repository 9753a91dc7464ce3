"""The scenario x defence table, asserted from measured runs (never written in).

Each cell runs the scenario under the defence (what the site deploys) in the default era,
October 2018, and checks the outcome per client release: Chrome 68-71 (static pins, HPKP,
CT required, CRLSets), Chrome for Android 46-71 (HPKP, no static pins, no CT yet), Firefox
37-71 (static pins, HPKP, OCSP soft-fail), Safari 7-12.0 and IE 11 (HSTS only), the site's
Android app (targetSdk < 24: trusts user roots) and iOS app, and the legacy client (curl,
OpenSSL, Java: no pins, no CT, no revocation, no warning page). Where an era changes a
cell, the test runs both eras. README.md's "What the comparison shows" states these cells.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import simlab
from simlab.clock import DAY, HOUR
from simlab.errors import SimlabError
from simlab.runner import Result
from simlab.scenario_file import builtin_scenarios

SEED = 1


@cache
def _run(scenario: str, defence: str, **params: Any) -> Result:
    return simlab.run(scenario, defence, seed=SEED, **params)


def run(scenario: str, defence: str, **params: Any) -> Result:
    return _run(scenario, defence, **params)


def accepted(result: Result, kind: str) -> float:
    """Share of the attacker's connections to ``kind`` clients that the clients accepted."""
    t = result.table
    att = t[(t["responder"] == "attacker") & (t["kind"] == kind)]
    assert len(att) > 0, f"no attacker connections for {kind}"
    return float(att["outcome"].isin(["intercepted", "clicked_through"]).mean())


def legit_failures(result: Result, kind: str) -> pd.DataFrame:
    t = result.table
    return t[t["legit"] & (t["kind"] == kind) & (t["outcome"] == "blocked")]


def by_release(result: Result, prefix: str) -> float:
    """Share of the attacker's connections to releases named ``prefix...`` they accepted."""
    t = result.table
    att = t[(t["responder"] == "attacker") & t["release"].str.startswith(prefix)]
    assert len(att) > 0, f"no attacker connections for {prefix}"
    return float(att["outcome"].isin(["intercepted", "clicked_through"]).mean())


def locked_out(result: Result) -> set[str]:
    """Releases with a failed connection to the legitimate server."""
    t = result.table
    return set(t[t["legit"] & (t["outcome"] == "blocked")]["release"])


CHROME, ANDROID, FIREFOX = "Chrome 68", "Chrome for Android", "Firefox"
NO_PINS_BROWSERS = ("Safari", "IE 11")
HPKP_BROWSERS = {"Chrome 68-71", "Chrome for Android 46-71", "Firefox 37-71"}


# -- MITM with an untrusted certificate ---------------------------------------------------


def test_mitm_none_a_warning_browsers_click_through_and_apps_refuse() -> None:
    r = run("mitm", "none")
    assert 0.25 < accepted(r, "browser") < 0.6  # click_through = 0.4
    assert set(r.table[r.table["responder"] == "attacker"]["reason"]) == {"unknown_issuer"}
    assert accepted(r, "app") == 0.0 and accepted(r, "legacy") == 0.0  # no warning page


def test_mitm_static_fatal_where_static_pins_are_enforced() -> None:
    r = run("mitm", "static")
    assert by_release(r, CHROME) == 0.0 and by_release(r, FIREFOX) == 0.0
    assert by_release(r, ANDROID) > 0.2  # Chrome for Android enforced no static pins until 106


def test_mitm_hpkp_fatal_for_returning_visitors_first_visit_like_none() -> None:
    none, pinned = run("mitm", "none"), run("mitm", "hpkp")
    assert accepted(pinned, "browser") < accepted(none, "browser") / 1.5
    t = pinned.table
    clicked = t[t["release"].isin(HPKP_BROWSERS) & (t["outcome"] == "clicked_through")]
    assert len(clicked) > 0
    for _, row in clicked.iterrows():  # every one had never reached the real site before
        earlier = t[(t["client"] == row["client"]) & (t["time"] < row["time"]) & t["legit"]]
        assert not (earlier["outcome"] == "connected").any()
    assert by_release(pinned, "Safari") > 0.2  # no HPKP in Safari


def test_mitm_ct_does_not_remove_the_click_through_hsts_does() -> None:
    # CT makes no certificate error fatal (IsCertErrorFatal): CT alone behaves like none.
    assert accepted(run("mitm", "ct"), "browser") == pytest.approx(
        accepted(run("mitm", "none"), "browser"), abs=0.05
    )
    # HSTS does (ShouldSSLErrorsBeFatal), for browsers that saw the header before.
    hsts = run("mitm", "none", hsts=True)
    assert accepted(hsts, "browser") < accepted(run("mitm", "none"), "browser") / 2
    preloaded = run("mitm", "none", hsts=True, hsts_preload=True)
    assert accepted(preloaded, "browser") == 0.0  # every browser of 2018 shipped the list


# -- MITM with a user-installed root -----------------------------------------------------


def test_mitm_local_root_beats_browsers_under_every_defence_apps_pin_or_refuse() -> None:
    for defence in ("none", "static", "hpkp", "ct", "hpkp+ct"):
        r = run("mitm-local-root", defence)
        assert accepted(r, "browser") == 1.0, defence  # pins and CT skip local roots
    assert accepted(run("mitm-local-root", "none"), "app") == 1.0  # 2018-10: API < 24 targets
    assert accepted(run("mitm-local-root", "static"), "app") == 0.0  # bundled pins still hold


def test_mitm_local_root_android_apps_refuse_user_roots_from_api_24_targets() -> None:
    before = run("mitm-local-root", "none", era="2018-10")
    after = run("mitm-local-root", "none", era="2018-11")  # Play: target API 26 for updates
    assert by_release(before, "Android app") == 1.0
    assert by_release(after, "Android app") == 0.0
    assert by_release(after, "iOS app") == 1.0  # a fully trusted profile root is trusted


# -- CA compromise -------------------------------------------------------------------------


def test_ca_compromise_none_intercepted_everywhere() -> None:
    r = run("ca-compromise", "none")
    assert accepted(r, "browser") == accepted(r, "app") == accepted(r, "legacy") == 1.0
    assert r.metrics["detected_by"] is None  # the rogue certificate is logged, nobody watches


def test_ca_compromise_static_blocked_where_the_sites_pins_are_enforced() -> None:
    r = run("ca-compromise", "static")
    assert by_release(r, CHROME) == by_release(r, FIREFOX) == accepted(r, "app") == 0.0
    for name in (ANDROID, *NO_PINS_BROWSERS):
        assert by_release(r, name) == 1.0, name
    assert accepted(r, "legacy") == 1.0


def test_ca_compromise_hpkp_blocks_only_clients_holding_unexpired_pins() -> None:
    r = run("ca-compromise", "hpkp")
    assert 0.0 < accepted(r, "browser") < 0.6
    t = r.table
    hit = t[t["release"].isin(HPKP_BROWSERS) & (t["outcome"] == "intercepted")]
    for client, when in zip(hit["client"], hit["time"], strict=True):
        seen = t[(t["client"] == client) & (t["time"] < when) & (t["outcome"] == "connected")]
        assert seen.empty or when - seen["time"].max() >= 60 * DAY  # never pinned, or expired
    assert by_release(r, "Safari") == 1.0


def assert_seen_at_the_first_poll_after_the_merge(r: Result) -> None:
    """The table's "~1 h": the rogue entry is merged a merge delay after its submission and
    seen at the first hourly poll from then, so between 1 h and 2 h (merge delay plus one
    poll interval), and 1 h when the merge falls on a poll, as in the default stories."""
    s = r.world.s
    alert = r.world.monitor.alerts[0]  # type: ignore[union-attr]
    interval = s.monitor_interval_hours * HOUR
    merged = alert.submitted_at + s.merge_delay_hours * HOUR
    first_poll = -(-merged // interval) * interval
    assert alert.at == first_poll
    assert r.metrics["detection_time"] == first_poll - r.world.attack_start
    assert abs(r.metrics["detection_time"] - HOUR) < 0.5 * HOUR  # "~1 h"


def test_ca_compromise_ct_detects_and_revocation_decides_who_is_saved() -> None:
    r = run("ca-compromise", "ct")
    assert r.metrics["detected_by"] == "ct_monitor"  # the rational attacker logged it
    assert_seen_at_the_first_poll_after_the_merge(r)
    pushed = r.world.attack_start + r.metrics["detection_time"] + 48 * HOUR + 2 * DAY
    t = r.table
    chrome = t[(t["responder"] == "attacker") & t["release"].str.startswith("Chrome")]
    assert (chrome[chrome["time"] < pushed - HOUR]["outcome"] == "intercepted").all()
    late = chrome[chrome["time"] >= pushed]
    assert len(late) > 0 and set(late["reason"]) == {"revoked"}  # CRLSet: not blockable
    assert by_release(r, FIREFOX) == 1.0  # OCSP soft-fail, dropped by the on-path attacker
    assert by_release(run("ca-compromise", "ct", ocsp_blockable=False), FIREFOX) < 1.0


def test_ca_compromise_an_unlogged_rogue_certificate_is_a_warning_not_a_block() -> None:
    r = run("ca-compromise", "ct", rogue_logged=False)
    assert r.metrics["detected_by"] != "ct_monitor"
    t = r.table
    chrome = t[(t["responder"] == "attacker") & (t["release"] == "Chrome 68-71")]
    assert set(chrome["reason"]) == {"ct_policy"}
    assert 0.2 < by_release(r, CHROME) < 0.6  # ERR_CERTIFICATE_TRANSPARENCY_REQUIRED: overridable
    assert by_release(r, FIREFOX) == 1.0  # no CT in Firefox before 135


def test_ca_compromise_before_ct_enforcement_the_attacker_does_not_log() -> None:
    r = run("ca-compromise", "ct", era="2016-10")
    assert r.metrics["detected_by"] is None  # nothing checks SCTs, so nothing is logged
    assert accepted(r, "browser") == 1.0


# -- key loss ---------------------------------------------------------------------------------


def test_key_loss_none_and_ct_rekey_without_outage() -> None:
    for defence in ("none", "ct"):
        assert run("key-loss", defence).metrics["legit_failure_rate"] == 0.0


def test_key_loss_static_app_outage_until_update_unless_backup_bundled() -> None:
    r = run("key-loss", "static")
    fails = legit_failures(r, "app")
    assert len(fails) > 0
    assert fails["time"].min() >= 10 * DAY
    assert legit_failures(r, "browser").empty  # preload pins the CA, not the lost leaf key
    assert legit_failures(run("key-loss", "static", backup_key_survives=True), "app").empty


def test_key_loss_hpkp_outage_up_to_max_age_for_hpkp_browsers_unless_backup_key() -> None:
    r = run("key-loss", "hpkp")
    assert locked_out(r) == HPKP_BROWSERS
    assert 30 * DAY < r.metrics["lockout_duration"] <= 60 * DAY
    assert legit_failures(r, "browser")["time"].max() < 10 * DAY + 60 * DAY  # the cap
    assert run("key-loss", "hpkp", backup_key_survives=True).metrics["legit_failure_rate"] == 0.0


def test_key_loss_ct_costs_service_when_the_certificate_misses_the_policy() -> None:
    one_sct = run("key-loss", "ct", owner_scts=1)
    assert locked_out(one_sct) == {"Chrome 68-71"}  # the only release requiring CT in 2018-10
    assert run("key-loss", "ct", owner_scts=1, era="2016-10").metrics["legit_failure_rate"] == 0
    distrusted = run("key-loss", "ct", log_distrusted_day=20)
    fails = legit_failures(distrusted, "browser")
    assert set(fails["reason"]) == {"ct_policy"} and fails["time"].min() >= 20 * DAY


def test_key_loss_ct_expect_ct_misconfiguration_hurts_only_where_expect_ct_applied() -> None:
    # The site sent Expect-CT: enforce, then re-keyed to a certificate without SCTs
    # (RFC 9163): browsers that noted the header refuse it; no other browser of 2018-01 cares.
    early = run("key-loss", "ct", era="2018-01", rekey_scts=0)
    assert locked_out(early) == {"Chrome 61-67"}
    t = early.table
    fails = t[t["legit"] & (t["outcome"] == "blocked")]
    assert set(fails["reason"]) == {"ct_policy"} and fails["time"].min() >= 10 * DAY
    assert run("key-loss", "ct", era="2016-10", rekey_scts=0).metrics["legit_failure_rate"] == 0
    assert run("key-loss", "none", era="2018-01", rekey_scts=0).metrics["legit_failure_rate"] == 0


# -- key theft -----------------------------------------------------------------------------------


def test_key_theft_is_detected_only_when_the_owner_notices() -> None:
    for defence in ("none", "static", "hpkp", "ct", "hpkp+ct"):
        r = run("key-theft", defence)
        assert r.metrics["detected_by"] == "owner_notices", defence
        assert r.metrics["detection_time"] == r.world.s.theft_noticed_days * DAY, defence


def test_a_key_thief_who_leaves_first_is_still_noticed_later() -> None:
    r = run("key-theft", "none", attack_days=2.0, theft_noticed_days=5.0)
    start = r.world.attack_start
    assert r.world.attack_end == start + 2 * DAY  # attack_days, not the noticing, ended it
    assert r.metrics["detection_time"] == 5 * DAY and r.metrics["detected_by"] == "owner_notices"
    attacker = r.table[r.table["responder"] == "attacker"]
    assert len(attacker) > 0 and attacker["time"].max() < start + 2 * DAY


def test_key_theft_pins_and_ct_see_a_genuine_certificate() -> None:
    for defence in ("none", "static", "hpkp", "ct", "hpkp+ct"):
        assert accepted(run("key-theft", defence), "browser") == 1.0, defence


# -- domain hijack -----------------------------------------------------------------------------


def test_domain_hijack_reaches_every_client_on_every_network() -> None:
    r = run("domain-hijack", "none")
    assert accepted(r, "browser") == accepted(r, "app") == accepted(r, "legacy") == 1.0
    att = r.table[r.table["responder"] == "attacker"]
    assert set(att["access"]) == {f"isp-{i}" for i in range(4)}  # DNS, not an on-path position
    assert r.metrics["legit_failure_rate"] == 0.0  # Sea Turtle did not pin


def test_domain_hijack_static_blocked_where_pins_are_enforced() -> None:
    r = run("domain-hijack", "static")
    assert by_release(r, CHROME) == by_release(r, FIREFOX) == accepted(r, "app") == 0.0
    assert by_release(r, ANDROID) == 1.0


def test_domain_hijack_hpkp_returning_visitors_blocked_hijacker_pins_lock_out() -> None:
    r = run("domain-hijack", "hpkp")
    assert accepted(r, "browser") < 0.6
    pinning = run("domain-hijack", "hpkp", hijacker_pins=True, attack_days=30, response_hours=600)
    fails = legit_failures(pinning, "browser")
    assert len(fails) > 0 and fails["reason"].str.startswith("pin_mismatch").all()


def test_domain_hijack_ct_makes_issuance_visible_to_the_monitor() -> None:
    r = run("domain-hijack", "ct")
    assert r.metrics["detected_by"] == "ct_monitor"
    assert_seen_at_the_first_poll_after_the_merge(r)
    assert r.metrics["exposure_window"] < run("domain-hijack", "none").metrics["exposure_window"]


# -- HPKP ransom --------------------------------------------------------------------------------


def test_hpkp_ransom_locks_out_hpkp_browsers_of_a_site_that_never_pinned() -> None:
    r = run("hpkp-ransom", "none")
    assert locked_out(r) == HPKP_BROWSERS
    assert r.metrics["lockout_duration"] > 30 * DAY
    # The same attack after HPKP's removal from Chrome (72) and Firefox (72) locks nobody out.
    assert run("hpkp-ransom", "none", era="2020-02").metrics["legit_failure_rate"] == 0.0


def test_hpkp_ransom_static_pins_refuse_the_ransomers_chain_where_enforced() -> None:
    r = run("hpkp-ransom", "static")
    assert accepted(r, "app") == 0.0 and legit_failures(r, "app").empty
    # Static pins do not stop dynamic pins on a chain they accept: Chrome for Android had
    # no static pins in 2018, noted the ransomer's header and was locked out.
    assert locked_out(r) == {"Chrome for Android 46-71"}


def test_hpkp_ransom_against_a_pinning_site_bridges_through_the_live_key() -> None:
    r, hijack = run("hpkp-ransom", "hpkp"), run("domain-hijack", "hpkp")
    # Returning visitors accept the genuine certificate the ransomer serves from the server,
    # where a hijacker's own certificate fails their pins.
    assert by_release(r, CHROME) > 0.5 and by_release(hijack, CHROME) == 0.0
    assert locked_out(r) == HPKP_BROWSERS and not locked_out(hijack)


def test_hpkp_ransom_ct_visible_with_a_shorter_window() -> None:
    ct, none = run("hpkp-ransom", "ct"), run("hpkp-ransom", "none")
    assert ct.metrics["detected_by"] == "ct_monitor"
    assert ct.metrics["exposure_window"] < none.metrics["exposure_window"] / 2


# -- the README's table ---------------------------------------------------------------------------

README_CELLS: dict[str, tuple[str, str, str, str]] = {
    "mitm": (
        "a warning; browsers click through, apps and legacy clients refuse",
        "fatal for Chrome desktop and Firefox; others click through",
        "fatal for returning visitors of HPKP browsers; first visits as none",
        "as none: CT makes no error fatal (HSTS does)",
    ),
    "mitm-local-root": (
        "intercepted, apps included (targets below API 24 trust user roots)",
        "browsers intercepted (local roots bypass pins); pinned apps refuse",
        "intercepted (local roots bypass pins)",
        "intercepted (no CT for local roots)",
    ),
    "ca-compromise": (
        "intercepted everywhere; the rogue certificate is logged, nobody watches",
        "refused by Chrome desktop, Firefox and apps; the rest intercepted",
        "refused only by browsers already holding pins",
        "seen by the monitor in ~1 h; Chrome saved days later by its CRLSet, "
        "OCSP browsers intercepted throughout",
    ),
    "key-loss": (
        "no outage",
        "apps fail until an update ships, unless a backup pin was bundled",
        "HPKP browsers locked out up to the 60-day cap, unless a backup key",
        "no outage, unless the certificate carries too few SCTs",
    ),
    "key-theft": (
        "intercepted: the genuine certificate",
        "intercepted",
        "intercepted",
        "intercepted",
    ),
    "domain-hijack": (
        "every client intercepted, on every network",
        "refused by Chrome desktop, Firefox and apps",
        "refused by returning HPKP visitors",
        "issuance seen by the monitor in ~1 h: a shorter window",
    ),
    "hpkp-ransom": (
        "HPKP browsers locked out after recovery, though the site never pinned",
        "pinned clients refuse; Chrome for Android still locked out",
        "the ransomer pins through the live key: HPKP browsers locked out",
        "seen by the monitor: a shorter window, fewer locked out",
    ),
}
"""README.md's table of what the comparison shows, cell for cell the tests above (default era
2018-10). Change a cell here and in its test together."""


def readme_table() -> str:
    lines = ["| scenario | none | static | hpkp | ct |", "|---|---|---|---|---|"]
    lines += [f"| {name} | " + " | ".join(cells) + " |" for name, cells in README_CELLS.items()]
    return "\n".join(lines)


def test_the_readme_states_the_asserted_cells() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert readme_table() in readme
    assert set(README_CELLS) == set(builtin_scenarios())


# -- the API ------------------------------------------------------------------------------------


def test_same_seed_same_table_different_seed_differs() -> None:
    a = simlab.run("ca-compromise", "hpkp", seed=3, n_clients=120)
    b = simlab.run("ca-compromise", "hpkp", seed=3, n_clients=120)
    c = simlab.run("ca-compromise", "hpkp", seed=4, n_clients=120)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.metrics == b.metrics
    assert not a.table.equals(c.table)


def test_result_has_every_metric_and_tidy_columns() -> None:
    r = run("mitm", "none")
    assert set(r.metrics) == {
        "interception_rate",
        "legit_failure_rate",
        "detection_time",
        "detected_by",
        "exposure_window",
        "lockout_duration",
        "clients_affected",
    }
    assert list(r.table.columns[:4]) == ["scenario", "defence", "seed", "time"]
    assert all(c == c.lower() and " " not in c for c in r.table.columns)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("nope", "none"), {}, "unknown scenario 'nope'; valid: mitm, mitm-local-root"),
        (
            ("mitm", "tls13"),
            {},
            "unknown defence 'tls13'; valid: none, static, hpkp, ct, hpkp\\+ct",
        ),
        (("mitm", "none"), {"bogus": 1}, "unknown parameter 'bogus'; valid: .*attack_days"),
        (("mitm", "none"), {"days": "ten"}, "'days' must be float, got str"),
        (("mitm", "none"), {"hpkp": True}, "'hpkp' is the defence's to set"),
    ],
)
def test_bad_arguments_raise_simlab_errors_listing_valid_ones(
    args: tuple[str, str], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(SimlabError, match=message):
        simlab.run(*args, **kwargs)


def test_numpy_numbers_are_taken_as_the_values_they_hold() -> None:
    """A value read from a table or an array is a numpy scalar: taken as its Python value,
    and still refused where that value is (5.5 clients)."""
    import numpy as np

    given = {"n_clients": np.int64(40), "click_through": np.float32(0.5), "hsts_preload": np.True_}
    plain = {"n_clients": 40, "click_through": 0.5, "hsts_preload": True}
    from_numpy, from_python = (
        simlab.run("mitm", "none", **given),
        simlab.run("mitm", "none", **plain),
    )
    assert from_numpy.table.equals(from_python.table) and from_numpy.params == from_python.params
    assert type(from_numpy.params["n_clients"]) is int
    with pytest.raises(SimlabError, match="'n_clients' must be int, got float 5.5"):
        simlab.run("mitm", "none", n_clients=np.float64(5.5))
