"""Seconds for pacing (the outbox sender's rate limits): a steady clock and a way to wait on it.

`SteadyTicker` is real time. `VirtualTicker` moves only when someone waits on it, at once, so a
test of rate limits does not depend on how fast the machine is."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Ticker(Protocol):
    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SteadyTicker:
    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class VirtualTicker:
    """Time that passes only by waiting: `sleep` moves it on at once (and lets others run)."""

    RESOLUTION = 1e-6  # a wait moves time on by at least this much, so float rounding cannot stall it

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.now += max(seconds, self.RESOLUTION)
        await asyncio.sleep(0)
