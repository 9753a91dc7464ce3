"""Notebook 07's conclusions are computed from the table they are given: each sentence
changes when the data does, both ways."""

from __future__ import annotations

import pandas as pd
import pytest

from simlab import verdict

OLD, NEW = (w.label for w in verdict.WEBS)


def table(rows: dict[str, tuple[float, float, float, float]]) -> pd.DataFrame:
    """Per scenario: (old interception, new interception, old failures, new failures), two
    seeds each, identical so that spread is zero."""
    out = []
    for scenario, (old_i, new_i, old_f, new_f) in rows.items():
        for web, rate, fail in ((OLD, old_i, old_f), (NEW, new_i, new_f)):
            for seed in (0, 1):
                out.append(
                    {
                        "scenario": scenario,
                        "web": web,
                        "seed": seed,
                        "interception_rate": rate,
                        "legit_failure_rate": fail,
                        "lockout_duration": 86400.0 * 30 if fail else 0.0,
                        "detection_time": 3600.0 if web == NEW else None,
                        "attacker_connections": 10 if rate or scenario != "key-loss" else 0,
                    }
                )
    return pd.DataFrame(out)


def test_yes_when_the_new_web_protects_as_well_and_fails_nothing_more() -> None:
    t = table({"mitm": (0.3, 0.3, 0.0, 0.0), "key-loss": (0.0, 0.0, 0.2, 0.0)})
    assert verdict.verdict(t).startswith("Verdict: yes.")


def test_it_depends_when_service_improves_but_protection_drops() -> None:
    t = table({"mitm": (0.1, 0.3, 0.0, 0.0), "key-loss": (0.0, 0.0, 0.2, 0.0)})
    text = verdict.verdict(t)
    assert text.startswith("Verdict: it depends.") and "more often in mitm" in text


def test_no_when_both_axes_are_worse() -> None:
    t = table({"mitm": (0.1, 0.3, 0.0, 0.0), "key-loss": (0.0, 0.0, 0.0, 0.2)})
    assert verdict.verdict(t).startswith("Verdict: no.")


def test_differences_within_noise_or_seed_spread_are_not_differences() -> None:
    t = table({"mitm": (0.30, 0.31, 0.0, 0.0)})
    assert verdict.verdict(t).startswith("Verdict: yes.")
    noisy = table({"mitm": (0.1, 0.3, 0.0, 0.0)})
    noisy.loc[(noisy["web"] == OLD) & (noisy["seed"] == 1), "interception_rate"] = 0.5
    assert verdict.verdict(noisy).startswith("Verdict: yes.")  # spread 0.4 > difference


@pytest.mark.parametrize("new_rate", [0.3, 0.1])
def test_the_protection_sentence_counts_what_the_table_shows(new_rate: float) -> None:
    t = table({"mitm": (0.1, new_rate, 0.0, 0.0), "ca-compromise": (0.5, 0.5, 0.0, 0.0)})
    first = verdict.conclusions(t)[0]
    if new_rate > 0.1:
        assert "more often in 1 of 2 scenarios (mitm)" in first
    else:
        assert "more often in 0 of 2 scenarios (none)" in first


def test_the_service_sentence_reports_lockouts_from_the_table() -> None:
    t = table({"key-loss": (0.0, 0.0, 0.2, 0.0), "hpkp-ransom": (1.0, 1.0, 0.1, 0.0)})
    service = verdict.conclusions(t)[1]
    assert "failed in 2 scenarios in the HPKP era (longest lock-out 30 days)" in service
    assert "in 0 in the CT era (longest 0 days)" in service
