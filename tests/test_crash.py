"""The crash test: `paincoach run` is SIGKILLed at random moments while patients go through scripted
journeys (onboarding, a check-in, a lesson, a message to their guide), and restarted each time;
`paincoach scheduler` is SIGKILLed in the middle of a broadcast. Every journey ends as it would
have without a crash: no step and no patient message is lost, and a crash sends at most the one
message each chat had in flight again.

The size is `PAINCOACH_CRASH_JOURNEYS` (a few in `make test`, 200 in `make soak`). A kill comes after
a random number of the coach's calls to Telegram, never after a time tuned to a machine's speed.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pytest
from sqlmodel import col, select

from clock import SystemClock
from coach.broadcasts import BroadcastDesk
from content.schema import Content
from sandbox.botapi import FakeMessage, FakeTelegram, FakeUser
from sandbox.botapi.faults import SENDING
from storage.database import Database
from storage.models import Answer, OutboxMessage, Patient
from tests.e2e import STAFF_CHAT, process_env, settle, watch_database
from tests.support import make_database
from tests.test_broadcast import FIRST_PATIENT, enrol

JOURNEYS = int(os.environ.get("PAINCOACH_CRASH_JOURNEYS", "1"))  # make soak: 200
BROADCASTS = max(2, JOURNEYS // 10)
SEED = int(os.environ.get("PAINCOACH_CRASH_SEED", "17"))
PATIENCE = 600.0  # seconds to wait for an answer that a restart is in the way of (a loaded machine is slow)
SEND = "📨 Send to my guide"
DONE = "✅ Mark answered"


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


def environment(telegram: FakeTelegram, database_url: str, **more: str) -> dict[str, str]:
    return {
        **process_env(telegram, database_url),
        "STAFF_CHAT_ID": str(STAFF_CHAT),
        "DEFAULT_TIMEZONE": "Europe/London",
        "LOG_LEVEL": "INFO",
        **more,
    }


class Restartable:
    """A coach command as its own process: killed with SIGKILL, started again, as often as asked."""

    def __init__(self, command: str, env: dict[str, str], workdir: Path) -> None:
        self.command, self.env, self.workdir = command, env, workdir
        self.process: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> None:
        with (self.workdir / f"{self.command}.log").open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "paincoach.cli", self.command],
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=log,
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.kills += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


@contextmanager
def restartable(command: str, env: dict[str, str], workdir: Path) -> Iterator[Restartable]:
    runner = Restartable(command, env, workdir)
    runner.start()
    try:
        with watch_database(env["DATABASE_URL"]):
            yield runner
    finally:
        runner.stop()


@dataclass
class Killer:
    """Kills the process after a random number of its calls to Telegram, restarts it, and again,
    until told to stop; notes the fake's sequence number at each kill."""

    telegram: FakeTelegram
    runner: Restartable
    rng: random.Random
    counted: Callable[[str], bool] = lambda method: method.lower() in SENDING  # mid-conversation, not start-up
    most_calls: int = 40
    kills_at: list[int] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    def calls(self) -> int:
        return sum(1 for call in self.telegram.calls if self.counted(call.method))

    async def run(self) -> None:
        while not self._stop.is_set():
            await self.started()
            target = self.calls() + self.rng.randint(1, self.most_calls)
            stopped = asyncio.create_task(self._stop.wait())
            reached = asyncio.create_task(self.telegram.wait_for(partial(self.reached, target), timeout=3600))
            await asyncio.wait({stopped, reached}, return_when=asyncio.FIRST_COMPLETED)
            for task in (stopped, reached):
                task.cancel()
                with suppress(asyncio.CancelledError, AssertionError):
                    await task
            if self._stop.is_set():
                return
            self.runner.kill()
            self.kills_at.append(self.telegram.last_seq)
            self.runner.start()

    def reached(self, target: int) -> bool:
        return self.calls() >= target

    async def started(self) -> None:
        """Wait until the (re)started process is at work: its first call to Telegram."""
        seen = len(self.telegram.calls)
        await self.telegram.wait_for(lambda: len(self.telegram.calls) > seen, timeout=PATIENCE)

    async def stop(self) -> None:
        self._stop.set()


# -- a patient's journey, waiting through restarts ----------------------------------------------


async def act(user: FakeUser, telegram: FakeTelegram, action: Callable[[], object]) -> None:
    """Do something as the patient, wait for the coach's answer in their chat (a restart may be
    in the way), then until the coach has nothing left to do."""
    before = telegram.last_seq
    action()
    await telegram.wait_for(lambda: any(m.updated_seq > before for m in user.messages), timeout=PATIENCE)
    await settle(telegram, timeout=PATIENCE)


def latest_with(user: FakeUser, label: str) -> FakeMessage:
    for message in reversed(user.messages):
        if any(label.lower() in text.lower() for text in message.labels):
            return message
    raise AssertionError(f"no button {label!r}; last: {user.messages[-1].text[:200]!r}")


async def press(user: FakeUser, telegram: FakeTelegram, label: str) -> None:
    message = latest_with(user, label)
    exact = next(text for text in message.labels if label.lower() in text.lower())
    await act(user, telegram, lambda: user.press(exact, message_id=message.message_id))


async def type_(user: FakeUser, telegram: FakeTelegram, text: str) -> None:
    await act(user, telegram, lambda: user.send_text(text))


async def walk_to(user: FakeUser, telegram: FakeTelegram, label: str, answer: str, limit: int = 60) -> None:
    """Tap the first button, or type `answer` when there is none, until `label` is offered."""
    for _ in range(limit):
        last = user.messages[-1]
        if any(label.lower() in text.lower() for text in last.labels):
            return
        if last.labels and not last.labels[0].lower().startswith("skip"):
            await press(user, telegram, last.labels[0])
        else:
            await type_(user, telegram, answer)
    raise AssertionError(f"never offered {label!r}; last: {user.messages[-1].text[:200]!r}")


async def journey(user: FakeUser, telegram: FakeTelegram, number: int) -> None:
    """Onboarding, the first check-in, lesson 1 to its end, and a message to the guide."""
    await type_(user, telegram, "/start")
    await walk_to(user, telegram, "United Kingdom", "fine")
    await press(user, telegram, "United Kingdom")
    await walk_to(user, telegram, "I agree", "fine")
    await press(user, telegram, "I agree")
    await press(user, telegram, "check-in")
    await walk_to(user, telegram, "lesson 1", "fine")  # every question of the check-in, to the menu
    await press(user, telegram, "lesson 1")
    for _ in range(80):
        if any("finished lesson 1" in m.text.lower() for m in user.messages):
            break
        last = user.messages[-1]
        if last.labels and not last.labels[0].lower().startswith("skip"):
            await press(user, telegram, last.labels[0])
        else:
            await type_(user, telegram, f"journey {number}: I rest, then I worry about tomorrow")
    else:
        raise AssertionError("lesson 1 never ended")
    await type_(user, telegram, question(number))
    await press(user, telegram, SEND)
    await telegram.wait_for(lambda: any("Your guide has your message" in m.text for m in user.messages))


def question(number: int) -> str:
    return f"journey {number}: is a flare after a walk normal?"


# -- what the chats show ------------------------------------------------------------------------


def normalised(text: str, number: int) -> str:
    """A message as any journey would see it: the journey's own number and the clock taken out."""
    text = text.replace(f"journey {number}:", "journey N:")
    return re.sub(r"\b\d{1,2}:\d{2}\b|\b(today|tomorrow|on \w+day)\b", "WHEN", text)


def sent_as(telegram: FakeTelegram) -> dict[tuple[int, int], str]:
    """Each message as the coach sent it (before any later edit), by (chat, message id)."""
    sent: dict[tuple[int, int], str] = {}
    senders = ("sendMessage", "sendPhoto", "copyMessage")
    for call in telegram.calls:
        result = call.result
        if call.ok and call.method in senders and call.chat_id is not None and isinstance(result, dict):
            params = call.params
            what = (call.method, params.get("text"), params.get("caption"), params.get("reply_markup"))
            sent[(call.chat_id, result["message_id"])] = repr(what)
    return sent


def duplicates(messages: list[FakeMessage], sent: dict[tuple[int, int], str]) -> list[tuple[FakeMessage, FakeMessage]]:
    """Pairs of messages sent the same, one right after the other in their chat: the first sent
    by a process that died before it could record it, the second sent again after the restart
    (the one the coach knows, and edits later)."""
    key = [sent.get((m.chat_id, m.message_id)) for m in messages]
    return [
        (messages[i], messages[i + 1]) for i in range(len(messages) - 1) if key[i] is not None and key[i] == key[i + 1]
    ]


def crash_of(message: FakeMessage, kills_at: list[int]) -> int:
    """The crash a message was sent after (the number of kills before it)."""
    return sum(1 for seq in kills_at if seq < message.seq)


def answers_of(database_url: str) -> dict[int, list[tuple[str, str, str]]]:
    database = Database(database_url)
    try:
        with database.transaction() as session:
            chats = dict(session.exec(select(Patient.id, Patient.chat_id)).all())
            found: dict[int, list[tuple[str, str, str]]] = {}
            for answer in session.exec(select(Answer).order_by(col(Answer.id))).all():
                found.setdefault(chats[answer.patient_id], []).append((answer.flow, answer.key, answer.value))
            return found
    finally:
        database.dispose()


FIRST = 20_000


async def test_the_coach_killed_at_random_moments_loses_no_step_and_no_patient_message(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    staff = telegram.group(STAFF_CHAT, "Guides")
    database_url = f"sqlite:///{tmp_path / 'coach.db'}"
    with restartable("run", environment(telegram, database_url), tmp_path) as coach:
        reference = telegram.user(FIRST, "Pat")
        await journey(reference, telegram, 0)  # without a crash: what every journey must show
        assert not duplicates(reference.messages, sent_as(telegram)), "a journey without a crash shows nothing twice"
        killer = Killer(telegram, coach, rng)
        killing = asyncio.create_task(killer.run())
        try:
            for number in range(1, JOURNEYS + 1):
                await journey(telegram.user(FIRST + number, "Pat"), telegram, number)
        finally:
            await killer.stop()
            await killing
        await settle(telegram, timeout=PATIENCE)
    assert coach.kills >= JOURNEYS, f"only {coach.kills} crashes in {JOURNEYS} journeys"

    sent = sent_as(telegram)
    expected = [normalised(m.text, 0) for m in reference.messages]
    answers = answers_of(database_url)
    reference_answers = [(flow, key, normalised(value, 0)) for flow, key, value in answers[FIRST]]
    doubled: Counter[tuple[int, int]] = Counter()  # (chat, crash) -> messages shown twice
    for number in range(1, JOURNEYS + 1):
        user = telegram.user(FIRST + number)
        again = duplicates(user.messages, sent)
        doubled.update((user.user_id, crash_of(second, killer.kills_at)) for _, second in again)
        orphans = [first for first, _ in again]
        shown = [normalised(m.text, number) for m in user.messages if m not in orphans]
        assert shown == expected, f"journey {number} saw every step once, in order, as without a crash"
        mine = [(flow, key, normalised(value, number)) for flow, key, value in answers[FIRST + number]]
        assert mine == reference_answers, f"journey {number}: every answer the patient typed was kept, once"
        relayed = [m for m in staff.messages if m.text == question(number)]
        assert 1 <= len(relayed) <= 2, f"journey {number}: the message to the guide reached the staff chat"
    staff_again = duplicates(staff.messages, sent)
    doubled.update((STAFF_CHAT, crash_of(second, killer.kills_at)) for _, second in staff_again)
    assert all(count == 1 for count in doubled.values()), f"a crash sends a chat at most one message twice: {doubled}"
    crashes_with_a_duplicate = len({crash for _, crash in doubled})
    print(  # the measure the README quotes
        f"\n{JOURNEYS} journeys, {coach.kills} crashes: {sum(doubled.values())} message(s) shown twice "
        f"({len(staff_again)} in the staff chat), after {crashes_with_a_duplicate} of the crashes"
    )


async def test_the_scheduler_killed_mid_broadcast_sends_nobody_the_news_twice(
    telegram: FakeTelegram, tmp_path: Path, content: Content
) -> None:
    rng = random.Random(SEED)
    database = make_database(tmp_path)
    recipients = 30
    enrol(database, recipients, SystemClock().now())
    chats = [FIRST_PATIENT + n for n in range(1, recipients + 1)]
    for chat in chats:
        telegram.user(chat, "Pat")
    telegram.group(STAFF_CHAT, "Guides")
    desk = BroadcastDesk(database, content, SystemClock(), staff_chat_id=STAFF_CHAT)

    def received(text: str) -> Counter[int]:
        return Counter(m.chat_id for chat in chats for m in telegram.messages(chat) if m.text == text)

    def statuses(broadcast_id: int) -> Counter[str]:
        with database.transaction() as session:
            rows = session.exec(
                select(OutboxMessage.status).where(col(OutboxMessage.cue_group) == f"broadcast:{broadcast_id}")
            ).all()
        return Counter(rows)

    env = environment(telegram, database.url, SEND_RATE="20")
    with restartable("scheduler", env, tmp_path) as scheduler:
        for number in range(1, BROADCASTS + 1):
            text = f"News number {number}"
            draft = desk.draft(created_by=1, audience="everyone", text=text)
            assert desk.confirm(draft.id)
            kill_after = rng.randint(1, recipients - 1)
            await telegram.wait_for(lambda: sum(received(text).values()) >= kill_after, timeout=PATIENCE)  # noqa: B023
            scheduler.kill()
            scheduler.start()
            await telegram.wait_for(lambda: (desk.progress(draft.id) or draft).status == "done", timeout=PATIENCE)  # noqa: B023
            await settle(telegram, timeout=PATIENCE)
            got, status = received(text), statuses(draft.id)
            assert max(got.values()) == 1, "nobody got the news twice"
            assert set(status) <= {"sent", "in_doubt"}, status
            assert status["in_doubt"] <= 8, "only the requests in flight at the crash are in doubt"
            missing = set(chats) - set(got)
            assert len(missing) <= status["in_doubt"], "everyone else got it"
    assert scheduler.kills == BROADCASTS
    database.dispose()
