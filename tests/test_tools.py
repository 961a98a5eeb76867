"""Skills tools in the engine: unlocking, ticking, rating, the paced breathing exercise, entries."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from content.render import plain
from content.schema import Content
from dialogs.actions import CancelEdits, SaveEntry, ScheduleEdits, Send, ShareEntry
from dialogs.events import Press
from dialogs.state import MENU, Place
from tests.conversation import EnginePatient
from tests.test_engine import onboard


@pytest.fixture
def patient(content: Content) -> EnginePatient:
    patient = EnginePatient(content)
    onboard(patient)
    return patient


def reach_lesson(patient: EnginePatient, number: int) -> None:
    done = tuple(range(1, number))
    patient.state = replace(patient.state, lessons_done=done, lesson_place=Place(f"lesson-{number}", "welcome"))


def open_tool(patient: EnginePatient, title: str) -> None:
    patient.command("tools")
    patient.press(title)
    patient.press("Start")


def entries(patient: EnginePatient) -> list[SaveEntry]:
    return [a for a in patient.actions if isinstance(a, SaveEntry)]


def test_tools_unlock_with_their_lessons(patient: EnginePatient) -> None:
    patient.command("tools")
    assert "open as you go through the lessons" in patient.texts[0]
    patient.command("lesson")  # lesson 1 started: the symptom cycle map opens
    patient.command("tools")
    assert [label for label in patient.labels() if "Back" not in label] == ["Symptom cycle map"]
    reach_lesson(patient, 4)
    patient.command("tools")
    assert "Graded activity ladder" in patient.labels()
    assert "Staying-well plan" not in patient.labels()


def test_a_locked_tool_cannot_be_opened_with_forged_data(patient: EnginePatient) -> None:
    patient.command("lesson")
    patient.command("tools")
    before = patient.state
    patient.do(Press(f"{patient.state.prompt}:tool:tool-staying-well", 1))
    assert patient.state.step == before.step
    assert patient.toast is not None


def test_the_symptom_cycle_map_ticks_in_place_and_gives_the_cycle_back(patient: EnginePatient) -> None:
    patient.command("lesson")
    open_tool(patient, "Symptom cycle map")
    while patient.state.step != "symptoms":
        patient.press_first()
    assert patient.state.step == "symptoms"
    pick = patient.prompt()
    patient.press("Pain", pick)
    assert patient.edits, "the tick is shown by editing the same message"
    assert plain(patient.edits[0].text).startswith(plain(pick.text)[:20])
    assert any(b.label.startswith("✅") and "Pain" in b.label for b in patient.edits[0].buttons)
    patient.type("Burning feet")
    assert "Burning feet" in patient.texts[-1]
    patient.press("Done", pick)
    assert patient.state.step == "thoughts"
    for _ in range(3):
        current = patient.prompt()
        patient.press(current.buttons[0].label, current)
        patient.press(current.buttons[-1].label, current)
    saved = entries(patient)
    assert len(saved) == 1
    assert saved[0].answers["symptoms"] == "Pain; Burning feet"
    end = " ".join(patient.texts)
    assert "Burning feet" in end
    assert patient.state.flow == MENU


def test_done_with_nothing_ticked_asks_for_something(patient: EnginePatient) -> None:
    patient.command("lesson")
    open_tool(patient, "Symptom cycle map")
    while patient.state.step != "symptoms":
        patient.press_first()
    patient.press("Done")
    assert patient.state.step == "symptoms"
    assert patient.toast is not None
    assert patient.toast.text


def test_a_thought_record_with_ratings_typed_or_tapped_is_saved_and_listed(patient: EnginePatient) -> None:
    reach_lesson(patient, 2)
    open_tool(patient, "Thought record")
    answers = iter(["At the shops", "I can't do anything any more", "Sad"])
    while patient.state.step != "strength":
        if patient.state.awaiting == "text":
            patient.type(next(answers))
        else:
            patient.press_first()
    patient.press("80")
    patient.type("I had to leave early")  # evidence for
    patient.type("I did most of the list")  # evidence against
    patient.type("I did a lot, and resting was sensible")  # balanced
    assert patient.state.step == "strength-after"
    patient.type("40%")  # a typed rating is accepted
    saved = entries(patient)[0].answers
    assert (saved["strength"], saved["strength_after"]) == ("80", "40")
    assert "_saved" in saved
    patient.press("My past entries")
    assert "#1" in patient.texts[0]
    assert "I can't do anything any more" in patient.texts[0]


def test_a_rating_out_of_range_is_asked_again(patient: EnginePatient) -> None:
    reach_lesson(patient, 2)
    open_tool(patient, "Thought record")
    while patient.state.step != "strength":
        if patient.state.awaiting == "text":
            patient.type("something")
        else:
            patient.press_first()
    patient.type("250")
    assert patient.state.step == "strength"
    assert patient.sends[-1].buttons


def breathing(patient: EnginePatient, minutes: str = "2 minutes") -> ScheduleEdits:
    reach_lesson(patient, 3)
    open_tool(patient, "Controlled breathing")
    patient.press_first()
    patient.press(minutes)
    schedule = next(a for a in patient.actions if isinstance(a, ScheduleEdits))
    return schedule


def test_breathing_paces_one_message_for_the_minutes_chosen(patient: EnginePatient) -> None:
    schedule = breathing(patient, "2 minutes")
    cues = schedule.edits
    assert cues[-1].after_seconds == 120 - 120 % 7
    assert all(b.after_seconds < a.after_seconds for b, a in pairwise(cues))
    assert "Breathe out" in plain(cues[0].text)
    assert all(any("Stop" in b.label for b in cue.buttons) for cue in cues[:-1])
    assert "Continue" in cues[-1].buttons[0].label
    first = patient.sends[-1]
    assert first.ref == schedule.ref
    assert "Breathe in" in plain(first.text)


def test_stopping_breathing_cancels_every_cue_left(patient: EnginePatient) -> None:
    schedule = breathing(patient)
    patient.press("Stop")
    assert CancelEdits(schedule.group) in patient.actions
    assert patient.state.step == "tension-after"


def test_leaving_breathing_any_other_way_cancels_the_cues_too(patient: EnginePatient) -> None:
    schedule = breathing(patient)
    patient.command("menu")
    assert CancelEdits(schedule.group) in patient.actions


def test_typing_during_breathing_does_not_start_it_again(patient: EnginePatient) -> None:
    breathing(patient)
    patient.type("how long is left?")
    assert not any(isinstance(a, ScheduleEdits | CancelEdits) for a in patient.actions)
    assert "still running" in patient.texts[0]


def test_progress_counts_homework(patient: EnginePatient) -> None:
    reach_lesson(patient, 2)
    open_tool(patient, "Thought record")
    while patient.state.flow != MENU:
        if patient.state.awaiting == "text":
            patient.type("5")
        else:
            patient.press_first()
    patient.command("progress")
    assert "Thought record: used 1 time" in patient.texts[0]


def advance(patient: EnginePatient) -> None:
    """One step on: tick the first option and Done on a pick, tap the first button otherwise."""
    prompt = patient.prompt()
    if prompt.buttons[-1].data.endswith(":done"):
        patient.press(prompt.buttons[0].label, prompt)
        patient.press(prompt.buttons[-1].label, prompt)
    else:
        patient.press_first()


def plan_activity(patient: EnginePatient, day: str, time_of_day: str) -> Send:
    reach_lesson(patient, 3)
    open_tool(patient, "Pleasant activity planner")
    while patient.state.step != "day":
        advance(patient)
    patient.press(day)
    patient.press(time_of_day)
    while patient.state.flow != MENU:
        if patient.state.awaiting == "text":
            patient.type("Put my shoes on")
        else:
            advance(patient)
    return next(s for s in patient.history if s.at is not None and s in patient.sends)


def test_a_planned_activity_is_reminded_at_the_chosen_local_day_and_time(content: Content) -> None:
    patient = EnginePatient(content)
    patient.state = replace(patient.state, timezone="Europe/London")
    onboard(patient)  # Monday 2 March 2026, 10:00 UTC
    reminder = plan_activity(patient, "Tuesday", "Afternoon")
    assert reminder.at == datetime(2026, 3, 3, 14, 0, tzinfo=UTC)
    assert [b.label for b in reminder.buttons] == ["✅ I did it: rate it", "Not this time"]
    assert "Time for your planned activity" in plain(reminder.text)
    assert "I'll remind you on Tuesday 3 March at 14:00" in " ".join(patient.texts)


def test_reminders_follow_daylight_saving_time(content: Content) -> None:
    patient = EnginePatient(content)
    patient.state = replace(patient.state, timezone="Europe/London")
    onboard(patient)
    patient.now = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)  # Friday; clocks go forward on Sunday 29 March
    reminder = plan_activity(patient, "Sunday", "Morning")
    assert reminder.at == datetime(2026, 3, 29, 8, 30, tzinfo=UTC), "09:30 British Summer Time"


def test_a_time_already_past_today_is_reminded_soon_and_a_weekday_next_week(content: Content) -> None:
    patient = EnginePatient(content)
    onboard(patient)  # Monday 10:00 UTC
    soon = plan_activity(patient, "Today", "Morning")
    assert soon.at == patient.now + timedelta(minutes=5)
    later = plan_activity(patient, "Monday", "Morning")
    assert later.at == datetime(2026, 3, 9, 9, 30, tzinfo=UTC)


def test_done_or_not_is_logged_once_whenever_it_is_tapped(patient: EnginePatient) -> None:
    reminder = plan_activity(patient, "Tomorrow", "Evening")
    assert reminder.buttons[1].data == "log:tool-activity-planner:1-1:not", "each reminder of a rated tool logs alone"
    patient.command("lesson")  # the patient has moved on: the reminder's buttons still work
    patient.do(Press(reminder.buttons[1].data, 99))
    assert [(s.flow, s.key, s.value) for s in patient.saved] == [("tool-activity-planner", "entry-1", "not")]
    assert patient.edits, "the reminder shows what was tapped and loses its buttons"
    patient.do(Press(reminder.buttons[1].data, 99))
    assert patient.saved == [], "logged once"
    patient.do(Press(reminder.buttons[0].data, 99))  # rating it afterwards still works: the rating flow opens
    assert patient.state.flow == "tool-activity-rating"


def test_forged_log_data_changes_nothing(patient: EnginePatient) -> None:
    plan_activity(patient, "Tomorrow", "Evening")
    for data in ["log:tool-activity-planner:9:done", "log:tool-thought-record:1:done", "log:nope", "log:"]:
        before = patient.state
        patient.do(Press(data, 1))
        assert patient.state == before
        assert patient.saved == []


def test_stopping_cancels_planned_reminders(patient: EnginePatient) -> None:
    plan_activity(patient, "Tomorrow", "Evening")
    patient.command("stop")
    patient.press("Yes, stop")
    assert CancelEdits("reminders") in patient.actions


def test_an_entry_is_shared_with_the_guide_once_whichever_button(patient: EnginePatient) -> None:
    patient.command("lesson")
    open_tool(patient, "Symptom cycle map")
    while not entries(patient):
        current = patient.prompt()
        if any(b.label == "Done" for b in current.buttons):
            patient.press(current.buttons[0].label, current)
        patient.press(current.buttons[-1].label, current)
    assert "📤 Share entry 1 with my guide" in patient.labels()
    patient.press("📤 Share entry 1 with my guide")
    [shared] = [a for a in patient.actions if isinstance(a, ShareEntry)]
    assert (shared.tool, shared.title, shared.number) == ("tool-symptom-cycle", "Symptom cycle map", "1")
    assert shared.summary.startswith("🩺") and shared.saved
    assert "📤 Share entry 1 with my guide" not in patient.labels(), "the page offers it no more"
    patient.do(Press("share:tool-symptom-cycle:1", 77))  # the Share button of an old past-entries message
    assert not [a for a in patient.actions if isinstance(a, ShareEntry)]
    assert patient.toast is not None and patient.toast.text == "You've already shared this one with your guide."
    patient.do(Press("share:tool-symptom-cycle:9", 77))  # an entry that does not exist
    assert not [a for a in patient.actions if isinstance(a, ShareEntry)]
    assert patient.toast is not None and patient.toast.text
