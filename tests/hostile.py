"""The fuzz tests' oracle for cost: a call finishes within a time and a memory bound."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def bounded(call: Callable[[], T], *, seconds: float, peak_bytes: int) -> T:
    """``call()``, checked to take under ``seconds`` and to allocate under ``peak_bytes`` at
    its peak (tracemalloc, which also slows it: keep ``seconds`` generous). Whatever
    ``call`` raises propagates, once the bounds are checked."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        return call()
    finally:
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert elapsed < seconds, f"took {elapsed:.2f} s, bound {seconds} s"
        assert peak < peak_bytes, f"peaked at {peak} bytes, bound {peak_bytes}"
