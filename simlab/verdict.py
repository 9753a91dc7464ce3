"""Did CT replace pinning "without compromising the quality of service"? The data decides.

Two webs are compared over every scenario: the web of the HPKP era (the clients of a month
when browsers noted HPKP and few required CT, and a site that deployed HPKP) and the web after
it (the clients of a month when Chrome required CT and no browser noted HPKP, and a site that
logged its certificates and watched the logs). Each is measured on both axes of the claim:

- protection: the share of the attacker's connections accepted, and the exposure window;
- quality of service: the share of connections to the real site that failed, and the longest
  lock-out.

Every sentence :func:`conclusions` returns is computed from the table it is given, with a
stated rule for noise, so a different table gives a different sentence; a test feeds it tables
where the claim holds and where it does not.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Executor
from dataclasses import dataclass

import pandas as pd

from simlab.sweep import compare

__all__ = ["WEBS", "Web", "better_in", "compare_webs", "conclusions", "verdict"]


@dataclass(frozen=True)
class Web:
    """The clients of an era, and what a security-conscious site deployed then."""

    label: str
    era: str
    defence: str


WEBS = (
    Web("HPKP era", "2017-06", "hpkp"),
    Web("CT era", "2020-06", "ct"),
)
"""June 2017: Chrome 59 and Firefox 54 noted HPKP and no browser required CT of a DV
certificate. June 2020: Chrome 83 required CT of every new certificate and neither Chrome nor
Firefox noted HPKP (both dropped it in their version 72)."""

PROTECTION = ("interception_rate", "exposure_window")
SERVICE = ("legit_failure_rate", "lockout_duration")
NOISE = {"interception_rate": 0.02, "legit_failure_rate": 0.002}
"""A difference counts only if it is larger than this and than the spread over seeds."""


def compare_webs(
    webs: Iterable[Web] = WEBS,
    *,
    seeds: int = 2,
    executor: Executor | None = None,
    workers: int | None = None,
    **params: object,
) -> pd.DataFrame:
    """Every scenario in each web: one row per scenario, web and seed, with the metrics."""
    frames = []
    for web in webs:
        metrics, _ = compare(
            seeds=seeds,
            defences=[web.defence],
            params={**params, "era": web.era},
            executor=executor,
            workers=workers,
            progress=False,
        )
        frames.append(metrics.assign(web=web.label))
    return pd.concat(frames, ignore_index=True)


def better_in(table: pd.DataFrame, metric: str, first: str, second: str) -> list[str]:
    """Scenarios where web ``first`` has a lower ``metric`` than ``second`` beyond noise."""
    out = []
    for scenario, rows in table.groupby("scenario", sort=False):
        a = rows[rows["web"] == first][metric].astype(float)
        b = rows[rows["web"] == second][metric].astype(float)
        spread = max(a.max() - a.min(), b.max() - b.min())
        if b.mean() - a.mean() > max(NOISE.get(metric, 0.0), spread):
            out.append(str(scenario))
    return out


def _names(scenarios: list[str]) -> str:
    return ", ".join(scenarios) if scenarios else "none"


def conclusions(table: pd.DataFrame, webs: tuple[Web, Web] = WEBS) -> list[str]:
    """The findings, one sentence each, computed from ``table`` (see :func:`compare_webs`)."""
    old, new = webs[0].label, webs[1].label
    scenarios = table["scenario"].nunique()
    worse = better_in(table, "interception_rate", old, new)
    better = better_in(table, "interception_rate", new, old)
    lines = [
        f"Protection: the {new} let the attacker in more often in {len(worse)} of "
        f"{scenarios} scenarios ({_names(worse)}) and less often in {len(better)} "
        f"({_names(better)})."
    ]
    outages = {
        web: sorted(
            table[(table["web"] == web) & (table["legit_failure_rate"] > 0)]["scenario"].unique()
        )
        for web in (old, new)
    }
    lock = {
        web: float(table[table["web"] == web]["lockout_duration"].max()) / 86400
        for web in (old, new)
    }
    lines.append(
        f"Quality of service: connections to the real site failed in {len(outages[old])} "
        f"scenarios in the {old} (longest lock-out {lock[old]:.0f} days) and in "
        f"{len(outages[new])} in the {new} (longest {lock[new]:.0f} days)."
    )
    attacked = table[table["attacker_connections"] > 0]
    seen = attacked[attacked["detection_time"].notna()].groupby("web")["scenario"].nunique()
    lines.append(
        f"Detection: of the {attacked['scenario'].nunique()} scenarios with an attacker, the "
        f"owner learned of the attack in {int(seen.get(old, 0))} in the {old} and in "
        f"{int(seen.get(new, 0))} in the {new}."
    )
    lines.append(verdict(table, webs))
    return lines


def verdict(table: pd.DataFrame, webs: tuple[Web, Web] = WEBS) -> str:
    """Yes, no or it depends: did the newer web protect as well without worse service?"""
    old, new = webs[0].label, webs[1].label
    worse_protection = better_in(table, "interception_rate", old, new)
    worse_service = better_in(table, "legit_failure_rate", old, new)
    if not worse_protection and not worse_service:
        return (
            f"Verdict: yes. In every scenario the {new} protected as well as the {old}, "
            "and no scenario cost more legitimate connections."
        )
    if worse_protection and worse_service:
        return (
            f"Verdict: no. The {new} let the attacker in more often ({_names(worse_protection)}) "
            f"and failed more legitimate connections ({_names(worse_service)})."
        )
    if worse_protection:
        return (
            f"Verdict: it depends. The {new} kept or improved the quality of service, but did "
            f"not replace pinning's protection: the attacker got in more often in "
            f"{_names(worse_protection)}."
        )
    return (
        f"Verdict: it depends. The {new} protected as well, but failed more legitimate "
        f"connections in {_names(worse_service)}."
    )
