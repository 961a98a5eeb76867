"""`paincoach sandbox`: the stand-in Telegram, the real coach against it on a clock that moves on,
and the page's interface; `paincoach run` with no token starts it. (The browser plays the page in
tests/test_sandbox_browser.py.)"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlmodel import col, select

from paincoach.settings import Settings
from sandbox.app import STAFF, STAFF_CHAT, Sandbox, running_sandbox, sandbox_settings
from sandbox.botapi import FakeTelegram
from sandbox.time_travel import TimeTravelError, TravellingClock
from sandbox.web import PAGE, page_app
from storage.database import Database
from storage.models import DueEvent
from tests.conftest import ROOT
from tests.e2e import RUNNING, last, say, settle, tap, walk_until
from tests.fake_telegram_clients import raw_call
from tests.test_e2e import REFLECTION, label_with, onboard

GUIDE = next(p.user_id for p in STAFF if p.role == "guide")


def own_settings() -> Settings:
    """The user's settings, as `paincoach sandbox` reads them: here, no token and no staff chat."""
    # the course's own walk: no eligibility screening before onboarding (tests/test_enrolment_e2e.py has it)
    return Settings(_env_file=None, default_timezone="Europe/London", eligibility_screening=False)  # type: ignore[call-arg]


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    async with running_sandbox(own_settings(), f"sqlite:///{tmp_path / 'sandbox.db'}") as running:
        RUNNING.append(running.coach)  # tests.e2e.settle also waits for the sandbox's coach
        try:
            yield running
        finally:
            RUNNING.remove(running.coach)


def test_the_clock_moves_only_forward_and_tells_real_moments_in_its_own_time() -> None:
    clock = TravellingClock()
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5), "it starts at the real time"
    before = clock.now()
    clock.advance(timedelta(days=7))
    assert clock.now() - before >= timedelta(days=7)
    with pytest.raises(TimeTravelError, match="only moves forward"):
        clock.travel_to(before)
    with pytest.raises(TimeTravelError, match="only moves forward"):
        clock.advance(timedelta(hours=-1))
    with pytest.raises(TimeTravelError, match="time zone"):
        clock.travel_to(datetime(2030, 1, 1))  # a moment with no zone is refused
    assert clock.offset >= timedelta(days=7)
    assert abs(clock.timestamp() - clock.now().timestamp()) < 1


async def test_a_patient_and_a_guide_talk_and_a_week_on_lesson_two_arrives_at_its_own_time(sandbox: Sandbox) -> None:
    telegram, staff = sandbox.telegram, sandbox.staff_group
    assert sandbox.settings.telegram_api_base_url == telegram.base_url, "the coach talks to the stand-in"
    user = sandbox.new_patient("Zoe")
    await onboard(user, telegram)
    await tap(user, telegram, label_with(user, "lesson 1"))
    assert "Lesson 1" in "\n".join(m.text for m in user.messages[-3:])

    user.mark()
    await say(user, telegram, "/guide Is it normal to feel worse after a walk?")  # in the middle of lesson 1
    await user.wait_for_text("Your guide has your message")
    [thread] = staff.topics
    assert staff.topics[thread].startswith("P-0001"), "the staff see a code, never the name"
    staff.send_text(GUIDE, "Yes, that is common; try a shorter walk.", thread_id=thread)
    await user.wait_for_text("try a shorter walk", timeout=10)
    await settle(telegram)
    await say(user, telegram, "/lesson")  # back to where lesson 1 was left, and through it
    await walk_until(user, telegram, "finished lesson 1", answer=REFLECTION)

    release = await sandbox.coach.database.run(_due, sandbox.coach.database, "lesson_released", "2")
    user.mark()
    assert release - sandbox.clock.now() > timedelta(days=6), "lesson 2 opens a week after consent"
    moved = await sandbox.travel_to(release + timedelta(hours=2))
    assert moved.due_moments >= 1 and moved.fired >= 1
    ready = await user.wait_for_text("Lesson 2", timeout=10)
    assert "is ready for you" in ready.text
    arrived = datetime.fromtimestamp(ready.date, UTC)  # the stand-in dates messages by the sandbox's clock
    assert release <= arrived < release + timedelta(minutes=5), "it came at its own time, not at the move's end"
    assert moved.now >= release + timedelta(hours=2)
    assert any("check-in is ready" in m.text for m in user.new_messages), "and what came due before it, too"


def _due(database: Database, kind: str, key: str) -> datetime:
    with database.transaction() as session:
        row = session.exec(select(DueEvent).where(col(DueEvent.kind) == kind, col(DueEvent.key) == key)).one()
        return row.due_at


async def test_the_page_is_served_with_every_asset_local_and_the_interface_answers_plainly(sandbox: Sandbox) -> None:
    for asset in PAGE.iterdir():
        text = asset.read_text(encoding="utf-8")
        assert not re.search(r"(src|href)=\"(https?:)?//", text), f"{asset.name} loads something from elsewhere"
        assert "cdn" not in text.lower()
    async with TestServer(page_app(sandbox), host="127.0.0.1") as server, aiohttp.ClientSession() as http:
        base = str(server.make_url("/"))
        async with http.get(base) as page:
            assert page.status == 200 and "<title>paincoach sandbox</title>" in await page.text()
        for path in ("page/sandbox.js", "page/sandbox.css", "page/photo.svg"):
            async with http.get(base + path) as asset:
                assert asset.status == 200, path

        async with http.post(base + "api/patients", json={"name": "Ben"}) as created:
            patient = (await created.json())["id"]
        async with http.post(base + f"api/patients/{patient}/send", json={"text": "/start"}) as sent:
            assert (await sent.json())["ok"]
        await settle(sandbox.telegram)
        async with http.get(base + f"api/state?open={patient}") as state:
            shown = await state.json()
        [ben] = shown["patients"]
        assert ben["name"] == "Ben" and ben["code"] == "P-0001"
        assert ben["messages"][0]["text"] == "/start" and not ben["messages"][0]["from_bot"]
        assert any(m["buttons"] for m in ben["messages"]), "the welcome's buttons are there to tap"
        assert {c["command"] for c in shown["staff"]["commands"]} >= {"queue", "patient"}, "staff commands offered"
        assert {m["role"] for m in shown["staff"]["members"]} == {"admin", "guide", "coordinator"}

        async with http.post(base + "api/clock", json={"to": "2001-01-01"}) as refused:
            assert refused.status == 400
            assert "only moves forward" in (await refused.json())["error"]
        async with http.post(base + "api/clock", json={"to": "next Tuesday"}) as refused:
            assert "is not a date" in (await refused.json())["error"]
        async with http.post(base + f"api/patients/{patient}/press", json={"data": "no-such-button"}) as refused:
            assert refused.status == 400 and "no button" in (await refused.json())["error"]
        async with http.post(base + "api/staff/send", json={"as": 1, "text": "hi"}) as refused:
            assert "one of the staff" in (await refused.json())["error"]
        async with http.post(base + "api/clock", json={"by": "day"}) as moved:
            assert (await moved.json())["ok"]
        async with http.get(base + "api/log") as log:
            entries = (await log.json())["entries"]
        assert any(e["method"] == "sendMessage" and e["to"] == "Ben" and e["ok"] for e in entries)


async def test_an_existing_database_opens_with_each_patients_history(tmp_path: Path) -> None:
    """What `paincoach sandbox --database URL` does with a trial from `paincoach simulate`: the
    patients it holds are there, with what happened to them, and carry on from where they were."""
    url = f"sqlite:///{tmp_path / 'trial.db'}"
    async with running_sandbox(own_settings(), url) as first:
        RUNNING.append(first.coach)
        try:
            user = first.new_patient("Ida")
            await onboard(user, first.telegram)
            began = first.clock.now()
            await first.advance(timedelta(days=8))
        finally:
            RUNNING.remove(first.coach)
    async with running_sandbox(own_settings(), url) as again:
        assert again.names == {user.user_id: "P-0001"}, "known by code"
        async with (
            TestServer(page_app(again), host="127.0.0.1") as server,
            aiohttp.ClientSession() as http,
            http.get(server.make_url(f"/api/state?open={user.user_id}")) as state,
        ):
            [shown] = (await state.json())["patients"]
        history = shown["history"]
        assert any("check-in is ready" in h["text"] and h["from_bot"] for h in history), "the coach's, stored"
        assert any(not h["from_bot"] for h in history), "and what the patient answered"
        latest = max(datetime.fromisoformat(h["at"]["iso"]) for h in history)
        assert latest - began > timedelta(days=6), "a week on, in the first sandbox's time"
        assert again.clock.now() > latest, "the clock starts after the latest moment the database knows"
        patient = again.patient(user.user_id)
        patient.send_command("/menu")
        await again.telegram.wait_for(lambda: bool(patient.messages), timeout=15)
        assert last(patient).buttons, "the course carries on"


def test_make_run_without_a_token_prints_the_sandbox_address_and_serves_the_page(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), "SANDBOX_PORT": "0"}
    process = subprocess.Popen(
        [sys.executable, "-m", "paincoach.cli", "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = ""
        for _ in range(5):  # the line naming the address comes once everything runs
            line = process.stdout.readline()
            if "http://" in line:
                break
        found = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert found, f"no address printed: {line!r}"
        with urllib.request.urlopen(found.group(0), timeout=10) as page:
            assert "paincoach sandbox" in page.read().decode()
        assert (tmp_path / "var" / "sandbox.db").exists()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""


async def test_a_pinned_message_is_shown_pinned_on_the_page(sandbox: Sandbox) -> None:
    """The coach pins nothing today; when it does (pinChatMessage), the page shows it on top."""
    user = sandbox.new_patient("Pia")
    user.send_command("/start")
    await user.wait_for_buttons(timeout=15)
    await settle(sandbox.telegram)
    welcome = user.messages[0].message_id
    status, body = await raw_call(sandbox.telegram, "pinChatMessage", json={"chat_id": user.chat_id, "message_id": 999})
    assert status == 400 and "not found" in body["description"]
    status, _ = await raw_call(
        sandbox.telegram, "pinChatMessage", json={"chat_id": user.chat_id, "message_id": welcome}
    )
    assert status == 200
    async with TestServer(page_app(sandbox), host="127.0.0.1") as server, aiohttp.ClientSession() as http:
        async with http.get(server.make_url(f"/api/state?open={user.user_id}")) as state:
            [shown] = (await state.json())["patients"]
        assert shown["pinned"] == [welcome]
        await raw_call(sandbox.telegram, "unpinChatMessage", json={"chat_id": user.chat_id})
        async with http.get(server.make_url(f"/api/state?open={user.user_id}")) as state:
            [shown] = (await state.json())["patients"]
        assert shown["pinned"] == []


async def test_the_coach_runs_on_the_users_own_settings_but_the_sandboxs_telegram_and_database() -> None:
    """Whatever the user set (framework, time zone, office hours, admins ...) the coach keeps;
    only where Telegram is, the token, the database and the staff chat are the sandbox's."""
    mine = Settings(  # type: ignore[call-arg]
        _env_file=None,
        default_timezone="Europe/Berlin",
        office_hours="Mon-Thu 10:00-16:00",
        admin_ids=(42,),
        telegram_bot_token="999:a-real-token-never-used-here",
        webhook_url="https://example.org/hook",
        webhook_secret="s3cret",
    )
    async with FakeTelegram() as telegram:
        used = sandbox_settings(mine, telegram, "sqlite:///sandbox-test.db")
    assert used.telegram_bot_token is not None and used.telegram_bot_token.get_secret_value() == telegram.token
    assert (used.telegram_api_base_url, used.database_url) == (telegram.base_url, "sqlite:///sandbox-test.db")
    assert used.webhook_url is None and used.scheduler == "inside", "long polling against the stand-in"
    assert used.staff_chat_id == STAFF_CHAT
    assert 42 in used.admin_ids and STAFF[0].user_id in used.admin_ids
    kept = {"default_timezone", "office_hours", "content_dir", "default_locale", "send_rate"}
    assert {name: getattr(used, name) for name in kept} == {name: getattr(mine, name) for name in kept}
    if "telegram_framework" in Settings.model_fields:  # the framework the coach runs on is the user's
        assert used.telegram_framework == mine.telegram_framework  # type: ignore[attr-defined]
