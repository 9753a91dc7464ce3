"""Chart titles state take-aways computed from the data, so they must follow the data."""

from __future__ import annotations

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
