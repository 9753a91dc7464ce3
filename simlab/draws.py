"""Visits drawn in bulk, bit for bit as the per-client Python loop draws them.

A run has one seeded ``random.Random`` (CPython's Mersenne Twister, MT19937). The visit
loop asks it, for each day and each client already around that day, for one number (does
the client visit?) and, if it does, a second (when?). Done one call at a time this costs
seconds at 100,000 clients, so here the same generator's words are produced by numpy's
``MT19937`` from the same state, turned into doubles the way CPython does, and assigned to
the loop's calls without the loop.

Why it is exact:

- numpy's ``MT19937`` and CPython's ``random`` are the same reference generator (Matsumoto
  and Nishimura 1998); ``random.Random.getstate()`` holds its 624 words and position, which
  is numpy's state, so both emit the same 32-bit words.
- CPython's ``random()`` (``Modules/_randommodule.c``, ``random_random``) builds a double
  from two words as ``((a >> 5) * 67108864 + (b >> 6)) / 2**53``; :func:`_doubles` does the
  same in float64, where every step is exact.
- The loop's draws are a chain: a draw that says "visits" is followed by the time draw, so
  draw ``j`` belongs to a client (is on the chain) unless draw ``j - 1`` was on it and said
  "visits". :func:`_on_chain` solves that recurrence with array operations.

Afterwards the run's ``random.Random`` is moved past exactly the draws the loop would have
made, so every later draw (click-through, user reports) is unchanged too.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from simlab.clock import DAY

__all__ = ["draw_visits"]

_TWO_53 = 9007199254740992.0


def _generator(rng: random.Random) -> np.random.MT19937:
    version, internal, _ = rng.getstate()
    assert version == 3, "CPython's random state format"
    bits = np.random.MT19937()
    bits.state = {
        "bit_generator": "MT19937",
        "state": {"key": np.array(internal[:-1], dtype=np.uint32), "pos": internal[-1]},
    }
    return bits


def _doubles(bits: np.random.MT19937, n: int) -> npt.NDArray[np.float64]:
    """The next ``n`` values CPython's ``random()`` would return."""
    words = bits.random_raw(2 * n).reshape(n, 2)
    a = (words[:, 0] >> np.uint64(5)).astype(np.float64)
    b = (words[:, 1] >> np.uint64(6)).astype(np.float64)
    return (a * 67108864.0 + b) / _TWO_53


def _on_chain(visits: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Which draws are a client's "visits?" draw, given whether each draw would say yes.

    ``on[0]`` is true; ``on[j]`` is false exactly when ``on[j - 1]`` and ``visits[j - 1]``.
    So after any draw saying no, the next is on the chain, and from there on the chain
    alternates along a run of yeses.
    """
    n = len(visits)
    index = np.arange(n)
    restart = np.ones(n, dtype=bool)
    restart[1:] = ~visits[:-1]
    last_restart = np.maximum.accumulate(np.where(restart, index, 0))
    on: npt.NDArray[np.bool_] = (index - last_restart) % 2 == 0
    return on


def draw_visits(
    rng: random.Random, first_days: Sequence[int], visit_prob: float, days: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Sorted visit times and client ids, exactly as this loop would draw them::

        for day in range(days):
            for client in range(len(first_days)):
                if day >= first_days[client] and rng.random() < visit_prob:
                    visits.append((day * DAY + rng.random() * DAY, client))
        visits.sort()

    and ``rng`` left where the loop leaves it.
    """
    gauss = rng.getstate()[2]
    bits = _generator(rng)
    chunks: list[tuple[int, Any]] = []  # (doubles produced before, state then)
    first = np.asarray(first_days, dtype=np.int64)
    buffer = np.empty(0, dtype=np.float64)
    produced = 0
    times: list[npt.NDArray[np.float64]] = []
    ids: list[npt.NDArray[np.int64]] = []
    for day in range(days):
        around = np.flatnonzero(first <= day)
        m = len(around)
        if m == 0:
            continue
        if len(buffer) < 2 * m:
            extra = 2 * m - len(buffer)
            chunks.append((produced, bits.state))
            buffer = np.concatenate([buffer, _doubles(bits, extra)])
            produced += extra
        says_yes = buffer[: 2 * m] < visit_prob
        chain = np.flatnonzero(_on_chain(says_yes))[:m]
        visited = says_yes[chain]
        times.append(day * DAY + buffer[chain[visited] + 1] * DAY)
        ids.append(around[visited])
        used = int(chain[-1]) + 1 + int(visited[-1])
        buffer = buffer[used:]
    if chunks:
        _advance(rng, chunks, produced - len(buffer), gauss)
    all_times = np.concatenate(times) if times else np.empty(0, dtype=np.float64)
    all_ids = np.concatenate(ids) if ids else np.empty(0, dtype=np.int64)
    order = np.lexsort((all_ids, all_times))
    return all_times[order], all_ids[order]


def _advance(rng: random.Random, chunks: list[tuple[int, Any]], used: int, gauss: object) -> None:
    """Set ``rng`` to the generator's state after ``used`` doubles: the state saved before
    the chunk holding that point, moved on within the chunk."""
    before, state = next(chunk for chunk in reversed(chunks) if chunk[0] <= used)
    bits = np.random.MT19937()
    bits.state = state
    bits.random_raw(2 * (used - before))
    final = bits.state["state"]
    internal = tuple(int(w) for w in final["key"]) + (int(final["pos"]),)
    rng.setstate((3, internal, gauss))
