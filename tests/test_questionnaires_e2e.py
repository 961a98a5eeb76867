"""Questionnaires and the safety protocol end to end, over the fake Bot API with a controllable
clock: PHQ-9 item 9, crisis words in a thought record and a question for the guide, alerts ahead
of waiting messages, the check-in sweep, resuming after a restart, the /progress chart."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from clock import ManualClock
from dialogs.desk import card
from dialogs.events import Start, Text
from paincoach.app import TelegramCoach
from paincoach.settings import Settings
from paincoach.wiring import make_services
from sandbox.botapi import FakeTelegram, FakeUser
from storage import outbox, results
from storage.database import Database
from storage.models import Alert, AuditEvent, CareFlag, DialogState, Patient, QuestionnaireResult
from storage.outbox import Priority
from storage.patients import Person
from storage.payloads import Message
from tests.conftest import CONTENT_DIR, load_content
from tests.e2e import STAFF_CHAT, last, running_coach, say, settings_for, settle, tap
from tests.test_e2e import label_with, walk_to_button

GUIDE = 778


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


async def onboard(user: FakeUser, telegram: FakeTelegram, country: str = "United Kingdom") -> None:
    """Through onboarding to consent, waiting for the coach's first answer (a busy machine is slow)."""
    user.send_command("/start")
    await user.wait_for_buttons(timeout=15)
    await settle(telegram)
    await walk_to_button(user, telegram, country)
    await tap(user, telegram, country)
    await walk_to_button(user, telegram, "I agree")
    await tap(user, telegram, label_with(user, "I agree"))
    await user.wait_for_text("What would you like to do?", timeout=15)


def audit_actions(database_url: str) -> list[str]:
    database = Database(database_url)
    try:
        with database.transaction() as session:
            return [e.action for e in session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()]
    finally:
        database.dispose()


def alerts_of(database_url: str) -> list[Alert]:
    database = Database(database_url)
    try:
        with database.transaction() as session:
            return list(session.exec(select(Alert).order_by(col(Alert.id))).all())
    finally:
        database.dispose()


async def answer_phq9(user: FakeUser, telegram: FakeTelegram, item_9: str) -> None:
    await tap(user, telegram, label_with(user, "check-in"))
    for number in range(1, 9):
        assert f"{number} of 9" in last(user).text
        await tap(user, telegram, "Not at all")
    assert "9 of 9" in last(user).text
    assert "better off dead" in last(user).text
    user.mark()
    await tap(user, telegram, item_9)


async def test_item_9_nearly_every_day_sends_the_safety_message_and_an_urgent_alert_that_is_acknowledged(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    settings = settings_for(telegram, tmp_path, admin_ids=(GUIDE,))
    staff = telegram.group(STAFF_CHAT, "Guides")
    async with running_coach(settings, ManualClock()):
        user = telegram.user(5101, "Fay")
        await onboard(user, telegram, "United States")
        await answer_phq9(user, telegram, "Nearly every day")
        safety = await user.wait_for_text("you don't have to face them alone", timeout=15)
        await user.wait_for_text("1 of 7", timeout=15)
        await settle(telegram)
        assert "call or text 988" in safety.text, "the crisis contacts of the patient's country"
        assert "1 of 7" in last(user).text, "the check-in carries on with the GAD-7"
        alert = await staff.wait_for_text("URGENT")
        assert "P-0001" in alert.text and "item 9" in alert.text and "“Nearly every day”" in alert.text
        assert "Fay" not in alert.text
        assert alert.buttons[0][0][0] == "✅ Acknowledge"
        result = await staff.wait_for_text("finished the PHQ-9")
        assert "<b>3</b>" in result.html and "first result (baseline)" in result.text
        query = staff.press(GUIDE, "✅ Acknowledge", message_id=alert.message_id)
        assert "Acknowledged by" in (await telegram.wait_answered(query))["text"]
        await staff.wait_for_text("Acknowledged by")

    alert_rows = alerts_of(settings.database_url)
    assert [(a.level, a.acknowledged_by) for a in alert_rows] == [("urgent", GUIDE)]
    actions = audit_actions(settings.database_url)
    assert [a for a in actions if a != "staff_added"][:3] == [
        "alert_raised",
        "questionnaire_completed",
        "alert_acknowledged",
    ]


async def test_item_9_several_days_is_a_review_alert_raised_again_until_acknowledged_where_a_site_says_so(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    clock = ManualClock()
    site = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, site)
    program = site / "program.yaml"
    program.write_text(
        program.read_text().replace("phq9_item9_several_days: urgent", "phq9_item9_several_days: review")
    )
    settings = settings_for(telegram, tmp_path, content_dir=site)
    staff = telegram.group(STAFF_CHAT, "Guides")
    async with running_coach(settings, clock) as coach:
        user = telegram.user(5102)
        await onboard(user, telegram)
        await answer_phq9(user, telegram, "Several days")
        assert any("116 123" in m.text for m in user.new_messages)
        alert = await staff.wait_for_text("Review within one working day")
        clock.advance(timedelta(minutes=settings.alert_repeat_minutes + 1))
        repeat = timedelta(minutes=settings.alert_repeat_minutes)
        assert await raise_again(coach, repeat) == 0, "not every few minutes: within one working day"
        clock.advance(timedelta(hours=settings.review_alert_repeat_hours))
        assert await raise_again(coach, repeat) == 1
        again = await staff.wait_for_text("raised again, 2×")
        assert again.message_id != alert.message_id
    assert "alert_raised_again" in audit_actions(settings.database_url)


def reach_lesson_two(database_url: str) -> None:
    database = Database(database_url)
    try:
        with database.transaction() as session:
            state = session.exec(select(DialogState)).one()
            state.data = {**state.data, "lessons_done": [1], "lesson_place": {"flow": "lesson-2", "step": "welcome"}}
            state.version += 1
            session.add(state)
    finally:
        database.dispose()


async def test_crisis_words_in_a_thought_record_trigger_the_protocol_and_the_record_goes_on(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    settings = settings_for(telegram, tmp_path)
    staff = telegram.group(STAFF_CHAT, "Guides")
    async with running_coach(settings, ManualClock()):
        user = telegram.user(5103)
        await onboard(user, telegram, "Australia")
        reach_lesson_two(settings.database_url)  # the thought record opens with lesson 2
        await say(user, telegram, "/tools")
        await tap(user, telegram, "Thought record")
        await tap(user, telegram, label_with(user, "Start"))
        assert "What was happening?" in last(user).text
        await say(user, telegram, "Lying in bed after a bad night")
        user.mark()
        await say(user, telegram, "I just want to end it all")
        safety = await user.wait_for_text("not watched around the clock", timeout=15)
        await user.wait_for_text("What would help most now", timeout=15)  # the record waits for their choice
        await tap(user, telegram, "Carry on with the course")
        await user.wait_for_text("What did you feel?", timeout=15)
        await settle(telegram)
        assert "13 11 14" in safety.text
        assert "What did you feel?" in last(user).text, "the thought record carries on"
        alert = await staff.wait_for_text("URGENT")
        assert "tool-thought-record" in alert.text and "end it all" in alert.text


async def test_crisis_words_in_a_question_for_the_guide_trigger_the_protocol_and_reach_the_guide(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    settings = settings_for(telegram, tmp_path)
    staff = telegram.group(STAFF_CHAT, "Guides")
    async with running_coach(settings, ManualClock()):
        user = telegram.user(5104)
        await say(user, telegram, "/start")
        for _ in range(12):
            if any("I have a question" in label for row in last(user).buttons for label, _ in row):
                break
            labels = [label for row in last(user).buttons for label, _ in row]
            await tap(user, telegram, "United Kingdom" if "United Kingdom" in labels else labels[0])
        await tap(user, telegram, "I have a question")
        await user.wait_for_text("type your question", timeout=15)
        user.mark()
        await say(user, telegram, "Will the course help when I have thoughts of suicide?")
        safety = await user.wait_for_text("not watched around the clock", timeout=15)
        assert "116 123" in safety.text, "the safety message, with the UK's crisis contacts"
        await user.wait_for_text("What would help most now", timeout=15)  # onboarding waits for their choice
        await tap(user, telegram, "Carry on with the course")
        await user.wait_for_text("A guide will get back to you soon", timeout=15)
        await settle(telegram)
        assert any("I have a question" in label for row in last(user).buttons for label, _ in row), "back to consent"
        await staff.wait_for_text("URGENT")
        question = await staff.wait_for_text("asked a question")
        assert "thoughts of suicide" in question.text


def test_alerts_go_ahead_of_everything_already_waiting(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'c.db'}",
        staff_chat_id=STAFF_CHAT,
        enrolment="open",
        eligibility_screening=False,
    )  # type: ignore[call-arg]
    database = Database(settings.database_url)
    database.upgrade()
    clock = ManualClock()
    coach = make_services(settings, database, load_content(CONTENT_DIR, "en"), clock).coach
    person = Person(user_id=61, chat_id=61)
    coach.handle(person, Start())
    with database.transaction() as session:
        for chat in (61, STAFF_CHAT):
            for number, priority in enumerate([Priority.BROADCAST, Priority.SCHEDULED, Priority.INTERACTIVE] * 3):
                outbox.enqueue(session, chat, Message(f"waiting {number}"), clock.now(), priority=priority)
    coach.handle(person, Text("some days I want to kill myself"))
    with database.transaction() as session:
        claimed = {c.chat_id: c for c in outbox.claim_due(session, clock.now(), limit=10)}
    assert "not watched around the clock" in claimed[61].payload.text, "the patient's safety message first"
    assert "URGENT" in claimed[STAFF_CHAT].payload.text, "the guides' alert first"
    assert claimed[STAFF_CHAT].payload.buttons[0][1].startswith("ack:")
    database.dispose()


async def test_the_check_in_is_announced_once_started_resumed_after_a_restart_and_charted(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    clock = ManualClock()
    settings = settings_for(telegram, tmp_path)
    staff = telegram.group(STAFF_CHAT, "Guides")
    user = telegram.user(5105)
    async with running_coach(settings, clock) as coach:
        await onboard(user, telegram)
        assert await coach.service.sweep_due() == 1, "the baseline questionnaires, due at consent"
        ready = await user.wait_for_text("Your check-in is ready")
        assert ready.labels == ["Start my check-in"]
        assert await coach.service.sweep_due() == 0, "once per occasion"
        await tap(user, telegram, "Start my check-in")
        for _ in range(3):
            await tap(user, telegram, "Several days")
        assert "4 of 9" in last(user).text
        await tap(user, telegram, "⬅️ Back")
        assert "3 of 9" in last(user).text

    async with running_coach(settings, clock):  # a restart
        user.send_command("/lesson")
        await user.wait_for_text("part way through your check-in", timeout=15)
        await settle(telegram)
        assert "part way through your check-in" in last(user).text
        await tap(user, telegram, label_with(user, "Carry on"))
        assert "3 of 9" in last(user).text
        await say(user, telegram, "hmm, not sure")
        assert "tap one of the answers" in user.messages[-2].text
        for _ in range(7):
            await tap(user, telegram, "Not at all")
        for _ in range(7):
            await tap(user, telegram, "Several days")
        for value in ("6", "5", "7"):
            await tap(user, telegram, value)
        assert "check-in done" in " ".join(m.text for m in user.messages[-3:])
        await staff.wait_for_text("finished the PEG")
        user.mark()
        await say(user, telegram, "/progress")
        await telegram.wait_for(lambda: any(m.photo for m in user.new_messages))
        chart = next(m for m in user.new_messages if m.photo)
        assert chart.photo is not None
        assert chart.photo_data is not None and chart.photo_data.startswith(b"\x89PNG"), "a PNG chart"
        assert "scores over time" in chart.text
        assert any("Your mood (PHQ-9): 2" in m.text for m in user.new_messages)
        assert len(telegram.calls_of("sendPhoto")) == 1

    database = Database(settings.database_url)
    try:
        with database.transaction() as session:
            rows = session.exec(select(QuestionnaireResult).order_by(col(QuestionnaireResult.id))).all()
            assert [(r.questionnaire, r.shown, r.band) for r in rows] == [
                ("phq9", "2", "minimal"), ("gad7", "7", "mild"), ("peg", "6.0", "middle")
            ]  # fmt: skip
            patient = session.exec(select(Patient)).one()
            assert patient.id is not None
            summaries = results.latest_results(session, patient.id)
            assert [(s.title, s.score, s.change) for s in summaries] == [
                ("GAD-7", "7", None), ("PEG", "6.0", None), ("PHQ-9", "2", None)
            ]  # fmt: skip
            assert results.open_flags(session, patient.id) == []
    finally:
        database.dispose()


async def test_a_severe_result_flags_the_patient_and_a_guide_marks_it_reviewed(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    settings = settings_for(telegram, tmp_path)
    staff = telegram.group(STAFF_CHAT, "Guides")
    async with running_coach(settings, ManualClock()):
        user = telegram.user(5106)
        await onboard(user, telegram)
        await tap(user, telegram, label_with(user, "check-in"))
        for _ in range(8):
            await tap(user, telegram, "Nearly every day")
        await tap(user, telegram, "Not at all")  # 24
        assert "really hard for you lately" in " ".join(m.text for m in user.messages[-3:])
        flag = await staff.wait_for_text("Stepped care: please review P-0001")
        assert "PHQ-9 of 20 or more" in flag.text
        assert flag.labels == ["✅ Reviewed"]
        database = Database(settings.database_url)
        try:
            with database.transaction() as session:
                assert flag_lines(session) == [f"PHQ-9 of 20 or more (baseline, {flag_date(session)})"]
        finally:
            database.dispose()
        query = staff.press(GUIDE, "✅ Reviewed", message_id=flag.message_id)
        assert "Reviewed by" in (await telegram.wait_answered(query))["text"]
        await staff.wait_for_text("Reviewed by")
    database = Database(settings.database_url)
    try:
        with database.transaction() as session:
            assert results.open_flags(session, 1) == []
    finally:
        database.dispose()
    actions = audit_actions(settings.database_url)
    assert actions.index("care_flag_raised") < actions.index("care_flag_reviewed")


async def raise_again(coach: TelegramCoach, repeat: timedelta) -> int:
    """What the safety sweep does: raise again the alerts nobody acknowledged within `repeat`."""
    raised = await coach.database.run(coach.services.alerts.raise_unacknowledged, repeat)
    coach.sender.wake()
    return raised


def flag_lines(session: Session) -> list[str]:
    """Open flags as the guides read them on the card."""
    texts = load_content(CONTENT_DIR, "en").for_locale(None).ui
    return card.flag_lines(texts, results.open_flags(session, 1), "UTC")


def flag_date(session: Session) -> str:
    row = session.exec(select(CareFlag)).one()
    return f"{row.created_at:%Y-%m-%d}"


def test_the_chart_is_a_png_with_one_panel_per_questionnaire() -> None:
    from bot.charts import progress_png
    from dialogs.actions import ChartSeries
    from storage.payloads import chart_from_json, chart_json

    one = progress_png([ChartSeries("Your mood (PHQ-9)", (("2026-03-02", 12.0),), 0, 27)])
    two = progress_png(
        [
            ChartSeries("Your mood (PHQ-9)", (("2026-03-02", 12.0), ("2026-03-09", 9.0)), 0, 27),
            ChartSeries("Your pain (PEG)", (("2026-03-02", 6.3), ("2026-03-09", 5.0)), 0, 10),
        ]
    )
    for png in (one, two):
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
    series = [ChartSeries("Your pain (PEG)", (("2026-03-02", 6.3), ("2026-03-09", 5.0)), 0, 10)]
    assert list(chart_from_json(json.loads(json.dumps(chart_json(series))))) == series, "stored as JSON, drawn later"
    height = int.from_bytes(two[20:24], "big")
    assert height > int.from_bytes(one[20:24], "big"), "a taller picture for two panels"


async def test_a_check_in_waits_out_the_quiet_hours_and_is_reminded_once_if_left(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    clock = ManualClock()  # Monday 09:00 in London, the patient's time zone
    settings = settings_for(telegram, tmp_path)
    user = telegram.user(5106)
    async with running_coach(settings, clock) as coach:
        await onboard(user, telegram)

        async def sweep() -> int:
            return await coach.service.sweep_due()

        clock.advance(timedelta(hours=13))  # 22:00: quiet hours
        assert await sweep() == 0, "nothing in the quiet hours"
        clock.advance(timedelta(hours=11))  # Tuesday 09:00
        assert await sweep() == 1
        await user.wait_for_text("Your check-in is ready")
        clock.advance(timedelta(days=1))
        assert await sweep() == 0, "too soon for a reminder"
        clock.advance(timedelta(days=1))  # Thursday: three days since it opened
        # Due rows now, both: the questionnaires' reminder, and lesson 1's three-day nudge.
        assert await sweep() == 2
        reminder = await user.wait_for_text("still waiting for you")
        assert reminder.labels == ["Start my check-in"]
        assert await sweep() == 0, "reminded once"
        await tap(user, telegram, "Start my check-in")
        # The lesson's nudge, due at the same time, may reach the chat just before or just after.
        assert any("1 of 9" in m.text for m in user.messages[-2:]), "the check-in starts"
