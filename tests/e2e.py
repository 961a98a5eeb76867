"""End-to-end harness: the real coach (its Telegram adapter, database, sender) against the fake Bot API.

Every test that uses it runs once per Telegram framework (aiogram, python-telegram-bot):
tests/conftest.py parametrises each test that calls `settings_for`, `running_coach` or a coach
process over `FRAMEWORKS`, and `settings_for` refuses to run in a test that was not."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import col, select

from bot.transport import TelegramApi
from clock import Clock
from paincoach.app import TelegramCoach
from paincoach.settings import Settings
from paincoach.wiring import connect
from sandbox.botapi import FakeMessage, FakeTelegram, FakeUser
from storage import outbox
from storage.database import Database
from storage.models import Answer, DialogState, InboundUpdate, OutboxMessage, Patient

STAFF_CHAT = -1001234
FRAMEWORKS = ("aiogram", "ptb")  # TELEGRAM_FRAMEWORK values; every end-to-end test runs on each
# What tests/conftest.py looks for in a test to run it on every framework.
USES_HARNESS = frozenset(
    {"settings_for", "running_coach", "coach_process", "scheduler_process", "framework_env", "adapter_for"}
)
FRAMEWORK: str | None = None  # the framework of the test running now (the `framework` fixture sets it)


def framework_in_use() -> str:
    if FRAMEWORK is None:
        raise AssertionError(
            "an end-to-end test must run on every framework: tests/conftest.py parametrises tests that name "
            f"{sorted(USES_HARNESS)}; name one of them in the test, or take the `framework` fixture"
        )
    return FRAMEWORK


def framework_env() -> dict[str, str]:
    """The environment that makes a coach process use this test's framework."""
    return {"TELEGRAM_FRAMEWORK": framework_in_use()}


def process_env(telegram: FakeTelegram, database_url: str) -> dict[str, str]:
    """What a coach process of a test always needs: the stand-in Telegram, the database, the key the
    test reads that database with (conftest), and a plain /start (open enrolment, no screening)."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **{key: os.environ[key] for key in ("HOME", "XDG_CACHE_HOME") if key in os.environ},  # the lemma tries
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_API_BASE_URL": telegram.base_url,
        "DATABASE_URL": database_url,
        "DATA_KEY": os.environ["DATA_KEY"],
        "ENROLMENT": "open",
        "ELIGIBILITY_SCREENING": "false",
    }


def adapter_for(telegram: FakeTelegram) -> TelegramApi:
    """This test's framework's adapter on the fake, for a test that drives the sender itself."""
    settings = Settings(_env_file=None, telegram_bot_token=telegram.token, telegram_api_base_url=telegram.base_url,  # type: ignore[call-arg]
                        telegram_framework=framework_in_use())  # fmt: skip
    return connect(settings)


def settings_for(telegram: FakeTelegram, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "telegram_framework": framework_in_use(),
        "telegram_bot_token": telegram.token,
        "telegram_api_base_url": telegram.base_url,
        "database_url": f"sqlite:///{tmp_path / 'coach.db'}",
        "staff_chat_id": STAFF_CHAT,
        "default_timezone": "Europe/London",
        # Tests of the course itself start with a plain /start; tests/test_enrolment_e2e.py covers
        # invitations and the screening (ENROLMENT=invite and ELIGIBILITY_SCREENING=true, the defaults).
        "enrolment": "open",
        "eligibility_screening": False,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@asynccontextmanager
async def running_coach(
    settings: Settings, clock: Clock | None = None, *, timers: bool = False
) -> AsyncIterator[TelegramCoach]:
    """The coach running in this event loop, stopped cleanly afterwards. The sender runs; the
    scheduler's sweeps run only when the test calls them (`coach.service.sweep_due()` ...), so no
    test depends on what a real-time sweep happens to find; `timers=True` runs them on their own."""
    coach = TelegramCoach.build(settings, clock)
    stop = asyncio.Event()
    task = asyncio.create_task(coach.run(stop, timers=timers))
    RUNNING.append(coach)
    try:
        yield coach
    finally:
        RUNNING.remove(coach)
        stop.set()
        await asyncio.wait_for(task, timeout=20)


async def settle(telegram: FakeTelegram, timeout: float = 20) -> None:  # noqa: ASYNC109
    """Wait until the coaches running here, or in a process of their own (`watch_database`), have
    nothing left to do (no update waiting or being handled, no message due in the outbox) and the
    fake Telegram has gone quiet: however slow the machine, what a test reads next is all the coach
    was going to send."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        await telegram.settle(quiet=0.05, timeout=timeout)
        if not [c for c in RUNNING if await busy(c)] and not [url for url in WATCHED if await database_busy(url)]:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the coach did not finish its work in time")
        await asyncio.sleep(0.02)  # let the coach work, rather than ask its database again at once


RUNNING: list[TelegramCoach] = []  # the coaches `running_coach` started, while they run
WATCHED: list[str] = []  # databases of coaches running in processes of their own


async def busy(coach: TelegramCoach) -> bool:
    if coach.pipeline.busy:
        return True

    def unsent() -> int:
        with coach.database.transaction() as session:
            return outbox.unsent_now(session, coach.services.clock.now())

    return await coach.database.run(unsent) > 0


async def database_busy(url: str) -> bool:
    """A coach in another process is busy while an update it stored is not handled, or a message is due."""

    def look() -> bool:
        database = Database(url)
        try:
            with database.transaction() as session:
                waiting = session.exec(select(InboundUpdate).where(col(InboundUpdate.handled_at).is_(None))).first()
                return waiting is not None or outbox.unsent_now(session, datetime.now(UTC)) > 0
        finally:
            database.dispose()

    return await asyncio.to_thread(look)


@contextmanager
def watch_database(url: str) -> Iterator[None]:
    """`settle` also waits for the coach (in a process of its own) that uses this database."""
    WATCHED.append(url)
    try:
        yield
    finally:
        WATCHED.remove(url)


async def tap(user: FakeUser, telegram: FakeTelegram, label: str) -> str:
    """Tap `label` on the latest message that has it (a scheduled message may have come in since)."""
    has = [m for m in user.messages if any(label in (text, data) for row in m.buttons for text, data in row)]
    query = user.press(label, message_id=has[-1].message_id if has else None)
    await user.wait_answered(query)
    await settle(telegram)
    return query


async def say(user: FakeUser, telegram: FakeTelegram, text: str) -> None:
    """Type something, and wait for the bot's answer in that chat (a quiet spell alone can end
    before a busy machine has handled the message), then for the bot to go quiet."""
    before = telegram.last_seq
    user.send_text(text)
    with suppress(AssertionError):  # a few messages get no answer at all
        await telegram.wait_for(lambda: any(m.updated_seq > before for m in user.messages), timeout=10)
    await settle(telegram)


def last(user: FakeUser) -> FakeMessage:
    assert user.messages, "the bot has sent nothing"
    return user.messages[-1]


async def walk_until(
    user: FakeUser, telegram: FakeTelegram, done: str, *, answer: str = "My shoulders ache and I worry", limit: int = 80
) -> None:
    """Tap the first button, or type when there is none, until a message containing `done`."""
    for _ in range(limit):
        if any(done.lower() in m.text.lower() for m in user.new_messages):
            return
        message = last(user)
        labels = [text for row in message.buttons for text, _ in row]
        if labels and not labels[0].lower().startswith("skip"):
            await tap(user, telegram, labels[0])
        else:  # a question: answered by typing (it may offer to skip)
            await say(user, telegram, answer)
    raise AssertionError(f"never saw {done!r}; last: {last(user).text[:200]!r}")


def snapshot(database_url: str) -> dict[str, object]:
    """What the database holds about the (only) patient."""
    database = Database(database_url)
    try:
        with database.transaction() as session:
            patient = session.exec(select(Patient)).one()
            state = session.get(DialogState, patient.id)
            answers = session.exec(select(Answer).order_by(col(Answer.id))).all()
            outbox = session.exec(select(OutboxMessage)).all()
            return {
                "patient": patient,
                "state": state,
                "answers": [(a.flow, a.key, a.value) for a in answers],
                "outbox": sorted({o.status for o in outbox}),
            }
    finally:
        database.dispose()
