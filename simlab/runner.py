"""Run one scenario under one defence and measure what happened.

``simlab.run("ca-compromise", "static", seed=1, attack_days=3)`` builds a world, applies
the defence's client and server settings, lets the scenario's story act, runs every
client visit through the decision pipeline, and returns a :class:`Result` with a tidy
table (one row per connection) and the per-run metrics derived from it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import gc
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from simlab import batch
from simlab.errors import ScenarioError, shown
from simlab.limits import check_seed
from simlab.scenario_file import ScenarioSpec, builtin_scenarios, check_params, load_scenario
from simlab.stories import STORIES
from simlab.table import Rows
from simlab.table import build as build_table
from simlab.world import Settings, World, check_settings

__all__ = [
    "DEFENCES",
    "ENGINES",
    "METRICS",
    "Result",
    "build",
    "resolve_scenario",
    "run",
    "settings_for",
]

DEFENCES: dict[str, dict[str, bool]] = {
    "none": {},
    "static": {"preload": True, "app_pins": True},
    "hpkp": {"hpkp": True},
    "ct": {"ct": True},
    "hpkp+ct": {"hpkp": True, "ct": True},
}
"""Each defence is what the *site* deploys; its clients' behaviour comes from the era.

- ``none``: nothing.
- ``static``: the site is on the browsers' preload pin list (enforced where the era's builds
  enforce it) and its app bundles pins.
- ``hpkp``: the site sends ``Public-Key-Pins`` with a backup pin.
- ``ct``: the owner's certificates are logged, the owner's monitor watches the logs, and
  the site sends ``Expect-CT: enforce`` (honoured where the era's browsers do).
- ``hpkp+ct``: both.
"""

DEFENCE_TEXT = {
    "none": "the site deploys nothing",
    "static": "on the browsers' preload pin list, and pins bundled in its app",
    "hpkp": "sends Public-Key-Pins with a backup pin",
    "ct": "logged certificates, a monitor the owner watches, Expect-CT",
    "hpkp+ct": "both hpkp and ct",
}

METRICS = (
    "interception_rate",
    "legit_failure_rate",
    "detection_time",
    "detected_by",
    "exposure_window",
    "lockout_duration",
    "clients_affected",
)

COLUMNS = ["time", "client", "kind", "release", "access", "responder", "legit", "outcome", "reason"]


@dataclass
class Result:
    """One run: ``metrics`` (a dict with :data:`METRICS`) and ``table`` (one row per connection)."""

    scenario: str
    defence: str
    seed: int
    params: dict[str, Any]
    metrics: dict[str, Any]
    table: pd.DataFrame
    events: list[tuple[float, str]]
    world: World = field(repr=False)

    def daily(self) -> pd.DataFrame:
        """Connections per day and outcome (for timelines)."""
        counts = self.table.groupby(["day", "outcome"]).size().unstack(fill_value=0)
        return counts.reindex(
            columns=["connected", "intercepted", "clicked_through", "blocked"], fill_value=0
        )


def resolve_scenario(scenario: str | Path | ScenarioSpec) -> ScenarioSpec:
    if isinstance(scenario, ScenarioSpec):
        return scenario
    text = str(scenario)
    if text.endswith(".toml"):
        return load_scenario(text)
    builtins = builtin_scenarios()
    if text not in builtins:
        raise ScenarioError(f"unknown scenario {shown(text)}; valid: {', '.join(builtins)}")
    return builtins[text]


def settings_for(
    scenario: str | Path | ScenarioSpec,
    defence: str,
    params: dict[str, Any],
    *,
    where: str | None = None,
) -> tuple[ScenarioSpec, dict[str, Any], Settings]:
    """The scenario, its merged parameters and the checked settings of one run, without
    building anything: bad names and values fail here, before any world exists. An error
    starts with ``where`` (default: the scenario and ``params``); a caller that adds
    parameters of its own, as a replay does, names what the user asked for instead."""
    spec = resolve_scenario(scenario)
    if not isinstance(defence, str) or defence not in DEFENCES:
        raise ScenarioError(f"unknown defence {shown(defence)}; valid: {', '.join(DEFENCES)}")
    merged = {**spec.params, **check_params(params, where or f"scenario {spec.name!r}")}
    settings = dataclasses.replace(Settings(), **{**merged, **DEFENCES[defence]})
    if where is None:
        given = ", ".join(f"{k}={shown(v)}" for k, v in params.items())
        where = f"scenario {spec.name!r} with {given}" if params else spec.name
    check_settings(settings, where)
    # Every run says which clients it simulated: the era is always one of its parameters.
    return spec, {"era": settings.era, **merged}, settings


def build(
    scenario: str | Path | ScenarioSpec,
    defence: str,
    seed: int = 0,
    *,
    epoch: dt.datetime | None = None,
    **params: Any,
) -> tuple[ScenarioSpec, dict[str, Any], World]:
    """A world with the scenario's story scheduled but not yet run (see :func:`run`).
    ``epoch`` (default: the first day of the era) is when simulated time 0 falls."""
    seed = check_seed(seed)
    spec, merged, settings = settings_for(scenario, defence, params)
    world = World(settings, seed=seed, epoch=epoch)
    world.engine.process(STORIES[spec.story](world))
    return spec, merged, world


ENGINES = ("batched", "reference")
"""How a run's visits are processed; both give equal tables, metrics and events.

- ``batched`` (the default, :mod:`simlab.batch`): one decision per class of visits that
  must be decided alike, reused across the class;
- ``reference``: every visit through :meth:`World.connect`, the pipeline ``simlab live``
  and the notebooks step through.
"""


def run(
    scenario: str | Path | ScenarioSpec,
    defence: str,
    seed: int = 0,
    *,
    engine: object = "batched",
    **params: Any,
) -> Result:
    """Run ``scenario`` (a built-in name, a .toml path or a spec) under ``defence``.

    ``engine`` is one of :data:`ENGINES` (typed ``object`` so that callers may pass
    parameters as ``**dict[str, object]``; anything else is a :class:`ScenarioError`)."""
    if not isinstance(engine, str) or engine not in ENGINES:
        raise ScenarioError(f"unknown engine {shown(engine)}; valid: {', '.join(ENGINES)}")
    seed = check_seed(seed)
    with _gc_paused():
        spec, merged, world = build(scenario, defence, seed, **params)
        if engine == "batched":
            rows = batch.run(world)
        else:
            world.run()
            rows = Rows.from_tuples(world.rows)
        table = build_table(rows, spec.name, defence, seed, merged)
    return Result(
        spec.name,
        defence,
        seed,
        merged,
        metrics(world, table),
        table,
        sorted(world.events, key=lambda event: event[0]),
        world,
    )


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """CPython's cyclic collector off for one run (either engine): a run allocates
    millions of short-lived acyclic objects, and each full collection rescans every
    client's state; at 10,000 clients the scans cost a third of the batched engine's time.
    Reference counting still frees everything; the collector resumes after the run."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def metrics(world: World, table: pd.DataFrame) -> dict[str, Any]:
    """The per-run metrics, all derived from the table and the world's detection signals.

    - interception_rate: share of connections answered by the attacker that the client
      accepted (with or without clicking through a warning); None if the attacker answered
      none (no attacker in the story, or no connections at all: ``visit_prob=0``);
    - legit_failure_rate: share of connections to the legitimate server that failed: an
      outage the site's own defence caused, or one an attacker's pins left (hpkp-ransom);
      None if there were none;
    - detection_time / detected_by: seconds from the attack's start to the first detection
      signal reaching the owner, and which signal it was (None if none came);
    - exposure_window: seconds from the attack's start to the last accepted interception;
    - lockout_duration: the longest lock-out seen at one client's visits, in seconds: from
      the first to the last of its failed visits to the legitimate server in a row (with no
      successful visit there between them). A lower bound: the lock-out began at or before
      its first failure and ended between its last failure and the client's next success,
      which a client's absence can put days after the pins expired; so a lock-out seen at
      one failed visit counts 0. A client locked out, let in and locked out again has two
      lock-outs, each measured on its own. Visits answered by the attacker neither start nor
      end one. 0.0 if no client ever failed;
    - clients_affected: clients intercepted at least once or locked out at least once.
    """
    # Masks over the columns, not filtered tables: a filter copies all ~25 columns.
    time = table["time"].to_numpy()
    client = table["client"].to_numpy()
    legit = table["legit"].to_numpy(dtype=bool)
    attacker = ~legit & _isin(table["responder"], ("attacker",))
    accepted = attacker & _isin(table["outcome"], ("intercepted", "clicked_through"))
    failures = legit & _isin(table["outcome"], ("blocked",))
    n_attacker, n_accepted = int(attacker.sum()), int(accepted.sum())
    n_legit, n_failures = int(legit.sum()), int(failures.sum())
    first = world.detections[0] if world.detections else None
    return {
        "interception_rate": n_accepted / n_attacker if n_attacker else None,
        "legit_failure_rate": n_failures / n_legit if n_legit else None,
        "detection_time": max(0.0, first[0] - world.attack_start) if first else None,
        "detected_by": first[1] if first else None,
        "exposure_window": float(time[accepted].max() - world.attack_start) if n_accepted else 0.0,
        "lockout_duration": _longest_lockout(client[legit], time[legit], failures[legit]),
        "clients_affected": len(pd.unique(np.concatenate([client[accepted], client[failures]]))),
    }


def _isin(column: pd.Series, values: tuple[str, ...]) -> npt.NDArray[np.bool_]:
    """``column.isin(values)`` as an array; a categorical's by a flag per category, looked
    up by code (the last flag, False, is code -1: a missing value)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        categories = column.cat.categories
        flags = np.zeros(len(categories) + 1, dtype=bool)
        flags[[i for i, c in enumerate(categories) if c in values]] = True
        found: npt.NDArray[np.bool_] = flags[column.cat.codes.to_numpy()]
        return found
    return column.isin(values).to_numpy(dtype=bool)


def _longest_lockout(
    clients: npt.NDArray[Any],
    times: npt.NDArray[np.float64],
    failed: npt.NDArray[np.bool_],
) -> float:
    """The longest lock-out (see :func:`metrics`) among visits to the legitimate server:
    from the first to the last failure of each run of failures, in one client's visits in
    time order; 0.0 if none failed."""
    if not failed.any():
        return 0.0
    # Only the visits of clients that ever failed: in most runs, a small share of the table.
    ever = np.isin(clients, np.unique(clients[failed]))
    clients, times, failed = clients[ever], times[ever], failed[ever]
    order = np.lexsort((times, clients))  # by client, then time; stable for equal times
    clients, times, failed = clients[order], times[order], failed[order]
    same_as_previous = np.r_[False, clients[1:] == clients[:-1]]
    same_as_next = np.r_[same_as_previous[1:], False]
    starts = failed & ~(same_as_previous & np.r_[False, failed[:-1]])
    lasts = failed & ~(same_as_next & np.r_[failed[1:], False])
    # Each run of failures has one start and one last, in the same order.
    return float((times[lasts] - times[starts]).max())
