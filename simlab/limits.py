"""How much one command may ask for, beyond each setting's own range.

A setting's range lives beside it (``simlab.world.SETTING_LIMITS``); these bound what
multiplies runs or processes. They sit apart from :mod:`simlab.sweep` so the CLI can check
its arguments without importing pandas.
"""

from __future__ import annotations

import operator

from simlab.errors import ScenarioError, shown

__all__ = [
    "MAX_RUNS",
    "MAX_SEEDS",
    "MAX_WORKERS",
    "SEED_MAX",
    "check_count",
    "check_runs",
    "check_seed",
    "whole",
]

MAX_RUNS = 10_000
"""Runs in one sweep: a default run takes about 0.3 s, so ten thousand take an hour of one
core; the metrics table holds a row per run and the daily table a row per run and day."""

MAX_SEEDS = 1000
"""Seeds per cell: far more than a mean needs, and checked before any list of runs is made."""

MAX_WORKERS = 32
"""Worker processes: each holds its own simlab (about 100 MB); more only share the cores."""

SEED_MAX = 2**32 - 1
"""Any 32-bit seed, as ``--seed`` takes (from 2**63 on, a seed overflowed the int64 table)."""


def whole(value: object) -> int | None:
    """``value`` as an int if it is one of any integer type (a numpy integer, through
    ``operator.index``: a number read from a table is one), else None: a bool, a float or
    text is a mistake, not a count."""
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        return None


def check_seed(seed: object) -> int:
    """``seed`` as an int from 0 to :data:`SEED_MAX`, else :class:`ScenarioError`
    (``seed=1.5`` or ``'1'`` is refused, a numpy integer accepted)."""
    value = whole(seed)
    if value is None or not 0 <= value <= SEED_MAX:
        kind = "" if value is not None else f"{type(seed).__name__} "
        raise ScenarioError(
            f"seed must be a whole number from 0 to {SEED_MAX:,}, got {kind}{shown(seed)}"
        )
    return value


def check_runs(runs: int) -> None:
    """At most :data:`MAX_RUNS` runs: checked on the count alone, before any job is made
    or any value checked, so an oversized sweep is refused at once."""
    if runs > MAX_RUNS:
        raise ScenarioError(f"a sweep may hold at most {MAX_RUNS:,} runs, got {runs:,}")


def check_count(name: str, value: object) -> None:
    """``seeds`` or ``workers`` (None: the default) from 1 to :data:`MAX_SEEDS` or
    :data:`MAX_WORKERS`."""
    most = {"seeds": MAX_SEEDS, "workers": MAX_WORKERS}[name]
    if value is None:
        return
    number = whole(value)
    if number is None:
        raise ScenarioError(f"{name} must be a whole number, got {shown(value)}")
    if number < 1:
        raise ScenarioError(f"{name} must be at least 1, got {shown(number)}")
    if number > most:
        raise ScenarioError(f"{name} must be at most {most:,}, got {shown(number)}")
