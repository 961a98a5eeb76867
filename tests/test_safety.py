"""Crisis language is never missed: the detector, and what the engine does when it fires."""

from __future__ import annotations

import simplemma
from hypothesis import assume, given
from hypothesis import strategies as st

from content.render import plain
from content.risk_language import examples, fold, parse, reader_of, words
from content.schema import Content, QuestionStep
from dialogs.actions import RaiseAlert, Send
from dialogs.events import Start
from dialogs.state import Status
from tests.conftest import CONTENT_DIR, load_content
from tests.conversation import EnginePatient
from tests.test_engine import onboard, walk_to

SETS = load_content(CONTENT_DIR, "en").phrase_sets
READER = reader_of(SETS["en"])
URGENT = [
    " ".join(examples(parse(p))[0]) for f in SETS["en"].families.values() if f.tier == "urgent" for p in f.phrases
]
BENIGN = [
    "My shoulders ache and I feel tired",
    "I skipped the walk and rested all day",
    "I think I'm useless when the pain is bad",
    "I can go on with the garden tomorrow",
    "I will die of boredom in this waiting room",
    "The medicine helped my sleep",
    "I love my dog",
    "",
]


def tier(text: str) -> str | None:
    found = READER.read(text)
    return found.tier if found else None


def test_every_phrase_written_plainly_is_clear_risk() -> None:
    for phrase in URGENT:
        assert tier(f"Lately {phrase}, honestly.") == "urgent", phrase


def test_everyday_words_are_not_alarms() -> None:
    for text in BENIGN:
        assert tier(text) is None, text


@given(
    st.sampled_from(URGENT),
    st.lists(st.sampled_from([" ", "  ", ", ", " - ", "  \t"]), min_size=8, max_size=8),
    st.lists(st.booleans(), min_size=40, max_size=40),
)
def test_case_and_spacing_never_hide_a_phrase(phrase: str, separators: list[str], upper: list[bool]) -> None:
    written = "".join(word + separators[i % len(separators)] for i, word in enumerate(phrase.split()))
    written = "".join(c.upper() if upper[i % len(upper)] else c for i, c in enumerate(written))
    assert tier(f"so {written} now") == "urgent", written


@given(st.sampled_from(["want to die", "kill myself", "suicidal", "overdose", "unalive"]), st.data())
def test_one_slip_of_the_finger_is_forgiven_in_words_of_four_letters_or_more(phrase: str, data: st.DataObject) -> None:
    parts = phrase.split()
    index = data.draw(st.sampled_from([i for i, w in enumerate(parts) if len(w) >= 4]))
    word = parts[index]
    position = data.draw(st.integers(0, len(word) - 2))
    slip = data.draw(st.sampled_from(["drop", "double", "swap"]))
    if slip == "drop" and len(word) >= 5:
        word = word[:position] + word[position + 1 :]
    elif slip == "double":
        word = word[:position] + word[position] + word[position:]
    else:
        word = word[:position] + word[position + 1] + word[position] + word[position + 2 :]
    assume(not simplemma.is_known(word, lang="en"))  # a slip that makes another word ("overdoes") is that word
    parts[index] = word
    assert tier("i " + " ".join(parts)) == "urgent", parts


def test_look_alike_letters_digits_split_and_joined_words() -> None:
    assert tier("I want to dіe") == "urgent"  # a Cyrillic і
    assert tier("k1ll mys3lf") == "urgent"
    assert tier("I want to kill my self") == "urgent"
    assert tier("killmyself") == "urgent"
    assert tier("SUÏCIDE") == "urgent"
    assert fold("Can't") == ("cant",)
    assert [w[0] for w in words("Can't — won't!")] == ["cant", "wont"]
    assert fold("умeреть") == ("умереть",), "a Latin e in a Russian word is read as Russian"


def test_only_whole_words_match() -> None:
    for text in ("I need to cut myself some slack", "I want to diet", "Should I send it all to my guide?"):
        assert tier(text) is None, text


def test_negation_idioms_and_the_third_person() -> None:
    assert tier("I don't want to die") is None
    assert tier("this pain is killing me") is None
    assert tier("dead tired") is None
    assert tier("My friend's father killed himself") == "mention"
    assert tier("My sister took an overdose") == "mention"


def test_the_other_languages_phrases_are_read_too(content: Content) -> None:
    from dialogs.safety import read_risk

    found = read_risk("я хочу умереть", content, "en")
    assert found is not None
    assert found.tier == "urgent"


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
    assert patient.state.overlay == "safety_pause", "the onboarding waits for the patient's choice"
    patient.press("Carry on with the course")
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
    patient.type("I want to end my life")
    assert alerts(patient)
    assert patient.sends[0].urgent


def test_a_deep_link_payload_is_checked_too(content: Content) -> None:
    patient = EnginePatient(content)
    patient.do(Start(payload="suicide"))
    assert alerts(patient)
