"""The dialog engine, driven as a patient would drive it; pure functions, no mocks."""

from __future__ import annotations

from dataclasses import replace

import pytest

from content.buttons import decode
from content.render import plain
from content.schema import Content, QuestionStep, QuizStep
from dialogs.events import NotText, Press
from dialogs.state import MENU, PatientState, Status
from dialogs.steps import MAX_ANSWER
from tests.conversation import NOW, EnginePatient


def walk_to(patient: EnginePatient, step: str, *, flow: str | None = None, limit: int = 80) -> None:
    """Tap the first button (or answer a question) until the patient reaches `step`."""
    for _ in range(limit):
        if patient.state.step == step and (flow is None or patient.state.flow == flow):
            return
        if patient.state.awaiting == "text":
            patient.type("a short answer")
        else:
            patient.press_first()
    raise AssertionError(f"never reached {step}; at {patient.state.flow}/{patient.state.step}")


def onboard(patient: EnginePatient, country: str = "United Kingdom") -> None:
    patient.start()
    walk_to(patient, "country")
    patient.press(country)
    walk_to(patient, "consent")
    patient.press("I agree")


@pytest.fixture
def patient(content: Content) -> EnginePatient:
    return EnginePatient(content)


def test_start_begins_onboarding_with_a_welcome(patient: EnginePatient) -> None:
    patient.start()
    assert patient.state.status == Status.ONBOARDING
    assert patient.state.flow == "onboarding"
    assert patient.sends, "the patient must be greeted"
    assert patient.sends[-1].buttons, "the welcome waits for a tap"


def test_notice_shows_the_crisis_contacts_of_the_chosen_country(patient: EnginePatient) -> None:
    patient.start()
    walk_to(patient, "country")
    patient.press("United Kingdom")
    assert patient.state.country == "gb"
    shown = " ".join(patient.texts)
    assert "not an emergency service" in shown.lower()
    assert "116 123" in shown and "999" in shown


def test_other_countries_get_general_emergency_advice(patient: EnginePatient) -> None:
    patient.start()
    walk_to(patient, "country")
    patient.press("Somewhere else")
    assert "local emergency number" in " ".join(patient.texts)


def test_consent_given_activates_the_patient_and_offers_lesson_one(patient: EnginePatient) -> None:
    onboard(patient)
    assert patient.state.status == Status.ACTIVE
    assert patient.state.consented_at == NOW
    assert patient.state.flow == MENU
    assert any("lesson 1" in label.lower() for label in patient.labels())
    assert [(s.key, s.value) for s in patient.saved] == [("consent", "agree")]


def test_declining_is_respected_and_start_offers_again(patient: EnginePatient) -> None:
    patient.start()
    walk_to(patient, "consent")
    patient.press("Not right now")
    assert patient.state.status == Status.DECLINED
    assert not patient.state.consented
    patient.type("hello?")
    assert patient.state.status == Status.DECLINED
    assert "/start" in patient.texts[0]
    patient.start()
    assert patient.state.status == Status.ONBOARDING
    assert patient.state.flow == "onboarding"
    welcome = patient.content.for_locale("en").flows["onboarding"].steps[0]
    assert patient.sends[0].text.startswith(welcome.text.strip()[:15]), "onboarding starts over"


def test_a_question_before_consent_reaches_the_guide_and_consent_is_asked_again(
    patient: EnginePatient,
) -> None:
    patient.start()
    walk_to(patient, "consent")
    patient.press("I have a question")
    assert patient.state.awaiting == "text"
    patient.type("Is this <b>safe</b> with my meds & diet?")
    assert len(patient.staff) == 1
    alert = patient.staff[0].text
    assert "P-0007" in alert
    assert "&lt;b&gt;safe&lt;/b&gt;" in alert and "&amp;" in alert, "patient text must be escaped"
    assert patient.state.step == "consent"
    assert patient.sends[-1].buttons


def test_free_text_where_a_button_is_expected_repeats_the_choices(patient: EnginePatient) -> None:
    patient.start()
    walk_to(patient, "country")
    before = patient.state
    shown = patient.prompt()
    patient.type("I live in Leeds")
    assert patient.state == before, "nothing changes"
    assert len(patient.sends) == 2
    assert patient.sends[-1].buttons == shown.buttons, "the same choices, still valid"


def test_a_sticker_gets_a_kind_answer_and_the_choices_again(patient: EnginePatient) -> None:
    patient.start()
    before = patient.state
    patient.do(NotText())
    assert patient.state == before
    assert "type" in patient.texts[0].lower()
    assert patient.sends[-1].buttons


def test_a_double_tap_advances_once(patient: EnginePatient) -> None:
    patient.start()
    walk_to(patient, "country")
    walk_to(patient, "notice")
    prompt = patient.prompt()
    patient.press(prompt.buttons[0].label, prompt)
    after_first = patient.state
    patient.press(prompt.buttons[0].label, prompt)
    assert patient.state == after_first
    assert patient.sends == []
    assert patient.toast is not None and patient.toast.text


def test_a_button_from_an_older_message_does_not_move_the_patient(patient: EnginePatient) -> None:
    patient.start()
    old = patient.prompt()
    walk_to(patient, "consent")
    before = patient.state
    patient.press(old.buttons[0].label, old)
    assert (patient.state.flow, patient.state.step) == (before.flow, before.step)
    assert patient.state.status == before.status
    assert patient.toast is not None and patient.toast.text
    assert patient.sends and patient.sends[-1].buttons, "where we are now is shown again"


@pytest.mark.parametrize("data", ["", "nonsense", "abc:def", "999999:agree", "-1:x"])
def test_forged_or_unknown_button_data_changes_nothing(patient: EnginePatient, data: str) -> None:
    patient.start()
    walk_to(patient, "consent")
    before = patient.state
    patient.do(Press(data, 99))
    assert (patient.state.flow, patient.state.step, patient.state.status) == (
        before.flow,
        before.step,
        before.status,
    )
    assert patient.toast is not None


def test_unknown_command_is_named_and_changes_nothing(patient: EnginePatient) -> None:
    onboard(patient)
    before = patient.state
    patient.command("frobnicate")
    assert patient.state == before
    assert "/frobnicate" in patient.texts[0]


def test_help_shows_crisis_contacts_without_moving(patient: EnginePatient) -> None:
    onboard(patient, "Australia")
    before = patient.state
    patient.command("help")
    assert patient.state == before
    assert "13 11 14" in patient.texts[0]


def test_menu_and_lesson_wait_until_consent(patient: EnginePatient) -> None:
    patient.start()
    walk_to(patient, "notice")
    patient.command("lesson")
    assert patient.state.flow == "onboarding"
    assert patient.state.step == "notice"
    assert patient.sends[-1].buttons


def test_stop_asks_first_and_no_keeps_the_place(patient: EnginePatient) -> None:
    onboard(patient)
    patient.command("lesson")
    walk_to(patient, patient.state.step or "")
    where = (patient.state.flow, patient.state.step)
    patient.command("stop")
    assert patient.state.status == Status.ACTIVE, "nothing stops before the patient confirms"
    patient.press("No, keep going")
    assert (patient.state.flow, patient.state.step) == where
    assert patient.state.status == Status.ACTIVE
    assert patient.sends[-1].buttons


def test_stop_confirmed_stops_and_start_resumes_the_lesson(patient: EnginePatient) -> None:
    onboard(patient)
    patient.command("lesson")
    patient.press_first()
    patient.press_first()
    where = (patient.state.flow, patient.state.step)
    patient.command("stop")
    patient.press("Yes, stop")
    assert patient.state.status == Status.STOPPED
    patient.type("anyone there?")
    assert patient.state.status == Status.STOPPED
    patient.start()
    assert patient.state.status == Status.ACTIVE
    assert (patient.state.flow, patient.state.step) == where


def test_lesson_command_continues_where_the_patient_left_off(patient: EnginePatient) -> None:
    onboard(patient)
    patient.command("lesson")
    for _ in range(4):
        patient.press_first()
    where = patient.state.lesson_place
    patient.command("menu")
    assert patient.state.flow == MENU
    assert any("continue lesson 1" in label.lower() for label in patient.labels())
    patient.command("lesson")
    assert patient.state.lesson_place == where
    assert (patient.state.flow, patient.state.step) == (where.flow, where.step) if where else False


def lesson_steps(content: Content, number: int = 1) -> tuple[QuestionStep, QuizStep]:
    lesson = content.for_locale("en").lesson(number)
    assert lesson is not None
    question = next(s for s in lesson.steps if isinstance(s, QuestionStep))
    quiz = next(s for s in lesson.steps if isinstance(s, QuizStep))
    return question, quiz


def test_a_reflection_is_saved_and_quoted_back_escaped(patient: EnginePatient) -> None:
    question, _ = lesson_steps(patient.content)
    onboard(patient)
    patient.command("lesson")
    walk_to(patient, question.id)
    patient.type("Pain <then> worry & rest")
    assert [(s.step, s.key, s.value) for s in patient.saved] == [
        (question.id, question.save_as, "Pain <then> worry & rest")
    ]
    markup = " ".join(s.text for s in patient.sends)
    assert "<then>" not in markup
    assert patient.state.step != question.id


def test_an_answer_over_the_limit_is_kept_shortened_with_a_kind_note(patient: EnginePatient) -> None:
    question, _ = lesson_steps(patient.content)
    onboard(patient)
    patient.command("lesson")
    walk_to(patient, question.id)
    patient.type("x" * 5000)
    assert len(patient.saved[0].value) == MAX_ANSWER
    assert str(MAX_ANSWER) in patient.texts[0]
    assert all(len(s.text) <= 4096 for s in patient.sends)


def test_5000_characters_where_a_button_is_expected_only_reprompt(patient: EnginePatient) -> None:
    onboard(patient)
    before = patient.state
    patient.type("y" * 5000)
    assert patient.state == before
    assert patient.saved == []


def test_a_reflection_can_be_skipped(patient: EnginePatient) -> None:
    question, _ = lesson_steps(patient.content)
    onboard(patient)
    patient.command("lesson")
    walk_to(patient, question.id)
    assert question.skip is not None
    patient.press(question.skip)
    assert patient.saved == []
    assert patient.state.step != question.id


def test_quiz_answers_get_feedback_and_are_recorded(patient: EnginePatient) -> None:
    _, quiz = lesson_steps(patient.content)
    onboard(patient)
    patient.command("lesson")
    walk_to(patient, quiz.id)
    wrong = next(o for o in quiz.options if not o.correct)
    patient.press(wrong.label)
    assert patient.saved[0].value == f"{wrong.id} (incorrect)"
    assert patient.sends[0].text.startswith(wrong.feedback.strip()[:20])
    assert patient.edits and wrong.label in plain(patient.edits[0].text)


def test_walking_all_of_lesson_one_completes_it(patient: EnginePatient) -> None:
    onboard(patient)
    patient.command("lesson")
    for _ in range(100):
        if patient.state.flow == MENU:
            break
        if patient.state.awaiting == "text":
            patient.type("My neck hurts, I think I'm useless, I feel low, I stay in bed")
        else:
            patient.press_first()
    assert patient.state.lessons_done == (1,)
    assert patient.state.lesson_place is None
    assert patient.state.flow == MENU


def test_state_survives_a_round_trip_through_storage_form(patient: EnginePatient) -> None:
    onboard(patient)
    patient.command("lesson")
    walk_to(patient, lesson_steps(patient.content)[0].id)
    patient.type("noted")
    state = patient.state
    rebuilt = PatientState(
        code=state.code,
        locale=state.locale,
        status=state.status,
        country=state.country,
        consented_at=state.consented_at,
        flow=state.flow,
        step=state.step,
        **PatientState.dialog_fields(state.dialog_data()),
    )
    assert rebuilt == state


def test_every_button_carries_the_current_prompt_number(patient: EnginePatient) -> None:
    onboard(patient)
    patient.command("lesson")
    for _ in range(10):
        prompt = patient.prompt()
        numbers = {decode(b.data).prompt for b in prompt.buttons if decode(b.data)}  # type: ignore[union-attr]
        assert numbers == {patient.state.prompt}
        patient.press_first()


def test_a_state_pointing_at_a_removed_step_recovers_to_the_menu(patient: EnginePatient) -> None:
    onboard(patient)
    patient.state = replace(patient.state, flow="lesson-1", step="a-step-clinicians-deleted")
    patient.command("lesson")
    assert patient.sends, "the patient is never left without an answer"


def test_a_command_that_shows_a_new_menu_withdraws_the_stop_question(patient: EnginePatient) -> None:
    """A bug: /menu while "do you want to stop?" was open left that question on top, so a tap on
    the new menu was answered "that button belongs to an earlier message"."""
    onboard(patient)
    patient.command("stop")
    patient.command("menu")
    assert patient.state.overlay is None
    patient.press("My progress")
    assert patient.toast is not None and patient.toast.text is None, "the tap is taken, not called stale"
    assert "Your progress" in patient.texts[0]
    assert patient.state.status == Status.ACTIVE


def test_help_while_the_stop_question_is_open_leaves_it_to_answer(patient: EnginePatient) -> None:
    onboard(patient)
    patient.command("stop")
    question = patient.prompt()
    patient.command("help")
    patient.press("Yes, stop", question)
    assert patient.state.status == Status.STOPPED
