"""The sentences charts put in their titles, computed from the table they draw.

Every function here is pure (a tidy table in, a sentence out) so each claim can be tested
both ways on a hand-built table. The rule for a win is stated once, in :func:`better`:

- a value is compared across seeds: one cell beats another only if the difference of their
  means is larger than either cell's range over seeds, *and* at least the metric's
  resolution (:attr:`MetricStyle.resolution`, e.g. 1 h, 1 percentage point), so a single
  seed cannot crown a winner by noise;
- where a run can have no value (detection: never detected), the share of runs that have
  one is compared first, so the winner cannot flip on which runs were dropped from a mean;
  a rate no run had connections for (``visit_prob=0``) is n/a and beats nothing;
- a defence wins a row only if no other defence beats it (the undominated set); when that
  set holds several defences they are tied, and a title says so.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from simlab.charts.style import METRIC_STYLES, format_value

__all__ = [
    "REACH",
    "Rate",
    "Summary",
    "applies",
    "axis_order",
    "best_of",
    "better",
    "cells",
    "describe",
    "failure_causes",
    "heatmap_claim",
    "rate_better",
    "reach_claim",
    "run_settings",
    "split_eras",
    "sweep_claim",
    "tie_note",
    "timeline_claim",
    "worst_of",
]

TIE_RULE = (
    "a difference counts only if it exceeds the seed range and {res}; "
    "otherwise the defences are tied"
)

REACH: dict[str, str] = {
    "mitm": "on-path",
    "mitm-local-root": "on-path",
    "ca-compromise": "on-path",
    "key-theft": "on-path",
    "domain-hijack": "dns",
    "hpkp-ransom": "server",
    "key-loss": "none",
}
"""Who a story's attacker can answer (see ``simlab.stories``): clients whose route passes its
on-path position; every client, because DNS points to it (a registrar takeover); every
client, because it runs the real server; or nobody (no attacker)."""


@dataclass(frozen=True)
class Summary:
    """One metric over the runs of one cell, in display units. ``valued`` runs have a
    value (for detection time: the runs that detected); mean/low/high are over those."""

    runs: int
    valued: int
    mean: float
    low: float
    high: float

    @property
    def share(self) -> float:
        return self.valued / self.runs if self.runs else 0.0

    @classmethod
    def of(cls, values: Iterable[float]) -> Summary:
        series = pd.Series(list(values), dtype=float)
        have = series.dropna()
        if have.empty:
            return cls(len(series), 0, math.nan, math.nan, math.nan)
        low, high = float(have.min()), float(have.max())
        # A float mean can round outside its own values (three runs of 0.1 average above
        # 0.1), which would make an error bar negative: keep it between them.
        return cls(len(series), len(have), min(max(float(have.mean()), low), high), low, high)


def split_eras(table: pd.DataFrame, column: str) -> pd.DataFrame:
    """A table that mixes client eras (an ``era`` column with several values) gets the era
    appended to ``column`` ("mitm (2016-01)"), so no cell pools runs from different eras."""
    if "era" not in table or column == "era" or table["era"].nunique(dropna=True) < 2:
        return table
    era = table["era"].astype(str)
    return table.assign(**{column: table[column].astype(str) + " (" + era + ")"})


def better(a: Summary, b: Summary, metric: str) -> bool:
    """Whether ``a`` is better than ``b`` beyond noise (the rule in the module docstring)."""
    style = METRIC_STYLES[metric]
    if metric == "detection_time" and not math.isclose(a.share, b.share):
        return a.share > b.share
    if a.valued == 0 or b.valued == 0:  # a rate with no connections compares with nothing
        return False
    diff = (b.mean - a.mean) if style.lower_is_better else (a.mean - b.mean)
    noise = max(a.high - a.low, b.high - b.low)
    return diff > noise and diff >= style.resolution * (1 - 1e-9)


def best_of(row: Mapping[str, Summary], metric: str) -> list[str]:
    """The defences no other defence in ``row`` beats (one name: a clear winner)."""
    return [d for d in row if not any(better(row[e], row[d], metric) for e in row if e != d)]


def worst_of(row: Mapping[str, Summary], metric: str) -> list[str]:
    """The defences that beat no other defence in ``row``."""
    return [d for d in row if not any(better(row[d], row[e], metric) for e in row if e != d)]


def applies(metrics: pd.DataFrame, metric: str) -> dict[str, bool]:
    """Per scenario, whether ``metric`` means anything there. Attacker metrics are n/a in a
    scenario whose runs had no attacker: the table's ``attacker_connections`` is 0 in every
    run (written by :func:`simlab.sweep.sweep`). Without that column, every metric applies."""
    names = list(dict.fromkeys(metrics["scenario"]))
    if not METRIC_STYLES[metric].needs_attacker or "attacker_connections" not in metrics:
        return dict.fromkeys(names, True)
    total = metrics.groupby("scenario", sort=False)["attacker_connections"].sum()
    return {name: bool(total[name] > 0) for name in names}


def cells(metrics: pd.DataFrame, metric: str, row: str) -> dict[Hashable, dict[str, Summary]]:
    """``{row value: {defence: Summary}}`` in the table's order, values in display units."""
    values = pd.to_numeric(metrics[metric], errors="coerce") / METRIC_STYLES[metric].scale
    frame = metrics[[row, "defence"]].assign(_v=values)
    out: dict[Hashable, dict[str, Summary]] = {}
    for (key, defence), part in frame.groupby([row, "defence"], sort=False):
        out.setdefault(key, {})[str(defence)] = Summary.of(part["_v"])
    return out


def describe(metric: str, cell: Summary) -> str:
    """A cell as a reader sees it: "1.0 h", "never", "41 h (2 of 3 runs)"."""
    if cell.valued == 0:
        return "never" if metric == "detection_time" else "n/a"
    text = format_value(metric, cell.mean)
    if cell.valued < cell.runs:
        text += f" ({cell.valued} of {cell.runs} runs)"
    return text


def _names(defences: list[str]) -> str:
    quoted = [f"'{d}'" for d in defences]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _comparable(metric: str, cell: Summary) -> bool:
    """Whether ``cell`` can take part in a comparison: it has a value, or it is detection
    time, where "never" is a result (a rate with no connections is n/a, not a result)."""
    return cell.valued > 0 or metric == "detection_time"


def heatmap_claim(metrics: pd.DataFrame, metric: str) -> str:
    """Which defence is best across the scenarios where ``metric`` applies, or that none is.

    "'static' lets the attacker in least in 4 of 6 scenarios and ties for it in the rest" only
    if 'static' is undominated in every row and alone best in 4; a defence never beaten but
    never alone best is no winner ("no defence is best alone in any scenario"); otherwise the
    defence that wins alone most often, or a neutral statement. The rows where every defence
    ties are counted, so ties cannot read as wins; a defence alone worst in most rows is named.
    """
    style = METRIC_STYLES[metric]
    ok = applies(metrics, metric)
    grid = {k: v for k, v in cells(metrics, metric, "scenario").items() if ok.get(str(k), True)}
    rows = {k: v for k, v in grid.items() if sum(_comparable(metric, c) for c in v.values()) >= 2}
    n = len(rows)
    if n == 0:
        return "no scenario has two defences with a value to compare"
    best = {k: best_of(v, metric) for k, v in rows.items()}
    worst = {k: worst_of(v, metric) for k, v in rows.items()}
    if all(len(best[k]) == len(rows[k]) for k in rows):
        return "no defence differs from another beyond seed noise in any scenario"
    defences = list(dict.fromkeys(d for v in rows.values() for d in v))
    everywhere = [d for d in defences if all(d in best[k] for k in rows)]
    alone = Counter(b[0] for b in best.values() if len(b) == 1)
    scenarios = "the only scenario" if n == 1 else f"all {n} scenarios"
    if len(everywhere) == 1:
        d = everywhere[0]
        if alone[d] == n:
            claim = f"'{d}' {style.best}" + ("" if n == 1 else f" in {scenarios}")
        elif alone[d]:
            claim = f"'{d}' {style.best} in {alone[d]} of {n} scenarios and ties for it in the rest"
        else:  # never beaten, but never ahead alone either: no winner to name
            claim = f"no defence is best alone in any scenario; '{d}' ties for best in {scenarios}"
    elif everywhere:
        claim = f"{_names(everywhere)} are best or tied in {scenarios}"
    else:
        top = alone.most_common(2)
        if top and (len(top) == 1 or top[0][1] > top[1][1]):
            claim = (
                f"no defence is best everywhere; '{top[0][0]}' is best alone in {top[0][1]} of {n}"
            )
        else:
            claim = "no defence is best in every scenario"
    ties = sum(len(best[k]) == len(rows[k]) for k in rows)
    if ties:
        claim += f"; all defences tie in {ties} of {n}"
    losers = Counter(w[0] for w in worst.values() if len(w) == 1)
    if losers and len(defences) >= 3:  # with two, the worst is just the other one
        (w, k), *rest = losers.most_common(2)
        if k > n / 2 and (not rest or rest[0][1] < k) and w not in everywhere:
            claim += f"; '{w}' {style.worst} in {k} of {n}"
    return claim


def failure_causes(metrics: pd.DataFrame) -> list[str]:
    """Whose doing the failed connections to the real site are, where the table can tell.

    In a scenario whose runs had no attacker (``attacker_connections`` 0 in every run) every
    failure is self-inflicted. Where 'none' (a site that deploys nothing) has failures, the
    attacker alone caused those; under the other defences the same scenario may add failures
    of their own, so only the 'none' share is attributed. Elsewhere the table cannot tell,
    and nothing is said.
    """
    if "attacker_connections" not in metrics:
        return []
    metric = "legit_failure_rate"
    ok = applies(metrics, "interception_rate")  # False: no attacker in that scenario's runs
    grid = cells(metrics, metric, "scenario")
    own = [str(k) for k, row in grid.items() if not ok[str(k)] and _fails(row.values())]
    theirs = [
        f"{describe(metric, row['none'])} of the connections in {k}"
        for k, row in grid.items()
        if ok[str(k)] and "none" in row and _fails([row["none"]])
    ]
    notes = []
    if own:
        notes.append(
            f"self-inflicted: the failures in {', '.join(own)} (no attacker in these runs: "
            "the site caused them itself)"
        )
    if theirs:
        notes.append(
            f"the attacker's doing: under 'none', where the site deploys nothing, "
            f"{', '.join(theirs)} failed"
        )
    return notes


def _fails(summaries: Iterable[Summary]) -> bool:
    res = METRIC_STYLES["legit_failure_rate"].resolution
    return any(c.valued and c.mean >= res * (1 - 1e-9) for c in summaries)


def tie_note(metric: str) -> str:
    """The tie rule in words, with the metric's resolution."""
    style = METRIC_STYLES[metric]
    if style.unit == "%":
        res = f"{style.resolution * 100:g} percentage point"
    else:
        res = format_value(metric, style.resolution).replace(".0 ", " ")
    return TIE_RULE.format(res=f"is at least {res}")


@dataclass(frozen=True)
class Rate:
    """Accepted attacker connections over a denominator, pooled over seeds, with the range
    of the per-seed rates."""

    accepted: float
    total: float
    low: float
    high: float

    @property
    def value(self) -> float:
        return self.accepted / self.total if self.total else 0.0


def rate_better(a: Rate, b: Rate) -> bool:
    """``a`` intercepts less than ``b`` beyond noise: by more than the per-seed ranges, more
    than two standard errors of the difference of two proportions, and at least one
    percentage point. (Two standard errors is the usual ~95% normal-approximation bound.)"""
    pa, pb = a.value, b.value
    if not (a.total and b.total):
        return False
    se = math.sqrt(pa * (1 - pa) / a.total + pb * (1 - pb) / b.total)
    return pb - pa > max(a.high - a.low, b.high - b.low, 2 * se, 0.01 - 1e-12)


def timeline_rates(daily: pd.DataFrame) -> tuple[dict[str, Rate], bool]:
    """Per defence, the share of connections the attacker had accepted, pooled over seeds.
    The denominator is the attacker's connections when the table has an ``attacker`` column
    (written by :func:`simlab.sweep.sweep`), else all connections; the flag says which."""
    by_attacker = "attacker" in daily
    accepted = daily["intercepted"] + daily["clicked_through"]
    outcomes = ["connected", "intercepted", "clicked_through", "blocked"]
    total = daily["attacker"] if by_attacker else daily[outcomes].sum(axis=1)
    frame = daily[["defence"]].assign(_a=accepted, _t=total, _s=daily.get("seed", 0))
    out: dict[str, Rate] = {}
    for defence, part in frame.groupby("defence", sort=False):
        per_seed = part.groupby("_s")[["_a", "_t"]].sum()
        seeds = per_seed[per_seed["_t"] > 0]
        rates = seeds["_a"] / seeds["_t"]
        out[str(defence)] = Rate(
            float(part["_a"].sum()),
            float(part["_t"].sum()),
            float(rates.min()) if len(rates) else 0.0,
            float(rates.max()) if len(rates) else 0.0,
        )
    return out, by_attacker


def _span(values: list[float]) -> str:
    low, high = f"{min(values):.0%}", f"{max(values):.0%}"
    return low if low == high else f"{low[:-1]}-{high}"


def timeline_claim(daily: pd.DataFrame, scenario: str) -> str:
    """Which defence let the attacker in least and most in ``scenario``, by :func:`rate_better`;
    "no defence differs" when every pair is within noise."""
    rows = daily[daily["scenario"] == scenario]
    accepted = float((rows["intercepted"] + rows["clicked_through"]).sum())
    if "attacker" in rows and float(rows["attacker"].sum()) == 0:
        if float(rows["blocked"].sum()) > 0:
            return "no attacker; the failed connections are the site's own users locked out"
        return "no attacker; every connection reached the real site"
    if accepted == 0:
        if float(rows["blocked"].sum()) > 0:
            return "nobody was intercepted; blocked connections are shown in blue"
        return "every connection reached the real site"
    rates, by_attacker = timeline_rates(rows)
    of = "of the attacker's connections" if by_attacker else "of all connections"
    best = [d for d in rates if not any(rate_better(rates[e], rates[d]) for e in rates)]
    worst = [d for d in rates if not any(rate_better(rates[d], rates[e]) for e in rates)]
    values = [r.value for r in rates.values()]
    if len(best) == len(rates):
        return f"no defence differs beyond noise: each let in {_span(values)} {of}"
    claim = (
        f"fewest interceptions under {_names(best)} ({_span([rates[d].value for d in best])} {of})"
    )
    if len(worst) == 1:
        claim += f", most under '{worst[0]}' ({rates[worst[0]].value:.0%})"
    return claim


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    return str(value)


def axis_order(values: pd.Series) -> list[Any]:
    """The swept values in axis order: numbers and booleans sorted, words as given."""
    seen = list(dict.fromkeys(values.dropna().tolist()))
    if any(isinstance(v, str) for v in seen):
        return seen
    try:
        return sorted(seen)
    except TypeError:
        return seen


def sweep_claim(metrics: pd.DataFrame, param: str, metric: str) -> str:
    """Under which defences ``param`` changes ``metric`` beyond noise (:func:`better` between
    any two swept values), and the largest such change."""
    if (
        "attacker_connections" in metrics
        and METRIC_STYLES[metric].needs_attacker
        and float(metrics["attacker_connections"].sum()) == 0
    ):
        return "n/a: no attacker in these runs"
    moved: list[str] = []
    steady: list[str] = []
    largest: tuple[float, float, str, str, str] | None = None
    table = metrics.assign(_key=metrics[param].map(_value_text))
    order = [_value_text(v) for v in axis_order(metrics[param])]
    by_defence: dict[str, dict[str, Summary]] = {}
    for key, row in cells(table, metric, "_key").items():
        for defence, cell in row.items():
            by_defence.setdefault(defence, {})[str(key)] = cell
    for defence, per_value in by_defence.items():
        keys = list(per_value)
        pairs = [(a, b) for a in keys for b in keys if better(per_value[a], per_value[b], metric)]
        if not pairs:
            steady.append(defence)
            continue
        moved.append(defence)
        for a, b in pairs:
            ca, cb = per_value[a], per_value[b]
            size = (
                abs(ca.share - cb.share),
                abs(ca.mean - cb.mean) if ca.valued and cb.valued else 0.0,
            )
            if largest is None or size > largest[:2]:
                largest = (*size, defence, b, a)
    if largest is None:
        return "no effect beyond seed noise under any defence"
    _, _, where, worst_key, best_key = largest
    cw, cb = by_defence[where][worst_key], by_defence[where][best_key]
    ends = sorted([(worst_key, cw), (best_key, cb)], key=lambda kc: order.index(kc[0]))
    change = f"'{where}', " + " vs ".join(f"{describe(metric, c)} at {k}" for k, c in ends)
    claim = f"changes it under {_names(moved)}"
    if steady:
        claim += f", not under {_names(steady)}"
    return f"{claim} (largest: {change})"


def run_settings(table: pd.DataFrame, *, exclude: Iterable[str] = ()) -> str:
    """The settings a reader needs to reproduce a chart: seeds, clients, the era whose
    clients ran ("clients: the web of 2018-10", from the ``era`` column) and every parameter
    column whose value is not its default."""
    from simlab.world import Settings

    defaults: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(Settings)}
    skip = set(exclude)
    parts: list[str] = []
    if "seed" in table and "seed" not in skip:
        n = int(table["seed"].nunique())
        parts.append(f"{n} seed{'s' if n != 1 else ''}")
    if "n_clients" not in skip:
        clients = (
            sorted(int(v) for v in table["n_clients"].dropna().unique())
            if "n_clients" in table
            else [int(defaults["n_clients"])]
        )
        parts.append("/".join(map(str, clients)) + " clients")
    if "era" in table and "era" not in skip:
        eras = sorted(str(v) for v in table["era"].dropna().unique())
        if eras:
            parts.append("clients: the web of " + ", ".join(eras))
    for name in table.columns:
        if name in skip or name in ("n_clients", "era", "seed") or name not in defaults:
            continue
        values = list(dict.fromkeys(v for v in table[name].tolist() if not _missing(v)))
        if values and values != [defaults[name]]:
            parts.append(f"{name}=" + "/".join(_value_text(v) for v in values))
    return " · ".join(parts)


def _missing(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def reach_claim(
    kind: str,
    position: str,
    clients: Mapping[str, int],
    reached: Iterable[str],
    intercepted: int | None,
) -> str:
    """The network graph's title: who the attacker could answer and how many it intercepted.

    ``kind`` is a :data:`REACH` value, ``clients`` the clients per access network and
    ``reached`` the access networks whose route the attacker answers."""
    hit = set(reached)
    n = sum(clients[a] for a in clients if a in hit)
    total = sum(clients.values())
    everyone = hit >= set(clients)
    tail = "" if intercepted is None else f"; {intercepted} intercepted"
    if kind == "none":
        return (
            "No attacker in this story: nobody is intercepted"
            if not intercepted
            else (f"No attacker in this story{tail}")
        )
    if kind == "dns":
        return (
            f"DNS points every client to the attacker's server: all {total} clients reached{tail}"
        )
    if kind == "server":
        return f"The attacker runs the real server: all {total} clients reached{tail}"
    if everyone:
        return f"An attacker on-path at {position} sits on every route: all {total} clients{tail}"
    nets = ", ".join(a for a in clients if a in hit)
    return f"An attacker on-path at {position} reaches only {nets}: {n} of {total} clients{tail}"
