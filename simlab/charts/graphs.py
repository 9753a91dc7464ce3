"""The network graph (who the attacker can answer) and the trust graph (who vouches for the
site). Both read a world after a run; layouts are computed from the graph's insertion order,
never from a set, so the same run draws the same bytes whatever ``PYTHONHASHSEED`` is."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import matplotlib.pyplot as plt
import networkx as nx
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from simlab.charts.claims import REACH, reach_claim, run_settings
from simlab.charts.style import text_colour

__all__ = ["layered_layout", "network_graph", "reach", "trust_graph"]

ATTACKER = "#D55E00"
REACHED = "#E69F00"
SAFE = "#56B4E9"
INFRA = "#BBBBBB"
RING = 4.0
"""Width in points of the ring that marks where the attacker sits."""


def _story(world: Any, table: pd.DataFrame | None, story: str | None) -> str | None:
    """The run's story: given, or the built-in scenario named in the table, or read off
    the world (no attacker; DNS pointed at the attacker's host)."""
    if story is not None:
        return story
    if table is not None and "scenario" in table and len(table):
        from simlab.scenario_file import builtin_scenarios

        spec = builtin_scenarios().get(str(table["scenario"].iloc[0]))
        if spec is not None:
            return spec.story
    if world.attacker is None:
        return "key-loss"
    if "dc-attacker" in world.serving:
        return "domain-hijack"
    return None


def reach(world: Any, kind: str) -> tuple[str, list[str]]:
    """Where the attacker sits and which access networks' routes it answers, by the same
    routing the simulation uses (``simlab.network.Network.on_path``)."""
    access = [n for n in world.network.graph if str(n).startswith("isp-")]
    if kind == "none":
        return "", []
    if kind == "dns":
        return "dc-attacker", access
    if kind == "server":
        return "dc-owner", access
    position = world.s.attacker_network
    return position, [a for a in access if world.network.on_path(position, a, "dc-owner")]


def _route_edges(world: Any, kind: str, position: str, reached: list[str]) -> set[frozenset[str]]:
    target = "dc-attacker" if kind == "dns" else "dc-owner"
    edges: set[frozenset[str]] = set()
    for a in reached:
        path = world.network.route(a, target)
        edges.update(frozenset(pair) for pair in itertools.pairwise(path))
    return edges


def _settings_line(world: Any, table: pd.DataFrame | None) -> str:
    from simlab.runner import DEFENCES
    from simlab.world import Settings

    defaults = Settings()
    defence_keys = {k for v in DEFENCES.values() for k in v}
    # The era always: which clients ran is part of every chart's settings.
    row: dict[str, Any] = {"seed": world.seed, "n_clients": world.s.n_clients, "era": world.s.era}
    for f in dataclasses.fields(world.s):
        value = getattr(world.s, f.name)
        if f.name not in defence_keys and value != getattr(defaults, f.name):
            row[f.name] = value
    line = run_settings(pd.DataFrame([row])).replace("1 seed", f"seed {world.seed}")
    if table is not None and "defence" in table and len(table):
        line = f"defence '{table['defence'].iloc[0]}' · " + line
    return line


def network_graph(
    world: Any, table: pd.DataFrame | None = None, *, story: str | None = None
) -> Figure:
    """The network, where the attacker sits and every route it answers: the on-path routes
    for an on-path story, every client's route for a DNS hijack (to the attacker's host) or a
    server takeover (to the real address). Per access network: its clients and, given the
    run's table, how many of them the attacker intercepted."""
    graph: nx.Graph = world.network.graph.copy()
    kind = REACH.get(_story(world, table, story) or "", "on-path")
    position, reached = reach(world, kind)
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
        if node == position:
            role = {"server": "attacker\nruns it", "dns": "attacker's\nserver"}
            head = node + "\n(" + role.get(kind, "attacker\nhere") + ")"
        elif node == "dc-attacker" and node not in world.serving:
            head = f"{node}\n(unused)"  # the attacker's own host serves only a DNS hijack
        else:
            head = node
        if node not in counts:
            return head
        extra = f"\n{hit[node]} intercepted" if hit.get(node) else ""
        return f"{head}\n{counts[node]} clients{extra}"

    def colour(node: str) -> str:
        if node in counts:
            return REACHED if node in reached else SAFE
        return INFRA

    route = _route_edges(world, kind, position, reached)
    nodes = list(graph)
    pos = nx.shell_layout(graph, [["ix"], [n for n in nodes if n != "ix"]])
    fig, ax = plt.subplots(figsize=(7.2, 5.4), layout="constrained")
    edges = list(graph.edges)
    on_route = [frozenset(e) in route for e in edges]
    nx.draw_networkx_edges(
        graph,
        pos,
        ax=ax,
        edgelist=edges,
        edge_color=[ATTACKER if r else "#999999" for r in on_route],
        width=[3.0 if r else 1.0 for r in on_route],
    )
    fills = [colour(n) for n in nodes]
    nx.draw_networkx_nodes(
        graph,
        pos,
        ax=ax,
        node_color=fills,
        node_size=1500,
        edgecolors=[
            ATTACKER if n == position else fill for n, fill in zip(nodes, fills, strict=True)
        ],
        linewidths=[RING if n == position else 0.0 for n in nodes],
    )
    for n in nodes:
        x, y = pos[n]
        ax.text(
            x, y, label(n), ha="center", va="center", fontsize=7.5, color=text_colour(colour(n))
        )
    intercepted = sum(hit.values()) if table is not None else None
    title = reach_claim(kind, position, counts, reached, intercepted)
    ax.set_title(title + "\n" + _settings_line(world, table), fontsize=10)
    ax.legend(
        handles=_network_legend(fills, bool(position), any(on_route)),
        loc="lower center",
        bbox_to_anchor=(0.5, -0.08),
        ncols=3,
        fontsize=8,
        frameon=False,
    )
    ax.margins(0.12)
    ax.axis("off")
    return fig


def _network_legend(fills: list[str], attacker: bool, routes: bool) -> list[Artist]:
    """A legend entry for each kind of mark the network graph drew, and for no other."""
    handles: list[Artist] = []
    if attacker:
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                markersize=11,
                markerfacecolor="white",
                markeredgecolor=ATTACKER,
                markeredgewidth=RING,
                linestyle="none",
                label="where the attacker sits",
            )
        )
    if routes:
        handles.append(Line2D([], [], color=ATTACKER, linewidth=3, label="routes it answers"))
    kinds = [
        (REACHED, "clients it can answer"),
        (SAFE, "clients out of its reach"),
        (INFRA, "servers and exchange"),
    ]
    handles += [Patch(color=c, label=text) for c, text in kinds if c in fills]
    return handles


def layered_layout(graph: nx.DiGraph, roots: list[str]) -> dict[str, tuple[float, float]]:
    """Left-to-right layers by distance from ``roots`` (in the order given, then each node's
    successors in insertion order); each layer centred vertically, first node on top."""
    layers: list[list[str]] = [[r for r in roots if r in graph]]
    seen = set(layers[0])
    while layers[-1]:
        nxt = [s for n in layers[-1] for s in graph.successors(n) if s not in seen]
        nxt = list(dict.fromkeys(nxt))
        seen.update(nxt)
        layers.append(nxt)
    rest = [n for n in graph if n not in seen]
    if rest:
        layers.append(rest)
    pos: dict[str, tuple[float, float]] = {}
    for x, layer in enumerate(layers):
        for k, node in enumerate(layer):
            pos[node] = (float(x), (len(layer) - 1) / 2 - k)
    return pos


def _site_cas(world: Any) -> set[str]:
    """The CAs on the chain of a certificate the owner requested for the site."""
    names: set[str] = set()
    for ca in (world.root, world.issuing, world.other_root, world.other_ca):
        if any(r.requester == "owner" and _for_site(world, r) for r in ca.issued):
            while ca is not None:
                names.add(ca.name)
                ca = ca.parent
    return names


def _for_site(world: Any, record: Any) -> bool:
    return bool(record.names) and record.names[0] in (world.host, f"*.{world.host}")


def _ca_role(ca: Any, site: set[str]) -> str:
    """What a CA is to the site, for a reader who does not know the simulated CAs' names."""
    if ca.name in site:
        return "the site's root CA" if ca.parent is None else "issues the site's\ncertificates"
    return "another public\nroot CA" if ca.parent is None else "another public CA,\nnot the site's"


TRUST_KEY = (
    ("#0072B2", "certificate authority (CA)"),
    ("#E69F00", "CA that signed without validating (compromised)"),
    ("#009E73", "certificate the owner requested"),
    ("#D55E00", "certificate the owner never asked for"),
)


def trust_graph(world: Any) -> Figure:
    """Roots, intermediates and issued certificates for the site. Certificates the owner did
    not request are vermilion; a CA whose key signed without validation (compromised) is
    orange and says so. Under each node, what it is to the site; a certificate is named by
    the last four digits of its serial number, as the caption says."""
    ca_colour, breached, owners, rogue_colour = (c for c, _ in TRUST_KEY)
    graph = nx.DiGraph()
    colours: dict[str, str] = {}
    names: dict[str, str] = {}
    roles: dict[str, str] = {}
    numbers: list[str] = []
    site = _site_cas(world)
    for ca in (world.root, world.issuing, world.other_root, world.other_ca):
        compromised = any(not record.validated for record in ca.issued)
        names[ca.name] = ca.name + (" (compromised)" if compromised else "")
        colours[names[ca.name]] = breached if compromised else ca_colour
        roles[names[ca.name]] = _ca_role(ca, site)
        graph.add_node(names[ca.name])
        if ca.parent is not None:
            graph.add_edge(names[ca.parent.name], names[ca.name])
        for record in ca.issued:
            if _for_site(world, record):
                number = f"#{record.serial % 10000:04d}"
                numbers.append(number)
                label = f"certificate\n{number}"
                graph.add_edge(names[ca.name], label)
                own = record.validated and record.requester == "owner"
                colours[label] = owners if own else rogue_colour
                roles[label] = f"requested by\nthe {record.requester}"
    fig, ax = plt.subplots(figsize=(7.5, 4.6), layout="constrained")
    roots = [names[world.root.name], names[world.other_root.name]]
    pos = layered_layout(graph, roots)
    size = 3300
    nodes = list(graph)
    nx.draw_networkx_nodes(
        graph,
        pos,
        ax=ax,
        nodelist=nodes,
        node_size=size,
        node_color=[colours.get(n, "#999999") for n in nodes],
    )
    nx.draw_networkx_edges(graph, pos, ax=ax, node_size=size, arrows=True)
    for n in nodes:
        x, y = pos[n]
        text = n.replace(" ", "\n", 1).replace(" (compromised)", "\n(compromised)")
        colour = colours.get(n, "#999999")
        ax.text(x, y, text, ha="center", va="center", fontsize=7, color=text_colour(colour))
        ax.annotate(
            roles[n],
            (x, y),
            xytext=(0, -36),  # below the circle: its radius is sqrt(size)/2, ~29 points
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=7.5,
        )
    ax.margins(x=0.12, y=0.45)
    rogue = sum(c == rogue_colour for c in colours.values())
    breach = any(c == breached for c in colours.values())
    ax.set_title(
        f"Who vouches for {world.host}?\n{rogue} certificate{'' if rogue == 1 else 's'} "
        "the owner never asked for"
        + ("; a CA's key is in the attacker's hands" if breach else "")
        + "\n"
        + _settings_line(world, None),
        fontsize=10,
    )
    drawn = set(colours.values())
    ax.legend(
        handles=[Patch(color=c, label=text) for c, text in TRUST_KEY if c in drawn],
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncols=2,
        fontsize=8,
        frameon=False,
        title=f"{numbers[-1]}: the last four digits of a certificate's serial number"
        if numbers
        else None,
        title_fontsize=8,
    )
    ax.axis("off")
    return fig
