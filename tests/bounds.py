"""The fuzz tests' oracle: a call either returns or raises a typed error, within a time and
memory bound (a hang or a blow-up is a failure even when the answer would be right)."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from typing import TypeVar

from simlab.errors import SimlabError

T = TypeVar("T")


def bounded(
    call: Callable[[], T], *, seconds: float = 2.0, megabytes: float = 64.0
) -> T | SimlabError:
    """``call()``'s result, or the :class:`SimlabError` it raised; any other exception
    propagates, and the test fails if the call took longer than ``seconds`` or its peak
    Python allocations exceeded ``megabytes`` (tracemalloc, so both are generous)."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        outcome: T | SimlabError = call()
    except SimlabError as exc:
        outcome = exc
    finally:
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert elapsed < seconds, f"took {elapsed:.2f} s"
    assert peak < megabytes * 2**20, f"peak {peak / 2**20:.0f} MB"
    return outcome
