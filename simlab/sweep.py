"""Many runs -> one tidy table. Any ``concurrent.futures.Executor`` will do.

The default is a process pool sized to the machine; a Dask ``distributed.Client`` works
the same way through ``client.get_executor()``. Each run is independent and seeded, so the
table is identical whichever executor computed it (rows are sorted before returning).
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import pandas as pd
from tqdm import tqdm

from simlab.limits import MAX_RUNS, MAX_SEEDS, MAX_WORKERS, check_count, check_runs
from simlab.runner import DEFENCES, METRICS, resolve_scenario, run, settings_for
from simlab.scenario_file import builtin_scenarios

__all__ = [
    "MAX_RUNS",
    "MAX_SEEDS",
    "MAX_WORKERS",
    "Job",
    "check_count",
    "check_runs",
    "compare",
    "parameter_sweep",
    "sweep",
]


@dataclass(frozen=True)
class Job:
    scenario: str
    defence: str
    seed: int
    params: tuple[tuple[str, Any], ...] = ()


def _execute(job: Job) -> tuple[dict[str, Any], pd.DataFrame]:
    result = run(job.scenario, job.defence, seed=job.seed, **dict(job.params))
    # Connections the attacker answered: charts mark attacker metrics n/a where it is 0
    # (a story without an attacker), and shade the days it was active on timelines.
    answered = result.table["responder"] == "attacker"
    labels = {
        "scenario": job.scenario,
        "defence": job.defence,
        "seed": job.seed,
        "era": result.params["era"],
        **dict(job.params),
    }
    row = {**labels, **result.metrics, "attacker_connections": int(answered.sum())}
    daily = result.daily()
    attacker = result.table[answered].groupby("day").size()
    daily = daily.assign(attacker=attacker.reindex(daily.index, fill_value=0)).reset_index()
    # A frame, not records: a run without connections (visit_prob=0) keeps its columns.
    days = pd.DataFrame({**labels, **{str(c): daily[c] for c in daily.columns}}, daily.index)
    return row, days


def sweep(
    jobs: Sequence[Job],
    *,
    executor: Executor | None = None,
    workers: int | None = None,
    progress: bool | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every job; return (metrics: one row per run, daily: one row per run and day).

    Every job's scenario, defence and parameters are checked before the first one runs.
    """
    check_count("workers", workers)
    check_runs(len(jobs))
    specs = {name: resolve_scenario(name) for name in dict.fromkeys(j.scenario for j in jobs)}
    for job in dict.fromkeys((j.scenario, j.defence, j.params) for j in jobs):
        settings_for(specs[job[0]], job[1], dict(job[2]))  # each file is read once
    show = sys.stderr.isatty() if progress is None else progress
    own = executor is None
    if executor is None:
        executor = ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1)
    results: list[tuple[dict[str, Any], pd.DataFrame] | None] = [None] * len(jobs)
    try:
        futures = {executor.submit(_execute, job): i for i, job in enumerate(jobs)}
        for future in tqdm(
            as_completed(futures), total=len(futures), disable=not show, desc="runs", unit="run"
        ):
            results[futures[future]] = future.result()
    finally:
        if own:
            executor.shutdown()
    # Rows follow the order of ``jobs``, whichever worker finished first.
    rows = [r[0] for r in results if r is not None]
    frames = [r[1] for r in results if r is not None]
    days = [frame for frame in frames if len(frame)] or frames[:1]
    return _numeric(pd.DataFrame(rows)), pd.concat(
        days, ignore_index=True
    ) if days else pd.DataFrame()


def _numeric(metrics: pd.DataFrame) -> pd.DataFrame:
    """Metric columns as numbers: a column of only None (no run detected, or no run had
    connections to rate) would otherwise be objects, and NaN is what pandas skips."""
    for column in METRICS:
        if column != "detected_by" and column in metrics and metrics[column].dtype == object:
            metrics[column] = metrics[column].astype(float)
    return metrics


def compare(
    *,
    scenarios: Iterable[str] | None = None,
    defences: Iterable[str] | None = None,
    seeds: int = 3,
    params: dict[str, Any] | None = None,
    executor: Executor | None = None,
    workers: int | None = None,
    progress: bool | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every scenario x every defence x ``seeds`` seeds."""
    check_count("seeds", seeds)
    names = list(scenarios or builtin_scenarios())
    chosen = list(defences or DEFENCES)
    extra = tuple(sorted((params or {}).items()))
    check_runs(len(names) * len(chosen) * seeds)
    jobs = [Job(s, d, seed, extra) for s in names for d in chosen for seed in range(seeds)]
    return sweep(jobs, executor=executor, workers=workers, progress=progress)


def parameter_sweep(
    scenario: str,
    param: str,
    values: Iterable[Any],
    *,
    defences: Iterable[str] | None = None,
    seeds: int = 3,
    params: dict[str, Any] | None = None,
    executor: Executor | None = None,
    workers: int | None = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """One scenario with ``param`` set to each of ``values``, under each defence and seed.

    Returns the tidy metrics table (one row per run, with a column named ``param``), ready
    for :func:`simlab.charts.parameter_chart`.
    """
    check_count("seeds", seeds)
    fixed = dict(params or {})
    chosen = list(defences or DEFENCES)
    swept = list(itertools.islice(values, MAX_RUNS + 1))  # values may never end
    check_runs(len(swept) * len(chosen) * seeds)
    jobs = [
        Job(scenario, d, seed, tuple(sorted({**fixed, param: value}.items())))
        for value in swept
        for d in chosen
        for seed in range(seeds)
    ]
    metrics, _ = sweep(jobs, executor=executor, workers=workers, progress=progress)
    return metrics
