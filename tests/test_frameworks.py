"""A real `paincoach run`, as its own process, makes every Bot API call through the framework
TELEGRAM_FRAMEWORK names (the fake Bot API records each call's User-Agent): polling and webhook,
the menus, taps, edits, forum topics, copies, a guide's reply and its button edit."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sandbox.botapi import FakeTelegram
from tests.e2e import STAFF_CHAT, framework_env, process_env, settle, watch_database
from tests.test_e2e import free_port
from tests.test_guide import ADMIN, DONE, GUIDE, ask_guide, enrol, only_topic, staff_says, with_guide

# How each framework names itself in the User-Agent of its requests.
AGENT = {"aiogram": "aiogram", "ptb": "python-telegram-bot"}


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@contextmanager
def coach_process(telegram: FakeTelegram, workdir: Path, **settings: str) -> Iterator[subprocess.Popen[bytes]]:
    """`paincoach run` as in production, on this test's framework."""
    database_url = f"sqlite:///{workdir / 'coach.db'}"
    env = {
        **process_env(telegram, database_url),
        "STAFF_CHAT_ID": str(STAFF_CHAT),
        "ADMIN_IDS": str(ADMIN),
        "LOG_LEVEL": "INFO",
        **framework_env(),
        **settings,
    }
    log = (workdir / "coach.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "paincoach.cli", "run"], cwd=workdir, env=env, stdout=log, stderr=log
    )
    try:
        with watch_database(database_url):
            yield process
    finally:
        process.terminate()
        try:
            assert process.wait(timeout=20) == 0, "the coach stops cleanly on SIGTERM"
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
            log.close()


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_every_bot_api_call_goes_through_the_chosen_framework(
    telegram: FakeTelegram, tmp_path: Path, framework: str, mode: str
) -> None:
    staff = telegram.group(STAFF_CHAT, "Guides", is_forum=True)
    webhook: dict[str, str] = {}
    if mode == "webhook":
        port = free_port()
        webhook = {"WEBHOOK_URL": f"http://127.0.0.1:{port}/hook", "WEBHOOK_SECRET": "s3cret",
                   "WEBHOOK_LISTEN_PORT": str(port)}  # fmt: skip
    with coach_process(telegram, tmp_path, **webhook):
        ready = "getUpdates" if mode == "polling" else "setWebhook"
        await telegram.wait_for(lambda: any(c.method == ready and c.ok for c in telegram.calls), timeout=90)
        await with_guide(staff, telegram)
        user = telegram.user(7001, "Ada")
        await enrol(user, telegram)
        await ask_guide(user, telegram, staff, "Does pacing mean doing less?")
        thread = only_topic(staff)
        question = staff.topic_messages(thread)[-1]
        await staff_says(staff, telegram, GUIDE, "It means doing steadily, not less.", thread, answer_in=user)
        assert user.messages[-1].text == "💬 Your guide\nIt means doing steadily, not less."
        query = staff.press(GUIDE, DONE, message_id=question.message_id)
        await telegram.wait_answered(query, timeout=20)
        await settle(telegram)
        assert staff.topics[thread] == "P-0001 🟢"

    methods = {call.method for call in telegram.calls}
    expected = {"getMe", "setMyCommands", "getChat", "sendMessage", "sendChatAction", "answerCallbackQuery"}
    expected |= {"editMessageText", "editMessageReplyMarkup", "createForumTopic", "editForumTopic", "copyMessage"}
    expected |= {"deleteWebhook", "getUpdates"} if mode == "polling" else {"setWebhook"}
    assert expected <= methods, f"not called: {sorted(expected - methods)}"
    agents = {call.user_agent for call in telegram.calls}
    strangers = {agent for agent in agents if AGENT[framework] not in agent.lower()}
    assert not strangers, f"calls not made by {framework}: {strangers}"
    if mode == "webhook":
        assert all(attempt.status == 200 for attempt in telegram.webhook_attempts)
