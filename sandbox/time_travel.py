"""The sandbox's clock: the real time plus an offset that only grows, so that time passes as it
does for anyone while they chat, and can also be moved on (an hour, a day, to a date) to see the
eight weeks go by. It never goes back: what was sent stays sent, and a due event done stays done."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class TimeTravelError(ValueError):
    """A move the clock refuses (into the past); its text says why, for the page."""


class TravellingClock:
    """`clock.Clock` for the whole sandbox: the coach, its scheduler, and the page read it."""

    def __init__(self) -> None:
        self._ahead = 0.0  # seconds ahead of the real time

    @property
    def offset(self) -> timedelta:
        """How far ahead of the real time the sandbox is."""
        return timedelta(seconds=self._ahead)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def timestamp(self) -> float:
        """The sandbox's time in seconds since the epoch (what the stand-in Telegram dates by)."""
        return time.time() + self._ahead

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise TimeTravelError("the sandbox's clock only moves forward")
        self._ahead += delta.total_seconds()
        return self.now()

    def travel_to(self, moment: datetime) -> datetime:
        """Jump to `moment` (timezone-aware); refused if it is in the sandbox's past."""
        if moment.tzinfo is None:
            raise TimeTravelError("a moment needs its time zone")
        ahead = moment.timestamp() - time.time()
        if ahead < self._ahead:
            raise TimeTravelError("the sandbox's clock only moves forward: that moment has passed")
        self._ahead = ahead
        return self.now()
