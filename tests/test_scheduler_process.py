"""`paincoach scheduler` as real processes: the first acts, a second waits, and when the first is
SIGKILLed the second takes over; nothing is sent twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from clock import SystemClock
from coach.broadcasts import BroadcastDesk
from content.schema import Content
from sandbox.botapi import FakeTelegram
from tests.conftest import ROOT
from tests.e2e import STAFF_CHAT, framework_env
from tests.support import make_database
from tests.test_broadcast import FIRST_PATIENT, enrol


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@contextmanager
def scheduler_process(telegram: FakeTelegram, workdir: Path, name: str) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_API_BASE_URL": telegram.base_url,
        "DATABASE_URL": f"sqlite:///{workdir / 'coach.db'}",
        "STAFF_CHAT_ID": str(STAFF_CHAT),
        "LOG_LEVEL": "INFO",
        "DATA_KEY": os.environ["DATA_KEY"],  # the key the test reads the database with (conftest)
        **framework_env(),
    }
    log = (workdir / f"{name}.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "paincoach.cli", "scheduler"], cwd=workdir, env=env, stdout=log, stderr=log
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        log.close()


async def test_a_second_scheduler_waits_and_takes_over_when_the_first_is_killed(
    telegram: FakeTelegram, tmp_path: Path, content: Content
) -> None:
    database = make_database(tmp_path)
    enrol(database, 3, SystemClock().now())
    chats = [FIRST_PATIENT + n for n in range(1, 4)]
    for chat in chats:
        telegram.user(chat, "Pat")
    telegram.group(STAFF_CHAT, "Guides")
    desk = BroadcastDesk(database, content, SystemClock(), staff_chat_id=STAFF_CHAT)

    def send(text: str) -> None:
        draft = desk.draft(created_by=1, audience="everyone", text=text)
        assert desk.confirm(draft.id)

    def received(text: str) -> Counter[int]:
        return Counter(m.chat_id for chat in chats for m in telegram.messages(chat) if text in m.text)

    send("First news")
    logs = {name: tmp_path / f"{name}.log" for name in ("a", "b")}

    def started(name: str) -> bytes:
        text = logs[name].read_bytes() if logs[name].exists() else b""
        return text if b"scheduler started" in text else b""

    with scheduler_process(telegram, tmp_path, "a") as a, scheduler_process(telegram, tmp_path, "b") as b:
        await telegram.wait_for(lambda: bool(started("a") and started("b")), timeout=60)
        runs = [name for name in ("a", "b") if b"(running)" in started(name)]
        assert len(runs) == 1, "exactly one of the two acts; the other waits"
        assert b"(waiting" in started("b" if runs == ["a"] else "a")
        await telegram.wait_for(lambda: len(received("First news")) == 3, timeout=60)
        acting, waiting = (a, "b") if runs == ["a"] else (b, "a")
        acting.send_signal(signal.SIGKILL)
        acting.wait(timeout=10)
        send("Second news")
        await telegram.wait_for(lambda: len(received("Second news")) == 3, timeout=60)
        assert b"now runs the scheduler" in logs[waiting].read_bytes()
    assert received("First news") == Counter(chats), "once each"
    assert received("Second news") == Counter(chats), "once each, from the second scheduler"
    database.dispose()
