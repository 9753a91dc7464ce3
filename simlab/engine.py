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
        self._queue: list[tuple[SimTime, int, int, Callable[[], None]]] = []
        self._seq = 0

    @property
    def now(self) -> SimTime:
        return self._now

    def at(self, when: SimTime, action: Callable[[], None], *, priority: int = 0) -> None:
        """Run ``action`` at simulated time ``when`` (never in the past)."""
        self._seq += 1
        heapq.heappush(self._queue, (max(when, self._now), priority, self._seq, action))

    def process(self, story: Story, *, start: SimTime | None = None) -> None:
        """Run a generator that yields delays in seconds."""

        def step() -> None:
            try:
                delay = next(story)
            except StopIteration:
                return
            self.at(self._now + max(0.0, delay), step)

        self.at(self._now if start is None else start, step)

    def run_events_until(self, until: SimTime) -> None:
        """Run every event due at or before ``until``, in order."""
        queue = self._queue
        while queue and queue[0][0] <= until:
            when, _, _, action = heapq.heappop(queue)
            self._now = when
            action()
        self._now = max(self._now, until)

    def run(
        self, visits: Iterable[tuple[SimTime, int]], visit: Callable[[int, SimTime], None]
    ) -> None:
        """Interleave sorted (time, client) visits with the event queue."""
        for when, client in visits:
            self.advance(when)
            visit(client, when)

    def next_due(self) -> SimTime:
        """When the next event is due (infinity if none is scheduled)."""
        return self._queue[0][0] if self._queue else float("inf")

    def advance(self, when: SimTime) -> bool:
        """Run every event due at or before ``when`` (a visit's time: events due then come
        first), then set the clock to ``when``. True if any event ran."""
        ran = bool(self._queue) and self._queue[0][0] <= when
        if ran:
            self.run_events_until(when)
        self._now = when
        return ran
