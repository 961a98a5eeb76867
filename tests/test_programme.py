"""The programme timetable: lessons open on their day, in the patient's time zone, in order."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from content.schema import Content
from dialogs.state import MENU, Status
from tests.conversation import NOW, EnginePatient
from tests.test_engine import onboard


def finish_lesson(patient: EnginePatient) -> None:
    number = len(patient.state.lessons_done) + 1
    patient.command("lesson")
    for _ in range(120):
        if number in patient.state.lessons_done:
            return
        if patient.state.awaiting == "text":
            patient.type("an answer")
        else:
            patient.press_first()
    raise AssertionError(f"lesson {number} never finished")


@pytest.fixture
def patient(content: Content) -> EnginePatient:
    patient = EnginePatient(content)
    onboard(patient)
    return patient


def test_lesson_two_waits_for_its_day_and_says_when(patient: EnginePatient) -> None:
    assert NOW.strftime("%A") == "Monday"
    finish_lesson(patient)
    assert patient.state.flow == MENU
    menu = " ".join(patient.texts)
    assert "Lesson 2 opens on Monday 9 March" in menu
    assert not any("lesson 2" in label.lower() for label in patient.labels())
    patient.now = NOW + timedelta(days=3)
    patient.command("lesson")
    assert "Lesson 2 opens on Monday 9 March" in patient.texts[0]
    assert patient.state.flow == MENU


def test_lesson_two_opens_on_day_seven(patient: EnginePatient) -> None:
    finish_lesson(patient)
    patient.now = NOW + timedelta(days=7)
    patient.command("menu")
    assert any("Start lesson 2" in label for label in patient.labels())
    patient.command("lesson")
    assert patient.state.flow == "lesson-2"


def test_days_are_counted_in_the_patients_own_time_zone(content: Content) -> None:
    patient = EnginePatient(content)
    patient.state = replace(patient.state, timezone="Australia/Sydney")
    patient.now = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)  # already Tuesday 3 March in Sydney
    onboard(patient)
    finish_lesson(patient)
    assert "Lesson 2 opens on Tuesday 10 March" in " ".join(patient.texts)
    patient.now = datetime(2026, 3, 9, 12, 59, tzinfo=UTC)  # 23:59 on Monday 9 March in Sydney
    patient.command("lesson")
    assert patient.state.flow == MENU
    patient.now = datetime(2026, 3, 9, 13, 0, tzinfo=UTC)  # midnight: Tuesday 10 March in Sydney
    patient.command("lesson")
    assert patient.state.flow == "lesson-2"


def test_a_lesson_opens_only_once_the_one_before_is_finished(patient: EnginePatient) -> None:
    patient.now = NOW + timedelta(days=30)
    patient.command("lesson")
    assert patient.state.flow == "lesson-1", "lesson 1 first, however late"
    patient.command("progress")
    progress = patient.texts[0]
    assert "Lesson 1" in progress
    assert "part way through" in progress
    assert "opens when the lesson before it is done" in progress


def test_progress_shows_done_open_and_locked_lessons(patient: EnginePatient) -> None:
    finish_lesson(patient)
    patient.now = NOW + timedelta(days=8)
    patient.command("progress")
    lines = patient.texts[0].splitlines()
    assert lines[1].startswith("✅ Lesson 1")
    assert lines[2].startswith("🔓 Lesson 2")
    assert (
        lines[3]
        == "🔒 Lesson 3: " + patient.content.for_locale("en").flows["lesson-3"].title + " (opens on Monday 23 March)"
    )
    assert patient.state.flow == MENU, "progress changes nothing"


def test_a_finished_lesson_can_be_read_again_without_losing_the_place(patient: EnginePatient) -> None:
    finish_lesson(patient)
    patient.now = NOW + timedelta(days=7)
    patient.command("lesson")
    patient.press_first()
    patient.press_first()
    place = patient.state.lesson_place
    assert place is not None
    assert place.flow == "lesson-2"
    patient.command("menu")
    patient.press("Read a lesson again")
    patient.press("Lesson 1")
    assert patient.state.flow == "lesson-1"
    for _ in range(120):
        if patient.state.flow == MENU:
            break
        if patient.state.awaiting == "text":
            patient.type("again")
        else:
            patient.press_first()
    assert patient.state.lessons_done == (1,)
    assert patient.state.lesson_place == place, "lesson 2 is still where the patient left it"
    assert any("Continue lesson 2" in label for label in patient.labels())


def test_a_lesson_not_finished_cannot_be_opened_from_the_reread_page(patient: EnginePatient) -> None:
    finish_lesson(patient)
    patient.command("menu")
    patient.press("Read a lesson again")
    assert all("Lesson 2" not in label for label in patient.labels())
    from dialogs.events import Press

    forged = f"{patient.state.prompt}:open:lesson-2"
    patient.do(Press(forged, 1))
    assert patient.state.flow == MENU
    assert patient.toast is not None


def test_extra_reading_opens_from_resources(patient: EnginePatient) -> None:
    resources = [f for f in patient.content.for_locale("en").flows.values() if f.kind == "resource"]
    if not resources:
        pytest.skip("no resources in the content")
    patient.command("resources")
    title = sorted(f.title for f in resources)[0]
    patient.press(title)
    assert patient.state.flow in {f.id for f in resources}
    for _ in range(60):
        if patient.state.flow == MENU:
            break
        if patient.state.awaiting == "text":
            patient.type("noted")
        else:
            patient.press_first()
    assert patient.state.flow == MENU
    assert patient.state.status == Status.ACTIVE
