"""End to end over HTTP: a patient talks to the real aiogram bot through a fake Bot API server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlmodel import select

from clock import ManualClock
from coach.effects import TYPING_FROM
from content.render import visible_length
from sandbox.botapi import FakeTelegram, FakeUser
from storage.database import Database
from tests.e2e import STAFF_CHAT, last, running_coach, say, settings_for, settle, snapshot, tap, walk_until

REFLECTION = "Pain <3 & fatigue, then I think 'I'm useless' and rest all day"


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


async def walk_to_button(user: FakeUser, telegram: FakeTelegram, label: str, limit: int = 40) -> None:
    for _ in range(limit):
        message = last(user)
        labels = [text for row in message.buttons for text, _ in row]
        if any(label.lower() in text.lower() for text in labels):
            return
        if labels:
            await tap(user, telegram, labels[0])
        else:
            await say(user, telegram, "a short answer")
    raise AssertionError(f"never offered {label!r}")


def label_with(user: FakeUser, part: str) -> str:
    """A button of the latest message offering one (a scheduled message may have come in since)."""
    for message in reversed(user.messages[-3:]):
        for row in message.buttons:
            for text, _ in row:
                if part.lower() in text.lower():
                    return text
    raise AssertionError(f"no button with {part!r} in {last(user).buttons}")


async def onboard(user: FakeUser, telegram: FakeTelegram, country: str = "United Kingdom") -> None:
    await say(user, telegram, "/start")
    await walk_to_button(user, telegram, country)
    await tap(user, telegram, country)
    await walk_to_button(user, telegram, "I agree")
    await tap(user, telegram, label_with(user, "I agree"))


async def test_a_patient_walks_from_start_through_consent_and_all_of_lesson_one(
    telegram: FakeTelegram, tmp_path: Path, database_url: str
) -> None:
    settings = settings_for(telegram, tmp_path, database_url=database_url)
    async with running_coach(settings):
        user = telegram.user(4242, "Anna")
        await onboard(user, telegram)
        assert any("116 123" in m.text for m in user.messages), "UK crisis contacts were shown"
        assert any("not an emergency service" in m.text.lower() for m in user.messages)
        await tap(user, telegram, label_with(user, "lesson 1"))
        user.mark()
        await walk_until(user, telegram, "finished lesson 1", answer=REFLECTION)
        await settle(telegram)
        menu = [t for row in last(user).buttons for t, _ in row]
        assert not any("lesson 1" in t.lower() for t in menu), "lesson 1 is done: the menu no longer offers it"

    data = snapshot(settings.database_url)
    patient, state = data["patient"], data["state"]
    assert patient.code == "P-0001"  # type: ignore[attr-defined]
    assert patient.status == "active"  # type: ignore[attr-defined]
    assert patient.country == "gb"  # type: ignore[attr-defined]
    assert patient.consented_at is not None  # type: ignore[attr-defined]
    assert state.data["lessons_done"] == [1]  # type: ignore[attr-defined]
    answers = data["answers"]
    assert ("onboarding", "consent", "agree") in answers  # type: ignore[operator]
    assert any(flow == "lesson-1" and value == REFLECTION for flow, _, value in answers)  # type: ignore[attr-defined]
    assert any((flow == "lesson-1" and "(correct)" in value) or "(incorrect)" in value for flow, _, value in answers)  # type: ignore[attr-defined]
    assert data["outbox"] == ["sent"], "every message was delivered"

    sends = telegram.calls_of("sendMessage")
    assert all(call.params.get("parse_mode") == "HTML" for call in sends)
    assert all(visible_length(str(call.params["text"])) <= 4096 for call in sends)
    assert all(call.ok for call in sends), "Telegram accepted every message (escaped HTML)"
    typing = telegram.calls_of("sendChatAction")
    to_patient = [c for c in sends if c.chat_id == 4242]
    long_ones = [c for c in to_patient if visible_length(str(c.params["text"])) >= TYPING_FROM]
    assert long_ones and len(typing) == len(long_ones), "a typing indicator before each long message, and only those"
    assert all(call.params["action"] == "typing" for call in typing)
    assert telegram.callback_count > 20
    assert telegram.unanswered_callbacks() == [], "every tap was answered"
    commands = telegram.calls_of("setMyCommands")
    assert commands, "the command menu is set at start-up"
    assert {c["command"] for c in commands[0].params["commands"]} == {
        "start", "lesson", "menu", "progress", "tools", "resources", "reminders", "guide", "privacy", "help", "stop"
    }  # fmt: skip


async def test_every_button_tap_is_answered(telegram: FakeTelegram, tmp_path: Path) -> None:
    async with running_coach(settings_for(telegram, tmp_path)):
        user = telegram.user(77)
        await say(user, telegram, "/start")
        queries = []
        for _ in range(4):
            queries.append(await tap(user, telegram, last(user).buttons[0][0][0]))
        for query in queries:
            await user.wait_answered(query)


async def test_a_stale_button_never_moves_the_patient(telegram: FakeTelegram, tmp_path: Path) -> None:
    settings = settings_for(telegram, tmp_path)
    async with running_coach(settings):
        user = telegram.user(5)
        await say(user, telegram, "/start")
        await walk_to_button(user, telegram, "United Kingdom")
        first_copy = last(user)
        await say(user, telegram, "I live in Leeds")  # the choices are shown again below
        await tap(user, telegram, "United Kingdom")
        await tap(user, telegram, last(user).buttons[0][0][0])
        before = snapshot(settings.database_url)
        assert first_copy.buttons, "the first copy of the choices still has its buttons"
        user.mark()
        query = user.press("United States", message_id=first_copy.message_id)
        answer = await user.wait_answered(query)
        await settle(telegram)
        assert answer.get("text"), "the patient is told why nothing happened"
        after = snapshot(settings.database_url)
        assert after["patient"].country == "gb"  # type: ignore[attr-defined]
        assert (after["state"].flow, after["state"].step) == (before["state"].flow, before["state"].step)  # type: ignore[attr-defined]
        assert last(user).buttons, "where the patient is now is shown again"


async def test_a_double_tap_advances_once(telegram: FakeTelegram, tmp_path: Path) -> None:
    settings = settings_for(telegram, tmp_path)
    async with running_coach(settings):
        user = telegram.user(6)
        await say(user, telegram, "/start")
        prompt = last(user)
        label = prompt.buttons[0][0][0]
        first = user.press(label, message_id=prompt.message_id)
        second = user.press(label, message_id=prompt.message_id)
        await user.wait_answered(first)
        await user.wait_answered(second)
        await settle(telegram)
        one_step = snapshot(settings.database_url)["state"]
        assert one_step.data["prompt"] == 2  # type: ignore[attr-defined]
        prompts_sent = [c for c in telegram.calls_of("sendMessage") if c.params.get("reply_markup")]
        assert len(prompts_sent) == 2, "the next step was sent once"


async def test_5000_characters_of_free_text_get_a_kind_answer(telegram: FakeTelegram, tmp_path: Path) -> None:
    settings = settings_for(telegram, tmp_path)
    async with running_coach(settings):
        user = telegram.user(8)
        await say(user, telegram, "/start")
        before = snapshot(settings.database_url)["state"]
        user.mark()
        await say(user, telegram, "é" * 5000)
        assert user.new_messages, "the patient gets an answer"
        assert last(user).buttons, "with the choices again"
        after = snapshot(settings.database_url)["state"]
        assert (after.flow, after.step) == (before.flow, before.step)  # type: ignore[attr-defined]


async def test_an_unknown_command_is_answered_kindly(telegram: FakeTelegram, tmp_path: Path) -> None:
    async with running_coach(settings_for(telegram, tmp_path)):
        user = telegram.user(9)
        await onboard(user, telegram)
        user.mark()
        await say(user, telegram, "/teleport now")
        assert "/teleport" in user.new_messages[0].text
        assert "/menu" in user.new_messages[0].text


async def test_a_question_before_consent_reaches_the_staff_chat(telegram: FakeTelegram, tmp_path: Path) -> None:
    async with running_coach(settings_for(telegram, tmp_path)):
        group = telegram.group(STAFF_CHAT, "Guides")
        user = telegram.user(10, "Bea")
        await say(user, telegram, "/start")
        await walk_to_button(user, telegram, "I have a question")
        await tap(user, telegram, label_with(user, "I have a question"))
        await say(user, telegram, "Will my <doctor> see my answers?")
        staff = group.messages
        assert len(staff) == 1
        assert "P-0001" in staff[0].text
        assert "<doctor>" in staff[0].text, "shown as written, escaped for HTML"
        assert "Bea" not in staff[0].text, "staff never see the patient's name"
        assert any("I agree" in t for row in last(user).buttons for t, _ in row), "consent is asked again"


async def test_a_blocked_patient_is_marked_unreachable_and_others_carry_on(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    settings = settings_for(telegram, tmp_path)
    async with running_coach(settings):
        quiet = telegram.user(11)
        quiet.blocked = True
        quiet.send_command("/start")
        other = telegram.user(12)
        await say(other, telegram, "/start")
        assert other.messages, "the other patient still got their welcome"
    from sqlmodel import select

    from storage.database import Database
    from storage.models import Patient

    database = Database(settings.database_url)
    with database.transaction() as session:
        patients = {p.telegram_user_id: p for p in session.exec(select(Patient)).all()}
    database.dispose()
    assert patients[11].unreachable_at is not None
    assert patients[12].unreachable_at is None


async def test_429_is_honoured_and_nothing_is_lost(telegram: FakeTelegram, tmp_path: Path) -> None:
    async with running_coach(settings_for(telegram, tmp_path)):
        telegram.fail_next("sendMessage", error_code=429, description="Too Many Requests: retry after 1", retry_after=1)
        user = telegram.user(13)
        user.send_command("/start")
        await user.wait_for_buttons(timeout=10)
        texts = [m.text for m in user.messages]
        assert len(texts) == len(set(texts)), "nothing was sent twice"
        assert len(telegram.calls_of("sendMessage")) == len(user.messages) + 1


async def test_server_errors_are_retried(telegram: FakeTelegram, tmp_path: Path) -> None:
    async with running_coach(settings_for(telegram, tmp_path)):
        telegram.fail_next("sendMessage", error_code=502, description="Bad Gateway", count=1)
        user = telegram.user(14)
        user.send_command("/start")
        await user.wait_for_buttons(timeout=10)
        assert user.messages


async def test_webhook_mode_checks_the_secret_and_handles_updates(telegram: FakeTelegram, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    settings = settings_for(
        telegram, tmp_path, webhook_url=url, webhook_secret="test-secret_1", webhook_listen_port=port
    )
    async with running_coach(settings):
        await telegram.wait_for(lambda: bool(telegram.calls_of("setWebhook")), timeout=20)
        assert telegram.calls_of("setWebhook")[0].params["secret_token"] == "test-secret_1"
        async with aiohttp.ClientSession() as http:
            chat = {"id": 1, "type": "private"}
            forged = {"update_id": 999, "message": {"message_id": 1, "date": 0, "chat": chat, "text": "/start"}}
            async with http.post(url, json=forged) as response:
                assert response.status == 401
            async with http.post(url, json=forged, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}) as response:
                assert response.status == 401
        user = telegram.user(15)
        user.send_command("/start")
        await user.wait_for_buttons(timeout=10)
        assert user.messages


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_patient_walks_all_five_lessons_as_they_open(telegram: FakeTelegram, tmp_path: Path) -> None:
    clock = ManualClock()
    settings = settings_for(telegram, tmp_path)
    async with running_coach(settings, clock):
        user = telegram.user(4343, "Dee")
        await onboard(user, telegram, "Australia")
        for number, day in [(1, 0), (2, 7), (3, 21), (4, 35), (5, 49)]:
            clock.set(clock_start(settings.database_url) + timedelta(days=day, hours=1))
            await say(user, telegram, "/lesson")
            assert snapshot(settings.database_url)["state"].flow == f"lesson-{number}"  # type: ignore[attr-defined]
            user.mark()
            await walk_until(user, telegram, "What would you like to do?")  # the menu, after the lesson
            done = snapshot(settings.database_url)["state"].data["lessons_done"]  # type: ignore[attr-defined]
            assert number in done
        assert done == [1, 2, 3, 4, 5]
        assert "all five lessons" in user.new_messages[-1].text

        # Every skills tool, used once, as the homework asks.
        tools = [
            "Symptom cycle map", "Thought record", "Controlled breathing", "Pleasant activity planner",
            "Pacing plan", "Graded activity ladder", "Staying-well plan",
        ]  # fmt: skip
        for title in tools:
            await use_tool(user, telegram, clock, title)
        entries = tool_entries(settings.database_url)
        assert sorted(entries) == sorted(
            ["tool-symptom-cycle", "tool-thought-record", "tool-breathing", "tool-activity-planner",
             "tool-pacing-plan", "tool-activity-ladder", "tool-staying-well"]
        )  # fmt: skip
        await say(user, telegram, "/progress")
        assert "Thought record: used 1 time" in last(user).text
        assert telegram.unanswered_callbacks() == []


async def use_tool(user: FakeUser, telegram: FakeTelegram, clock: ManualClock, title: str) -> None:
    """Open a tool from /tools and go through it as a patient would, to its saved entry."""
    await say(user, telegram, "/tools")
    await tap(user, telegram, title)
    await tap(user, telegram, label_with(user, "Start"))
    for _ in range(40):
        message = last(user)
        labels = [text for row in message.buttons for text, _ in row]
        if "used it once" in message.text:
            return
        if labels and labels[0].startswith("▫️"):  # a pick: tick one, then done
            await tap(user, telegram, labels[0])
            await tap(user, telegram, [t for row in last(user).buttons for t, _ in row][-1])
        elif any("Stop" in label for label in labels):  # breathing: let a cue pass, then finish it
            clock.advance(timedelta(seconds=4))
            await user.wait_for_text("Breathe out", timeout=10)
            clock.advance(timedelta(minutes=10))
            await telegram.wait_for(lambda: "Continue" in str(user.buttons()), timeout=10)
            await tap(user, telegram, label_with(user, "Continue"))
        elif labels and not labels[0].lower().startswith("skip"):
            await tap(user, telegram, labels[0])
        else:  # a number where one is asked for (the pacing baseline), words elsewhere
            asked_for_a_number = "just a number" in last(user).text or "how many" in last(user).text.lower()
            await say(user, telegram, "20" if asked_for_a_number else "A few honest words")
    raise AssertionError(f"{title} never saved an entry; last: {last(user).text[:200]!r}")


def tool_entries(database_url: str) -> list[str]:
    from storage.models import ToolEntry

    database = Database(database_url)
    try:
        with database.transaction() as session:
            return [entry.tool for entry in session.exec(select(ToolEntry)).all()]
    finally:
        database.dispose()


async def test_a_stopped_breathing_exercise_sends_nothing_more(telegram: FakeTelegram, tmp_path: Path) -> None:
    clock = ManualClock()
    settings = settings_for(telegram, tmp_path)
    async with running_coach(settings, clock):
        user = telegram.user(4545)
        await onboard(user, telegram)
        await tap(user, telegram, label_with(user, "lesson 1"))
        reach_lesson_three(settings.database_url)  # the breathing tool opens with lesson 3
        await say(user, telegram, "/tools")
        await tap(user, telegram, "Controlled breathing")
        await tap(user, telegram, label_with(user, "Start"))
        await walk_to_button(user, telegram, "2 minutes")
        await tap(user, telegram, "2 minutes")
        exercise = last(user)
        assert "Breathe in" in exercise.text
        clock.advance(timedelta(seconds=4))
        await user.wait_for_text("Breathe out", timeout=10)
        query = user.press("⏹ Stop", message_id=exercise.message_id)
        await user.wait_answered(query)
        await settle(telegram)
        edits_at_stop = len(telegram.calls_of("editMessageText"))
        clock.advance(timedelta(minutes=10))
        await settle(telegram)  # anything not cancelled is due now, and settle waits until it is sent
        later = telegram.calls_of("editMessageText")[edits_at_stop:]
        assert later == [], "nothing more after Stop"
        stopped = next(m for m in user.messages if m.message_id == exercise.message_id)
        assert "Breathe" not in stopped.text
        assert stopped.buttons == []


def reach_lesson_three(database_url: str) -> None:
    from storage.models import DialogState

    database = Database(database_url)
    try:
        with database.transaction() as session:
            state = session.exec(select(DialogState)).one()
            state.data = {**state.data, "lessons_done": [1, 2], "lesson_place": {"flow": "lesson-3", "step": "welcome"}}
            state.version += 1
            session.add(state)
    finally:
        database.dispose()


def clock_start(database_url: str) -> datetime:
    consented = snapshot(database_url)["patient"].consented_at  # type: ignore[attr-defined]
    assert isinstance(consented, datetime)
    return consented


async def test_a_planned_activity_is_reminded_and_logged(telegram: FakeTelegram, tmp_path: Path) -> None:
    clock = ManualClock()
    settings = settings_for(telegram, tmp_path)
    async with running_coach(settings, clock):
        user = telegram.user(4646)
        await onboard(user, telegram)
        await tap(user, telegram, label_with(user, "lesson 1"))
        reach_lesson_three(settings.database_url)
        await use_tool(user, telegram, clock, "Pleasant activity planner")  # today, in the morning
        assert any("I'll remind you on" in m.text for m in user.messages)
        user.mark()
        clock.advance(timedelta(minutes=31))  # the clock starts at 09:00; "morning" is 09:30
        reminder = await user.wait_for_text("Time for your planned activity", timeout=10)
        assert [t for row in reminder.buttons for t, _ in row] == ["✅ I did it: rate it", "Not this time"]
        await tap(user, telegram, "✅ I did it: rate it")
        assert "How much did you <b>enjoy</b> it" in last(user).html
        await tap(user, telegram, "8")  # enjoyment
        await tap(user, telegram, "6")  # mood
        assert any("Saved: enjoyment 8, mood 6" in m.text for m in user.new_messages)
        await say(user, telegram, "/progress")
        assert "1 done as planned" in last(user).text
