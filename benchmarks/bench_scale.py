"""Real scale and slider speed with the default (batched) engine.

- DigiNotar at its real size: the ``diginotar-2011`` replay with 300,000 clients over its
  historical window, in a child process on one core (``taskset -c 0`` where available), with
  its wall time and peak memory (``/usr/bin/time -v`` where available);
- the results table's bytes per row;
- a default ``simlab.run`` of every scenario x defence cell: the median over three runs of
  each, and the slowest cell (what a notebook slider waits for).
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import time

from simlab.runner import DEFENCES, run
from simlab.scenario_file import builtin_scenarios

_CHILD = """
import time
from simlab.replays import REPLAYS
from simlab.runner import run
replay = REPLAYS["diginotar-2011"]
start = time.perf_counter()
r = run(replay.scenario, replay.historical[0], 0, **{**replay.params, "n_clients": 300_000})
seconds = time.perf_counter() - start
per_row = r.table.memory_usage(deep=True).sum() / len(r.table)
print(f"RESULT {seconds:.1f} {len(r.table)} {per_row:.1f} {r.metrics['detection_time']}")
"""


def diginotar() -> None:
    print("scale: diginotar-2011 (static) with 300,000 clients over its 40 days, one core")
    command = [sys.executable, "-c", _CHILD]
    if shutil.which("taskset"):
        command = ["taskset", "-c", "0", *command]
    if os.path.exists("/usr/bin/time"):  # GNU time: -v reports the peak resident set
        command = ["/usr/bin/time", "-v", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=True)
    found = re.search(r"RESULT (\S+) (\d+) (\S+) (\S+)", done.stdout)
    assert found is not None, done.stdout + done.stderr
    seconds, rows, per_row, detection = found.groups()
    print(f"  {int(rows):,} connections in {seconds} s; table {per_row} bytes per row")
    if detection != "None":
        print(f"  first detection {float(detection) / 86400:.1f} days after the attack began")
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    if peak:
        print(f"  peak memory {int(peak.group(1)) / 1024:,.0f} MB (/usr/bin/time -v)")


def cells(repeats: int = 3) -> None:
    print(f"scale: default simlab.run of every scenario x defence, median of {repeats}")
    medians = {}
    for scenario in builtin_scenarios():
        for defence in DEFENCES:
            seconds = []
            for _ in range(repeats):
                start = time.perf_counter()
                run(scenario, defence, 0)
                seconds.append(time.perf_counter() - start)
            medians[scenario, defence] = statistics.median(seconds)
    slowest = max(medians, key=lambda cell: medians[cell])
    typical = statistics.median(medians.values())
    print(f"  median cell {typical:.3f} s; slowest {slowest[0]} under {slowest[1]}:")
    print(f"  {medians[slowest]:.3f} s (median of its {repeats} runs)")


def main() -> None:
    cells()
    diginotar()
