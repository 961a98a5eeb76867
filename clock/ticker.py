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

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)
