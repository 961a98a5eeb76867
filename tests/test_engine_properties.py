"""Property-based tests: whatever a patient does, in any order, the engine stays sound."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from content import buttons as callbacks
from content.render import split_for_telegram, visible_length
from content.schema import Content
from dialogs.events import Command, Event, NotText, Press, Start, Text
from dialogs.stages.questionnaires import QUESTIONNAIRE_FLOW as SURVEY
from dialogs.state import MENU, Status
from tests.conversation import EnginePatient

COMMANDS = ["menu", "lesson", "help", "stop", "nonsense", "start"]

moves = st.one_of(
    st.tuples(st.just("tap"), st.integers(0, 5)),
    st.tuples(st.just("old-tap"), st.integers(1, 6), st.integers(0, 5)),
    st.tuples(st.just("text"), st.text(max_size=50)),
    st.tuples(st.just("long-text"), st.integers(4000, 6000)),
    st.tuples(st.just("command"), st.sampled_from(COMMANDS)),
    st.tuples(st.just("forged"), st.text(max_size=70)),
    st.tuples(st.just("sticker")),
)


def event_for(patient: EnginePatient, move: tuple[object, ...]) -> Event:
    prompts = [s for s in patient.history if s.buttons]
    kind = move[0]
    if kind == "tap" and prompts:
        buttons = prompts[-1].buttons
        return Press(buttons[int(move[1]) % len(buttons)].data, 1)  # type: ignore[call-overload]
    if kind == "old-tap" and prompts:
        prompt = prompts[-min(int(move[1]), len(prompts))]  # type: ignore[call-overload]
        return Press(prompt.buttons[int(move[2]) % len(prompt.buttons)].data, 1)  # type: ignore[call-overload]
    if kind == "text":
        return Text(str(move[1]))
    if kind == "long-text":
        return Text("z" * int(move[1]))  # type: ignore[call-overload]
    if kind == "command":
        return Start() if move[1] == "start" else Command(str(move[1]))
    if kind == "forged":
        return Press(str(move[1]), 1)
    if kind == "sticker":
        return NotText()
    return Start()


def assert_sound(patient: EnginePatient, content: Content) -> None:
    state = patient.state
    locale = content.for_locale("en")
    if state.flow == SURVEY:  # a questionnaire item: the survey says which
        assert state.survey is not None
        questionnaire = locale.questionnaires[state.survey.questionnaire]
        assert state.step == f"{questionnaire.id}/{questionnaire.items[state.survey.index].id}"
    elif state.flow not in (None, MENU):
        assert state.flow in locale.flows
        assert state.step is not None and locale.flows[state.flow].has_step(state.step)
    if state.status == Status.ACTIVE:
        assert state.consented
    for send in patient.sends:
        assert 0 < visible_length(send.text) <= 4096
        for button in send.buttons:
            assert 0 < len(button.label) <= 64
            assert len(button.data.encode()) <= callbacks.MAX_CALLBACK_BYTES


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(moves, min_size=1, max_size=60))
def test_any_sequence_of_patient_actions_keeps_the_engine_sound(
    content: Content, script: list[tuple[object, ...]]
) -> None:
    patient = EnginePatient(content)
    patient.start()
    for move in script:
        before = patient.state
        event = event_for(patient, move)
        patient.do(event)
        after = patient.state
        assert_sound(patient, content)
        assert after.prompt >= before.prompt
        assert set(before.lessons_done) <= set(after.lessons_done)
        toasts = [a for a in patient.actions if type(a).__name__ == "Toast"]
        if isinstance(event, Press):
            assert len(toasts) == 1, "every tap is answered exactly once"
            press = callbacks.decode(event.data)
            stale = press is None or press.prompt != before.prompt
            if stale and before.status == Status.ACTIVE:
                assert (after.flow, after.step, after.status) == (before.flow, before.step, before.status)
        else:
            assert not toasts
            assert patient.sends, "a message, a command or a sticker always gets an answer"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(0, 4), min_size=1, max_size=200))
def test_tapping_any_current_button_never_gets_stuck(content: Content, choices: list[int]) -> None:
    """From any place, the patient can always go on: every prompt has buttons or takes text."""
    patient = EnginePatient(content)
    patient.start()
    for choice in choices:
        if patient.state.status in (Status.DECLINED, Status.STOPPED):
            patient.start()
        if patient.state.awaiting == "text":
            patient.type("an answer")
            continue
        prompt = patient.prompt()
        patient.press(prompt.buttons[choice % len(prompt.buttons)].label, prompt)
        assert patient.sends or patient.toast is not None
        assert_sound(patient, content)


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="<>&"), max_size=300), max_size=40))
def test_long_messages_are_split_into_parts_telegram_accepts(lines: list[str]) -> None:
    text = "\n".join(lines)
    parts = split_for_telegram(text, limit=500)
    assert all(visible_length(part) <= 500 for part in parts)
    assert "".join("".join(parts).split()) == "".join(text.split()), "nothing is lost"
