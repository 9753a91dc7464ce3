"""The fuzz tests' oracle for cost: a call finishes within a time and a memory bound (a hang
or a blow-up is a failure even when the answer would be right)."""

from __future__ import annotations

import os
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

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


ODD_INPUTS = ["folder", "fifo", "/dev/zero"]
"""Paths no reader may block on or read without end (see :func:`odd_input`)."""


def odd_input(folder: Path, name: str, kind: str) -> Path:
    """A path called ``name`` in ``folder`` that is not a regular file: a folder, a FIFO
    (opening it for reading would block until a writer came) or a link to ``/dev/zero``
    (read whole, it fills memory). Skips the test where the platform has no such thing."""
    path = folder / name
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs here")
        os.mkfifo(path)
    else:
        if not Path(kind).exists():
            pytest.skip(f"no {kind} here")
        path.symlink_to(kind)
    return path
