"""Two or more webs side by side: per scenario, one bar per web, one panel per metric."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from simlab.charts.claims import applies, cells, run_settings
from simlab.charts.heatmaps import check_metric
from simlab.charts.style import CATEGORY_COLOURS, METRIC_STYLES, format_value
from simlab.errors import SimlabError

__all__ = ["web_bars"]

HEIGHT = 0.8
"""The share of a scenario's row the bars fill together."""


def _about(table: pd.DataFrame, web: str) -> str:
    """A web as its rows say it ran: "CT era: clients of 2020-06, the site deploys 'ct'"."""
    rows = table[table["web"] == web]
    eras = "/".join(map(str, dict.fromkeys(rows["era"]))) if "era" in rows else "?"
    defences = "/".join(f"'{d}'" for d in dict.fromkeys(rows["defence"]))
    return f"{web}: clients of {eras}, the site deploys {defences}"


def web_bars(
    table: pd.DataFrame,
    metrics: Sequence[str] = ("interception_rate", "legit_failure_rate"),
) -> Figure:
    """Each metric's mean over seeds per scenario and web (the ``web`` column of
    :func:`simlab.verdict.compare_webs`), a panel per metric. A bar with no value says
    "n/a": no attacker in that scenario's runs, or no connection to count. The legend
    stands beside the panels, where it covers no bar; the title says what each web ran."""
    if "web" not in table:
        raise SimlabError("web_bars needs a table with a 'web' column (verdict.compare_webs)")
    for metric in metrics:
        check_metric(metric)
    scenarios = [str(s) for s in dict.fromkeys(table["scenario"])]
    webs = [str(w) for w in dict.fromkeys(table["web"])]
    fig, axes = plt.subplots(
        1,
        len(metrics),
        figsize=(4.4 * len(metrics) + 1.6, 0.5 * len(scenarios) + 2.0),
        sharey=True,
        squeeze=False,
        layout="constrained",
    )
    width = HEIGHT / len(webs)
    for ax, metric in zip(axes[0], metrics, strict=True):
        grid = cells(table.assign(defence=table["web"]), metric, "scenario")  # a bar per web
        ok = applies(table, metric)
        for k, web in enumerate(webs):
            ys = np.arange(len(scenarios)) - HEIGHT / 2 + (k + 0.5) * width
            summaries = [grid.get(s, {}).get(web) for s in scenarios]
            values = [
                c.mean if c is not None and c.valued and ok[s] else np.nan
                for s, c in zip(scenarios, summaries, strict=True)
            ]
            colour = CATEGORY_COLOURS[k % len(CATEGORY_COLOURS)]
            ax.barh(ys, np.nan_to_num(values), height=width, color=colour, label=web)
            for y, v in zip(ys, values, strict=True):  # a zero bar is no bar: say its value
                text = "n/a" if np.isnan(v) else format_value(metric, v)
                ax.text(np.nan_to_num(v), y, f" {text}", va="center", ha="left", fontsize=7)
        style = METRIC_STYLES[metric]
        ax.set_xlabel(style.label, fontsize=9)
        top = max((float(np.nanmax(b.get_width())) for b in ax.patches), default=0.0)
        ax.set_xlim(0, 1.2 * top if top > 0 else 1.0)  # room for the values after the bars
        ax.xaxis.set_major_locator(MaxNLocator(5))
        if style.unit == "%":
            ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax0 = axes[0][0]
    ax0.set_yticks(range(len(scenarios)), scenarios)
    ax0.invert_yaxis()  # the table's first scenario on top
    handles, labels = ax0.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center", fontsize=8, title="web")
    lines = [_about(table, w) for w in webs]
    lines.append(run_settings(table, exclude=["era"]) + " · n/a: no attacker, or no connection")
    fig.suptitle("\n".join(lines), fontsize=10)
    return fig
