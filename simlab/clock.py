"""Simulated time.

simlab never reads the wall clock. Time is a float number of seconds since the scenario's
epoch (``SimTime``); only X.509 needs real datetimes, and it gets them from
:func:`to_datetime`.
"""

from __future__ import annotations

import datetime as dt
from typing import TypeAlias

SimTime: TypeAlias = float
"""Seconds since the scenario epoch."""

SECOND = 1.0
MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0

DEFAULT_EPOCH = dt.datetime(2016, 1, 4, tzinfo=dt.UTC)
"""A Monday in the HPKP era (RFC 7469 was published April 2015)."""


def to_datetime(at: SimTime, epoch: dt.datetime = DEFAULT_EPOCH) -> dt.datetime:
    """The UTC datetime of simulated time ``at``, truncated to whole seconds (as X.509 is)."""
    return epoch + dt.timedelta(seconds=int(at))


def from_datetime(when: dt.datetime, epoch: dt.datetime = DEFAULT_EPOCH) -> SimTime:
    """The simulated time of an aware datetime (naive datetimes are taken as UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return (when - epoch).total_seconds()


def days(n: float) -> SimTime:
    """``n`` days in simulated seconds."""
    return n * DAY
