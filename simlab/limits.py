"""How much one command may ask for, beyond each setting's own range.

A setting's range lives beside it (``simlab.world.SETTING_LIMITS``); these bound what
multiplies runs or processes. They sit apart from :mod:`simlab.sweep` so the CLI can check
its arguments without importing pandas.
"""

from __future__ import annotations

__all__ = ["MAX_RUNS", "MAX_SEEDS", "MAX_WORKERS"]

MAX_RUNS = 10_000
"""Runs in one sweep: a default run takes about 0.3 s, so ten thousand take an hour of one
core; the metrics table holds a row per run and the daily table a row per run and day."""

MAX_SEEDS = 1000
"""Seeds per cell: far more than a mean needs, and checked before any list of runs is made."""

MAX_WORKERS = 32
"""Worker processes: each holds its own simlab (about 100 MB); more only share the cores."""
