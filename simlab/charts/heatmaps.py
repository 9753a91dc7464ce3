"""Scenario x defence heatmaps of one metric."""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from simlab.charts.claims import (
    applies,
    best_of,
    cells,
    failure_causes,
    heatmap_claim,
    run_settings,
    split_eras,
    tie_note,
)
from simlab.charts.layout import (
    EDGE,
    LABEL_PAD,
    LINE,
    TICK,
    points,
    top_edge,
    widest_tick_label,
)
from simlab.charts.style import METRIC_STYLES, MISSING_COLOUR, format_value, text_colour
from simlab.errors import SimlabError

__all__ = ["heatmap"]

TITLE = 10.5
"""Font sizes (points) of the title lines, the notes below and the colour bar's label."""
NOTE = 8.0
BAR_LABEL = 9.0
BAR_ASPECT = 20.0
"""The colour bar is 1/20 as wide as it is tall (matplotlib's default)."""
BAR_PAD = 21.0
"""Points between the grid and its colour bar (matplotlib's 5% of the grid's width)."""


def check_metric(metric: str) -> None:
    if metric not in METRIC_STYLES:
        raise SimlabError(f"cannot chart metric {metric!r}; valid: {', '.join(METRIC_STYLES)}")


def heatmap(metrics: pd.DataFrame, metric: str) -> Figure:
    """Scenario x defence heatmap of one metric over seeds, with the take-away as title.

    Dark is better on every metric. Bold cells are the best of their row (or tied for it,
    by :func:`simlab.charts.claims.better`). "n/a": the metric does not apply (no attacker);
    "never": no run detected. Detection cells also say in how many runs detection came, so
    a cell that detected in 1 of 3 runs cannot pass for a fast one.
    """
    check_metric(metric)
    metrics = split_eras(metrics, "scenario")
    style = METRIC_STYLES[metric]
    grid = cells(metrics, metric, "scenario")
    ok = applies(metrics, metric)
    scenarios = [str(s) for s in dict.fromkeys(metrics["scenario"])]
    defences = [str(d) for d in dict.fromkeys(metrics["defence"])]
    values = np.full((len(scenarios), len(defences)), np.nan)
    for i, s in enumerate(scenarios):
        for j, d in enumerate(defences):
            cell = grid.get(s, {}).get(d)
            if cell is not None and cell.valued and ok[s]:
                values[i, j] = cell.mean
    finite = values[np.isfinite(values)]
    top = 1.0 if style.unit == "%" else float(finite.max()) if finite.size else 1.0
    norm = Normalize(0.0, top if top > 0 else 1.0)
    cmap = plt.get_cmap("cividis" if style.lower_is_better else "cividis_r").with_extremes(
        bad=MISSING_COLOUR
    )
    fig, ax = plt.subplots(figsize=(8.5, 5.6))
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, norm=norm, aspect="auto")
    ax.set_xticks(range(len(defences)), defences)
    ax.set_yticks(range(len(scenarios)), scenarios)
    for i, s in enumerate(scenarios):
        row = grid.get(s, {})
        best = best_of(row, metric) if ok[s] and len(row) > 1 else list(row)
        for j, d in enumerate(defences):
            cell = row.get(d)
            if cell is None:
                continue
            if not ok[s]:
                text = "n/a"
            elif cell.valued == 0:
                text = "never" if metric == "detection_time" else "n/a"
            else:
                text = format_value(metric, cell.mean)
            if metric == "detection_time" and ok[s]:
                text += f"\n{cell.valued} of {cell.runs} runs"
            background = image.to_rgba(np.ma.masked_invalid(values[i : i + 1, j : j + 1]))[0, 0]
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=8.5 if "\n" in text else 9,
                color=text_colour(background),
                fontweight="bold" if d in best and len(best) < len(row) else "normal",
            )
    bar = fig.colorbar(image, cax=fig.add_axes((0.0, 0.0, 1.0, 1.0)))  # placed by _place
    bar.set_label(f"{style.label}\n(darker is better)", fontsize=BAR_LABEL)
    if style.unit == "%":
        bar.ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    claim = f"{metric.replace('_', ' ')}: {heatmap_claim(metrics, metric)}"
    title = [*textwrap.wrap(claim, 100), run_settings(metrics)]
    fig.suptitle("\n".join(title), fontsize=TITLE, y=top_edge(fig))
    notes = [f"bold: best or tied for best in its row (no bold: all tied); {tie_note(metric)}"]
    if not all(ok.values()):
        notes.append("n/a: no attacker in that scenario")
    if metric == "legit_failure_rate":
        notes += failure_causes(metrics)
    if metric == "detection_time":
        notes.append(
            "each cell: mean time over the runs that detected, and in how many runs detection "
            "came; more runs detected beats a faster mean"
        )
    ax.set_xlabel("defence")
    note = "\n".join(textwrap.fill(n, 150) for n in notes)
    fig.supxlabel(note, fontsize=NOTE, y=EDGE / (72.0 * fig.get_figheight()))
    _place(fig, ax, bar.ax, len(title), note.count("\n") + 1)
    return fig


def _place(fig: Figure, ax: Axes, bar: Axes, title_lines: int, note_lines: int) -> None:
    """The grid and its colour bar placed in the room the texts around them leave: the title
    lines above, the notes, axis label and tick labels below, the scenario names on the
    left, the bar's tick labels and label on the right. That is the room
    constrained layout leaves, computed once instead of measuring every artist on each save."""
    width, height = fig.get_size_inches() * 72.0
    label = LINE * points("medium")  # one line of tick labels, or an axis label
    # The bar's top tick label may stand half its height above the grid.
    top = EDGE + title_lines * LINE * TITLE + EDGE + label / 2
    bottom = EDGE + note_lines * LINE * NOTE + EDGE + label + LABEL_PAD + label + TICK
    tall = height - top - bottom
    thick = tall / BAR_ASPECT
    bar.set_position((0.0, bottom / height, thick / width, tall / height))  # its ticks follow

    left = EDGE + widest_tick_label(ax.yaxis) + TICK
    bar_label = LINE * BAR_LABEL * (bar.yaxis.label.get_text().count("\n") + 1)
    right = EDGE + bar_label + LABEL_PAD + widest_tick_label(bar.yaxis) + TICK + thick + BAR_PAD
    wide = width - left - right
    base, span = bottom / height, tall / height
    ax.set_position((left / width, base, wide / width, span))
    bar.set_position(((left + wide + BAR_PAD) / width, base, thick / width, span))
