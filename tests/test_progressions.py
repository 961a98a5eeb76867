"""Tools that progress (issue 15): the graded activity ladder climbs after repeated tries with
falling fear, each try planned from the last, every rung reminded; a pacing plan starts at about
80% of its baseline and steps up on a schedule; pleasant activities are rated for enjoyment and
mood; the staying-well plan is reviewed monthly after the course. Property tests for the rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from content.render import plain
from content.schema import PROGRESSION_ANSWERS, Content
from dialogs import progressions
from dialogs.actions import CancelEdits, Send
from dialogs.events import Press
from dialogs.state import MENU
from tests.conversation import EnginePatient
from tests.test_engine import onboard
from tests.test_tools import advance, open_tool, reach_lesson

LADDER = {"goal": "Walk to the park", "rung_a": "Shop", "fear_a": "6", "rung_b": "Street", "fear_b": "3",
          "rung_c": "Bus", "fear_c": "9"}  # fmt: skip
fears = st.integers(min_value=0, max_value=10)


def test_the_progression_answers_named_in_content_are_the_ones_added() -> None:
    assert PROGRESSION_ANSWERS["ladder"] == {progressions.STEP, progressions.RUNG, progressions.TRIES,
                                             progressions.CLIMBED}  # fmt: skip
    assert {progressions.QUOTA, progressions.STEP_UP, progressions.STEP_UP_EVERY, progressions.SCHEDULE} <= (
        PROGRESSION_ANSWERS["pacing"]
    )


def test_a_new_ladder_starts_on_its_least_feared_rung() -> None:
    ladder = progressions.start_ladder(LADDER)
    assert (ladder[progressions.STEP], ladder[progressions.RUNG]) == ("1", "Street")
    assert progressions.rungs(ladder) == [(3, "Street"), (6, "Shop"), (9, "Bus")]


@given(st.lists(st.tuples(fears, fears), max_size=30))
def test_the_ladder_never_skips_a_rung_nor_climbs_on_one_try(tries: list[tuple[int, int]]) -> None:
    ladder = progressions.start_ladder(LADDER)
    on_rung = 0
    for before, after in tries:
        step = progressions.current_step(ladder)
        progress = progressions.record_try(ladder, before, after)
        on_rung += 1
        new_step = progressions.current_step(progress.entry)
        assert new_step in (step, step + 1), "one rung at a time"
        if progress.climbed:
            assert on_rung >= progressions.TRIES_TO_CLIMB, "repeated tries"
            assert after < before or after <= progressions.LOW_FEAR, "the last try ended with fear falling"
            on_rung = 0
        else:
            assert new_step == step
        assert len(progressions.tries(progress.entry)) == len(progressions.tries(ladder)) + 1, "every try is kept"
        ladder = progress.entry


@given(st.lists(fears, min_size=3, max_size=3, unique=True).map(sorted))
def test_falling_fear_over_repeated_tries_climbs_every_rung(levels: list[int]) -> None:
    ladder = progressions.start_ladder(LADDER)
    low, mid, high = levels
    for _ in range(3):  # each rung: two tries, fear falling within and across them
        first = progressions.record_try(ladder, max(high, 3), mid)
        assert not first.climbed
        second = progressions.record_try(first.entry, max(high, 3) - 1 if high > 3 else 2, low)
        assert second.climbed
        ladder = second.entry
    assert ladder[progressions.CLIMBED] == "top"


def test_a_try_where_fear_does_not_fall_keeps_the_rung() -> None:
    ladder = progressions.start_ladder(LADDER)
    for before, after in ((7, 5), (6, 6), (5, 7)):
        progress = progressions.record_try(ladder, before, after)
        ladder = progress.entry
    assert not progress.climbed and progress.advice == "ladder_again_not_falling"
    assert ladder[progressions.STEP] == "1"


@given(st.lists(st.integers(min_value=0, max_value=600), min_size=1, max_size=7), st.booleans())
def test_the_quota_is_about_eighty_percent_of_the_baseline(baseline: list[int], in_minutes: bool) -> None:
    quota = progressions.quota(baseline, in_minutes)
    average = sum(baseline) / len(baseline)
    assert quota >= 1
    if average * 0.8 >= 1:
        assert quota <= 0.8 * average, "never above 80%: a little less than an ordinary day"
        assert quota > 0.8 * average - (5 if in_minutes else 1), "but close to it"


@given(st.integers(min_value=1, max_value=300), st.sampled_from([7, 14]), st.booleans())
def test_increases_are_planned_on_a_schedule(start: int, every: int, in_minutes: bool) -> None:
    plan = progressions.schedule(start, date(2026, 3, 2), every, in_minutes)
    assert len(plan) == progressions.STEP_UPS
    days = [day for day, _ in plan]
    amounts = [amount for _, amount in plan]
    assert all((b - a).days == every for a, b in zip([date(2026, 3, 2), *days], days, strict=False))
    assert all(b > a for a, b in zip([start, *amounts], amounts, strict=False)), "each step up adds something"
    assert amounts[0] - start <= max(5, start * 0.1 + 1), "small steps"


def test_the_quota_in_an_amount_and_in_time() -> None:
    assert progressions.quota([3, 2, 3], in_minutes=False) == 2  # loads of washing
    assert progressions.quota([30, 40, 20], in_minutes=True) == 20
    days = {"base_1": "30", "base_2": "2,5", "base_3": "lots"}
    assert progressions.baseline_of(days, ("base_1", "base_2", "base_3")) == [30.0, 2.5]


# -- in the engine -----------------------------------------------------------------------------


@pytest.fixture
def patient(content: Content) -> EnginePatient:
    patient = EnginePatient(content)
    onboard(patient)  # Monday 2 March 2026, 10:00 UTC
    return patient


def planned(patient: EnginePatient) -> list[Send]:
    return [s for s in patient.sends if s.at is not None]


def make_ladder(patient: EnginePatient) -> Send:
    reach_lesson(patient, 4)
    open_tool(patient, "Graded activity ladder")
    answers = iter(["Walk to the park", "Walk to the shop", "Walk down my street", "Take the bus"])
    fear = iter(["6", "3", "9"])
    while patient.state.flow != MENU:
        if patient.state.awaiting == "text":
            patient.type(next(answers))
        elif patient.state.step and patient.state.step.startswith("fear"):
            patient.press(next(fear))
        elif patient.state.step == "day":
            patient.press("Tomorrow")
        elif patient.state.step == "time":
            patient.press("Morning")
        else:
            patient.press_first()
    [reminder] = planned(patient)
    return reminder


def one_try(patient: EnginePatient, reminder: Send, before: str, after: str) -> Send:
    patient.do(Press(reminder.buttons[0].data, 50))
    assert patient.state.flow == "tool-ladder-try"
    patient.press(before)
    patient.press("I've finished")
    patient.press(after)
    patient.press("Tomorrow")
    patient.press("Evening")
    assert patient.state.flow == MENU
    [next_reminder] = planned(patient)
    return next_reminder


def test_every_rung_gets_its_reminder_and_tries_with_falling_fear_climb(patient: EnginePatient) -> None:
    first = make_ladder(patient)
    assert "Step 1: Walk down my street" in plain(first.text)
    assert [b.label for b in first.buttons] == ["▶️ Start this try", "Not this time"]
    second = one_try(patient, first, "7", "4")
    assert "fear came down during that try" in " ".join(patient.texts)
    assert "Step 1: Walk down my street" in plain(second.text), "the same rung again, planned from this try"
    assert second.at == datetime(2026, 3, 3, 18, 30, tzinfo=UTC), "tomorrow evening, as chosen after the try"
    third = one_try(patient, second, "5", "2")
    assert "You've climbed a step" in " ".join(patient.texts)
    assert "Step 2: Walk to the shop" in plain(third.text), "the next rung has its own reminder"
    ladder = patient.state.entries["tool-activity-ladder"][0]
    assert progressions.tries(ladder) == [progressions.Try(1, 7, 4), progressions.Try(1, 5, 2)]


def test_not_this_time_on_the_ladder_plans_the_same_rung_tomorrow(patient: EnginePatient) -> None:
    first = make_ladder(patient)
    patient.do(Press(first.buttons[1].data, 50))
    [again] = planned(patient)
    assert "Step 1: Walk down my street" in plain(again.text)
    assert again.buttons[1].data != first.buttons[1].data, "its own Not this time"
    patient.do(Press(first.buttons[1].data, 50))
    assert not planned(patient) and patient.saved == [], "a double tap logs nothing more"


def test_a_pleasant_activity_is_rated_for_enjoyment_and_mood(patient: EnginePatient) -> None:
    reach_lesson(patient, 3)
    open_tool(patient, "Pleasant activity planner")
    while patient.state.flow != MENU:
        patient.type("Call my sister") if patient.state.awaiting == "text" else advance(patient)
    [reminder] = planned(patient)
    patient.do(Press(reminder.buttons[0].data, 40))
    assert "enjoy" in patient.texts[-1]
    patient.press("8")
    assert "mood" in patient.texts[-1]
    patient.press("6")
    entry = patient.state.entries["tool-activity-planner"][0]
    assert (entry["_enjoyment"], entry["_mood"], entry["_log1"]) == ("8", "6", "done")
    assert [(s.flow, s.key, s.value) for s in patient.saved if s.step == "reminder"] == [
        ("tool-activity-planner", "entry-1", "done")
    ]
    patient.do(Press(reminder.buttons[1].data, 40))
    assert patient.toast is not None and patient.toast.text == plain(
        patient.content.for_locale(None).ui["already_noted"]
    )


def test_a_pacing_plan_from_a_baseline_with_increases_on_a_schedule(patient: EnginePatient) -> None:
    reach_lesson(patient, 4)
    open_tool(patient, "Pacing plan")
    typed = iter(["Washing", "loads of washing", "3", "2", "3", "feeling dizzy"])
    while patient.state.flow != MENU:
        if patient.state.awaiting == "text":
            patient.type(next(typed))
        elif patient.state.step == "unit":
            patient.press("In an amount")
        elif patient.state.step == "every":
            patient.press("Every week")
        elif patient.state.step == "day":
            patient.press("Tomorrow")
        else:
            patient.press_first()
    text = " ".join(plain(t) for t in patient.texts)
    assert "Your quota for Washing: 2 loads of washing" in text
    assert "Monday 9 March: 3 loads of washing" in text and "Monday 30 March: 6 loads of washing" in text
    step_ups = [s for s in planned(patient) if "planned step-up" in plain(s.text)]
    assert [s.at for s in step_ups][:2] == [
        datetime(2026, 3, 9, 9, 30, tzinfo=UTC),
        datetime(2026, 3, 16, 9, 30, tzinfo=UTC),
    ]
    [reminder] = [s for s in planned(patient) if "Pacing time" in plain(s.text)]
    assert "your quota is 2 loads of washing" in plain(reminder.text)
    entry = patient.state.entries["tool-pacing-plan"][0]
    assert entry[progressions.QUOTA] == "2"


def test_the_staying_well_plan_is_reviewed_monthly_after_the_course(patient: EnginePatient) -> None:
    patient.state = replace(patient.state, consented_at=datetime(2026, 3, 2, 10, tzinfo=UTC))
    reach_lesson(patient, 5)
    open_tool(patient, "Staying-well plan")
    while patient.state.flow != MENU:
        patient.type("Tired, snappy") if patient.state.awaiting == "text" else advance(patient)
    reviews = [s for s in planned(patient) if "staying-well review" in plain(s.text)]
    assert len(reviews) == 6
    assert reviews[0].at == datetime(2026, 5, 27, 9, 30, tzinfo=UTC), "a month after the course ends (day 56)"
    assert all(r.group == "staying-well-reviews" for r in reviews)
    assert "Tired, snappy" in plain(reviews[0].text), "the plan itself, to look over"
    assert CancelEdits("staying-well-reviews") in patient.actions, "a new plan replaces the old reviews"
    patient.command("stop")
    patient.press("Yes, stop")
    assert CancelEdits("staying-well-reviews") in patient.actions


def test_a_baseline_day_that_is_not_a_number_is_asked_again_kindly(patient: EnginePatient) -> None:
    reach_lesson(patient, 4)
    open_tool(patient, "Pacing plan")
    typed = iter(["Washing", "loads of washing", "3"])
    while patient.state.step != "base-2":
        if patient.state.awaiting == "text":
            patient.type(next(typed))
        elif patient.state.step == "unit":
            patient.press("In an amount")
        else:
            patient.press_first()
    patient.type("not sure, a few")
    assert patient.state.step == "base-2", "the same question is still open"
    assert "just a number" in plain(patient.texts[-1])
    assert "base_2" not in patient.state.answers.get("tool-pacing-plan", {}), "nothing saved"
    patient.type("about 2 loads")
    assert patient.state.step == "base-3"


@given(st.integers(min_value=0, max_value=10_000), st.sampled_from(["{}", "about {} min", " {} loads"]))
def test_a_typed_amount_reads_as_its_number(amount: int, shape: str) -> None:
    assert progressions.number_of(shape.format(amount)) == amount
    assert progressions.number_of(shape.replace("{}", "some")) is None
