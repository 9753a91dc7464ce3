from __future__ import annotations

import time
from collections.abc import Callable


def rate(fn: Callable[[], object], *, n: int) -> float:
    """Calls of ``fn`` per second over ``n`` calls (one warm-up call first)."""
    fn()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - start)


def report(
    label: str, value: float, unit: str, baseline: float | None = None, base_label: str = ""
) -> None:
    line = f"  {label:<44} {value:>14,.0f} {unit}"
    if baseline:
        line += f"   ({value / baseline:5.2f}x {base_label})"
    print(line, flush=True)
