"""Each historical replay reproduces its incident's key facts: who was protected, who
noticed, when, and what was lost (see the sources in ``simlab.replays``)."""

from __future__ import annotations

from functools import cache
from typing import Any

import pandas as pd
import pytest

import simlab
from simlab.clock import DAY, HOUR
from simlab.errors import SimlabError
from simlab.replays import REPLAYS, first_report_days, median_report_day, report_spread
from simlab.runner import Result, resolve_scenario

SEEDS = range(20)  # the spread a replay's story states


@cache
def replay(name: str, defence: str, seed: int = 0, **extra: Any) -> Result:
    r = REPLAYS[name]
    return simlab.run(r.scenario, defence, seed=seed, **{**r.params, **extra})


def _attacker_rows(result: Result, release_prefix: str) -> pd.DataFrame:
    t = result.table
    return t[(t["responder"] == "attacker") & t["release"].str.startswith(release_prefix)]


def _accepted(rows: pd.DataFrame) -> float:
    assert len(rows) > 0
    return float(rows["outcome"].isin(["intercepted", "clicked_through"]).mean())


def _story(name: str) -> str:
    return " ".join(REPLAYS[name].story.split())


def test_diginotar_chrome_13_pins_protected_its_users_and_a_user_noticed_weeks_later() -> None:
    r = replay("diginotar-2011", "static")
    chrome = _attacker_rows(r, "Chrome 13")
    assert _accepted(chrome) == 0.0
    revoked = r.world.attack_start + r.metrics["detection_time"] + 48 * HOUR
    assert set(chrome[chrome["time"] < revoked]["reason"]) == {"pin_mismatch_preload"}
    # Found by a person reading Chrome's pin error, or by nobody: never by a report or a log.
    assert {replay("diginotar-2011", "static", seed).metrics["detected_by"] for seed in SEEDS} == {
        "user_report",
        None,
    }


def test_diginotar_first_report_median_over_seeds_is_near_27_august_as_the_story_states() -> None:
    days = first_report_days(REPLAYS["diginotar-2011"], SEEDS)
    assert report_spread(days) in _story("diginotar-2011")
    assert abs(median_report_day(days) - 26) <= 3.5  # 27 August: day 26


def test_diginotar_other_browsers_were_intercepted_until_revocation_reached_them() -> None:
    """Firefox and IE asked DigiNotar's OCSP responder and were stopped once it answered
    "revoked"; Safari on Mac OS X 10.6 checked no revocation for a non-EV certificate, and
    its users stayed intercepted to the attack's end."""
    revoked_in_attack = 0
    for seed in SEEDS:
        r = replay("diginotar-2011", "static", seed)
        # The attack ends on 29 August (day 28), when DigiNotar revoked the certificate.
        assert r.world.attack_end == 28 * DAY
        assert (r.table[r.table["responder"] == "attacker"]["time"] < 28 * DAY).all()
        found = r.metrics["detection_time"]
        revoked = 28 * DAY if found is None else r.world.attack_start + found + 48 * HOUR
        for browser in ("Firefox", "Internet Explorer"):
            rows = _attacker_rows(r, browser)
            assert _accepted(rows[rows["time"] < revoked]) == 1.0, browser
            after = rows[rows["time"] >= revoked]
            assert set(after["reason"]) <= {"revoked"}, browser  # OCSP answered
            revoked_in_attack += len(after) > 0
        assert _accepted(_attacker_rows(r, "Safari")) == 1.0  # before and after revocation
    assert revoked_in_attack > 0


def test_diginotar_ocsp_logs_size_the_attack_but_found_nothing() -> None:
    r = replay("diginotar-2011", "static")
    rogue = r.world.attacker
    assert rogue is not None
    # The responder saw the rogue serial queried (what Fox-IT counted afterwards) ...
    assert r.world.responder.queries.get(rogue.chain.leaf.serial_number, 0) > 100
    # ... but without Chrome's pins nobody noticed at all.
    assert replay("diginotar-2011", "none").metrics["detected_by"] is None


def test_smashing_magazine_no_report_uri_so_no_hpkp_report_and_the_cap_bounds_the_lockout() -> None:
    r = replay("smashing-magazine-2016", "hpkp")
    assert r.metrics["legit_failure_rate"] > 0.03
    assert r.metrics["detected_by"] == "user_report"  # no report-uri: no HPKP report
    assert DAY < r.metrics["lockout_duration"] <= 60 * DAY  # max-age=31536000, capped at 60 days
    with_reports = replay("smashing-magazine-2016", "hpkp", hpkp_report_uri=True)
    assert with_reports.metrics["detected_by"] == "hpkp_report"
    assert with_reports.metrics["detection_time"] < r.metrics["detection_time"]
    assert replay("smashing-magazine-2016", "none").metrics["legit_failure_rate"] == 0.0


def test_smashing_magazine_first_report_spread_over_seeds_is_the_storys() -> None:
    days = first_report_days(REPLAYS["smashing-magazine-2016"], SEEDS)
    assert report_spread(days) in _story("smashing-magazine-2016")
    assert 20 < median_report_day(days) < 22  # within two days of the roll on 21 October


def test_smashing_magazine_story_follows_the_article_and_marks_the_models_prediction() -> None:
    story = _story("smashing-magazine-2016")
    assert "whose pin returning visitors did not hold (the new header listed it" in story
    assert "the new pin was missing from the header, this follows the article" in story
    assert "simlab's model predicts that visitors who first came during the roll" in story
    assert "the article does not report it" in story
    assert "readers" not in story  # the article does not say who told Smashing


def test_smashing_magazine_going_back_let_returning_visitors_in_and_locked_out_new_ones() -> None:
    r = replay("smashing-magazine-2016", "hpkp")
    t = r.table
    back = next(at for at, what in r.events if "returns to a certificate" in what)
    first_visit = t.groupby("client")["time"].min()
    returning = set(first_visit[first_visit < r.world.attack_start].index)
    failures = t[t["legit"] & (t["outcome"] == "blocked")]
    late = failures[failures["time"] > back]
    assert len(late) > 0 and not (set(late["client"]) & returning)
    assert set(failures[failures["time"] < back]["client"]) & returning


def test_ransompkp_locks_out_hpkp_browsers_of_a_site_that_never_pinned() -> None:
    r = replay("ransompkp-2016", "none")
    t = r.table
    locked = t[t["legit"] & (t["outcome"] == "blocked")]
    assert r.metrics["lockout_duration"] > 30 * DAY
    assert {rel.split(" ")[0] for rel in locked["release"]} == {"Chrome", "Firefox"}
    # HPKP's removal ended the threat: Chrome 72 (2019), then Firefox 72 (2020).
    after_chrome = replay("ransompkp-2016", "none", era="2019-03").table
    failed = after_chrome[after_chrome["legit"] & (after_chrome["outcome"] == "blocked")]
    assert set(failed["release"]) == {"Firefox 37-71"}
    assert replay("ransompkp-2016", "none", era="2020-02").metrics["legit_failure_rate"] == 0.0


def test_symantec_test_certificates_found_in_ct_and_nobody_intercepted() -> None:
    r = replay("symantec-thawte-2015", "ct")
    assert (r.table["responder"] != "attacker").all()
    assert r.metrics["detected_by"] == "ct_monitor"
    assert replay("symantec-thawte-2015", "none").metrics["detected_by"] is None


def test_symantec_story_states_the_models_detection_delay_as_the_model_s() -> None:
    """The story's "1 h 40 min after issuance" is the runs' delay, set by the model's parameters
    (history does not say when Google's monitor saw it)."""
    r = REPLAYS["symantec-thawte-2015"]
    runs = [simlab.run(r.scenario, "ct", seed=seed, **r.params) for seed in range(5)]
    (delay,) = {run.metrics["detection_time"] for run in runs}
    s = runs[0].world.s
    assert delay <= (s.merge_delay_hours + s.monitor_interval_hours) * HOUR
    minutes = round(delay / 60)
    assert f"sees it {minutes // 60} h {minutes % 60} min after" in " ".join(r.story.split())
    assert "not history" in r.story and "19:20 GMT" in r.story


def test_every_replay_cites_a_source_runs_in_its_era_and_names_historical_defences() -> None:
    for r in REPLAYS.values():
        assert r.sources and r.historical
        assert r.params["era"][:4] == r.name[-4:]


def test_the_key_loss_scenario_cites_the_smashing_replays_article_at_its_address() -> None:
    r = REPLAYS["smashing-magazine-2016"]
    (cited,) = r.sources
    url = next(word for word in cited.split() if word.startswith("https://"))
    (scenario_source,) = resolve_scenario(r.scenario).sources
    assert scenario_source.startswith(url + " ") and "26 October 2016" in scenario_source


def test_the_spread_sentence_says_what_the_days_show() -> None:
    assert (
        report_spread([None, None]) == "over 2 seeds (0-1), nobody reported before the attack ended"
    )
    assert report_spread([3.0, 5.0, 4.0]) == (
        "over 3 seeds (0-2) the first report came between day 3.0 and day 5.0, median day 4.0"
    )
    assert report_spread([3.0, None]).endswith(
        "nobody reported in 1 run before the attack ended; in the others the first report came "
        "between day 3.0 and day 3.0; the median over all 2 is no report (half the runs or more "
        "had none)"
    )
    assert median_report_day([3.0, None, 5.0]) == 5.0
    for nothing in ([], "3", 3.0):
        for spread in (report_spread, median_report_day):
            with pytest.raises(SimlabError, match="one seed or more"):
                spread(nothing)  # type: ignore[arg-type]
    for odd in (["a"], [float("nan"), 1.0], [True]):
        with pytest.raises(SimlabError, match="a first-report day is a finite number or None"):
            report_spread(odd)  # type: ignore[arg-type]
