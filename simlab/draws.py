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
  from two words as ``((a >> 5) * 67108864 + (b >> 6)) / 2**53``, and so does numpy's
  ``Generator.random`` on an ``MT19937`` (``mt19937_next_double``).
- The loop's draws are a chain: a draw that says "visits" is followed by the time draw, so
  draw ``j`` belongs to a client (is on the chain) unless draw ``j - 1`` was on it and said
  "visits". :func:`_visits` solves that recurrence from the runs of draws saying yes.

Afterwards the run's ``random.Random`` is moved past exactly the draws the loop would have
made, so every later draw (click-through, user reports) is unchanged too.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from simlab.clock import DAY

__all__ = ["draw_visits"]


def _generator(rng: random.Random) -> np.random.Generator:
    """A numpy generator in ``rng``'s exact state. numpy's ``MT19937`` builds a double from
    two words exactly as CPython's ``random()`` does (``mt19937_next_double``), so
    ``Generator.random`` returns CPython's next values."""
    version, internal, _ = rng.getstate()
    assert version == 3, "CPython's random state format"
    bits = np.random.MT19937()
    bits.state = {
        "bit_generator": "MT19937",
        "state": {"key": np.array(internal[:-1], dtype=np.uint32), "pos": internal[-1]},
    }
    return np.random.Generator(bits)


def _visits(
    says_yes: npt.NDArray[np.bool_],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Where the loop's visits are in a (non-empty) stream of draws that starts on the
    chain, given whether each draw would say yes: each visit's "visits?" draw, and the
    client-day (the link of the chain) it is.

    A draw after a no is on the chain (a no is a client-day's answer, or a time). In a run
    of L draws saying yes from ``a``, the chain is at ``a``, ``a + 2``, ...: (L + 1) // 2
    visits, each timed by the next draw (for odd L, the no that ends the run). Every visit
    takes one draw off the chain, so visit ``i`` is client-day ``position - i``. Only the
    runs' edges and the visits are arrays; the draws are read once, as bools.
    """
    n = len(says_yes)
    edge = np.empty(n + 1, dtype=bool)  # where a run of yeses starts or ends
    edge[0], edge[n] = says_yes[0], says_yes[-1]
    np.not_equal(says_yes[1:], says_yes[:-1], out=edge[1:n])
    edges = np.flatnonzero(edge)
    starts, ends = edges[::2], edges[1::2]
    per_run = (ends - starts + 1) >> 1
    before = np.cumsum(per_run) - per_run  # visits in earlier runs
    i = np.arange(int(before[-1] + per_run[-1]) if len(per_run) else 0, dtype=np.int64)
    at = np.repeat(starts - 2 * before, per_run) + 2 * i
    return at, at - i


_PAIRS_PER_PASS = 1 << 20
"""Client-days drawn per pass: bounds the temporary arrays at real-size populations."""

_BLOCK = 1 << 16
"""Doubles generated at a time."""


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
    first = np.asarray(first_days, dtype=np.int64)
    n = len(first)
    days = max(days, 0)
    # around[d]: clients already around on day d (those with first_days <= d).
    around = np.cumsum(np.bincount(np.clip(first, 0, days), minlength=days + 1))[:days]
    if not around.sum():
        return np.empty(0, dtype=np.float64), np.empty(0, dtype=np.int64)
    gauss = rng.getstate()[2]
    gen = _generator(rng)
    blocks: list[tuple[int, Any]] = []  # (doubles produced before, generator state then)
    produced = 0
    buffer = np.empty(0, dtype=np.float64)  # drawn, not yet used; starts on the chain
    times: list[npt.NDArray[np.float64]] = []
    ids: list[npt.NDArray[np.int64]] = []
    total = np.concatenate([[0], np.cumsum(around)])  # client-days before each day
    day = 0
    while day < days:
        # A pass: the next days, up to _PAIRS_PER_PASS client-days (at least one day).
        limit = total[day] + _PAIRS_PER_PASS
        stop = max(day + 1, int(np.searchsorted(total, limit, side="right")) - 1)
        counts = around[day:stop]
        pairs = int(counts.sum())
        if pairs == 0:
            day = stop
            continue
        want = int(pairs * (1 + visit_prob) + 6 * math.sqrt(pairs) + 16)
        while True:
            if len(buffer) < want:
                # In blocks, each with the state before it, so _advance replays one block.
                fresh = []
                for _ in range(-(-(want - len(buffer)) // _BLOCK)):
                    blocks.append((produced, gen.bit_generator.state))
                    fresh.append(gen.random(_BLOCK))
                    produced += _BLOCK
                buffer = np.concatenate([buffer, *fresh])
            at, pair_of = _visits(buffer < visit_prob)
            visits = int(np.searchsorted(pair_of, pairs))  # those among the pass's pairs
            used = pairs + visits  # a draw per client-day, and one more per visit
            if used <= len(buffer):  # the last client-day's draws, and its time, are here
                break
            want = 2 * len(buffer)  # rare: the estimate fell short
        pair_index = pair_of[:visits]
        u = buffer[at[:visits] + 1]
        buffer = buffer[used:]
        # Pair j of the pass is the (j - starts[d])-th client around on day d.
        starts = np.concatenate([[0], np.cumsum(counts)])
        cut = np.searchsorted(pair_index, starts)
        for d in range(stop - day):
            lo, hi = cut[d], cut[d + 1]
            if lo == hi:
                continue
            within = pair_index[lo:hi] - starts[d]
            on_day = day + d
            who = within if counts[d] == n else np.flatnonzero(first <= on_day)[within]
            t = on_day * DAY + u[lo:hi] * DAY
            # Unstable (about twice as fast on random times): equal times, which sort()
            # puts in client order, are put right below.
            order = np.argsort(t)
            times.append(t[order])
            ids.append(who[order].astype(np.int64))
        day = stop
    _advance(rng, blocks, produced - len(buffer), gauss)
    all_times = np.concatenate(times) if times else np.empty(0, dtype=np.float64)
    all_ids = np.concatenate(ids) if ids else np.empty(0, dtype=np.int64)
    if len(all_times) > 1 and not (all_times[1:] > all_times[:-1]).all():
        # Equal times (within a day, or across a day boundary at float rounding): in
        # client order, as sort() puts them.
        order = np.lexsort((all_ids, all_times))
        all_times, all_ids = all_times[order], all_ids[order]
    return all_times, all_ids


def _advance(rng: random.Random, blocks: list[tuple[int, Any]], used: int, gauss: object) -> None:
    """Set ``rng`` to the generator's state after ``used`` doubles: the state saved before
    the block holding that point, moved on within the block."""
    before, state = next(block for block in reversed(blocks) if block[0] <= used)
    bits = np.random.MT19937()
    bits.state = state
    np.random.Generator(bits).random(used - before)
    final = bits.state["state"]
    internal = tuple(int(w) for w in final["key"]) + (int(final["pos"]),)
    rng.setstate((3, internal, gauss))
