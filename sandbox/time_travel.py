"""The sandbox's clock: the real time plus an offset that only grows, so that time passes as it
does for anyone while they chat, and can also be moved on (an hour, a day, to a date) to see the
eight weeks go by. It never goes back: what was sent stays sent, and a due event done stays done.

It remembers each move, so that a moment of real time (when the stand-in Telegram stamped a
message, or recorded a call) can be told in the sandbox's own time."""

from __future__ import annotations

import bisect
import time
from datetime import UTC, datetime, timedelta


class TimeTravelError(ValueError):
    """A move the clock refuses (into the past); its text says why, for the page."""


class TravellingClock:
    """`clock.Clock` for the whole sandbox: the coach, its scheduler, and the page read it."""

    def __init__(self, start: datetime | None = None, *, real: float | None = None) -> None:
        now_real = time.time() if real is None else real
        offset = (start - datetime.fromtimestamp(now_real, UTC)).total_seconds() if start else 0.0
        self._moves: list[tuple[float, float]] = [(float("-inf"), max(offset, 0.0))]  # (real epoch, offset)

    @property
    def offset(self) -> timedelta:
        """How far ahead of the real time the sandbox is."""
        return timedelta(seconds=self._moves[-1][1])

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self._moves[-1][1], UTC)

    def at(self, real_epoch: float) -> datetime:
        """The sandbox's time at a moment of real time (seconds since the epoch)."""
        index = bisect.bisect_right([moment for moment, _ in self._moves], real_epoch) - 1
        return datetime.fromtimestamp(real_epoch + self._moves[max(index, 0)][1], UTC)

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise TimeTravelError("the sandbox's clock only moves forward")
        return self.travel_to(self.now() + delta)

    def travel_to(self, moment: datetime) -> datetime:
        """Jump to `moment` (timezone-aware); refused if it is in the sandbox's past."""
        if moment.tzinfo is None:
            raise TimeTravelError("a moment needs its time zone")
        real = time.time()
        offset = (moment - datetime.fromtimestamp(real, UTC)).total_seconds()
        if offset < self._moves[-1][1]:
            raise TimeTravelError("the sandbox's clock only moves forward: that moment has passed")
        self._moves.append((real, offset))
        return self.now()
