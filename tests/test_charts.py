"""Charts say only what their data supports: each claim is tested where it holds and where
it does not, cells read at WCAG AA contrast, and the same inputs draw the same bytes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

import simlab
from simlab import charts
from simlab.charts import claims
from simlab.charts.style import contrast_ratio, relative_luminance, text_colour
from simlab.errors import SimlabError
from simlab.runner import build

HOUR = 3600.0


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def _metrics(
    rows: list[tuple[str, str, int, Any]], metric: str = "interception_rate"
) -> pd.DataFrame:
    return pd.DataFrame(
        [{"scenario": s, "defence": d, "seed": seed, metric: v} for s, d, seed, v in rows]
    )


def _grid(values: dict[tuple[str, str], list[Any]], metric: str) -> pd.DataFrame:
    return _metrics(
        [(s, d, i, v) for (s, d), vs in values.items() for i, v in enumerate(vs)], metric
    )


def _daily(rows: list[tuple[str, int, int, int, int, int]], seed: int = 0) -> pd.DataFrame:
    """(defence, day, connected, intercepted, blocked, attacker) per row."""
    return pd.DataFrame(
        [
            {
                "scenario": "s",
                "defence": d,
                "seed": seed,
                "day": day,
                "connected": c,
                "intercepted": i,
                "clicked_through": 0,
                "blocked": b,
                "attacker": a,
            }
            for d, day, c, i, b, a in rows
        ]
    )


def _cell_texts(fig: Figure) -> list[str]:
    return sorted(t.get_text() for t in fig.axes[0].texts)


# -- heatmap claims -------------------------------------------------------------------------


def test_heatmap_names_a_defence_that_is_best_or_tied_in_every_row() -> None:
    table = _grid(
        {
            ("mitm", "none"): [0.33, 0.34],
            ("mitm", "static"): [0.03, 0.03],
            ("mitm", "hpkp"): [0.09, 0.10],
            ("theft", "none"): [1.0, 1.0],
            ("theft", "static"): [1.0, 1.0],
            ("theft", "hpkp"): [1.0, 1.0],
        },
        "interception_rate",
    )
    claim = claims.heatmap_claim(table, "interception_rate")
    assert claim == (
        "'static' lets the attacker in least in 1 of 2 scenarios and ties for it in the rest; "
        "all defences tie in 1 of 2"
    )
    fig = charts.heatmap(table, "interception_rate")
    assert fig.get_suptitle().replace("\n", " ").startswith("interception rate: " + claim)


def test_a_defence_never_beaten_but_never_alone_best_is_not_called_the_winner() -> None:
    # 'ct' ties with 'static' in one row, with 'none' in another, and every defence ties in
    # the third: 'ct' is never beaten, but it is no winner.
    values = {
        ("hijack", "none"): [7.0, 7.0],
        ("hijack", "static"): [2.0, 2.0],
        ("hijack", "ct"): [2.0, 2.0],
        ("ransom", "none"): [2.0, 2.0],
        ("ransom", "static"): [7.0, 7.0],
        ("ransom", "ct"): [2.0, 2.0],
        ("theft", "none"): [13.8, 13.8],
        ("theft", "static"): [13.8, 13.8],
        ("theft", "ct"): [13.8, 13.8],
    }
    days = {k: [v * 86400 for v in vs] for k, vs in values.items()}
    tied = claims.heatmap_claim(_grid(days, "exposure_window"), "exposure_window")
    assert tied == (
        "no defence is best alone in any scenario; 'ct' ties for best in all 3 scenarios; "
        "all defences tie in 1 of 3"
    )
    # The same rows with 'ct' ahead alone in each: now it is the winner, and no row ties.
    for scenario in ("hijack", "ransom", "theft"):
        days[(scenario, "ct")] = [86400.0, 86400.0]
    ahead = claims.heatmap_claim(_grid(days, "exposure_window"), "exposure_window")
    assert ahead == "'ct' closes the attacker's window soonest in all 3 scenarios"


def test_heatmap_does_not_crown_a_defence_another_beats_in_some_row() -> None:
    table = _grid(
        {
            ("a", "none"): [0.5],
            ("a", "static"): [0.1],
            ("b", "none"): [0.1],
            ("b", "static"): [0.5],
            ("c", "none"): [0.9],
            ("c", "static"): [0.2],
        },
        "interception_rate",
    )
    claim = claims.heatmap_claim(table, "interception_rate")
    assert claim == "no defence is best everywhere; 'static' is best alone in 2 of 3"


def test_differences_within_the_seed_range_are_ties() -> None:
    noisy = _grid({("a", "none"): [0.2, 0.6], ("a", "static"): [0.3, 0.35]}, "interception_rate")
    assert claims.heatmap_claim(noisy, "interception_rate") == (
        "no defence differs from another beyond seed noise in any scenario"
    )
    clear = _grid({("a", "none"): [0.8, 0.9], ("a", "static"): [0.3, 0.35]}, "interception_rate")
    assert claims.heatmap_claim(clear, "interception_rate") == "'static' lets the attacker in least"


def test_cells_without_connections_are_not_counted_as_ties() -> None:
    # n/a cells (no connection to count) compare with nothing: a row needs two valued cells.
    empty = _grid({("a", "none"): [None], ("a", "static"): [None]}, "interception_rate")
    assert claims.heatmap_claim(empty, "interception_rate") == (
        "no scenario has two defences with a value to compare"
    )
    some = _grid(
        {
            ("a", "none"): [None],
            ("a", "static"): [None],
            ("b", "none"): [0.9],
            ("b", "static"): [0.1],
        },
        "interception_rate",
    )
    assert claims.heatmap_claim(some, "interception_rate") == "'static' lets the attacker in least"
    # detection time "never" is a result, not n/a: two undetected cells still tie
    never = _grid({("a", "ct"): [None], ("a", "hpkp"): [None]}, "detection_time")
    assert claims.heatmap_claim(never, "detection_time").startswith("no defence differs")


def test_one_seed_cannot_win_by_less_than_the_metric_resolution() -> None:
    close = _grid({("a", "ct"): [0.9 * HOUR], ("a", "hpkp"): [1.0 * HOUR]}, "detection_time")
    assert claims.heatmap_claim(close, "detection_time").startswith("no defence differs")
    far = _grid({("a", "ct"): [1.0 * HOUR], ("a", "hpkp"): [3.0 * HOUR]}, "detection_time")
    assert claims.heatmap_claim(far, "detection_time") == "'ct' tells the owner soonest"


def test_detection_ranks_by_runs_detected_before_time_so_dropped_runs_cannot_win() -> None:
    # 'fast' detected once in three runs; a mean over the runs that detected would crown it.
    table = _grid(
        {("a", "fast"): [0.5 * HOUR, None, None], ("a", "sure"): [9 * HOUR, 10 * HOUR, 11 * HOUR]},
        "detection_time",
    )
    assert claims.heatmap_claim(table, "detection_time") == "'sure' tells the owner soonest"
    texts = _cell_texts(charts.heatmap(table, "detection_time"))
    assert texts == ["0.5 h\n1 of 3 runs", "10 h\n3 of 3 runs"]
    never = _grid({("a", "none"): [None], ("a", "ct"): [2 * HOUR]}, "detection_time")
    assert _cell_texts(charts.heatmap(never, "detection_time")) == [
        "2.0 h\n1 of 1 runs",
        "never\n0 of 1 runs",
    ]


def test_a_defence_worst_in_most_rows_is_named() -> None:
    table = _grid(
        {
            (s, d): [v]
            for s in ("a", "b", "c")
            for d, v in (("none", 0.0), ("ct", 0.0), ("hpkp", 0.2))
        },
        "legit_failure_rate",
    )
    claim = claims.heatmap_claim(table, "legit_failure_rate")
    assert claim == (
        "'none' and 'ct' are best or tied in all 3 scenarios; "
        "'hpkp' has the most failed connections to the real site in 3 of 3"
    )


def test_failures_are_called_self_inflicted_only_where_no_attacker_ran() -> None:
    table = _grid(
        {
            ("key-loss", "none"): [0.0],
            ("key-loss", "hpkp"): [0.2],
            ("hpkp-ransom", "none"): [0.22],
            ("hpkp-ransom", "static"): [0.05],
            ("mitm", "none"): [0.0],
            ("mitm", "hpkp"): [0.01],
        },
        "legit_failure_rate",
    )
    table = _with_attacker(table, "key-loss")
    assert claims.failure_causes(table) == [
        "self-inflicted: the failures in key-loss (no attacker in these runs: "
        "the site caused them itself)",
        "the attacker's doing: under 'none', where the site deploys nothing, 22.0% of the "
        "connections in hpkp-ransom failed",
    ]
    label = charts.heatmap(table, "legit_failure_rate").axes[1].get_ylabel()
    assert "self-inflicted" not in label
    assert label.startswith("share of connections to the real site that failed")
    # An attacker in every scenario, no failure under 'none': nothing to attribute.
    attacked = _with_attacker(table, "nowhere")
    assert claims.failure_causes(attacked[attacked["scenario"] != "hpkp-ransom"]) == []
    # Without the attacker column the table cannot tell.
    assert claims.failure_causes(table.drop(columns="attacker_connections")) == []


# -- cells: n/a, contrast, colour direction ------------------------------------------------


def _with_attacker(table: pd.DataFrame, none_for: str) -> pd.DataFrame:
    return table.assign(attacker_connections=np.where(table["scenario"] == none_for, 0, 50))


def test_a_metric_without_an_attacker_is_na_not_zero() -> None:
    table = _grid(
        {
            ("mitm", "none"): [0.4],
            ("mitm", "static"): [0.0],
            ("key-loss", "none"): [0.0],
            ("key-loss", "static"): [0.0],
        },
        "interception_rate",
    )
    with_column = _with_attacker(table, "key-loss")
    assert _cell_texts(charts.heatmap(with_column, "interception_rate")) == [
        "0%",
        "40%",
        "n/a",
        "n/a",
    ]
    assert "all 1 scenarios" not in claims.heatmap_claim(with_column, "interception_rate")
    # A metric about the owner's own users still applies without an attacker.
    failures = with_column.rename(columns={"interception_rate": "legit_failure_rate"})
    assert "n/a" not in _cell_texts(charts.heatmap(failures, "legit_failure_rate"))
    # Without the column there is no evidence of "no attacker": the zero is drawn.
    assert "n/a" not in _cell_texts(charts.heatmap(table, "interception_rate"))


def test_wcag_contrast_ratio_matches_known_values() -> None:
    assert contrast_ratio("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast_ratio("#767676", "#FFFFFF") == pytest.approx(4.54, abs=0.01)
    assert contrast_ratio("#777777", "#FFFFFF") < 4.5  # the classic just-failing grey
    for grey in np.linspace(0, 1, 101):
        background = (grey, grey, grey)
        assert contrast_ratio(text_colour(background), background) >= 4.5


def _cell_colour(fig: Figure, x: float, y: float) -> Any:
    image = fig.axes[0].images[0]
    data = image.get_array()
    assert data is not None
    return image.to_rgba(data[int(y) : int(y) + 1, int(x) : int(x) + 1])[0, 0]


@pytest.mark.parametrize("metric", list(charts.METRIC_STYLES))
def test_every_cell_text_meets_wcag_aa_on_its_cell(metric: str) -> None:
    scale = charts.METRIC_STYLES[metric].scale
    values = {
        ("a", "none"): [None if metric == "detection_time" else 0.0],
        ("a", "ct"): [0.5 * scale],
        ("b", "none"): [0.25 * scale],
        ("b", "ct"): [1.0 * scale],
        ("c", "none"): [0.0],
        ("c", "ct"): [0.75 * scale],
    }
    table = _with_attacker(_grid(values, metric), "c")
    fig = charts.heatmap(table, metric)
    assert len(fig.axes[0].texts) == 6
    for text in fig.axes[0].texts:
        x, y = text.get_position()
        ratio = contrast_ratio(text.get_color(), _cell_colour(fig, x, y))
        assert ratio >= 4.5, (text.get_text(), ratio)


def test_better_is_darker_on_every_metric() -> None:
    for metric, style in charts.METRIC_STYLES.items():
        good, bad = (0.2, 0.8) if style.lower_is_better else (0.8, 0.2)
        table = _grid({("a", "x"): [good * style.scale], ("a", "y"): [bad * style.scale]}, metric)
        fig = charts.heatmap(table, metric)
        better, worse = _cell_colour(fig, 0, 0), _cell_colour(fig, 1, 0)
        assert relative_luminance(better[:3]) < relative_luminance(worse[:3]), metric
        assert "darker is better" in fig.axes[1].get_ylabel()


def test_unknown_metric_is_a_clear_error() -> None:
    with pytest.raises(SimlabError, match="cannot chart metric 'detected_by'"):
        charts.heatmap(_metrics([("a", "none", 0, "x")], "detected_by"), "detected_by")


# -- subtitles ------------------------------------------------------------------------------


def test_subtitle_names_seeds_clients_era_and_non_default_parameters() -> None:
    table = pd.DataFrame(
        {
            "scenario": "a",
            "defence": "ct",
            "seed": [0, 1, 2],
            "era": "2016-01",
            "release": "chrome-50",
            "rogue_logged": True,
            "days": 60,  # the default: not worth a word
            "attacker_connections": 5,
        }
    )
    assert (
        claims.run_settings(table)
        == "3 seeds · 300 clients · clients: the web of 2016-01 · rogue_logged=true"
    )
    table = table.drop(columns="era").assign(days=90, n_clients=40)
    assert claims.run_settings(table) == "3 seeds · 40 clients · rogue_logged=true · days=90"
    assert (
        claims.run_settings(table, exclude=["days"]) == "3 seeds · 40 clients · rogue_logged=true"
    )
    fig = charts.heatmap(table.assign(interception_rate=0.5), "interception_rate")
    assert fig.get_suptitle().endswith("\n3 seeds · 40 clients · rogue_logged=true · days=90")


def test_a_table_of_several_eras_never_pools_them_in_one_cell() -> None:
    table = _grid({("a", "none"): [0.9], ("a", "static"): [0.1]}, "interception_rate")
    both = pd.concat([table.assign(era="2012-01"), table.assign(era="2016-01")])
    fig = charts.heatmap(both, "interception_rate")
    rows = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert rows == ["a (2012-01)", "a (2016-01)"]
    assert "clients: the web of 2012-01, 2016-01" in fig.get_suptitle()
    one = charts.heatmap(table.assign(era="2016-01"), "interception_rate")
    assert [t.get_text() for t in one.axes[0].get_yticklabels()] == ["a"]


def test_ct_timeline_names_the_run_settings() -> None:
    events = [(0.0, "rogue certificate issued"), (7200.0, "first detection (ct_monitor)")]
    fig = charts.ct_timeline(events, "CT", params={"rogue_logged": True}, seed=0)
    assert fig.axes[0].get_title() == "CT\nseed 0 · 300 clients · rogue_logged=true"
    assert charts.ct_timeline(events, "CT").axes[0].get_title() == "CT"


# -- timelines ------------------------------------------------------------------------------


def test_timeline_calls_equal_interception_a_tie_not_a_winner() -> None:
    # Every defence let every attacker connection through; counts differ by sampling only.
    daily = _daily([("none", 0, 30, 20, 0, 20), ("static", 0, 27, 23, 0, 23)])
    assert claims.timeline_claim(daily, "s") == (
        "no defence differs beyond noise: each let in 100% of the attacker's connections"
    )
    daily = _daily(
        [("none", 0, 30, 20, 0, 20), ("static", 0, 30, 2, 18, 20), ("hpkp", 0, 30, 10, 10, 20)]
    )
    assert claims.timeline_claim(daily, "s") == (
        "fewest interceptions under 'static' (10% of the attacker's connections), "
        "most under 'none' (100%)"
    )


def test_timeline_noise_rule_with_one_seed_is_two_standard_errors() -> None:
    near = {"a": claims.Rate(45, 100, 0.45, 0.45), "b": claims.Rate(50, 100, 0.5, 0.5)}
    assert not claims.rate_better(near["a"], near["b"])
    far = {"a": claims.Rate(10, 100, 0.1, 0.1), "b": claims.Rate(50, 100, 0.5, 0.5)}
    assert claims.rate_better(far["a"], far["b"])
    assert not claims.rate_better(far["b"], far["a"])


def test_timeline_without_an_attacker_says_so() -> None:
    daily = _daily([("none", 0, 50, 0, 0, 0), ("hpkp", 0, 40, 0, 10, 0)])
    assert claims.timeline_claim(daily, "s") == (
        "no attacker; the failed connections are the site's own users locked out"
    )
    legacy = _daily([("none", 0, 50, 0, 0, 0)]).drop(columns="attacker")
    assert claims.timeline_claim(legacy, "s") == "every connection reached the real site"


def _growing(attack: range) -> pd.DataFrame:
    rows = []
    for d in ("none", "static"):
        for day in range(30):
            on = day in attack
            rows.append((d, day, 40 + 2 * day - (10 if on else 0), 10 if on else 0, 0, 10 * on))
    return _daily(rows)


def test_timeline_zooms_on_the_attack_and_explains_traffic_growth() -> None:
    daily = _growing(range(10, 14))
    assert charts.timelines.attack_days(daily) == (10, 13)
    fig = charts.timeline(daily, "s")
    zooms = [ax for ax in fig.axes if ax.get_xlabel().startswith("day (zoomed")]
    assert len(zooms) == 2
    assert zooms[0].get_xlim() == (7.0, 22.0)  # three days before, eight after
    title = fig.get_suptitle()
    assert "traffic grows from about 46 to 92 connections a day as new visitors arrive" in title
    assert "new_visitor_share=0.5" in title
    flat = _daily([(d, day, 50, 0, 0, 0) for d in ("none",) for day in range(30)])
    assert claims.run_settings(flat) == "1 seed · 300 clients"
    assert charts.timelines.traffic_note(flat) == ""


def _text_boxes(fig: Figure) -> list[Any]:
    """Every drawn text's box (title lines, column titles, axis and tick labels) and the
    legend's box, in display units."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in fig.texts if t.get_text()]
    boxes += [legend.get_window_extent(renderer) for legend in fig.legends]
    for ax in fig.axes:
        texts = [ax.title] if ax.get_title() else []
        for axis in (ax.xaxis, ax.yaxis):
            if not axis.get_visible():
                continue
            low, high = sorted(axis.get_view_interval())
            texts += [axis.label] if axis.label.get_text() else []
            for tick in axis.get_major_ticks():
                if low <= tick.get_loc() <= high:
                    texts += [t for t in (tick.label1, tick.label2) if t.get_visible()]
        boxes += [t.get_window_extent(renderer) for t in texts]
    return boxes


@pytest.mark.parametrize(
    ("attack", "scale", "eras"),
    [(range(10, 14), 1, False), (range(0), 1, False), (range(3, 25), 250, True)],
)
def test_timeline_texts_stay_inside_the_figure_and_apart(
    attack: range, scale: int, eras: bool
) -> None:
    """The panels' margins are computed, not searched: check the room they leave."""
    rows = [
        (d, day, (40 + day) * scale, 5 * scale * (day in attack), 0, 5 * scale * (day in attack))
        for d in ("none", "static", "hpkp", "ct", "hpkp+ct")
        for day in range(60)
    ]
    daily = _daily(rows)
    if eras:
        daily = pd.concat([daily.assign(era="2016-01"), daily.assign(era="2018-10")])
    fig = charts.timeline(daily, "s")
    columns = 10 if eras else 5  # a defence per era
    assert len(fig.axes) == columns * (3 if len(attack) else 2)  # a zoom row if attacked
    _assert_texts_inside_and_apart(fig)


def _assert_texts_inside_and_apart(fig: Figure) -> None:
    boxes = _text_boxes(fig)
    inside = fig.bbox
    for k, box in enumerate(boxes):
        assert inside.x0 <= box.x0 and box.x1 <= inside.x1, box
        assert inside.y0 <= box.y0 and box.y1 <= inside.y1, box
        assert not any(box.overlaps(other) for other in boxes[k + 1 :]), box


@pytest.mark.parametrize(
    ("metric", "scale", "eras"),
    [
        ("detection_time", HOUR, False),
        ("clients_affected", 12345, False),
        ("interception_rate", 1, True),
    ],
)
def test_heatmap_texts_stay_inside_the_figure_and_apart(
    metric: str, scale: float, eras: bool
) -> None:
    scenarios = ["mitm", "mitm-local-root", "ca-compromise", "key-loss", "hpkp-ransom"]
    values = {
        (s, d): [scale * (i + j) / 10 if (i + j) % 3 else None] * 3
        for i, s in enumerate(scenarios)
        for j, d in enumerate(["none", "static", "hpkp", "ct", "hpkp+ct"])
    }
    metrics = _grid(values, metric).assign(attacker_connections=5)
    if eras:
        metrics = pd.concat([metrics.assign(era="2016-01"), metrics.assign(era="2018-10")])
    _assert_texts_inside_and_apart(charts.heatmap(metrics, metric))


def test_timeline_accepts_a_single_runs_daily_table() -> None:
    r = simlab.run("mitm", "none", seed=0, n_clients=20, days=15, attack_start_day=3)
    daily = r.daily().reset_index().assign(scenario="mitm", defence="none")
    fig = charts.timeline(daily, "mitm")
    assert fig.get_suptitle().startswith("mitm: ")


# -- network graph --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "params", "where", "reached"),
    [
        ("mitm", {}, "isp-0", ["isp-0"]),
        ("mitm", {"attacker_network": "ix"}, "ix", ["isp-0", "isp-1", "isp-2", "isp-3"]),
        ("key-theft", {"attacker_network": "isp-2"}, "isp-2", ["isp-2"]),
        ("domain-hijack", {}, "dc-attacker", ["isp-0", "isp-1", "isp-2", "isp-3"]),
        ("hpkp-ransom", {}, "dc-owner", ["isp-0", "isp-1", "isp-2", "isp-3"]),
        ("key-loss", {}, "", []),
    ],
)
def test_network_reach_follows_the_story(
    scenario: str, params: dict[str, Any], where: str, reached: list[str]
) -> None:
    _, _, world = build(scenario, "none", 0, n_clients=8, **params)
    assert charts.graphs.reach(world, claims.REACH[scenario]) == (where, reached)


def test_network_graph_title_tells_each_storys_reach() -> None:
    def title(scenario: str) -> str:
        r = simlab.run(scenario, "none", seed=0, n_clients=20, days=15, attack_start_day=3)
        return charts.network_graph(r.world, r.table).axes[0].get_title()

    assert title("mitm").startswith("An attacker on-path at isp-0 reaches only isp-0: 5 of 20")
    assert title("domain-hijack").startswith("DNS points every client to the attacker's server")
    assert title("hpkp-ransom").startswith("The attacker runs the real server: all 20 clients")
    assert "seed 0 · 20 clients · clients: the web of 2018-10 · days=15 · attack_start_day=3" in (
        title("mitm")
    )


@pytest.mark.parametrize(
    ("scenario", "ringed", "legend"),
    [
        (
            "mitm",
            "isp-0",
            [
                "where the attacker sits",
                "routes it answers",
                "clients it can answer",
                "clients out of its reach",
                "servers and exchange",
            ],
        ),
        (
            "domain-hijack",
            "dc-attacker",
            [
                "where the attacker sits",
                "routes it answers",
                "clients it can answer",
                "servers and exchange",
            ],
        ),
        ("key-loss", None, ["clients out of its reach", "servers and exchange"]),
    ],
)
def test_network_legend_lists_exactly_the_marks_drawn_and_rings_the_attacker(
    scenario: str, ringed: str | None, legend: list[str]
) -> None:
    from matplotlib.colors import to_hex

    r = simlab.run(scenario, "none", seed=0, n_clients=8, days=15, attack_start_day=3)
    ax = charts.network_graph(r.world, r.table).axes[0]
    legend_box = ax.get_legend()
    assert legend_box is not None
    assert [t.get_text() for t in legend_box.get_texts()] == legend
    nodes = ax.collections[-1]  # drawn after the edges
    fills = {to_hex(c) for c in nodes.get_facecolors()}
    assert {to_hex(p.get_facecolor()) for p in legend_box.get_patches()} == fills
    widths = list(nodes.get_linewidths())
    names = list(r.world.network.graph)
    assert [n for n, w in zip(names, widths, strict=True) if w > 0] == ([ringed] if ringed else [])
    labels = [t.get_text() for t in ax.texts]
    assert ("dc-attacker\n(unused)" in labels) == (scenario != "domain-hijack")


# -- sweeps ---------------------------------------------------------------------------------


def _sweep(values: dict[tuple[Any, str], list[Any]], param: str, metric: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {param: p, "defence": d, "seed": i, "scenario": "s", metric: v}
            for (p, d), vs in values.items()
            for i, v in enumerate(vs)
        ]
    )


def test_sweep_over_a_boolean_draws_categories_and_sees_never_to_detected() -> None:
    table = _sweep(
        {
            (False, "ct"): [None, None],
            (True, "ct"): [HOUR, HOUR],
            (False, "none"): [None, None],
            (True, "none"): [None, None],
        },
        "rogue_logged",
        "detection_time",
    )
    assert claims.sweep_claim(table, "rogue_logged", "detection_time") == (
        "changes it under 'ct', not under 'none' (largest: 'ct', never at false vs 1.0 h at true)"
    )
    fig = charts.parameter_chart(table, "rogue_logged", "detection_time")
    bottom = fig.axes[1]
    assert [t.get_text() for t in bottom.get_xticklabels()] == ["false", "true"]
    assert fig.axes[0].get_ylabel() == "share of runs that detected"


def test_sweep_without_an_effect_says_so() -> None:
    table = _sweep(
        {(1, "hpkp"): [2.0 * 86400, 5.0 * 86400], (60, "hpkp"): [3.0 * 86400, 4.0 * 86400]},
        "max_age_days",
        "lockout_duration",
    )
    assert claims.sweep_claim(table, "max_age_days", "lockout_duration") == (
        "no effect beyond seed noise under any defence"
    )


def test_tied_sweep_lines_are_drawn_apart() -> None:
    same = [0.0, 0.0]
    table = _sweep(
        {(v, d): same for v in (1, 7, 60) for d in ("none", "static", "ct")},
        "max_age_days",
        "lockout_duration",
    )
    fig = charts.parameter_chart(table, "max_age_days", "lockout_duration")
    ax = fig.axes[0]
    lines = [container.lines[0] for container in ax.containers]  # each errorbar's data line
    first_points = set()
    for line in lines:
        xy = np.column_stack([line.get_xdata(), line.get_ydata()])[:1]
        first_points.add(tuple(line.get_transform().transform(xy)[0].round(3)))
    assert len(lines) == 3
    assert len(first_points) == 3  # three defences, three visibly separate markers
    assert len({line.get_marker() for line in lines}) == 3


@pytest.mark.parametrize(("metric", "seeds"), [("lockout_duration", 1), ("detection_time", 2)])
def test_sweep_legend_and_notes_stay_apart_and_seed_bars_are_explained_only_with_seeds(
    metric: str, seeds: int
) -> None:
    table = _sweep(
        {
            (v, d): [86400.0 * v * k + s for s in range(seeds)]
            for v in (1, 7, 30, 60)
            for k, d in enumerate(["none", "static", "hpkp", "ct", "hpkp+ct"])
        },
        "max_age_days",
        metric,
    )
    fig = charts.parameter_chart(table, "max_age_days", metric)
    _assert_texts_inside_and_apart(fig)
    texts = "\n".join(t.get_text() for t in fig.findobj(Text))
    assert ("bars: range over seeds" in texts) == (seeds > 1)


def test_web_bars_say_na_keep_the_legend_off_the_bars_and_title_each_web() -> None:
    rows = [
        {
            "scenario": scenario,
            "web": web,
            "era": era,
            "defence": defence,
            "seed": seed,
            "interception_rate": None if scenario == "key-loss" else 1.0 - 0.1 * seed,
            "legit_failure_rate": 0.2 if (scenario, defence) == ("key-loss", "hpkp") else 0.0,
            "attacker_connections": 0 if scenario == "key-loss" else 40,
        }
        for scenario in ("mitm", "mitm-local-root", "key-loss", "hpkp-ransom")
        for web, era, defence in (("HPKP era", "2017-06", "hpkp"), ("CT era", "2020-06", "ct"))
        for seed in (0, 1)
    ]
    fig = charts.web_bars(pd.DataFrame(rows))
    assert fig.get_suptitle().splitlines()[:2] == [
        "HPKP era: clients of 2017-06, the site deploys 'hpkp'",
        "CT era: clients of 2020-06, the site deploys 'ct'",
    ]
    interception, failures = fig.axes[:2]
    key_loss_row = 2
    na = [t for t in interception.texts if t.get_text().strip() == "n/a"]
    assert len(na) == 2 and all(abs(t.get_position()[1] - key_loss_row) < 0.5 for t in na)
    assert not any(t.get_text().strip() == "n/a" for t in failures.texts)  # 0.0% is a value
    _assert_texts_inside_and_apart(fig)
    renderer = fig.canvas.get_renderer()
    legend = fig.legends[0].get_window_extent(renderer)
    for ax in fig.axes:
        assert not legend.overlaps(ax.get_window_extent(renderer))
    with pytest.raises(SimlabError, match="'web' column"):
        charts.web_bars(pd.DataFrame(rows).drop(columns="web"))


# -- the whole pipeline ---------------------------------------------------------------------


def test_compare_table_carries_what_charts_need_for_na_and_attack_windows() -> None:
    from simlab.sweep import compare

    with ThreadPoolExecutor(1) as pool:
        metrics, daily = compare(
            scenarios=["key-loss", "mitm"],
            defences=["none"],
            seeds=1,
            params={"n_clients": 20, "days": 15, "attack_start_day": 3},
            executor=pool,
            progress=False,
        )
    by = metrics.set_index("scenario")["attacker_connections"]
    assert by["key-loss"] == 0 and by["mitm"] > 0
    assert daily.groupby("scenario")["attacker"].sum().to_dict() == by.to_dict()
    texts = _cell_texts(charts.heatmap(metrics, "interception_rate"))
    assert "n/a" in texts and len(texts) == 2


# -- same inputs, same bytes ----------------------------------------------------------------


def test_the_same_figure_saves_to_the_same_bytes(tmp_path: Path) -> None:
    metrics = _metrics([("a", "ct", 0, 7200.0)], "detection_time")
    written = []
    for run in ("first", "second"):
        paths = charts.save(charts.heatmap(metrics, "detection_time"), tmp_path / run, "h")
        written.append([p.read_bytes() for p in paths])
    assert written[0] == written[1]


def _small_run() -> tuple[simlab.Result, pd.DataFrame, pd.DataFrame]:
    r = simlab.run("ca-compromise", "ct", seed=0, n_clients=24, days=15, attack_start_day=3)
    daily = r.daily().reset_index().assign(scenario="ca-compromise", defence="ct", seed=0)
    metrics = pd.DataFrame([{"scenario": "ca-compromise", "defence": "ct", "seed": 0, **r.metrics}])
    return r, daily, metrics


def _every_kind_of_chart() -> dict[str, Any]:
    r, daily, metrics = _small_run()
    sweep = pd.concat([metrics.assign(max_age_days=v) for v in (1, 30)], ignore_index=True)
    return {
        "heatmap": lambda: charts.heatmap(metrics, "detection_time"),
        "timeline": lambda: charts.timeline(daily, "ca-compromise"),
        "sweep": lambda: charts.parameter_chart(sweep, "max_age_days", "detection_time"),
        "network": lambda: charts.network_graph(r.world, r.table),
        "ct": lambda: charts.ct_timeline(r.events, "CT", start=r.world.attack_start),
    }


def test_fixing_the_ticks_before_saving_changes_no_pixel(tmp_path: Path) -> None:
    """save computes each axis' ticks once, for both files: they must be the ticks matplotlib
    would have drawn, on the same layout."""
    for name, make in _every_kind_of_chart().items():
        fig = make()
        engine = fig.get_layout_engine()
        if engine is not None:
            engine.execute(fig)
            fig.set_layout_engine(None)
        plain = tmp_path / f"plain-{name}.png"
        fig.savefig(plain, dpi=130)
        (png, _) = charts.save(make(), tmp_path, name)
        assert png.read_bytes() == plain.read_bytes(), name


def test_saving_draws_each_file_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No layout pass or pre-draw on top of the one draw each file needs."""
    draws = []
    real = Figure.draw

    def counted(self: Figure, renderer: Any) -> None:
        draws.append(self)
        real(self, renderer)

    monkeypatch.setattr(Figure, "draw", counted)
    for name, make in _every_kind_of_chart().items():
        draws.clear()
        charts.save(make(), tmp_path, name)
        assert len(draws) == 2, name


_DRAW_ALL = """
import sys
from pathlib import Path
import matplotlib
matplotlib.use("Agg")
import pandas as pd
import simlab
from simlab import charts

out = Path(sys.argv[1])
r = simlab.run("ca-compromise", "ct", seed=0, n_clients=24, days=15, attack_start_day=3,
               rogue_logged=True)
daily = r.daily().reset_index().assign(scenario="ca-compromise", defence="ct")
metrics = pd.DataFrame([{"scenario": "ca-compromise", "defence": "ct", "seed": 0,
                         "attacker_connections": 3, **r.metrics}])
sweep = metrics.assign(max_age_days=1)
charts.save(charts.trust_graph(r.world), out, "trust-graph")
charts.save(charts.network_graph(r.world, r.table), out, "network-graph")
charts.save(charts.timeline(daily, "ca-compromise"), out, "timeline")
charts.save(charts.heatmap(metrics, "detection_time"), out, "heatmap")
charts.save(charts.parameter_chart(sweep, "max_age_days", "detection_time"), out, "sweep")
charts.save(charts.ct_timeline(r.events, "CT", start=r.world.attack_start, params=r.params,
                               seed=0), out, "ct")
"""


def test_figures_are_byte_identical_whatever_the_hash_seed(tmp_path: Path) -> None:
    script = tmp_path / "draw.py"
    script.write_text(_DRAW_ALL)
    outputs = []
    for seed in ("1", "4"):  # 1 and 4 put the trust graph's two roots in opposite order
        out = tmp_path / f"hash{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed, "MPLBACKEND": "Agg"}
        subprocess.run([sys.executable, str(script), str(out)], env=env, check=True, timeout=240)
        outputs.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert len(outputs[0]) == 12
    assert outputs[0] == outputs[1]


def test_trust_graph_marks_the_compromised_ca_and_the_rogue_certificate() -> None:
    def labels(scenario: str) -> list[str]:
        world = simlab.run(scenario, "none", seed=0, n_clients=20).world
        return [t.get_text() for t in charts.trust_graph(world).axes[0].texts]

    compromised = labels("ca-compromise")
    assert "Other\nIssuing CA\n(compromised)" in compromised
    assert "requested by\nthe attacker" in compromised
    assert not any("(compromised)" in t for t in labels("domain-hijack"))  # DV passed


def test_trust_graph_says_what_each_ca_is_to_the_site_and_what_the_numbers_are() -> None:
    world = simlab.run("ca-compromise", "none", seed=0, n_clients=10, days=15).world
    ax = charts.trust_graph(world).axes[0]
    texts = [t.get_text() for t in ax.texts]
    below = dict(zip(texts[0::2], texts[1::2], strict=True))  # each node, then its role
    assert below["Public\nRoot CA"] == "the site's root CA"
    assert below["Issuing\nCA"] == "issues the site's\ncertificates"
    assert below["Other\nIssuing CA\n(compromised)"] == "another public CA,\nnot the site's"
    numbers = sorted(t.split("#")[1] for t in texts if t.startswith("certificate\n#"))
    assert len(numbers) == 2
    legend = ax.get_legend()
    assert legend is not None
    title = legend.get_title().get_text()
    assert title.endswith(": the last four digits of a certificate's serial number")
    assert title.split(":")[0].lstrip("#") in numbers
    assert [t.get_text() for t in legend.get_texts()] == [
        "certificate authority (CA)",
        "CA that signed without validating (compromised)",
        "certificate the owner requested",
        "certificate the owner never asked for",
    ]
    # A story where the owner's CA is not compromised draws no "compromised" key.
    clean = simlab.run("key-loss", "none", seed=0, n_clients=10, days=15).world
    clean_legend = charts.trust_graph(clean).axes[0].get_legend()
    assert clean_legend is not None
    assert "CA that signed without validating (compromised)" not in [
        t.get_text() for t in clean_legend.get_texts()
    ]


def test_a_revocation_event_names_the_cas_role_not_only_its_name() -> None:
    r = simlab.run("ca-compromise", "ct", seed=0, n_clients=20, days=15, attack_start_day=3)
    revoked = [what for _, what in r.events if "revokes" in what]
    assert revoked == ["the compromised CA (Other Issuing CA) revokes the certificate"]


def test_trust_graph_puts_the_sites_own_root_on_top() -> None:
    world = simlab.run("ca-compromise", "none", seed=0, n_clients=10, days=15).world
    texts = {t.get_text(): t.get_position() for t in charts.trust_graph(world).axes[0].texts}
    assert texts["Public\nRoot CA"][1] > texts["Other\nRoot CA"][1]


def test_a_cell_of_equal_runs_has_its_mean_on_them_so_error_bars_are_never_negative() -> None:
    # three runs of 0.1 average 0.10000000000000002 in floats: above their own maximum
    assert claims.Summary.of([0.1, 0.1, 0.1]).mean == 0.1
    table = _sweep(
        {(20, "none"): [0.1, 0.1, 0.1], (30, "none"): [0.7, 0.7, 0.7]},
        "days",
        "interception_rate",
    )
    charts.parameter_chart(table, "days", "interception_rate")  # raised on a negative yerr
