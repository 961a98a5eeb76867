"""Crisis language is never missed: the detector, and what the engine does when it fires."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from content.render import plain
from content.schema import Content, QuestionStep
from dialogs.actions import RaiseAlert, Send
from dialogs.events import Start
from dialogs.safety import crisis_phrase, normalise
from dialogs.state import Status
from tests.conftest import CONTENT_DIR, load_content
from tests.conversation import EnginePatient
from tests.test_engine import onboard, walk_to

PHRASES = load_content(CONTENT_DIR, "en").for_locale("en").safety.phrases
BENIGN = [
    "My shoulders ache and I feel tired",
    "I skipped the walk and rested all day",
    "I think I'm useless when the pain is bad",
    "I can go on with the garden tomorrow",
    "I will die of boredom in this waiting room",  # idiom, no phrase in the list
    "The medicine helped my sleep",
    "I love my dog",
    "",
]


def test_plain_crisis_phrases_are_found() -> None:
    for phrase in PHRASES:
        assert crisis_phrase(f"Lately {phrase}, honestly.", PHRASES) is not None, phrase


def test_everyday_words_are_not_alarms() -> None:
    for text in BENIGN:
        assert crisis_phrase(text, PHRASES) is None, text


@given(
    st.sampled_from(PHRASES),
    st.lists(st.sampled_from([" ", "  ", ", ", "... ", "! ", " - "]), min_size=8, max_size=8),
    st.lists(st.booleans(), min_size=40, max_size=40),
    st.text(alphabet="abc ,.", max_size=20),
)
def test_case_punctuation_and_spacing_never_hide_a_phrase(
    phrase: str, separators: list[str], upper: list[bool], around: str
) -> None:
    words = phrase.split()
    written = "".join(word + separators[i % len(separators)] for i, word in enumerate(words))
    written = "".join(c.upper() if upper[i % len(upper)] else c for i, c in enumerate(written))
    assert crisis_phrase(f"{around} {written} {around}", PHRASES) is not None


@given(st.sampled_from([p for p in PHRASES if any(len(w) >= 5 for w in p.split())]), st.data())
def test_one_slip_of_the_finger_in_a_long_word_is_forgiven(phrase: str, data: st.DataObject) -> None:
    words = phrase.split()
    index = data.draw(st.sampled_from([i for i, w in enumerate(words) if len(w) >= 5]))
    word = words[index]
    position = data.draw(st.integers(0, len(word) - 1))
    slip = data.draw(st.sampled_from(["drop", "double", "swap"]))
    if slip == "drop":
        word = word[:position] + word[position + 1 :]
    elif slip == "double":
        word = word[:position] + word[position] + word[position:]
    elif position < len(word) - 1:
        word = word[:position] + word[position + 1] + word[position] + word[position + 2 :]
    words[index] = word
    assert crisis_phrase(" ".join(words), PHRASES) is not None, words


def test_split_and_accented_words_are_joined() -> None:
    assert crisis_phrase("I want to kill my self", PHRASES) == "kill myself"
    assert crisis_phrase("SUÏCIDE", PHRASES) == "suicide"
    assert normalise("Can't — won't!") == ["cant", "wont"]


def alerts(patient: EnginePatient) -> list[RaiseAlert]:
    return [a for a in patient.actions if isinstance(a, RaiseAlert)]


def test_crisis_words_in_a_reflection_get_the_safety_message_first_and_the_flow_goes_on(content: Content) -> None:
    patient = EnginePatient(content)
    onboard(patient, "United Kingdom")
    patient.command("lesson")
    lesson = content.for_locale("en").lesson(1)
    assert lesson is not None
    question = next(s for s in lesson.steps if isinstance(s, QuestionStep))
    walk_to(patient, question.id)
    patient.type("Honestly some days I feel I'd be better off dead")
    first = patient.actions[0]
    assert isinstance(first, Send)
    assert first.urgent
    assert "116 123" in plain(first.text), "with the crisis contacts of the patient's country"
    assert len(alerts(patient)) == 1
    assert alerts(patient)[0].level == "urgent"
    assert "better off dead" in alerts(patient)[0].excerpt
    assert patient.saved, "the reflection is still saved"
    assert patient.state.step != question.id, "and the lesson goes on"


def test_crisis_words_anywhere_raise_the_alarm(content: Content) -> None:
    patient = EnginePatient(content)
    patient.start()
    walk_to(patient, "consent")
    before = patient.state
    patient.type("i want to end my life")  # free text where a button is expected
    assert alerts(patient)
    assert (patient.state.flow, patient.state.step) == (before.flow, before.step)
    patient.press("I have a question")
    patient.type("Is it normal to think about suicide?")  # a question for the guide
    assert alerts(patient)
    assert patient.staff, "the question still reaches the guide"


def test_a_patient_who_stopped_is_still_heard(content: Content) -> None:
    patient = EnginePatient(content)
    onboard(patient)
    patient.command("stop")
    patient.press("Yes, stop")
    assert patient.state.status == Status.STOPPED
    patient.type("I can't go on")
    assert alerts(patient)
    assert patient.sends[0].urgent


def test_a_deep_link_payload_is_checked_too(content: Content) -> None:
    patient = EnginePatient(content)
    patient.do(Start(payload="suicide"))
    assert alerts(patient)
