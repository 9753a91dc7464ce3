"""Charts for teaching. They read only results tables (and, for the two graphs, a world).

Palette: matplotlib's colour-blind-safe ``cividis`` for heatmaps and the Okabe-Ito
colours for categories. Titles state the take-away, computed from the data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import networkx as nx
import pandas as pd
from matplotlib.figure import Figure

from simlab.files import output_dir

__all__ = [
    "ct_timeline",
    "heatmap",
    "network_graph",
    "parameter_chart",
    "save",
    "timeline",
    "trust_graph",
]

OKABE_ITO = {
    "connected": "#009E73",
    "intercepted": "#D55E00",
    "clicked_through": "#E69F00",
    "blocked": "#0072B2",
}
LABELS = {
    "interception_rate": ("share of the attacker's connections that clients accepted", "{:.0%}"),
    "legit_failure_rate": (
        "share of connections to the real site that failed (self-inflicted)",
        "{:.1%}",
    ),
    "detection_time": ("hours from attack start to first detection", "{:.0f} h"),
    "exposure_window": ("days from attack start to the last interception", "{:.1f} d"),
    "lockout_duration": ("longest lock-out of one client (days)", "{:.0f} d"),
    "clients_affected": ("clients intercepted or locked out", "{:.0f}"),
}
SCALE = {"detection_time": 3600.0, "exposure_window": 86400.0, "lockout_duration": 86400.0}


def _takeaway(metric: str, table: pd.DataFrame) -> str:
    by_defence = table.mean(axis=0, skipna=True)
    if metric in ("interception_rate", "exposure_window", "clients_affected"):
        best = by_defence.idxmin()
        return f"{best} lets the attacker in least, but no defence wins every row"
    if metric in ("legit_failure_rate", "lockout_duration"):
        worst = by_defence.idxmax()
        return f"{worst} hurts its own users most: pinning's self-inflicted outages"
    if metric == "detection_time":
        best = by_defence.idxmin()
        return f"{best} tells the owner soonest; blank cells were never detected"
    return metric.replace("_", " ")


def heatmap(metrics: pd.DataFrame, metric: str) -> Figure:
    """Scenario x defence heatmap of one metric, averaged over seeds."""
    values = metrics.copy()
    values[metric] = pd.to_numeric(values[metric], errors="coerce") / SCALE.get(metric, 1.0)
    table = values.pivot_table(index="scenario", columns="defence", values=metric, aggfunc="mean")
    table = table.reindex(
        index=list(dict.fromkeys(metrics["scenario"])),
        columns=list(dict.fromkeys(metrics["defence"])),
    )
    label, fmt = LABELS[metric]
    fig, ax = plt.subplots(figsize=(8.5, 5.2), layout="constrained")
    image = ax.imshow(table.to_numpy(dtype=float), cmap="cividis", aspect="auto")
    ax.set_xticks(range(len(table.columns)), table.columns)
    ax.set_yticks(range(len(table.index)), table.index)
    finite = table.to_numpy(dtype=float)
    top = pd.Series(finite.ravel()).max()
    for i in range(table.shape[0]):
        for j in range(table.shape[1]):
            v = finite[i, j]
            text = "never" if pd.isna(v) else fmt.format(v)
            light = pd.isna(v) or (top and v < 0.55 * top)
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=9,
                color="white" if light else "black",
            )
    fig.colorbar(image, ax=ax, label=label)
    ax.set_title(f"{metric.replace('_', ' ')}: {_takeaway(metric, table)}", fontsize=11)
    ax.set_xlabel("defence")
    return fig


def timeline(daily: pd.DataFrame, scenario: str) -> Figure:
    """Connections per day by outcome, one panel per defence, for one scenario."""
    rows = daily[daily["scenario"] == scenario]
    defences = list(dict.fromkeys(rows["defence"]))
    fig, axes = plt.subplots(
        1,
        len(defences),
        figsize=(3.2 * len(defences), 3.4),
        sharey=True,
        layout="constrained",
        squeeze=False,
    )
    for ax, defence in zip(axes[0], defences, strict=True):
        part = rows[rows["defence"] == defence].groupby("day")[list(OKABE_ITO)].mean()
        ax.stackplot(
            part.index,
            *[part[c] for c in OKABE_ITO],
            colors=list(OKABE_ITO.values()),
            labels=[c.replace("_", " ") for c in OKABE_ITO],
        )
        ax.set_title(defence)
        ax.set_xlabel("day")
    axes[0][0].set_ylabel("connections per day")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), fontsize=8)
    totals = rows.groupby("defence", sort=False)[
        ["intercepted", "clicked_through", "blocked"]
    ].sum()
    accepted = totals["intercepted"] + totals["clicked_through"]
    if accepted.any():
        takeaway = (
            f"most interceptions under '{accepted.idxmax()}', fewest under '{accepted.idxmin()}'"
        )
    elif totals["blocked"].any():
        takeaway = (
            f"nobody intercepted; most connections blocked under '{totals['blocked'].idxmax()}'"
        )
    else:
        takeaway = "every connection reached the real site"
    fig.suptitle(f"{scenario}: {takeaway}", fontsize=11)
    return fig


def network_graph(world: Any, table: pd.DataFrame | None = None) -> Figure:
    """The network, the attacker's position, and per access network how many clients sit
    behind it and (given a run's table) how many of them the attacker intercepted."""
    graph: nx.Graph = world.network.graph.copy()
    counts: dict[str, int] = {}
    for c in world.clients:
        counts[c.access] = counts.get(c.access, 0) + 1
    hit: dict[str, int] = {}
    if table is not None:
        accepted = table[
            (table["responder"] == "attacker")
            & table["outcome"].isin(["intercepted", "clicked_through"])
        ]
        hit = {str(k): int(v) for k, v in accepted.groupby("access")["client"].nunique().items()}

    def label(node: str) -> str:
        if node not in counts:
            return node
        extra = f"\n{hit[node]} intercepted" if hit.get(node) else ""
        return f"{node}\n{counts[node]} clients{extra}"

    position = world.s.attacker_network
    pos = nx.shell_layout(graph, [["ix"], [n for n in graph if n != "ix"]])  # no scipy needed
    fig, ax = plt.subplots(figsize=(6.5, 4.6), layout="constrained")
    colours = [
        "#D55E00" if n == position else "#56B4E9" if n.startswith("isp") else "#999999"
        for n in graph.nodes
    ]
    nx.draw_networkx(
        graph,
        pos,
        ax=ax,
        node_color=colours,
        node_size=1300,
        font_size=8,
        labels={n: label(n) for n in graph},
    )
    ax.set_title(
        f"An attacker at {position} is on-path for its {counts.get(position, 0)} clients only"
        + (f": {sum(hit.values())} intercepted" if table is not None else ""),
        fontsize=11,
    )
    ax.axis("off")
    return fig


def trust_graph(world: Any) -> Figure:
    """Roots, intermediates and issued certificates for the site. Certificates the owner did
    not request are vermilion; a CA whose key signed without validation (compromised) is
    orange and says so."""
    graph = nx.DiGraph()
    colours: dict[str, str] = {}
    names: dict[str, str] = {}
    for ca in (world.root, world.issuing, world.other_root, world.other_ca):
        compromised = any(not record.validated for record in ca.issued)
        names[ca.name] = ca.name + (" (compromised)" if compromised else "")
        colours[names[ca.name]] = "#E69F00" if compromised else "#0072B2"
        if ca.parent is not None:
            graph.add_edge(names[ca.parent.name], names[ca.name])
        for record in ca.issued:
            if record.names and record.names[0] in (world.host, f"*.{world.host}"):
                label = f"{record.requester}\n#{record.serial % 10000:04d}"
                graph.add_edge(names[ca.name], label)
                colours[label] = (
                    "#D55E00" if not record.validated or record.requester != "owner" else "#009E73"
                )
    fig, ax = plt.subplots(figsize=(7.5, 3.6), layout="constrained")
    roots = [names[world.root.name], names[world.other_root.name]]
    pos = nx.bfs_layout(graph, roots) if graph else {}
    size = 3300
    nx.draw_networkx_nodes(
        graph, pos, ax=ax, node_size=size, node_color=[colours.get(n, "#999999") for n in graph]
    )
    nx.draw_networkx_edges(graph, pos, ax=ax, node_size=size, arrows=True)
    for dark_text in (False, True):  # dark text on the light orange of a compromised CA
        nodes = [n for n in graph if (colours.get(n) == "#E69F00") == dark_text]
        nx.draw_networkx_labels(
            graph,
            pos,
            ax=ax,
            font_size=7,
            font_color="black" if dark_text else "white",
            labels={
                n: n.replace(" ", "\n", 1).replace(" (compromised)", "\n(compromised)")
                for n in nodes
            },
        )
    ax.margins(x=0.12, y=0.25)
    rogue = sum(c == "#D55E00" for c in colours.values())
    breach = any(c == "#E69F00" for c in colours.values())
    ax.set_title(
        f"Who vouches for {world.host}?\n{rogue} certificate(s) the owner never asked for"
        + ("; a CA's key is in the attacker's hands" if breach else ""),
        fontsize=11,
    )
    ax.axis("off")
    return fig


def parameter_chart(metrics: pd.DataFrame, param: str, metric: str) -> Figure:
    """One metric against one swept parameter: a line per defence (mean over seeds) with the
    seeds' range shaded."""
    values = metrics.copy()
    values[metric] = pd.to_numeric(values[metric], errors="coerce") / SCALE.get(metric, 1.0)
    label, _ = LABELS[metric]
    fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
    palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]
    spread: dict[str, float] = {}
    for colour, (defence, part) in zip(
        palette, values.groupby("defence", sort=False), strict=False
    ):
        stats = part.groupby(param)[metric].agg(["mean", "min", "max"]).sort_index()
        ax.plot(stats.index, stats["mean"], "o-", color=colour, label=defence)
        ax.fill_between(stats.index, stats["min"], stats["max"], color=colour, alpha=0.15)
        spread[str(defence)] = float(stats["mean"].max() - stats["mean"].min())
    ax.set_xlabel(param.replace("_", " "))
    ax.set_ylabel(label)
    ax.legend(title="defence", fontsize=8)
    most = max(spread, key=lambda d: spread[d]) if spread else ""
    sensitive = f"{most} is the most sensitive" if spread and spread[most] > 0 else "no effect"
    ax.set_title(
        f"{metric.replace('_', ' ')} against {param.replace('_', ' ')}: {sensitive}", fontsize=11
    )
    return fig


def ct_timeline(events: list[tuple[float, str]], title: str, *, start: float = 0.0) -> Figure:
    """One run's story as a list of steps in time order (issuance, SCTs, merge, monitor
    alert, revocation...), placed by hours since ``start`` (the attack's beginning)."""
    fig, ax = plt.subplots(figsize=(8.5, 0.45 * len(events) + 1.6), layout="constrained")
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
    ax.set_title(title, fontsize=11)
    return fig


def save(fig: Figure, out: Path, name: str) -> list[Path]:
    """Write ``name``.png and ``name``.svg; return the paths."""
    out = output_dir(out)
    paths = [out / f"{name}.png", out / f"{name}.svg"]
    # A fixed salt for the SVG's element ids and no date: the same figure, the same bytes,
    # so regenerated figures show up in git only when they really changed.
    with plt.rc_context({"svg.hashsalt": name}):
        for path in paths:
            fig.savefig(path, dpi=130, metadata={"Date": None} if path.suffix == ".svg" else None)
    plt.close(fig)
    return paths
