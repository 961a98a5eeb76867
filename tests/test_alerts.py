"""Risk alerts end to end: the patient's safety message, the guides' urgent alert, acknowledging
it, and raising it again when nobody does. Over the fake Bot API, with a controllable clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlmodel import col, select

from clock import ManualClock
from sandbox.botapi import FakeTelegram
from scheduler.jobs import SAFETY_SWEEP_SECONDS, build_scheduler
from storage.database import Database
from storage.models import Alert, AuditEvent
from tests.e2e import STAFF_CHAT, last, running_coach, say, settings_for, settle, tap, walk_until
from tests.test_e2e import label_with, onboard

GUIDE = 777


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


def stored(database_url: str) -> tuple[list[Alert], list[str]]:
    database = Database(database_url)
    try:
        with database.transaction() as session:
            alerts = list(session.exec(select(Alert)).all())
            actions = [e.action for e in session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()]
            return alerts, actions
    finally:
        database.dispose()


async def test_crisis_words_in_a_reflection_alert_the_guides_who_acknowledge(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    clock = ManualClock()
    settings = settings_for(telegram, tmp_path, admin_ids=(GUIDE,))
    staff = telegram.group(STAFF_CHAT, "Guides")
    async with running_coach(settings, clock) as coach:
        user = telegram.user(9001, "Eve")
        await onboard(user, telegram, "Australia")
        await tap(user, telegram, label_with(user, "lesson 1"))
        user.mark()
        await walk_until(user, telegram, "which parts of the cycle")
        await say(user, telegram, "Mostly pain. Some nights I think everyone would be better off without me.")

        safety = next(m for m in user.new_messages if "not watched around the clock" in m.text)
        assert "13 11 14" in safety.text, "Lifeline, for a patient in Australia"
        assert last(user).buttons, "the lesson carries on after the safety message"

        alert = await staff.wait_for_text("URGENT")
        assert alert.text.startswith("🚨 URGENT\nPatient P-0001")
        assert "P-0001" in alert.text
        assert "better off without me" in alert.text
        assert "Eve" not in alert.text
        assert alert.buttons[0][0][0] == "✅ Acknowledge"

        # Nobody acknowledges for a while: the alert is raised again.
        clock.advance(timedelta(minutes=settings.alert_repeat_minutes + 1))
        assert await coach.service.sweep_alerts()
        again = await staff.wait_for_text("raised again, 2×")
        assert again.message_id != alert.message_id

        # A guide acknowledges it; the alert then asks for its outcome.
        query = staff.press(GUIDE, "✅ Acknowledge", message_id=again.message_id)
        answer = await telegram.wait_answered(query)
        assert "Acknowledged by" in answer["text"]
        acknowledged = await staff.wait_for_text("Acknowledged by")
        assert acknowledged.message_id == again.message_id
        assert [row[0][0] for row in acknowledged.buttons] == [
            "☎️ Contacted, safe", "🏥 Referred to urgent care", "🔕 False alarm", "📋 Safety protocol",
        ]  # fmt: skip

        # Acknowledged but without an outcome, it is raised again (at the review pace).
        clock.advance(timedelta(hours=settings.review_alert_repeat_hours, minutes=1))
        assert await coach.service.sweep_alerts()
        reminder = await staff.wait_for_text("Record the outcome")
        assert reminder.buttons[0][0][0] == "☎️ Contacted, safe"

        # The protocol is one tap away, on every alert.
        staff.press(GUIDE, "📋 Safety protocol", message_id=reminder.message_id)
        protocol = await staff.wait_for_text("Safety protocol (edit")
        assert "emergency contact" in protocol.text

        # The outcome closes it.
        query = staff.press(GUIDE, "☎️ Contacted, safe", message_id=reminder.message_id)
        answer = await telegram.wait_answered(query)
        assert "Closed by" in answer["text"]
        closed = await staff.wait_for_text("🔒 Closed by")
        assert closed.buttons == []

        clock.advance(timedelta(hours=24))
        assert not await coach.service.sweep_alerts(), "a closed alert stays quiet"

    alerts, actions = stored(settings.database_url)
    assert len(alerts) == 1
    assert alerts[0].acknowledged_by == GUIDE
    assert alerts[0].outcome == "contacted_safe"
    assert alerts[0].closed_by == GUIDE
    assert alerts[0].raised_count == 3
    assert [a for a in actions if a.startswith("alert_")] == [
        "alert_raised", "alert_raised_again", "alert_acknowledged", "alert_raised_again", "alert_closed",
    ]  # fmt: skip


async def test_only_the_staff_list_may_act_on_an_alert(telegram: FakeTelegram, tmp_path: Path) -> None:
    clock = ManualClock()
    settings = settings_for(telegram, tmp_path, admin_ids=(GUIDE,))
    staff = telegram.group(STAFF_CHAT, "Guides")
    async with running_coach(settings, clock) as coach:
        user = telegram.user(9004)
        await say(user, telegram, "/start")
        await say(user, telegram, "I want to die")
        alert = await staff.wait_for_text("URGENT")
        stranger = 4242  # in the staff group, never added with /staff
        answer = await telegram.wait_answered(staff.press(stranger, "✅ Acknowledge", message_id=alert.message_id))
        assert "/staff add 4242 guide" in answer["text"], "told how to be added"
        told = await staff.wait_for_text("not on the staff list")
        assert str(GUIDE) in told.text, "the admins are told"
        clock.advance(timedelta(minutes=settings.alert_repeat_minutes + 1))
        assert await coach.service.sweep_alerts(), "the alert keeps repeating"
        await staff.wait_for_text("raised again, 2×")
    alerts, actions = stored(settings.database_url)
    assert alerts[0].acknowledged_at is None
    assert "alert_tap_refused" in actions


async def test_an_acknowledge_tap_from_outside_the_staff_chat_changes_nothing(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    settings = settings_for(telegram, tmp_path)
    staff = telegram.group(STAFF_CHAT, "Guides")
    async with running_coach(settings):
        user = telegram.user(9002)
        await say(user, telegram, "/start")
        await say(user, telegram, "I want to die")
        await staff.wait_for_text("URGENT")
        chat = {"id": 9002, "type": "private"}
        telegram.queue_update(
            {
                "callback_query": {
                    "id": "forged-1",
                    "from": user.as_user,
                    "message": {"message_id": 1, "date": 0, "chat": chat},
                    "chat_instance": "1",
                    "data": "ack:1",
                }
            }
        )
        await settle(telegram)
    alerts, actions = stored(settings.database_url)
    assert alerts[0].acknowledged_at is None
    assert actions == ["alert_raised", "tap_refused"], "refused, and audited as a forgery"


async def test_the_safety_message_goes_ahead_of_messages_already_waiting(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    settings = settings_for(telegram, tmp_path)
    telegram.group(STAFF_CHAT, "Guides")
    async with running_coach(settings):
        user = telegram.user(9003)
        user.send_command("/start")
        user.send_text("kill myself")
        await user.wait_for_text("not watched around the clock", timeout=15)
        await settle(telegram)
        texts = [m.text for m in user.messages]
    safety = next(i for i, t in enumerate(texts) if "not watched around the clock" in t)
    assert safety <= 2, "the safety message is not stuck behind the welcome"


def test_the_safety_sweep_is_scheduled_to_catch_up_once_after_downtime(tmp_path: Path) -> None:
    scheduler = build_scheduler(SimpleNamespace(periodic=()))  # type: ignore[arg-type]
    job = scheduler.get_job("safety-sweep")
    assert job is not None
    assert job.coalesce
    assert job.max_instances == 1
    assert job.trigger.interval == timedelta(seconds=SAFETY_SWEEP_SECONDS)
