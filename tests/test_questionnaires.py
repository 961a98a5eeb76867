"""Questionnaires in the engine, driven as a patient would: one item per message, Back, resuming,
stale buttons and free text, results, the safety protocol on PHQ-9 item 9, due occasions, stepped care."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from content.render import plain
from content.schema import Content
from dialogs.actions import FlagForReview, NotifyStaff, RaiseAlert, SaveResult, Send, SendChart
from dialogs.events import Due, Press
from dialogs.state import MENU, PatientState
from tests.conversation import NOW, EnginePatient
from tests.test_engine import onboard

BASELINE = ["phq9", "gad7", "peg"]


def answer(patient: EnginePatient, value: int) -> None:
    prompt = patient.prompt()
    data = next((b.data for b in prompt.buttons if b.data.endswith(f":a:{value}")), None)
    assert data is not None, f"no answer {value} on {[b.label for b in prompt.buttons]}"
    patient.message_id += 1
    patient.do(Press(data, patient.message_id))


def answer_all(patient: EnginePatient, values: list[int]) -> None:
    for value in values:
        answer(patient, value)


def start_checkin(patient: EnginePatient) -> None:
    patient.command("menu")
    patient.press("check-in")


def sent(patient: EnginePatient, kind: type) -> list:  # type: ignore[type-arg]
    return [a for a in patient.actions if isinstance(a, kind)]


def test_the_menu_offers_the_baseline_check_in_first_after_consent(content: Content) -> None:
    patient = EnginePatient(content)
    onboard(patient)
    labels = patient.labels()
    assert "check-in" in labels[0].lower(), labels
    assert any("lesson 1" in label.lower() for label in labels), "lesson 1 is still there"
    patient.press("check-in")
    assert any("mood" in text.lower() for text in patient.texts), "the PHQ-9's introduction"
    item = patient.prompt()
    assert "1 of 9" in plain(item.text)
    assert "Over the last 2 weeks" in plain(item.text)
    assert "Little interest or pleasure" in plain(item.text)
    assert [b.label for b in item.buttons] == [
        "Not at all",
        "Several days",
        "More than half the days",
        "Nearly every day",
    ]


def test_one_item_per_message_with_back_one_item(content: Content) -> None:
    patient = EnginePatient(content)
    onboard(patient)
    start_checkin(patient)
    answer(patient, 2)
    assert "» More than half the days" in plain(patient.edits[0].text), "the chosen answer is marked"
    assert "2 of 9" in plain(patient.prompt().text)
    assert patient.labels()[-1] == "⬅️ Back"
    patient.press("Back")
    assert "1 of 9" in plain(patient.prompt().text)
    assert "Back" not in " ".join(patient.labels()), "no way back from the first item"
    answer(patient, 0)
    assert patient.state.survey is not None
    assert patient.state.survey.answers == {"phq9_1": 0}, "the new answer replaces the old one"


def test_double_taps_stale_buttons_and_free_text_change_nothing(content: Content) -> None:
    patient = EnginePatient(content)
    onboard(patient)
    start_checkin(patient)
    first = patient.prompt()
    answer(patient, 1)
    before = patient.state
    patient.press("Nearly every day", first)  # the same message tapped again
    assert patient.toast is not None
    assert patient.toast.text == plain(content.for_locale("en").ui["already_noted"]).strip()
    assert patient.state == before
    patient.type("I'm not sure, it depends on the day")
    assert "tap one of the answers" in patient.texts[0]
    assert "2 of 9" in patient.texts[-1], "the same item again"
    assert patient.state.survey == before.survey


def test_interrupted_by_menu_lesson_or_a_restart_it_carries_on_where_it_was(content: Content) -> None:
    patient = EnginePatient(content)
    onboard(patient)
    start_checkin(patient)
    answer_all(patient, [1, 1])
    patient.command("menu")
    assert patient.state.flow == MENU
    assert patient.labels()[0] == "📝 Carry on with your check-in (3 of 9)"
    patient.command("lesson")
    assert "part way through your check-in" in patient.texts[-1]
    assert patient.labels() == ["📝 Carry on with your check-in (3 of 9)", "Go to my lesson"]
    patient.press("Go to my lesson")
    assert patient.state.flow == "lesson-1"
    # a restart: the state goes through the database form and back
    stored = PatientState(
        code=patient.state.code, locale="en", **PatientState.dialog_fields(patient.state.dialog_data())
    )
    patient.state = replace(patient.state, **{k: getattr(stored, k) for k in ("survey", "surveys_done", "scores")})
    patient.command("menu")
    patient.press("Carry on with your check-in")
    assert "3 of 9" in plain(patient.prompt().text)
    assert patient.state.survey is not None
    assert patient.state.survey.answers == {"phq9_1": 1, "phq9_2": 1}


def test_a_finished_questionnaire_is_scored_explained_kindly_and_sent_to_the_guides(content: Content) -> None:
    patient = EnginePatient(content)
    onboard(patient)
    start_checkin(patient)
    answer_all(patient, [1, 2, 0, 3, 1, 0, 2, 1])
    answer(patient, 0)
    result = sent(patient, SaveResult)[0]
    assert (result.questionnaire, result.occasion, result.total, result.band) == ("phq9", "baseline", 10, "moderate")
    shown = " ".join(patient.texts)
    assert "low quite often" in shown
    for alarming in ("severe", "depression", "moderate"):
        assert alarming not in shown.lower(), "no clinical labels for the patient"
    staff = plain(sent(patient, NotifyStaff)[0].text)
    assert "P-0007" in staff and "PHQ-9" in staff and "10" in staff and "moderate" in staff and "baseline" in staff
    assert "1 of 7" in plain(patient.prompt().text), "the GAD-7 follows on the same occasion"


def walk_baseline(patient: EnginePatient, phq9: list[int] | None = None, peg: list[int] | None = None) -> None:
    start_checkin(patient)
    answer_all(patient, phq9 or [1] * 9)
    answer_all(patient, [1] * 7)
    answer_all(patient, peg or [5, 5, 5])


def test_the_whole_baseline_battery_then_the_menu_stops_offering_it(content: Content) -> None:
    patient = EnginePatient(content)
    onboard(patient)
    walk_baseline(patient)
    assert patient.state.surveys_done == ("baseline/phq9", "baseline/gad7", "baseline/peg")
    assert patient.state.survey is None
    assert "check-in done" in " ".join(patient.texts)
    assert not any("check-in" in label.lower() for label in patient.labels())
    assert patient.state.scores["peg"][0]["shown"] == "5.0"


def test_phq9_item_9_nearly_every_day_sends_the_safety_message_first_and_an_urgent_alert(content: Content) -> None:
    patient = EnginePatient(content)
    onboard(patient, "United Kingdom")
    start_checkin(patient)
    answer_all(patient, [0] * 8)
    answer(patient, 3)
    sends = patient.sends
    safety = next(a for a in sends if a.urgent)
    assert "116 123" in plain(safety.text), "the crisis contacts of the patient's country"
    alerts = sent(patient, RaiseAlert)
    assert [a.level for a in alerts] == ["urgent"]
    assert alerts[0].reason.startswith("PHQ-9 item 9")
    assert "“Nearly every day” (PHQ-9, baseline)" in alerts[0].reason
    assert sends.index(safety) < sends.index(patient.prompt()), "the safety message goes before the next item"
    assert sent(patient, SaveResult), "and the questionnaire is still finished"
    assert "1 of 7" in plain(patient.prompt().text), "the flow goes on"


def test_phq9_item_9_several_days_is_urgent_by_default_with_the_safety_message(content: Content) -> None:
    patient = EnginePatient(content)
    onboard(patient)
    start_checkin(patient)
    answer_all(patient, [0] * 8)
    answer(patient, 1)
    assert [a.level for a in sent(patient, RaiseAlert)] == ["urgent"]
    assert any(isinstance(a, Send) and a.urgent for a in patient.actions)


def test_a_site_may_make_phq9_item_9_several_days_a_review(content: Content) -> None:
    program = content.program.model_copy(update={"phq9_item9_several_days": "review"})
    patient = EnginePatient(content.model_copy(update={"program": program}))
    onboard(patient)
    start_checkin(patient)
    answer_all(patient, [0] * 8)
    answer(patient, 1)
    assert [a.level for a in sent(patient, RaiseAlert)] == ["review"]
    assert any(isinstance(a, Send) and a.urgent for a in patient.actions), "the safety message all the same"


def test_a_weekly_check_is_announced_once_and_started_from_its_button(content: Content) -> None:
    patient = EnginePatient(content)
    onboard(patient)
    walk_baseline(patient, phq9=[1] * 9)
    patient.now = NOW + timedelta(days=7, hours=1)
    patient.do(Due("questionnaire", "week-1"))
    ready = patient.sends[0]
    assert "check-in is ready" in plain(ready.text)
    assert ready.buttons[0].data == "checkin:week-1"
    assert ready.at is not None, "a timed message, not a reply"
    patient.do(Due("questionnaire", "week-1"))
    assert patient.actions == (), "once per occasion"
    patient.do(Due("questionnaire", "week-5"))
    assert patient.actions == (), "not yet due: nothing"
    patient.message_id += 1
    patient.do(Press("checkin:week-1", patient.message_id))
    assert "1 of 9" in plain(patient.prompt().text)
    answer_all(patient, [2] * 9)  # 18, from 9 at baseline
    staff = plain(sent(patient, NotifyStaff)[0].text)
    assert "+9 since baseline (9)" in staff
    flags = sent(patient, FlagForReview)
    assert [f.rule for f in flags] == ["phq9-rise"]
    assert "review P-0007" in plain(flags[0].text)


def test_a_stale_ready_button_after_the_check_in_is_done_only_says_so(content: Content) -> None:
    patient = EnginePatient(content)
    onboard(patient)
    walk_baseline(patient)
    before = patient.state
    patient.do(Press("checkin:baseline", 99))
    assert patient.toast is not None
    assert "done" in (patient.toast.text or "")
    assert patient.state == before


def test_progress_shows_results_and_a_chart(content: Content) -> None:
    patient = EnginePatient(content)
    onboard(patient)
    walk_baseline(patient, phq9=[3] * 9)
    patient.command("progress")
    text = " ".join(patient.texts)
    assert "Your mood (PHQ-9): 27" in text
    chart = sent(patient, SendChart)[0]
    assert [s.label for s in chart.series] == ["Worry and nerves (GAD-7)", "Your pain (PEG)", "Your mood (PHQ-9)"]
    assert chart.series[2].points == (("2026-03-02", 27.0),)
    assert (chart.series[2].low, chart.series[2].high) == (0, 27)


def test_a_severe_phq9_flags_the_patient_for_review_once_per_occasion(content: Content) -> None:
    patient = EnginePatient(content)
    onboard(patient)
    start_checkin(patient)
    answer_all(patient, [3] * 8 + [0])
    assert [f.rule for f in sent(patient, FlagForReview)] == ["phq9-severe"]
    assert patient.state.flagged == ("phq9-severe/baseline",)


def test_a_questionnaire_the_content_no_longer_has_is_let_go_kindly(content: Content) -> None:
    patient = EnginePatient(content)
    onboard(patient)
    start_checkin(patient)
    answer(patient, 1)
    survey = patient.state.survey
    assert survey is not None
    patient.state = replace(patient.state, survey=replace(survey, questionnaire="retired"))
    patient.type("hello")
    assert patient.state.survey is None
    assert patient.state.flow == MENU, "back to the menu, not stuck"


def test_lesson_with_no_lesson_open_shows_the_menu_with_the_due_check_in(content: Content) -> None:
    patient = EnginePatient(content)
    onboard(patient)
    walk_baseline(patient)
    patient.state = replace(patient.state, lessons_done=(1,), lesson_place=None)
    patient.now = NOW + timedelta(days=1)
    patient.command("lesson")
    assert "Lesson 2 opens on" in patient.texts[0]
    assert patient.state.flow == MENU, "then the menu"
    assert not any("check-in" in label.lower() for label in patient.labels()), "the baseline is done"
    patient.now = NOW + timedelta(days=7, hours=1)
    patient.command("lesson")
    assert patient.state.flow == "lesson-2", "an open lesson opens at once"
    patient.state = replace(patient.state, lessons_done=(1, 2), lesson_place=None)
    patient.command("lesson")
    assert "check-in" in patient.labels()[0].lower(), "the weekly check-in, offered first"


def test_a_check_in_not_done_after_three_days_is_reminded_once(content: Content) -> None:
    patient = EnginePatient(content)
    onboard(patient)
    walk_baseline(patient, phq9=[1] * 9)
    patient.now = NOW + timedelta(days=7, hours=1)
    patient.do(Due("questionnaire_overdue", "week-1"))
    assert patient.actions == (), "not announced yet: nothing to remind of"
    patient.do(Due("questionnaire", "week-1"))
    patient.now = NOW + timedelta(days=9, hours=1)
    patient.do(Due("questionnaire_overdue", "week-1"))
    assert patient.actions == (), "two days on: too soon to remind"
    patient.now = NOW + timedelta(days=10, hours=1)
    patient.do(Due("questionnaire_overdue", "week-1"))
    reminder = patient.sends[0]
    assert "still waiting for you" in plain(reminder.text)
    assert reminder.buttons[0].data == "checkin:week-1", "the same Start button"
    assert reminder.at is not None, "a timed message, not a reply"
    patient.do(Due("questionnaire_overdue", "week-1"))
    assert patient.actions == (), "reminded once"
    patient.message_id += 1
    patient.do(Press("checkin:week-1", patient.message_id))
    assert "1 of 9" in plain(patient.prompt().text)


def test_a_check_in_done_before_its_reminder_is_not_reminded(content: Content) -> None:
    patient = EnginePatient(content)
    onboard(patient)
    patient.do(Due("questionnaire", "baseline"))
    walk_baseline(patient)
    patient.now = NOW + timedelta(days=4)
    patient.do(Due("questionnaire_overdue", "baseline"))
    assert patient.actions == ()


def test_start_on_the_ready_message_while_writing_to_the_guide_asks_the_items(content: Content) -> None:
    """A bug: the questionnaire's first item came while "what would you like to tell your guide?"
    was still open, so a tap on an answer was answered as if it were meant for that question."""
    patient = EnginePatient(content)
    onboard(patient)
    patient.command("guide")
    patient.message_id += 1
    patient.do(Press("checkin:baseline", patient.message_id))
    assert patient.state.overlay is None
    answer(patient, 1)
    assert patient.state.survey is not None and patient.state.survey.answers == {"phq9_1": 1}
    assert "2 of 9" in plain(patient.prompt().text)


def test_an_occasion_announced_late_after_downtime_is_not_reminded_at_once_as_well(content: Content) -> None:
    patient = EnginePatient(content)
    onboard(patient)
    walk_baseline(patient, phq9=[1] * 9)
    patient.now = NOW + timedelta(days=11)  # the scheduler was down from day 6 to day 11
    patient.do(Due("questionnaire", "week-1"))
    assert "is ready" in plain(patient.sends[0].text)
    patient.do(Due("questionnaire_overdue", "week-1"))
    assert patient.actions == (), "one message after downtime, not the announcement and its reminder"
