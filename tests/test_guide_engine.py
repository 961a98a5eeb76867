"""The engine's side of reaching a guide: /guide, the menu button, and free text outside any
step (asked first, so nothing is sent by accident). Pure: no I/O, no mocks."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from content.render import plain
from content.schema import Content
from dialogs.actions import RaiseAlert, RelayToGuide, Send
from dialogs.events import Command, Edited, NotText, Text
from dialogs.state import MENU, PatientState, Status
from tests.conftest import CONTENT_DIR, load_content
from tests.conversation import EnginePatient
from tests.test_engine import onboard

CONTENT = load_content(CONTENT_DIR, "en")


def relays(patient: EnginePatient) -> list[RelayToGuide]:
    return [a for a in patient.actions if isinstance(a, RelayToGuide)]


def on_menu() -> EnginePatient:
    patient = EnginePatient(CONTENT)
    onboard(patient)
    assert patient.state.flow == MENU
    return patient


def test_the_menu_offers_to_message_the_guide(content: Content) -> None:
    patient = on_menu()
    assert "💬 Message my guide" in patient.labels()
    patient.press("Message my guide")
    assert "What would you like to tell your guide?" in patient.texts[-1]
    assert patient.state.overlay == "guide"
    patient.do(Text("My knees hurt more this week", message_id=501))
    assert relays(patient) == [RelayToGuide((501,))]
    assert patient.state.overlay is None
    assert patient.sends[-1].buttons, "and the menu again, to carry on"


def test_slash_guide_asks_for_the_message_and_can_be_cancelled() -> None:
    patient = on_menu()
    patient.command("guide")
    assert patient.state.overlay == "guide"
    patient.press("Cancel")
    assert not relays(patient)
    assert "nothing was sent" in " ".join(patient.texts)
    assert patient.state.overlay is None


def test_slash_guide_with_a_message_sends_it_at_once() -> None:
    patient = on_menu()
    patient.do(Command("guide", "Can we talk on Friday?", message_id=77))
    assert relays(patient) == [RelayToGuide((77,))]


def test_free_text_on_the_menu_is_sent_only_after_asking() -> None:
    patient = on_menu()
    patient.do(Text("I had a bad night", message_id=10))
    assert not relays(patient), "nothing is sent by accident"
    assert "send this to your guide?" in patient.texts[-1]
    patient.do(Text("and I skipped my walk", message_id=11))
    assert "send these messages to your guide?" in patient.texts[-1], "a second message joins the first"
    patient.press("Send to my guide")
    assert relays(patient) == [RelayToGuide((10, 11))]
    assert patient.state.guide_draft == ()


def test_dont_send_sends_nothing_and_goes_back() -> None:
    patient = on_menu()
    patient.do(Text("never mind", message_id=12))
    patient.press("Don't send")
    assert not relays(patient)
    assert patient.state.overlay is None and patient.state.flow == MENU
    assert patient.sends[-1].buttons


def test_a_photo_on_the_menu_is_offered_to_the_guide_too() -> None:
    patient = on_menu()
    patient.do(NotText(message_id=13))
    assert "send this to your guide?" in patient.texts[-1]
    patient.press("Send to my guide")
    assert relays(patient) == [RelayToGuide((13,), ((13, "other"),))], "marked: not screened"


def test_free_text_inside_a_lesson_step_is_not_offered(content: Content) -> None:
    patient = on_menu()
    patient.command("lesson")
    assert patient.state.awaiting == "button"
    patient.do(Text("hello?", message_id=14))
    assert not relays(patient)
    assert patient.state.overlay is None, "a lesson's buttons are re-shown as before"


def test_a_command_leaves_an_unsent_note_unsent() -> None:
    patient = on_menu()
    patient.do(Text("draft", message_id=15))
    patient.command("progress")
    assert patient.state.overlay is None and patient.state.guide_draft == ()
    assert not relays(patient)


def test_crisis_words_in_a_message_to_the_guide_still_raise_the_alarm() -> None:
    patient = on_menu()
    patient.command("guide")
    patient.do(Text("I want to end my life", message_id=16))
    first = patient.actions[0]
    assert isinstance(first, Send) and first.urgent, "the safety message goes first"
    assert any(isinstance(a, RaiseAlert) for a in patient.actions)
    assert relays(patient) == [RelayToGuide((16,))], "and the message still reaches the guide"


def test_a_caption_and_an_edit_are_checked_for_crisis_language() -> None:
    patient = on_menu()
    patient.do(NotText(message_id=17, caption="i want to die"))
    assert any(isinstance(a, RaiseAlert) for a in patient.actions)
    before = patient.state
    patient.do(Edited("I want to kill myself"))
    assert any(isinstance(a, RaiseAlert) for a in patient.actions)
    assert (patient.state.flow, patient.state.step, patient.state.prompt) == (before.flow, before.step, before.prompt)


def test_a_stopped_patient_can_still_reach_their_guide() -> None:
    patient = on_menu()
    patient.command("stop")
    patient.press("Yes, stop")
    assert patient.state.status == Status.STOPPED
    patient.command("guide")
    patient.do(Text("I stopped because of a flare", message_id=18))
    assert relays(patient) == [RelayToGuide((18,))]


def test_the_draft_survives_being_stored() -> None:
    patient = on_menu()
    patient.do(Text("one", message_id=19))
    stored = PatientState.dialog_fields(patient.state.dialog_data())
    assert stored["guide_draft"] == (19,) and stored["overlay"] == "guide_confirm"


def test_a_stale_tap_on_the_send_question_changes_nothing() -> None:
    patient = on_menu()
    patient.do(Text("one", message_id=20))
    offer = patient.prompt()
    patient.press("Don't send")
    patient.press("Send to my guide", prompt=offer)
    assert not relays(patient), "an old Send button sends nothing"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["text", "photo", "send", "keep", "cancel", "guide", "menu"]), max_size=12))
def test_nothing_reaches_the_guide_without_the_patient_choosing_it(steps: list[str]) -> None:
    """Whatever a patient does, a message is relayed only after Send, /guide, or the guide button."""
    patient = on_menu()
    next_id = 100
    chose = False  # the patient chose to write to the guide (writing mode)
    for step in steps:
        labels = [plain(label) for label in patient.labels()]
        if step in ("text", "photo"):
            next_id += 1
            patient.do(Text("hello", message_id=next_id) if step == "text" else NotText(message_id=next_id))
            if relays(patient):
                assert chose, "relayed while the patient was only asked"
        elif step == "send" and any("Send to my guide" in label for label in labels):
            patient.press("Send to my guide")
        elif step == "keep" and "Don't send" in labels:
            patient.press("Don't send")
            assert not relays(patient)
        elif step == "cancel" and "Cancel" in labels:
            patient.press("Cancel")
            assert not relays(patient)
        elif step == "guide":
            patient.command("guide")
        elif step == "menu":
            patient.command("menu")
        chose = patient.state.overlay == "guide"
        assert len(patient.state.guide_draft) <= 10
