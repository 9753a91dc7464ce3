"""The default comparison: the whole ``simlab compare`` command timed from outside (runs,
tables and figures), and the runs alone with 1 and 2 worker processes."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import report, require
from simlab.sweep import compare


def command(repeats: int = 3) -> None:
    """Wall and CPU seconds of ``python -m simlab compare`` with default settings. CPU is
    user + system of the command and every process it waited for (its pool's workers)."""
    print(f"compare: `python -m simlab compare` with default settings, {repeats} times")
    walls, cpus = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as out:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            argv = [sys.executable, "-m", "simlab", "compare", "--quiet", "--out", out]
            subprocess.run(argv, check=True, timeout=900)
            walls.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            figures = sorted(p.name for p in Path(out).iterdir() if p.suffix in (".png", ".svg"))
            require(len(figures) == 32, f"compare wrote {len(figures)} figures, not 32")
    for label, seconds in (("wall", walls), ("CPU (user + system)", cpus)):
        print(
            f"  {label:<20} median {statistics.median(seconds):5.1f} s"
            f"  (min {min(seconds):.1f}, max {max(seconds):.1f}) on {os.cpu_count()} cores"
        )


def runs() -> None:
    print("compare: the runs alone, every scenario x every defence x 3 seeds (the default)")
    seconds = {}
    for workers in (1, 2):
        start = time.perf_counter()
        metrics, _ = compare(seeds=3, workers=workers, progress=False)
        seconds[workers] = time.perf_counter() - start
        report(f"{len(metrics)} runs with {workers} worker(s)", seconds[workers], "s")
    print(f"  speed-up from 1 to 2 workers: {seconds[1] / seconds[2]:.2f}x")


def main() -> None:
    command()
    runs()
