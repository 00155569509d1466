"""A photo's own wall-clock time: when it was taken, moved by its UTC offset where known."""

from __future__ import annotations

import datetime as dt

_EPOCH = dt.datetime(1970, 1, 1)


def local_stamp(taken_at: float | None, offset: int | None) -> float | None:
    """The photo's own wall-clock time as a Unix time read as UTC (what date filters cut in
    days): taken_at moved by its UTC offset in minutes, where known."""
    return None if taken_at is None else taken_at + (offset or 0) * 60


def local_time(taken_at: float, offset: int | None) -> dt.datetime:
    """The photo's own wall-clock time: aware with its offset when known, naive when not."""
    when = _EPOCH + dt.timedelta(seconds=local_stamp(taken_at, offset))
    if offset is None:
        return when
    return when.replace(tzinfo=dt.timezone(dt.timedelta(minutes=offset)))
