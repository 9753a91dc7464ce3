"""The default comparison's wall time, and its scaling from 1 to 2 worker processes."""

from __future__ import annotations

import time

from benchmarks.common import report
from simlab.sweep import compare


def main() -> None:
    print("compare: every scenario x every defence x 3 seeds (the default)")
    seconds = {}
    for workers in (1, 2):
        start = time.perf_counter()
        metrics, _ = compare(seeds=3, workers=workers, progress=False)
        seconds[workers] = time.perf_counter() - start
        report(f"{len(metrics)} runs with {workers} worker(s)", seconds[workers], "s")
    print(f"  speed-up from 1 to 2 workers: {seconds[1] / seconds[2]:.2f}x")
