"""The exhaustive engine comparison, which the ``engine`` figures rest on.

CI runs the short differential test of ``tests/test_engines.py``; this runs the tests
behind its ``exhaustive`` marker: both engines on every scenario x defence at default size
for 5 seeds, on 400 drawn parameter sets and on 300 drawn stories, with equal tables,
metrics, events, detections, OCSP queries and client states asserted. It runs pytest in a
child process from the source checkout (pytest is a dev extra).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import require

TESTS = Path(__file__).resolve().parents[1] / "tests" / "test_engines.py"


def command() -> list[str]:
    """The pytest command line: only the tests behind the ``exhaustive`` marker."""
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-m", "exhaustive"]


def main() -> None:
    require(TESTS.is_file(), f"{TESTS} is missing: the comparison runs from a source checkout")
    require(
        importlib.util.find_spec("pytest") is not None,
        "pytest is not installed: it is a dev extra (pip install -e '.[dev]')",
    )
    print("exhaustive: both engines on every cell x 5 seeds, 400 drawn parameter sets and")
    print("  300 drawn stories (tests/test_engines.py -m exhaustive)")
    start = time.perf_counter()
    done = subprocess.run(
        [*command(), str(TESTS)],
        cwd=TESTS.parents[1],
        env={**os.environ, "SIMLAB_EXHAUSTIVE": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    summary = lines[-1] if lines else done.stderr.strip()[-500:]
    require(done.returncode == 0, f"the exhaustive engine comparison failed: {summary}")
    print(f"  {summary.strip('= ')} ({time.perf_counter() - start:.0f} s wall)")
