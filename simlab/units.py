"""How metrics are shown to people: times in one unit per metric (hours or days, as the CSV
files' column names say) with the unit written, rates as percentages, counts as whole
numbers, and "never" (no detection) or "n/a" (nothing to measure: no attacker, or no
connections) where there is no number.

The metrics dicts and DataFrames keep seconds and shares (``simlab.runner.METRICS``); only
what a person reads (the CLI, CSV files, notebook tables) goes through this module.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from simlab.errors import SimlabError, shown

__all__ = [
    "ATTACK_METRICS",
    "CSV_UNITS",
    "attacker_answered",
    "csv_columns",
    "duration",
    "for_csv",
    "format_metric",
    "metrics_table",
]

CSV_UNITS: dict[str, tuple[str, float]] = {
    "time": ("h", 3600.0),
    "detection_time": ("h", 3600.0),
    "exposure_window": ("d", 86400.0),
    "lockout_duration": ("d", 86400.0),
}
"""Time columns (stored in seconds) and the unit they are written in: ``detection_time_h``
in a CSV file, and hours wherever a person reads a detection time (CLI, notebook tables)."""

_SECONDS = dict(CSV_UNITS.values())  # {"h": 3600.0, "d": 86400.0}
_DECIMALS = {"h": 1, "d": 2}  # from one unit up: a resolution of 6 minutes, or 14.4

ATTACK_METRICS = ("interception_rate", "exposure_window")
"""Metrics about an attacker's connections: n/a in a run where no attacker ever answered.
Detection is not one of them: the owner may learn of an incident nobody was intercepted in
(Symantec's unused test certificates, found in CT) or of its own outage (key loss)."""

_COUNTS = ("clients_affected", "day", "seed", "client")


def duration(seconds: float, unit: str | None = None) -> str:
    """``seconds`` in ``unit`` (``h`` or ``d``, a metric's :data:`CSV_UNITS` unit; default:
    days from one day up, else hours), the unit written: ``5400, "h"`` -> ``1.5 h``;
    ``225504, "d"`` -> ``2.61 d``. One unit per metric, whatever the value, so that a column
    of runs compares at a glance (``0.50 d`` next to ``58.57 d``, not ``12.0 h``). Under one
    unit, two significant digits (at most six decimals), so a real two-minute detection
    reads ``0.033 h``, not ``0.0 h``; exactly 0 reads ``0 h``."""
    if unit is None:
        unit = "d" if seconds >= _SECONDS["d"] else "h"
    if not isinstance(unit, str) or unit not in _SECONDS:
        raise SimlabError(f"unknown time unit {shown(unit)}; valid: {', '.join(_SECONDS)}")
    value = seconds / _SECONDS[unit]
    if value == 0:
        return f"0 {unit}"
    decimals = _DECIMALS[unit]
    if abs(value) < 1:
        decimals = min(max(decimals, 1 - math.floor(math.log10(abs(value)))), 6)
    return f"{value:.{decimals}f} {unit}"


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_metric(metric: str, value: object, *, applies: bool = True) -> str:
    """One metric value as a person reads it. ``applies=False`` (no attacker in the run, for
    :data:`ATTACK_METRICS`) and a rate with no connections to count give ``n/a``; a missing
    detection gives ``never``."""
    if not applies:
        return "n/a"
    if _missing(value):
        return "n/a" if metric.endswith("_rate") else "never"
    if metric.endswith("_rate") and isinstance(value, float):
        return f"{value:.1%}"
    if metric in CSV_UNITS and isinstance(value, int | float):
        return duration(float(value), CSV_UNITS[metric][0])
    if metric in _COUNTS and isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def csv_columns(columns: list[str]) -> dict[str, str]:
    """The renaming :func:`for_csv` applies: ``detection_time`` -> ``detection_time_h``."""
    return {c: f"{c}_{CSV_UNITS[c][0]}" for c in columns if c in CSV_UNITS}


def for_csv(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``table`` for a CSV file: time columns converted from seconds to their unit
    and renamed to say it, counts as integers (nullable, so a missing value stays empty)."""
    out = table.copy()
    for column, (_, scale) in CSV_UNITS.items():
        if column in out:
            out[column] = (pd.to_numeric(out[column], errors="coerce") / scale).round(6)
    for column in _COUNTS:
        if column in out and pd.api.types.is_numeric_dtype(out[column]):
            out[column] = out[column].astype("Int64")
    return out.rename(columns=csv_columns(list(out.columns)))


def attacker_answered(result: Any) -> bool:
    """Whether any connection of a run (a :class:`simlab.runner.Result`) was answered by an
    attacker; if none was, its :data:`ATTACK_METRICS` do not apply (key loss has no attacker)."""
    return bool((result.table["responder"] == "attacker").any())


def metrics_table(runs: Mapping[str, Any], *, index: str = "defence") -> pd.DataFrame:
    """A readable table, one row per run: ``metrics_table({d: simlab.run(...) for d in ...})``.

    Each value is a run's Result (so attack metrics of a run without an attacker say n/a)
    or a metrics dict. Every cell is text with its unit (``12.5%``, ``1.0 h``, ``2.61 d``,
    ``never``), so a notebook shows no raw seconds; keep the metrics for arithmetic."""
    rows = {}
    for name, run in runs.items():
        metrics = run if isinstance(run, Mapping) else run.metrics
        ok = True if isinstance(run, Mapping) else attacker_answered(run)
        rows[name] = {
            metric: format_metric(metric, value, applies=ok or metric not in ATTACK_METRICS)
            for metric, value in metrics.items()
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = index
    return table.rename(columns=lambda c: c.replace("_", " "))
