"""The guide's clinical work over the fake Bot API (issue 15): a patient shares a saved entry and
the guide answers it, /patient lists the patient's entries, the weekly summary lands in the
patient's topic with a contact prompt in the main thread, and contact notes give minutes per week."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from clock import ManualClock
from sandbox.botapi import FakeGroup, FakeTelegram, FakeUser
from storage.database import Database
from storage.models import StaffContact, WeeklySummary
from tests.e2e import STAFF_CHAT, last, running_coach, say, settings_for, settle, tap
from tests.test_guide import ADMIN, COORDINATOR, DONE, GUIDE, enrol, only_topic, staff_says, with_guide

SHARE_LATEST = "📤 Share entry 1 with my guide"


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


async def map_symptom_cycle(user: FakeUser, telegram: FakeTelegram) -> None:
    """Lesson 1 started opens the symptom cycle map; tick the first choice of each part, then Done,
    until the entry is saved and the tool's page offers to share it."""
    await say(user, telegram, "/lesson")
    await say(user, telegram, "/tools")
    await tap(user, telegram, "Symptom cycle map")
    await tap(user, telegram, "✏️ Start")
    for _ in range(20):
        labels = last(user).labels
        if SHARE_LATEST in labels:
            return
        if "Done" in labels:
            await tap(user, telegram, labels[0])  # ticks the first choice, editing the message
            await tap(user, telegram, "Done")
        else:
            await tap(user, telegram, labels[0])
    raise AssertionError(f"the entry was never saved: {last(user).text}")


async def test_a_shared_entry_lands_in_the_topic_as_a_card_the_guide_can_answer(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    settings = settings_for(telegram, tmp_path, admin_ids=(ADMIN,))
    staff = telegram.group(STAFF_CHAT, "Guides", is_forum=True)
    async with running_coach(settings, ManualClock()):
        await with_guide(staff, telegram)
        user = telegram.user(5101, "Ida")
        await enrol(user, telegram)
        await map_symptom_cycle(user, telegram)

        staff.mark()
        user.mark()
        await tap(user, telegram, SHARE_LATEST)
        shared = await user.wait_for_text("Shared with your guide")
        assert "They'll answer by today at 17:00" in shared.text
        assert SHARE_LATEST not in last(user).labels, "the tool page no longer offers to share it"
        thread = only_topic(staff)
        await telegram.wait_for(lambda: any("shared an entry" in m.text for m in staff.topic_messages(thread)))
        card = next(m for m in staff.topic_messages(thread) if "shared an entry" in m.text)
        assert card.text.startswith("📤 P-0001 shared an entry with you")
        assert "Symptom cycle map #1" in card.text and "🩺" in card.text, "readable: the tool's own summary"
        assert card.labels == [DONE]
        assert staff.topics[thread] == "P-0001 🔴", "a conversation, waiting for the guide"
        assert all("Ida" not in m.text for m in staff.messages)

        user.mark()
        await staff_says(staff, telegram, GUIDE, "Thanks for sharing: fatigue first is a good find.", thread,
                         answer_in=user)  # fmt: skip
        assert last(user).text == "💬 Your guide\nThanks for sharing: fatigue first is a good find."

        user.mark()
        await say(user, telegram, "/tools")
        await tap(user, telegram, "Symptom cycle map")
        await tap(user, telegram, "📒 My past entries (1)")
        past = last(user)
        assert "#1" in past.text and past.labels == [], "already shared: no Share button on it"

        await staff_says(staff, telegram, GUIDE, "/patient P-0001")
        view = staff.messages[-1].text
        assert "Recent entries:\n• Symptom cycle map #1" in view


async def test_sharing_from_past_entries_and_only_once(telegram: FakeTelegram, tmp_path: Path) -> None:
    settings = settings_for(telegram, tmp_path, admin_ids=(ADMIN,))
    staff = telegram.group(STAFF_CHAT, "Guides", is_forum=True)
    async with running_coach(settings, ManualClock()):
        await with_guide(staff, telegram)
        user = telegram.user(5102)
        await enrol(user, telegram)
        await map_symptom_cycle(user, telegram)
        await tap(user, telegram, "📒 My past entries (1)")
        entry = last(user)
        assert entry.labels == ["📤 Share with my guide"]
        query = user.press("📤 Share with my guide", message_id=entry.message_id)
        await user.wait_answered(query)
        await user.wait_for_text("Shared with your guide")
        await settle(telegram)
        entry = next(m for m in user.messages if m.message_id == entry.message_id)
        assert entry.labels == [] and "» 📤 Share with my guide" in entry.text, "marked as shared"
        await say(user, telegram, "/tools")
        await tap(user, telegram, "Symptom cycle map")
        assert SHARE_LATEST not in last(user).labels
        thread = only_topic(staff)
        cards = [m for m in staff.topic_messages(thread) if "shared an entry" in m.text]
        assert len(cards) == 1


async def test_the_weekly_summary_and_the_contact_prompt(telegram: FakeTelegram, tmp_path: Path) -> None:
    clock = ManualClock()  # Monday 09:00 UTC
    settings = settings_for(telegram, tmp_path, admin_ids=(ADMIN,))
    staff = telegram.group(STAFF_CHAT, "Guides", is_forum=True)
    async with running_coach(settings, clock) as coach:
        await with_guide(staff, telegram)
        user = telegram.user(5103)
        await enrol(user, telegram)
        await map_symptom_cycle(user, telegram)
        assert await coach.service.run_periodic("summary-sweep") == 0, "nothing before the first week is over"

        clock.advance(timedelta(days=7, minutes=1))
        staff.mark()
        assert await coach.service.run_periodic("summary-sweep") == 1
        await settle(telegram)
        thread = only_topic(staff)
        summary = next(m for m in staff.topic_messages(thread) if m.text.startswith("📋"))
        text = summary.text
        assert text.startswith("📋 P-0001 · week 1 · 📞 contact due")
        assert "📚 Lesson: 1 (" in text and "in progress" in text
        assert "🧰 Tools this week: Symptom cycle map ×1" in text
        assert "• Symptom cycle map #1" in text
        assert "✅ Tries logged: 0 done, 0 not this time" in text
        assert "📈 Scores:" in text and "🚩 Open flags: none" in text
        assert "🕒 Last active: 7 days ago\n⏱ Guide time this week: 0 min" in text
        assert "⏱ Guide time this week: 0 min" in text
        assert len(text.split()) < 300, "read in about two minutes"
        prompt = next(m for m in staff.new_messages if m.text.startswith("📞 Weekly contacts due"))
        assert prompt.thread_id is None, "the prompt is in the main thread, for whoever is on shift"
        assert "• P-0001: no contact for 7 d 0 h" in prompt.text
        assert await coach.service.run_periodic("summary-sweep") == 0, "once a week"

        clock.advance(timedelta(hours=1))
        await staff_says(staff, telegram, GUIDE, "/checkin phone 15 risk:yes pacing, sleep", thread)
        logged = staff.messages[-1].text
        assert logged.startswith("📞 P-0001: phone contact of 15 min logged. Total so far: 15 min.")
        assert "Risk checked: yes. Topics: pacing, sleep." in logged
        await staff_says(staff, telegram, GUIDE, "/checkin message 5", thread)
        assert "Risk checked: not recorded (add risk:yes or risk:no)" in staff.messages[-1].text

        clock.advance(timedelta(days=7) - timedelta(hours=1))
        staff.mark()
        assert await coach.service.run_periodic("summary-sweep") == 1
        await settle(telegram)
        second = [m for m in staff.topic_messages(thread) if m.text.startswith("📋")][-1]
        assert second.text.startswith("📋 P-0001 · week 2\n"), "contact logged this week: not due"
        assert "⏱ Guide time this week: 20 min" in second.text
        assert not any(m.text.startswith("📞 Weekly contacts due") for m in staff.new_messages)

        await staff_says(staff, telegram, GUIDE, "/checkin P-0001 video 10 risk:no mood")
        await staff_says(staff, telegram, COORDINATOR, "/report")
        assert "• P-0001: 30 min in 3 contact(s) · by week: w2 20, w3 10" in staff.messages[-1].text

    database = Database(settings.database_url)
    try:
        with database.transaction() as session:
            notes = session.exec(select(StaffContact)).all()
            assert [(n.kind, n.minutes, n.topics, n.risk_checked) for n in notes] == [
                ("phone", 15, ["pacing", "sleep"], True),
                ("message", 5, [], None),
                ("video", 10, ["mood"], False),
            ]
            assert [(w.week, w.contact_due) for w in session.exec(select(WeeklySummary)).all()] == [
                (1, True),
                (2, False),
            ]
    finally:
        database.dispose()


async def test_without_topics_the_summary_goes_to_the_group_and_a_reply_to_a_shared_card_reaches_the_patient(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    settings = settings_for(telegram, tmp_path, admin_ids=(ADMIN,))
    staff: FakeGroup = telegram.group(STAFF_CHAT, "Guides", is_forum=False)
    async with running_coach(settings, ManualClock()):
        await with_guide(staff, telegram)
        user = telegram.user(5104)
        await enrol(user, telegram)
        await map_symptom_cycle(user, telegram)
        staff.mark()
        await tap(user, telegram, SHARE_LATEST)
        await telegram.wait_for(lambda: any("shared an entry" in m.text for m in staff.new_messages))
        card = next(m for m in staff.new_messages if "shared an entry" in m.text)
        user.mark()
        await staff_says(staff, telegram, GUIDE, "Well spotted.", reply_to=card.message_id, answer_in=user)
        assert last(user).text == "💬 Your guide\nWell spotted."
