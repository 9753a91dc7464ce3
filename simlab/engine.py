"""A small discrete-event engine: one object owns simulated time.

Scenario stories are generator functions that ``yield`` delays, so "wait for the pins to
expire, then strike" reads like the story a teacher tells. Client visits, which are many,
are fed in sorted per-day batches rather than as one heap event each; events and visits
interleave in time order. Ties are broken by (priority, sequence number), so a run is
deterministic. (simpy was considered: its per-event cost dominated a 600k-visit run.)
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Generator, Iterable
from typing import TypeAlias

from simlab.clock import SimTime

Story: TypeAlias = Generator[float, None, None]


class Engine:
    def __init__(self) -> None:
        self._now: SimTime = 0.0
        # (when, priority, sequence number, quiet, action): the sequence number is unique, so
        # the heap never compares further.
        self._queue: list[tuple[SimTime, int, int, bool, Callable[[], None]]] = []
        self._seq = 0

    @property
    def now(self) -> SimTime:
        return self._now

    def at(
        self, when: SimTime, action: Callable[[], None], *, priority: int = 0, quiet: bool = False
    ) -> None:
        """Run ``action`` at simulated time ``when`` (never in the past). ``quiet``: the
        action changes nothing a connection's route or decision reads (a monitor poll), so
        an engine that reuses decisions need not look at the world again after it."""
        self._seq += 1
        heapq.heappush(self._queue, (max(when, self._now), priority, self._seq, quiet, action))

    def process(self, story: Story, *, start: SimTime | None = None) -> None:
        """Run a generator that yields delays in seconds."""

        def step() -> None:
            try:
                delay = next(story)
            except StopIteration:
                return
            self.at(self._now + max(0.0, delay), step)

        self.at(self._now if start is None else start, step)

    def run_events_until(self, until: SimTime) -> bool:
        """Run every event due at or before ``until``, in order. True if one was not quiet."""
        queue = self._queue
        loud = False
        while queue and queue[0][0] <= until:
            when, _, _, quiet, action = heapq.heappop(queue)
            loud = loud or not quiet
            self._now = when
            action()
        self._now = max(self._now, until)
        return loud

    def run_quiet_until(self, until: SimTime) -> bool:
        """Run the events due at or before ``until`` in order while they are quiet; True if
        it stopped before one that is not (it stays queued, see :meth:`next_loud_due`)."""
        queue = self._queue
        while queue and queue[0][0] <= until:
            when, _, _, quiet, action = queue[0]
            if not quiet:
                return True
            heapq.heappop(queue)
            self._now = when
            action()
        return False

    def run(
        self, visits: Iterable[tuple[SimTime, int]], visit: Callable[[int, SimTime], None]
    ) -> None:
        """Interleave sorted (time, client) visits with the event queue."""
        for when, client in visits:
            self.advance(when)
            visit(client, when)

    @property
    def scheduled(self) -> int:
        """How many actions were ever scheduled: unchanged means nothing new is queued."""
        return self._seq

    def next_due(self) -> SimTime:
        """When the next event is due (infinity if none is scheduled)."""
        return self._queue[0][0] if self._queue else float("inf")

    def next_loud_due(self) -> SimTime:
        """When the next event that is not quiet is due (infinity if none)."""
        return min((e[0] for e in self._queue if not e[3]), default=float("inf"))

    def advance(self, when: SimTime) -> bool:
        """Run every event due at or before ``when`` (a visit's time: events due then come
        first), then set the clock to ``when``. True if any event that is not quiet ran."""
        queue = self._queue
        loud = bool(queue) and queue[0][0] <= when and self.run_events_until(when)
        self._now = when
        return loud
