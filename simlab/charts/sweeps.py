"""One metric against one swept parameter."""

from __future__ import annotations

import textwrap
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter
from matplotlib.transforms import offset_copy

from simlab.charts.claims import (
    Summary,
    axis_order,
    cells,
    run_settings,
    split_eras,
    sweep_claim,
    tie_note,
)
from simlab.charts.heatmaps import check_metric
from simlab.charts.style import CATEGORY_COLOURS, METRIC_STYLES
from simlab.errors import SimlabError

__all__ = ["is_categorical", "parameter_chart"]

MARKERS = ("o", "s", "^", "D", "v", "P", "X")
LINES = ("-", "--", "-.", ":")
DODGE_POINTS = 4.0


def is_categorical(values: pd.Series) -> bool:
    """Booleans and words are categories (evenly spaced, no in-between); numbers are a scale."""
    present = values.dropna()
    return bool(len(present)) and not all(
        isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool | np.bool_)
        for v in present
    )


def _positions(values: pd.Series, categorical: bool) -> tuple[list[Any], list[float]]:
    order = axis_order(values)
    if categorical:
        return order, [float(i) for i in range(len(order))]
    return order, [float(v) for v in order]


def _draw(
    ax: Axes,
    fig: Figure,
    xs: list[float],
    series: list[Summary],
    k: int,
    n: int,
    defence: str,
    *,
    share: bool,
    categorical: bool,
) -> None:
    shift = offset_copy(ax.transData, fig=fig, x=(k - (n - 1) / 2) * DODGE_POINTS, units="points")
    if share:
        mean = np.array([s.share for s in series])
        low = high = mean
    else:
        mean = np.array([s.mean for s in series])
        low = np.array([s.low for s in series])
        high = np.array([s.high for s in series])
    ax.errorbar(
        xs,
        mean,
        yerr=[np.nan_to_num(mean - low), np.nan_to_num(high - mean)],
        transform=shift,
        color=CATEGORY_COLOURS[k % len(CATEGORY_COLOURS)],
        marker=MARKERS[k % len(MARKERS)],
        linestyle="none" if categorical else LINES[k % len(LINES)],
        markersize=6,
        markerfacecolor="white" if k % 2 else None,
        capsize=2,
        label=defence,
    )
    # A transform other than transData hides the points from autoscaling: add them here.
    points = np.column_stack([np.repeat(xs, 3), np.column_stack([mean, low, high]).ravel()])
    ax.update_datalim(points[np.isfinite(points).all(axis=1)])


def parameter_chart(metrics: pd.DataFrame, param: str, metric: str) -> Figure:
    """One metric against one swept parameter: a marker per defence and value (the mean over
    seeds, bars spanning the seeds' range), defences nudged sideways a few points so equal
    values stay visible. Booleans and words are drawn as categories. Detection time gets two
    panels: the share of runs that detected, and the hours it took when they did."""
    check_metric(metric)
    if param not in metrics:
        raise SimlabError(f"the sweep table has no column {param!r} to chart against")
    metrics = split_eras(metrics, "defence") if param != "era" else metrics
    style = METRIC_STYLES[metric]
    categorical = is_categorical(metrics[param])
    order, xs = _positions(metrics[param], categorical)
    grid = cells(metrics, metric, param)
    defences = [str(d) for d in dict.fromkeys(metrics["defence"])]
    detection = metric == "detection_time"
    fig, axes = plt.subplots(
        2 if detection else 1,
        1,
        figsize=(7.2, 6.4 if detection else 4.6),
        sharex=True,
        layout="constrained",
        squeeze=False,
    )
    panels: list[tuple[Axes, bool]] = [(axes[0][0], detection)]
    if detection:
        panels.append((axes[1][0], False))
    missing = Summary(0, 0, np.nan, np.nan, np.nan)
    for ax, share in panels:
        for k, d in enumerate(defences):
            series = [grid.get(v, {}).get(d, missing) for v in order]
            _draw(ax, fig, xs, series, k, len(defences), d, share=share, categorical=categorical)
        if share:
            ax.set_ylabel("share of runs that detected")
            ax.set_ylim(-0.05, 1.05)
            ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        else:
            ax.set_ylabel(
                "hours to first detection\n(runs that detected)" if detection else style.label,
                fontsize=9,
            )
            ax.autoscale_view()
            if style.unit == "%":
                ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    bottom = panels[-1][0]
    if categorical:
        bottom.set_xticks(xs, [str(v).lower() if isinstance(v, bool) else str(v) for v in order])
        bottom.set_xlim(xs[0] - 0.5, xs[-1] + 0.5)
    bottom.set_xlabel(param.replace("_", " ") + (" (categories)" if categorical else ""))
    handles, labels = panels[0][0].get_legend_handles_labels()
    # Right, halfway down: above or below the panels constrained layout puts it on the
    # title or the notes, which span the whole width.
    fig.legend(handles, labels, fontsize=8, loc="outside right center", title="defence")
    claim = f"{metric.replace('_', ' ')} against {param}: {sweep_claim(metrics, param, metric)}"
    fig.suptitle(
        "\n".join([*textwrap.wrap(claim, 85), run_settings(metrics, exclude=[param])]),
        fontsize=10.5,
    )
    several = "seed" in metrics and metrics["seed"].nunique() > 1
    spread = "bars: range over seeds; " if several else ""
    notes = [
        f"markers nudged {DODGE_POINTS:g} points apart so equal values stay visible; "
        f"{spread}{tie_note(metric)}"
    ]
    direction = "lower is better" if style.lower_is_better else "higher is better"
    if detection:
        direction = (
            "more runs detected, then sooner, is better; "
            "a never-detected run counts in the top panel only"
        )
    notes.append(direction)
    fig.supxlabel("\n".join(textwrap.fill(n, 110) for n in notes), fontsize=8)
    return fig
