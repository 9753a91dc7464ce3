"""Each historical replay, under the defences deployed at the time, matches history."""

from __future__ import annotations

from typing import Any

import simlab
from simlab.clock import DAY
from simlab.replays import REPLAYS
from simlab.runner import Result


def replay(name: str, defence: str, **extra: Any) -> Result:
    r = REPLAYS[name]
    return simlab.run(r.scenario, defence, seed=0, **{**r.params, **extra})


def _accepted(result: Result, kind: str) -> float:
    t = result.table
    att = t[(t["responder"] == "attacker") & (t["kind"] == kind)]
    return float(att["outcome"].isin(["intercepted", "clicked_through"]).mean())


def test_diginotar_chrome_pins_protected_its_users_others_were_intercepted() -> None:
    chrome, others = replay("diginotar-2011", "static"), replay("diginotar-2011", "none")
    assert _accepted(chrome, "browser") == 0.0
    assert _accepted(others, "browser") == 1.0
    # Found by people, not protocols: a user reporting Chrome's warning; weeks, not hours.
    assert chrome.metrics["detected_by"] == "user_report"
    assert chrome.metrics["detection_time"] > DAY
    assert others.metrics["detected_by"] is None


def test_smashing_magazine_locked_out_returning_visitors_for_at_most_the_cap() -> None:
    r = replay("smashing-magazine-2016", "hpkp")
    assert r.metrics["legit_failure_rate"] > 0.05
    # max-age=31536000 was sent; browsers clamp it to 60 days.
    assert DAY < r.metrics["lockout_duration"] <= 60 * DAY
    assert replay("smashing-magazine-2016", "none").metrics["legit_failure_rate"] == 0.0


def test_ransompkp_locks_out_visitors_in_the_window() -> None:
    assert replay("ransompkp-2016", "hpkp").metrics["lockout_duration"] > 30 * DAY


def test_symantec_precertificate_was_found_in_ct_by_a_monitor() -> None:
    r = replay("symantec-thawte-2015", "ct")
    assert r.metrics["detected_by"] == "ct_monitor"
    assert r.metrics["detection_time"] <= 2 * 3600
    assert replay("symantec-thawte-2015", "none").metrics["detected_by"] is None


def test_every_replay_cites_a_source_and_names_historical_defences() -> None:
    for r in REPLAYS.values():
        assert r.sources and r.historical
