"""Chart titles state take-aways computed from the data, so they must follow the data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from simlab import charts


def _daily(rows: list[tuple[str, int, int, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "scenario": "s",
                "defence": d,
                "day": day,
                "connected": 10,
                "intercepted": i,
                "clicked_through": 0,
                "blocked": b,
            }
            for d, day, i, b in rows
        ]
    )


def test_timeline_title_names_the_most_and_least_intercepted_defence() -> None:
    fig = charts.timeline(_daily([("none", 0, 5, 0), ("static", 0, 0, 5), ("hpkp", 0, 2, 3)]), "s")
    assert fig.get_suptitle() == "s: most interceptions under 'none', fewest under 'static'"


def test_timeline_title_without_interceptions_says_so() -> None:
    fig = charts.timeline(_daily([("none", 0, 0, 0), ("hpkp", 0, 0, 7)]), "s")
    assert fig.get_suptitle() == "s: nobody intercepted; most connections blocked under 'hpkp'"
    fig = charts.timeline(_daily([("none", 0, 0, 0)]), "s")
    assert fig.get_suptitle() == "s: every connection reached the real site"


def test_heatmap_prints_never_for_undetected_cells_and_scales_units() -> None:
    metrics = pd.DataFrame(
        [
            {"scenario": "a", "defence": "none", "detection_time": None},
            {"scenario": "a", "defence": "ct", "detection_time": 7200.0},
        ]
    )
    fig = charts.heatmap(metrics, "detection_time")
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    assert texts == ["2 h", "never"]
    assert "ct tells the owner soonest" in fig.axes[0].get_title()


def test_trust_graph_marks_the_compromised_ca_and_the_rogue_certificate() -> None:
    import simlab

    def labels(scenario: str) -> list[str]:
        world = simlab.run(scenario, "none", seed=0, n_clients=20).world
        return [t.get_text() for t in charts.trust_graph(world).axes[0].texts]

    compromised = labels("ca-compromise")
    assert "Other\nIssuing CA\n(compromised)" in compromised
    assert any(t.startswith("attacker\n#") for t in compromised)
    assert not any(
        "(compromised)" in t for t in labels("domain-hijack")
    )  # DV passed: not a CA breach


def test_the_same_figure_saves_to_the_same_bytes(tmp_path: Path) -> None:
    metrics = pd.DataFrame([{"scenario": "a", "defence": "ct", "detection_time": 7200.0}])
    written = []
    for run in ("first", "second"):
        paths = charts.save(charts.heatmap(metrics, "detection_time"), tmp_path / run, "h")
        written.append([p.read_bytes() for p in paths])
    assert written[0] == written[1]
