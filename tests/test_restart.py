"""A crashed or restarted coach: the patient resumes at the same step and nothing is lost."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from clock import SystemClock
from content import load_content
from paincoach.wiring import make_services, open_database
from sandbox.botapi import FakeTelegram
from storage.inbox import Received
from tests.conftest import CONTENT_DIR
from tests.e2e import (
    framework_env,
    last,
    process_env,
    running_coach,
    settings_for,
    settle,
    snapshot,
    tap,
    watch_database,
)
from tests.test_e2e import label_with, onboard


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@contextmanager
def coach_process(telegram: FakeTelegram, workdir: Path, database_url: str) -> Iterator[subprocess.Popen[bytes]]:
    """`paincoach run` as its own process, as in production."""
    env = {
        **process_env(telegram, database_url),
        "LOG_LEVEL": "INFO",
        **framework_env(),
    }
    log = (workdir / "coach.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "paincoach.cli", "run"], cwd=workdir, env=env, stdout=log, stderr=log
    )
    try:
        with watch_database(database_url):
            yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        log.close()


async def wait_until_polling(telegram: FakeTelegram, seen: int) -> None:
    await telegram.wait_for(lambda: len(telegram.calls_of("getUpdates")) > seen, timeout=60)


async def test_a_killed_process_resumes_the_patient_at_the_same_step(
    telegram: FakeTelegram, tmp_path: Path, database_url: str
) -> None:
    user = telegram.user(3001, "Cleo")
    with coach_process(telegram, tmp_path, database_url) as first:
        await wait_until_polling(telegram, 0)
        await onboard(user, telegram)
        await tap(user, telegram, label_with(user, "lesson 1"))
        for _ in range(3):
            await tap(user, telegram, last(user).buttons[0][0][0])
        where = snapshot(database_url)["state"]
        prompt = last(user)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)

    # While the coach is down the patient taps the button in front of them.
    user.mark()
    query = user.press(prompt.buttons[0][0][0], message_id=prompt.message_id)
    polls = len(telegram.calls_of("getUpdates"))
    with coach_process(telegram, tmp_path, database_url):
        await wait_until_polling(telegram, polls)
        await user.wait_answered(query, timeout=30)
        await settle(telegram)
        moved = snapshot(database_url)["state"]
        assert moved.step != where.step, "the tap made while the coach was down was handled"  # type: ignore[attr-defined]
        assert moved.data["prompt"] == where.data["prompt"] + 1, "and handled once"  # type: ignore[attr-defined]

        current = last(user)
        user.mark()
        user.send_command("/lesson")
        shown = await user.wait_for_buttons(timeout=15)
        assert shown.text == current.text, "/lesson shows the step the patient is on"
        assert snapshot(database_url)["state"].step == moved.step  # type: ignore[attr-defined]


async def test_updates_stored_but_not_handled_before_a_crash_are_handled_at_start(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    settings = settings_for(telegram, tmp_path)
    database = open_database(settings)
    services = make_services(settings, database, load_content(CONTENT_DIR, "en"), SystemClock())
    stored = {
        "update_id": 500,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": 3002, "type": "private"},
            "from": {"id": 3002, "is_bot": False, "first_name": "Dev"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    services.inbox.receive([Received(500, 3002, stored)])
    database.dispose()
    async with running_coach(settings):
        user = telegram.user(3002)
        await user.wait_for_buttons(timeout=10)
        await asyncio.sleep(0)
    assert snapshot(settings.database_url)["state"].flow == "onboarding"  # type: ignore[attr-defined]
