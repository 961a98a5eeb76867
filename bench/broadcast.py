"""A broadcast to 10,000 patients against a stand-in Bot API that answers 429 above its ceiling,
and, half-way through it, a patient's PHQ-9 item-9 answer: how long until the staff alert is sent.

Counts what each recipient received (lost: none; duplicated: more than one), the rate achieved
against the ceiling, and the alert's delay from the answer's update to its sendMessage."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from bench.harness import COORDINATOR, STAFF_CHAT, BenchTelegram, Bot, bot_process, environment, free_port, wait_ready
from bench.inbound import Load

FIRST_CHAT = 50_000_001  # bench/scale.py enrols patients from this chat id on
ALERTED = 90_001


async def wait_for(check: object, timeout: float, step: float = 0.05) -> bool:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        await asyncio.sleep(step)
    return False


async def to_item_9(load: Load, telegram: BenchTelegram) -> None:
    """One patient onboarded, in the baseline check-in, at PHQ-9's ninth question (walked as the
    end-to-end tests walk: the button that moves on, a short answer where one is asked for)."""
    user = telegram.user(ALERTED, "Alert")

    async def act(action: tuple[str, str]) -> None:
        await load.act(user, action)
        await telegram.settle(quiet=0.1, timeout=60)

    def labels() -> list[str]:
        last = user.last_message
        return [text for row in (last.buttons if last else []) for text, _ in row]

    async def walk_to(wanted: str) -> str:
        for _ in range(40):
            found = [label for label in labels() if wanted.lower() in label.lower()]
            if found:
                return found[0]
            await act(("tap", labels()[0]) if labels() else ("text", "a short answer"))
        raise RuntimeError(f"never offered {wanted!r}")

    await act(("text", "/start"))
    for wanted in ("United Kingdom", "I agree", "check-in"):
        await act(("tap", await walk_to(wanted)))
    for _ in range(20):
        if "9 of 9" in (user.last_message.text if user.last_message else ""):
            return
        if not labels():
            break
        await act(("tap", "Not at all" if "Not at all" in labels() else labels()[0]))
    transcript = [(m.text[:50], [t for row in m.buttons for t, _ in row]) for m in user.messages[-6:]]
    raise RuntimeError(f"the check-in did not reach PHQ-9's ninth question: {transcript}")


async def measure(framework: str, workdir: Path, recipients: int, ceiling: float) -> dict[str, object]:
    telegram = BenchTelegram()
    await telegram.start()
    try:
        return await _measure(telegram, framework, workdir, recipients, ceiling)
    finally:
        await telegram.stop()


async def _measure(
    telegram: BenchTelegram, framework: str, workdir: Path, recipients: int, ceiling: float
) -> dict[str, object]:
    port = free_port()
    bot = Bot("coach", framework)
    database = workdir / f"coach-{framework}-webhook-{port}.db"
    env = environment(bot, "webhook", telegram, database, port)
    await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bench.scale", "--populate-only", "--patients", str(recipients)],
        cwd=workdir, env=env, check=True, capture_output=True,
    )  # fmt: skip
    rate = {"SEND_RATE": str(ceiling), "PAID_BROADCAST": "true" if ceiling > 30 else "false"}
    staff = telegram.group(STAFF_CHAT, "Guides", is_forum=True)
    chats = set(range(FIRST_CHAT, FIRST_CHAT + recipients))
    for chat in chats:  # the recipients, as people the stand-in knows (it refuses unknown chats)
        telegram.user(chat, "Patient")
    telegram.watched = chats | {STAFF_CHAT}
    async with aiohttp.ClientSession() as http:
        with bot_process(
            bot, "webhook", telegram, workdir, port, DATABASE_URL=f"sqlite:///{database}", **rate
        ) as process:
            await wait_ready(telegram, "webhook", process)
            load = Load(telegram, "webhook", port, http, bare=False)
            await to_item_9(load, telegram)
            telegram.rate_limit(global_per_second=ceiling)
            staff.send_text(
                COORDINATOR,
                "/broadcast everyone\nA reminder from your care team, {{ code }}: this week's lesson is open.",
            )
            await load.post()
            await wait_for(lambda: any("Send to" in t for row in _buttons(staff) for t in row), 60)
            staff.press(COORDINATOR, next(t for row in _buttons(staff) for t in row if "Send to" in t))
            await load.post()

            def delivered() -> int:
                return sum(1 for chat in chats if telegram.seen.get(chat))

            await wait_for(lambda: delivered() >= recipients // 2, 600, 0.2)
            answered = time.perf_counter()
            alerts_before = len(telegram.seen.get(STAFF_CHAT, []))
            user = telegram.user(ALERTED, "Alert")
            user.press("Nearly every day")
            await load.post()

            def alert_sent() -> bool:
                return any("URGENT" in text for _, text in telegram.seen.get(STAFF_CHAT, [])[alerts_before:])

            await wait_for(alert_sent, 120, 0.01)
            alert_at = next(
                (at for at, text in telegram.seen.get(STAFF_CHAT, [])[alerts_before:] if "URGENT" in text), None
            )
            last_count, still = -1, time.monotonic()
            while delivered() < recipients and time.monotonic() - still < 30:
                await asyncio.sleep(0.5)
                if delivered() != last_count:
                    last_count, still = delivered(), time.monotonic()
    too_many = sum(1 for call in telegram.calls if call.error_code == 429)
    times = sorted(at for chat in chats for at, _ in telegram.seen.get(chat, [])[:1])
    counts = [len(telegram.seen.get(chat, [])) for chat in chats]
    achieved = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    return {
        "broadcast": {
            "recipients": recipients,
            "ceiling_per_s": ceiling,
            "achieved_per_s": round(achieved, 1),
            "ratio": round(achieved / ceiling, 3),
            "lost": sum(1 for n in counts if n == 0),
            "duplicated": sum(n - 1 for n in counts if n > 1),
            "answered_429": too_many,  # each one pauses all sending for its retry_after
        },
        "alert_during_broadcast_s": round(alert_at - answered, 3) if alert_at is not None else None,
    }


def _buttons(group: object) -> list[list[str]]:
    last = group.last_message  # type: ignore[attr-defined]
    return [[text for text, _ in row] for row in (last.buttons if last else [])]
