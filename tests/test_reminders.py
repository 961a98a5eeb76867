"""The engine's side of the scheduler, with no mocks: the time zone asked at onboarding and changed
later, /reminders, and what a Due event sends (or does not send, when it no longer applies)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from content.schema import Content
from dialogs.events import Due, Press
from dialogs.state import Status
from tests.conversation import NOW, EnginePatient
from tests.test_engine import walk_to


@pytest.fixture
def patient(content: Content) -> EnginePatient:
    return EnginePatient(content)


def to_timezone_step(patient: EnginePatient, country: str) -> None:
    patient.start()
    walk_to(patient, "country")
    patient.press(country)
    walk_to(patient, "timezone")


def consented(patient: EnginePatient) -> EnginePatient:
    to_timezone_step(patient, "United Kingdom")
    patient.press("UK time")
    walk_to(patient, "consent")
    patient.press("I agree")
    assert patient.state.status == Status.ACTIVE
    return patient


def test_onboarding_offers_the_time_zones_of_the_patients_country(patient: EnginePatient) -> None:
    to_timezone_step(patient, "United States")
    labels = patient.labels()
    assert "Eastern (New York)" in labels and "Pacific (Los Angeles)" in labels
    assert labels[0] == "Keep UTC", "the default (DEFAULT_TIMEZONE) is offered first"
    patient.press("Pacific")
    assert patient.state.timezone == "America/Los_Angeles"
    assert "America/Los_Angeles" in " ".join(patient.texts)
    assert patient.state.step == "consent-what", "and onboarding goes on"


@pytest.mark.parametrize(
    ("typed", "zone"),
    [("UTC+2", "Etc/GMT-2"), ("utc -5", "Etc/GMT+5"), ("Berlin", "Europe/Berlin"), ("new york", "America/New_York")],
)
def test_a_city_or_utc_offset_can_be_typed(patient: EnginePatient, typed: str, zone: str) -> None:
    to_timezone_step(patient, "Somewhere else")
    patient.press("I'll type it")
    assert "type the name of your city" in patient.texts[0]
    patient.type(typed)
    assert patient.state.timezone == zone
    assert patient.state.step == "consent-what"


def test_a_place_that_cannot_be_found_is_asked_again_kindly(patient: EnginePatient) -> None:
    to_timezone_step(patient, "Somewhere else")
    patient.type("the moon")
    assert patient.state.timezone == "UTC"
    assert patient.state.step == "timezone"
    assert "couldn't find that place" in patient.texts[0]
    assert patient.sends[-1].buttons, "the choices are shown again"


def test_reminders_choose_a_time_pause_for_a_week_or_turn_off(patient: EnginePatient) -> None:
    consented(patient)
    patient.command("reminders")
    assert "Each day at 18:30" in patient.texts[-1]
    patient.press("20:00")
    assert patient.state.reminder_time == "20:00"
    assert "at 20:00 each day" in patient.texts[0]

    patient.press("Pause for a week")
    assert patient.state.reminders_paused_until == NOW + timedelta(days=7)
    assert "paused until" in patient.texts[-1]
    patient.press("Start them again now")
    assert patient.state.reminders_paused_until is None

    patient.press("Turn them off")
    assert patient.state.reminders_off
    assert "turned off" in patient.texts[-1]
    patient.press("Turn them on")
    assert not patient.state.reminders_off


def test_the_time_zone_can_be_changed_later_by_typing_it(patient: EnginePatient) -> None:
    consented(patient)
    patient.command("reminders")
    patient.press("Time zone")
    patient.type("UTC+10")
    assert patient.state.timezone == "Etc/GMT-10"
    assert "UTC+10" in patient.texts[0]
    assert "Your reminders" in patient.texts[-1], "back on the reminders page"


def lesson_one_done(patient: EnginePatient) -> EnginePatient:
    consented(patient)
    patient.state = replace(patient.state, lessons_done=(1,), lessons_finished_at={"1": NOW.isoformat()})
    return patient


def test_a_released_lesson_has_a_start_button_that_works_whatever_the_patient_is_doing(
    patient: EnginePatient,
) -> None:
    lesson_one_done(patient)
    patient.command("resources")
    place = (patient.state.flow, patient.state.step, patient.state.prompt)
    patient.now = NOW + timedelta(days=7, hours=1)
    patient.do(Due("lesson_released", "2"))
    assert "Lesson 2" in patient.texts[0] and "is ready for you" in patient.texts[0]
    assert (patient.state.flow, patient.state.step, patient.state.prompt) == place, "nothing moved"
    start = patient.sends[0].buttons[0]
    assert start.label == "▶️ Start lesson 2"
    patient.do(Press(start.data, 9))
    assert patient.state.flow == "lesson-2"


def test_a_due_event_that_no_longer_applies_sends_nothing(patient: EnginePatient) -> None:
    lesson_one_done(patient)
    patient.now = NOW + timedelta(days=7, hours=1)
    patient.command("lesson")  # lesson 2 started from the menu before the release message
    patient.do(Due("lesson_released", "2"))
    assert patient.sends == []
    patient.do(Due("nudge", "2:3"))
    assert patient.sends == []
    patient.do(Due("behind_schedule", "week-2"))
    assert patient.sends == [], "lesson 1 is done"


def test_pausing_or_turning_off_stops_nudges_and_practice_but_not_lesson_news_or_check_ins(
    patient: EnginePatient,
) -> None:
    lesson_one_done(patient)
    patient.command("reminders")
    patient.press("Turn them off")
    patient.now = NOW + timedelta(days=1)
    patient.do(Due("practice", "2026-03-03"))
    assert patient.sends == []
    patient.now = NOW + timedelta(days=7, hours=1)
    patient.do(Due("guide_checkin", "week-1"))
    assert "weekly check-in" in patient.texts[0]
    patient.do(Due("lesson_released", "2"))
    assert "is ready for you" in patient.texts[0]


def test_the_weekly_check_in_answer_reaches_the_guide_once(patient: EnginePatient) -> None:
    consented(patient)
    patient.now = NOW + timedelta(days=7, hours=1)
    patient.do(Due("guide_checkin", "week-1"))
    checkin = patient.sends[0]
    assert [b.label for b in checkin.buttons] == ["🙂 Going well", "😐 So-so", "😟 Finding it hard"]
    patient.do(Press(checkin.buttons[2].data, 12))
    assert [s.text for s in patient.staff] == ["📋 <b>P-0007</b>, week 1 check-in: 😟 Finding it hard"]
    assert "Your guide will see this" in (patient.toast.text or "")  # type: ignore[union-attr]
    assert "/help" in patient.texts[0], "finding it hard: crisis contacts are one tap away"
    patient.do(Press(checkin.buttons[0].data, 12))
    assert patient.staff == [], "a second tap is not sent again"
    assert patient.toast is not None and patient.toast.text == "Got it, that's already noted."


def test_nothing_is_sent_to_a_patient_who_stopped(patient: EnginePatient) -> None:
    lesson_one_done(patient)
    patient.command("stop")
    patient.press("Yes, stop for now")
    for kind, key in (("guide_checkin", "week-1"), ("lesson_released", "2"), ("practice", "2026-03-03")):
        patient.now = NOW + timedelta(days=7, hours=1)
        patient.do(Due(kind, key))
        assert patient.sends == []
