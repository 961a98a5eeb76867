"""Inbound load: simulated patients walking real lesson steps (taps and typed answers, each a
database commit for the coach), closed loop at saturation and open loop at a fixed rate.

A patient acts on what the bot last sent them: a message with buttons gets a tap (on the way
through onboarding, the button that moves on), one without gets a typed answer. Each action waits
for the bot's next message or edit in that chat; its latency is the time until it arrives. The
bare bot answers everything with one message and a button; its patients tap three times for each
text they type, so both bots see taps and texts."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from itertools import count

import aiohttp

from bench.harness import SECRET, BenchTelegram, cpu_seconds, percentile
from sandbox.botapi import FakeUser

MOVE_ON = ("united kingdom", "i agree", "sounds good", "got it", "i understand", "uk time", "go on", "lesson", "next")
NEVER = ("stop", "don't", "don’t", "disagree", "leave", "not now", "later", "guide")
ANSWER = "I noticed my shoulders tense when I rush, so I slowed down"
WAIT_S = 5.0


@dataclass(frozen=True)
class Sample:
    updates: int
    updates_per_s: float
    cpu_ms_per_update: float
    p50_ms: float
    p99_ms: float
    unanswered: int


def choose(user: FakeUser, bare: bool, turn: int) -> tuple[str, str]:
    """What this patient does next: ("tap", label) or ("text", words)."""
    recent = [m for m in user.messages[-2:] if m.from_bot]
    last = recent[-1] if recent else None
    if last is not None and not last.buttons and "?" not in last.text and len(recent) > 1:
        last = recent[0]  # a note ("here are the buttons again") before the prompt it points to
    labels = [text for row in (last.buttons if last else []) for text, _ in row]
    if bare:
        return ("text", ANSWER) if turn % 4 == 3 or not labels else ("tap", labels[0])
    if not labels:
        return "text", ANSWER
    for wanted in MOVE_ON:
        for label in labels:
            if wanted in label.lower() and not any(word in label.lower() for word in NEVER):
                return "tap", label
    safe = [label for label in labels if not any(word in label.lower() for word in NEVER)]
    return "tap", (safe or labels)[0]


class Load:
    def __init__(self, telegram: BenchTelegram, mode: str, port: int, http: aiohttp.ClientSession, bare: bool) -> None:
        self.telegram, self.mode, self.http, self.bare = telegram, mode, http, bare
        self.hook = f"http://127.0.0.1:{port}/hook"
        self.turns: dict[int, int] = {}
        self.update_ids = count(10_000_000)

    async def post(self) -> None:
        update = self.telegram.take_update()
        update["update_id"] = next(self.update_ids)
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with self.http.post(self.hook, json=update, headers=headers) as response:
            response.release()

    async def act(self, user: FakeUser, action: tuple[str, str] | None = None) -> float | None:
        """One update from this patient; the seconds until the bot answered, or None (no answer)."""
        turn = self.turns.get(user.user_id, 0)
        self.turns[user.user_id] = turn + 1
        kind, what = action or choose(user, self.bare, turn)
        answered = self.telegram.answered(user.chat_id)
        sent = time.perf_counter()
        if kind == "tap":
            try:
                user.press(what)
            except AssertionError:
                user.send_text(ANSWER)
        elif what.startswith("/"):
            user.send_command(what[1:])
        else:
            user.send_text(what)
        if self.mode == "webhook":
            await self.post()
        try:
            return await asyncio.wait_for(answered, WAIT_S) - sent
        except TimeoutError:
            return None

    async def warm_up(self, users: list[FakeUser], steps: int) -> None:
        """Each patient starts and walks through onboarding into lesson 1 (not measured)."""

        async def walk(user: FakeUser) -> None:
            await self.act(user, ("text", "/start"))
            for _ in range(steps):
                await self.act(user)

        await asyncio.gather(*(walk(user) for user in users))

    async def closed_loop(self, users: list[FakeUser], updates: int, pid: int) -> Sample:
        latencies: list[float] = []
        unanswered = 0
        left = count()

        async def patient(user: FakeUser) -> None:
            nonlocal unanswered
            while next(left) < updates:
                latency = await self.act(user)
                if latency is None:
                    unanswered += 1
                else:
                    latencies.append(latency)

        cpu_before, started = cpu_seconds(pid), time.perf_counter()
        await asyncio.gather(*(patient(user) for user in users))
        elapsed, cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu_before
        self.telegram.forget_calls()
        done = len(latencies) + unanswered
        return Sample(
            updates=done,
            updates_per_s=done / elapsed,
            cpu_ms_per_update=1000 * cpu / max(1, done),
            p50_ms=1000 * percentile(latencies, 0.50),
            p99_ms=1000 * percentile(latencies, 0.99),
            unanswered=unanswered,
        )

    async def open_loop(self, users: list[FakeUser], rate: float, seconds: float) -> Sample:
        """Updates offered at `rate` a second whatever the bot's pace, each patient acting when its
        turn comes and its last action has been answered (one in flight per patient, as people do)."""
        latencies: list[float] = []
        unanswered = 0
        busy: set[int] = set()
        tasks: list[asyncio.Task[None]] = []

        async def one(user: FakeUser) -> None:
            nonlocal unanswered
            busy.add(user.user_id)
            try:
                latency = await self.act(user)
            finally:
                busy.discard(user.user_id)
            if latency is None:
                unanswered += 1
            else:
                latencies.append(latency)

        started = time.perf_counter()
        ticks = int(rate * seconds)
        for tick in range(ticks):
            await asyncio.sleep(max(0.0, started + tick / rate - time.perf_counter()))
            free = [user for user in users if user.user_id not in busy]
            if free:
                tasks.append(asyncio.create_task(one(free[tick % len(free)])))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
        self.telegram.forget_calls()
        return Sample(
            updates=len(tasks),
            updates_per_s=len(tasks) / elapsed,
            cpu_ms_per_update=0.0,
            p50_ms=1000 * percentile(latencies, 0.50),
            p99_ms=1000 * percentile(latencies, 0.99),
            unanswered=unanswered,
        )
