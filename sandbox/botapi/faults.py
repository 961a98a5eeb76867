"""Failure injection and flood control: the errors, delays and 429s a test asks the fake for."""

from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from sandbox.botapi.core import _Core
from sandbox.botapi.errors import TelegramError
from sandbox.botapi.records import _Delay, _Failure

# What the coach's outbox sends: the calls random faults hit (never getUpdates, getMe, answers to taps).
SENDING = frozenset({"sendmessage", "sendphoto", "copymessage", "editmessagetext", "editmessagereplymarkup",
                     "editmessagecaption", "createforumtopic", "editforumtopic"})  # fmt: skip


class NoAnswer(Exception):
    """The call is dropped unanswered after a wait, as a request that timed out ends: no effect."""

    def __init__(self, after: float) -> None:
        super().__init__(f"dropped after {after}s")
        self.after = after


@dataclass
class _Chaos:
    rng: random.Random
    too_many: float
    server_errors: float
    timeouts: float
    retry_after: int
    hold: float
    methods: frozenset[str]


class _Faults(_Core):
    """fail_next, delay_next, rate_limit and random_faults, and their checks on each call."""

    _chaos: _Chaos | None = None

    def random_faults(
        self,
        *,
        too_many: float = 0.1,
        server_errors: float = 0.1,
        timeouts: float = 0.1,
        seed: int = 0,
        retry_after: int = 1,
        hold: float = 0.5,
        methods: frozenset[str] = SENDING,
    ) -> None:
        """From now on, answer a share of the sending calls with 429 (retry_after), a share with a
        5xx, and drop a share unanswered after `hold` seconds (a timeout, as the client sees it);
        none of those has any effect. Drawn from `seed`, so a run can be repeated."""
        self._chaos = _Chaos(random.Random(seed), too_many, server_errors, timeouts, retry_after, hold,
                             frozenset(m.lower() for m in methods))  # fmt: skip

    def _take_chaos(self, method: str) -> TelegramError | NoAnswer | None:
        chaos = self._chaos
        if chaos is None or method.lower() not in chaos.methods:
            return None
        draw = chaos.rng.random()
        if draw < chaos.too_many:
            retry = chaos.retry_after
            return TelegramError(429, f"Too Many Requests: retry after {retry}", retry_after=retry)
        if draw < chaos.too_many + chaos.server_errors:
            return TelegramError(chaos.rng.choice((500, 502, 503)), "Internal Server Error")
        if draw < chaos.too_many + chaos.server_errors + chaos.timeouts:
            return NoAnswer(chaos.hold)
        return None

    def fail_next(
        self,
        method: str,
        *,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        count: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Answer the next `count` calls of `method` ("*" for any) with an error.

        With chat_id, only calls for that chat count.
        """
        self._failures.append(_Failure(method.lower(), error_code, description, retry_after, count, chat_id))

    def delay_next(self, method: str, seconds: float, count: int = 1) -> None:
        """Hold the next `count` calls of `method` ("*" for any) for `seconds`
        before handling them (they still take effect if the client gave up)."""
        self._delays.append(_Delay(method.lower(), seconds, count))

    def rate_limit(
        self,
        per_chat_per_second: float | None = None,
        global_per_second: float | None = None,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """Flood control for sendMessage: over the limit gives 429 retry_after.

        The windows are measured on `clock` (seconds, like time.monotonic, the default), so a
        test can move the fake's time together with the bot's own rate limiter.
        """
        self._rate_per_chat = per_chat_per_second
        self._rate_global = global_per_second
        self._clock = clock if clock is not None else time.monotonic
        self._chat_sends.clear()
        self._global_sends.clear()

    def _take_failure(self, method: str, chat_id: int | None) -> TelegramError | None:
        for failure in self._failures:
            if failure.method not in ("*", method.lower()):
                continue
            if failure.chat_id is not None and failure.chat_id != chat_id:
                continue
            failure.remaining -= 1
            if failure.remaining <= 0:
                self._failures.remove(failure)
            return TelegramError(failure.error_code, failure.description, failure.retry_after)
        return None

    def _take_delay(self, method: str) -> float:
        for delay in self._delays:
            if delay.method in ("*", method.lower()):
                delay.remaining -= 1
                if delay.remaining <= 0:
                    self._delays.remove(delay)
                return delay.seconds
        return 0.0

    def _check_rate(self, chat_id: int) -> None:
        now = self._clock()
        limits = (
            (self._rate_per_chat, self._chat_sends.setdefault(chat_id, deque())),
            (self._rate_global, self._global_sends),
        )
        for limit, sends in limits:
            if limit is None or limit <= 0:
                continue
            window = max(1.0, 1.0 / limit)
            allowed = max(1, math.floor(limit * window + 1e-9))
            while sends and sends[0] <= now - window:
                sends.popleft()
            if len(sends) >= allowed:
                retry = max(1, math.ceil(sends[0] + window - now))
                raise TelegramError(429, f"Too Many Requests: retry after {retry}", retry_after=retry)

    def _count_send(self, chat_id: int) -> None:
        now = self._clock()
        self._chat_sends.setdefault(chat_id, deque()).append(now)
        self._global_sends.append(now)
