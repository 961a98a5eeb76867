"""The safety net end to end, over the fake Bot API: the safety question after ambiguous words (each
answer, and no answer), and the pause after clear risk."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from clock import ManualClock
from sandbox.botapi import FakeTelegram, FakeUser
from storage.database import Database
from storage.models import Alert, RiskQuestion
from tests.e2e import STAFF_CHAT, last, running_coach, say, settings_for, settle, tap, walk_until
from tests.test_e2e import label_with, onboard

QUESTION = "are you having thoughts of harming yourself"


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


def stored(database_url: str) -> tuple[list[Alert], list[RiskQuestion]]:
    database = Database(database_url)
    try:
        with database.transaction() as session:
            alerts = list(session.exec(select(Alert).order_by(col(Alert.id))).all())
            questions = list(session.exec(select(RiskQuestion)).all())
            return alerts, questions
    finally:
        database.dispose()


async def in_lesson(user: FakeUser, telegram: FakeTelegram) -> None:
    await onboard(user, telegram, "United Kingdom")
    await tap(user, telegram, label_with(user, "lesson 1"))
    user.mark()
    await walk_until(user, telegram, "which parts of the cycle")
    user.mark()


@pytest.mark.parametrize(("answer", "level"), [("Yes", "urgent"), ("Not sure", "urgent"), ("No", "review")])
async def test_ambiguous_words_get_the_question_and_each_answer_is_heard(
    telegram: FakeTelegram, tmp_path: Path, answer: str, level: str
) -> None:
    settings = settings_for(telegram, tmp_path)
    staff = telegram.group(STAFF_CHAT, "Guides")
    async with running_coach(settings):
        user = telegram.user(9101)
        await in_lesson(user, telegram)
        await say(user, telegram, "Honestly I can't do this anymore")
        question = last(user)
        assert QUESTION in question.text.casefold()
        assert question.labels == ["Yes", "No", "Not sure"]
        assert len(user.new_messages) == 1, "the lesson's next message waits for the answer"
        await settle(telegram)
        assert not staff.messages, "nothing for the guides until the patient answers"

        await tap(user, telegram, answer)
        if level == "urgent":
            await user.wait_for_text("not watched around the clock")
            pause = last(user)
            assert pause.labels == ["Carry on with the course", "Message my guide", "Crisis contacts"]
            await staff.wait_for_text("URGENT")
        else:
            await user.wait_for_text("Thank you for letting me know")
            assert last(user).buttons, "the lesson carries on"
            await staff.wait_for_text("safety question")
    alerts, questions = stored(settings.database_url)
    assert [a.level for a in alerts] == [level]
    assert "can't do this anymore" in alerts[0].excerpt
    assert questions[0].answer == {"Yes": "yes", "No": "no", "Not sure": "unsure"}[answer]


async def test_a_question_left_unanswered_for_an_hour_becomes_a_review_alert(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    clock = ManualClock()
    settings = settings_for(telegram, tmp_path)
    staff = telegram.group(STAFF_CHAT, "Guides")
    async with running_coach(settings, clock) as coach:
        user = telegram.user(9102)
        await in_lesson(user, telegram)
        await say(user, telegram, "I'm such a burden to my family")
        assert QUESTION in last(user).text.casefold()
        clock.advance(timedelta(minutes=59))
        assert not await coach.service.sweep_alerts()
        clock.advance(timedelta(minutes=2))
        assert await coach.service.sweep_alerts()
        review = await staff.wait_for_text("no answer within an hour")
        assert "burden" in review.text
        clock.advance(timedelta(hours=2))
        await coach.service.sweep_alerts()
    alerts, questions = stored(settings.database_url)
    assert [a.level for a in alerts] == ["review"], "raised once"
    assert questions[0].escalated_at is not None


async def test_after_clear_risk_the_lesson_waits_for_the_patients_choice(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    settings = settings_for(telegram, tmp_path)
    telegram.group(STAFF_CHAT, "Guides")
    async with running_coach(settings):
        user = telegram.user(9103)
        await in_lesson(user, telegram)
        await say(user, telegram, "Mostly pain. I've been saving up my pills.")
        await user.wait_for_text("not watched around the clock")
        pause = last(user)
        assert "What would help most now" in pause.text
        shown = [m.text for m in user.new_messages]
        assert len(shown) == 2, f"the safety message and the choice, nothing cheerful after: {shown}"

        user.mark()
        await tap(user, telegram, "Crisis contacts")
        contacts = await user.wait_for_text("116 123")
        assert contacts
        assert "What would help most now" in last(user).text, "still their choice"

        user.mark()
        await tap(user, telegram, "Carry on with the course")
        await settle(telegram)
        assert user.new_messages, "the lesson's next message comes now"
        assert "What would help most" not in last(user).text
        assert last(user).buttons or last(user).text
