"""The fuzz tests' oracle for cost: a call finishes within a time and a memory bound (a hang
or a blow-up is a failure even when the answer would be right)."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from typing import TypeVar

from simlab.errors import SimlabError

T = TypeVar("T")


def bounded(call: Callable[[], T], *, seconds: float = 2.0, megabytes: float = 64.0) -> T:
    """``call()``, checked to take under ``seconds`` and to allocate under ``megabytes`` at
    its peak (tracemalloc, which also slows it: keep both generous). Whatever ``call``
    raises propagates, once the bounds are checked."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        return call()
    finally:
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert elapsed < seconds, f"took {elapsed:.2f} s, bound {seconds} s"
        assert peak < megabytes * 2**20, f"peaked at {peak / 2**20:.1f} MB, bound {megabytes}"


def typed_outcome(call: Callable[[], T], **bounds: float) -> T | SimlabError:
    """:func:`bounded`, with a :class:`SimlabError` returned rather than raised; any other
    exception propagates and fails the test."""
    try:
        return bounded(call, **bounds)
    except SimlabError as exc:
        return exc
