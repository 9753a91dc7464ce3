"""Timelines: what each day's connections ended as, per defence; and one run's story."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter
from matplotlib.transforms import blended_transform_factory

from simlab.charts.claims import REACH, run_settings, split_eras, timeline_claim
from simlab.charts.layout import (
    EDGE,
    LABEL_PAD,
    LINE,
    TICK,
    points,
    top_edge,
    widest_tick_label,
)
from simlab.charts.style import OKABE_ITO

__all__ = ["attack_days", "ct_timeline", "timeline", "traffic_note"]

OUTCOMES = list(OKABE_ITO)

SUPTITLE = 10.5
"""Font size of a timeline's title lines (points)."""
TITLE_PAD = 10.0
"""Points between a column's panel and its title (room for the black bar)."""
COLUMN_GAP = 16.0
"""Points between two panels of a row: the ticks on both sides, unlabelled."""
BAR = 0.03
"""How far above its panel the black bar sits, as a share of the panel's height."""


def attack_days(daily: pd.DataFrame) -> tuple[int, int] | None:
    """First and last day the attacker answered a connection (the ``attacker`` column of
    :func:`simlab.sweep.sweep`), else the first and last day anything was intercepted."""
    if "attacker" in daily:
        days = daily.loc[daily["attacker"] > 0, "day"]
    else:
        days = daily.loc[(daily["intercepted"] + daily["clicked_through"]) > 0, "day"]
    return (int(days.min()), int(days.max())) if len(days) else None


def traffic_note(daily: pd.DataFrame) -> str:
    """Why daily traffic grows, if it does: clients whose first visit falls during the run
    (``new_visitor_share``, ``simlab.world.World._population``) join over time."""
    from simlab.world import Settings

    per_day = daily[OUTCOMES].sum(axis=1).groupby(daily["day"]).mean()
    if len(per_day) < 14:
        return ""
    first, last = float(per_day.iloc[:7].mean()), float(per_day.iloc[-7:].mean())
    if first <= 0 or last < 1.2 * first:
        return ""
    share = (
        "/".join(f"{v:g}" for v in daily["new_visitor_share"].unique())
        if "new_visitor_share" in daily
        else f"{Settings().new_visitor_share:g}"
    )
    return (
        f"traffic grows from about {first:.0f} to {last:.0f} connections a day as new visitors "
        f"arrive (new_visitor_share={share}: that share of clients first visits during the run)"
    )


def _scenario_title(scenario: str, rows: pd.DataFrame) -> str:
    """The built-in scenario's title and whom its attacker can answer (see ``claims.REACH``)."""
    from simlab.scenario_file import builtin_scenarios
    from simlab.world import Settings

    spec = builtin_scenarios().get(scenario)
    if spec is None:
        return ""
    kind = REACH.get(spec.story, "")
    if kind == "on-path":
        where = (
            "/".join(map(str, rows["attacker_network"].unique()))
            if "attacker_network" in rows
            else Settings().attacker_network
        )
        return f"{spec.title}: the attacker answers clients whose route passes {where}"
    reach = {
        "dns": "DNS sends every client to the attacker",
        "server": "the attacker answers every client from the real server",
    }
    return f"{spec.title}: {reach[kind]}" if kind in reach else spec.title


def _mark_window(ax: Axes, window: tuple[int, int] | None) -> None:
    """A bar above the panel over the days the attacker answered connections."""
    if window is None:
        return
    where = blended_transform_factory(ax.transData, ax.transAxes)
    ax.plot(
        [window[0], window[1] + 1],
        [1 + BAR, 1 + BAR],
        color="black",
        linewidth=3,
        transform=where,
        clip_on=False,
        solid_capstyle="butt",
    )


def _stack(ax: Axes, share: pd.DataFrame) -> None:
    ax.stackplot(
        share.index + 0.5,  # a day's value at its middle: day d spans [d, d + 1)
        *[share[c] for c in OUTCOMES],
        colors=list(OKABE_ITO.values()),
        labels=[c.replace("_", " ") for c in OUTCOMES],
    )
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))


def _legend_height(size: float) -> float:
    """A one-row figure legend at font size ``size``, with its pad to the figure's edge."""
    return size * (2 * 0.4 + LINE + 0.5)  # legend.borderpad twice, a line, .borderaxespad


def _place(fig: Figure, axes: Any, volume: Axes, title_lines: int) -> None:
    """Margins and gaps for the panels, from the room each text around them takes: its font
    size, and for tick labels their width. That is the room constrained layout leaves,
    computed once instead of measuring every artist again on each save."""
    width, height = fig.get_size_inches() * 72.0
    label = LINE * points("medium")  # one line of tick labels, or an axis label
    under = TICK + label  # a panel's tick labels, below it
    top = EDGE + title_lines * LINE * SUPTITLE + EDGE + LINE * points("large") + TITLE_PAD
    bottom = _legend_height(8.0) + EDGE + under + LABEL_PAD + label
    rows = len(axes)
    between = under + 1.5 + EDGE  # and the bar (3 points wide) of the panel below
    panel = (height - top - bottom - (rows - 1) * between) / (rows + (rows - 1) * BAR)
    hspace = (between + BAR * panel) / panel
    fig.subplots_adjust(top=1 - top / height, bottom=bottom / height, hspace=hspace)

    # Once the panels' heights are set, so are their ticks.
    left = EDGE + label + LABEL_PAD + widest_tick_label(axes[0][0].yaxis) + TICK
    right = EDGE + label + LABEL_PAD + widest_tick_label(volume.yaxis) + TICK
    columns = len(axes[0])
    column = (width - left - right - (columns - 1) * COLUMN_GAP) / columns
    fig.subplots_adjust(left=left / width, right=1 - right / width, wspace=COLUMN_GAP / column)


def timeline(daily: pd.DataFrame, scenario: str) -> Figure:
    """Each day's connections by outcome, as shares of that day's traffic, one column per
    defence. The top row is the whole run with the day's number of connections as a black
    line (right axis); the bottom row zooms on the attack, so a week-long attack reads at
    full width on a 60- or 90-day run. A black bar above each panel marks the days the
    attacker answered connections under that defence."""
    daily = split_eras(daily, "defence")
    rows = daily[daily["scenario"] == scenario]
    if rows.empty:  # no client visited in any run (visit_prob=0, or under a day)
        fig, ax = plt.subplots(figsize=(6.4, 1.6), layout="constrained")
        ax.set_axis_off()
        ax.text(0.5, 0.5, f"{scenario}: no connections in these runs", ha="center", va="center")
        return fig
    defences = list(dict.fromkeys(rows["defence"]))
    window = attack_days(rows)
    first_day, last_day = int(rows["day"].min()), int(rows["day"].max())
    fig, axes = plt.subplots(
        1 if window is None else 2,
        len(defences),
        figsize=(3.2 * len(defences), 3.9 if window is None else 6.4),
        sharey=True,
        squeeze=False,
    )
    top = float(rows.groupby(["defence", "day"])[OUTCOMES].mean().sum(axis=1).max() or 1.0)
    volume: Axes | None = None
    for k, defence in enumerate(defences):
        mine = rows[rows["defence"] == defence]
        part = mine.groupby("day")[OUTCOMES].mean()
        total = part.sum(axis=1)
        share = part.div(total.where(total > 0), axis=0).fillna(0.0)
        ax = axes[0][k]
        _stack(ax, share)
        _mark_window(ax, attack_days(mine))
        # y given: no search, on every draw, for tick labels above the panel (there are none)
        ax.set_title(defence, pad=TITLE_PAD, y=1.0)
        ax.set_xlim(first_day + 0.5, last_day + 0.5)  # day midpoints: no empty edges
        volume = ax.twinx()
        volume.plot(
            total.index + 0.5,
            total.to_numpy(),
            color="black",
            linewidth=0.9,
            label="connections per day (right axis)",
        )
        volume.set_ylim(0, top * 1.05)
        if k < len(defences) - 1:
            volume.tick_params(labelright=False)
        else:
            volume.set_ylabel("connections per day")
        if window is not None:
            zoom = axes[1][k]
            _stack(zoom, share)
            _mark_window(zoom, attack_days(mine))
            zoom.set_xlim(max(first_day + 0.5, window[0] - 3), min(last_day + 0.5, window[1] + 9))
            zoom.set_xlabel("day (zoomed on the attack)")
        else:
            ax.set_xlabel("day")
    axes[0][0].set_ylabel("share of the day's connections")
    if window is not None:
        axes[1][0].set_ylabel("share, attack days")
    handles, labels = axes[0][0].get_legend_handles_labels()
    assert volume is not None
    line = volume.get_legend_handles_labels()
    fig.legend(handles + line[0], labels + line[1], loc="lower center", ncols=5, fontsize=8)
    claim = f"{scenario}: {timeline_claim(daily, scenario)}"
    about = [_scenario_title(scenario, rows), run_settings(rows)]
    if window is not None:
        about.append("black bar: days the attacker answered connections")
    lines = [*textwrap.wrap(claim, 40 * len(defences)), " · ".join(a for a in about if a)]
    note = traffic_note(rows)
    if note:
        lines.append(note)
    fig.suptitle("\n".join(lines), fontsize=SUPTITLE, y=top_edge(fig))
    _place(fig, axes, volume, len(lines))
    return fig


def ct_timeline(
    events: list[tuple[float, str]],
    title: str,
    *,
    start: float = 0.0,
    params: Mapping[str, Any] | None = None,
    seed: int | None = None,
) -> Figure:
    """One run's story as a list of steps in time order (issuance, SCTs, merge, monitor
    alert, revocation...), placed by hours since ``start`` (the attack's beginning).
    ``params`` (a run's ``Result.params``) and ``seed`` go in the subtitle, non-defaults only."""
    fig, ax = plt.subplots(figsize=(8.5, 0.45 * len(events) + 1.8), layout="constrained")
    hours = [(at - start) / 3600.0 for at, _ in events]
    rows = list(range(len(events)))[::-1]
    ax.hlines(rows, 0, hours, color="#BBBBBB", linewidth=1)
    ax.plot(hours, rows, "o", color="#0072B2")
    for h, y, (_, label) in zip(hours, rows, events, strict=True):
        ax.annotate(
            f"{label}  (+{h:.0f} h)",
            (h, y),
            xytext=(7, 0),
            textcoords="offset points",
            va="center",
            fontsize=9,
        )
    right = max([*hours, 1.0])
    ax.set_xlim(min([*hours, 0.0]) - 0.02 * right, right * 1.9)
    ax.set_yticks([])
    ax.set_xlabel("hours since the attack began")
    lines = [title]
    if params is not None or seed is not None:
        table = pd.DataFrame([{**(dict(params) if params else {}), "seed": seed}])
        if seed is None:
            table = table.drop(columns="seed")
        lines.append(run_settings(table).replace("1 seed", f"seed {seed}"))
    ax.set_title("\n".join(lines), fontsize=11 if len(lines) == 1 else 10.5)
    return fig
