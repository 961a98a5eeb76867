"""Fuzzing the engine as a state machine: random sequences of commands, current and stale
buttons, forged button data, free text of every kind, edits, due events and clock jumps.
Whatever happens: no exception, never stuck (/help, /menu and /stop always answer), and safety
is never suppressed (crisis language always brings the safety message and an alert)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from content.render import plain
from content.schema import Content
from dialogs import due
from dialogs.actions import RaiseAlert, Send
from dialogs.events import Command, Due, Edited, Event, NotText, Press, Start, Text
from dialogs.state import Status
from tests.conftest import CONTENT_DIR, load_content
from tests.conversation import EnginePatient

CONTENT: Content = load_content(CONTENT_DIR, "en")
COMMANDS = ["menu", "lesson", "progress", "tools", "resources", "reminders", "guide", "help", "stop", "nonsense"]
TEXTS = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "🙂🙂🙂", "مرحبا، كيف حالك؟", "שלום", "<b>bold</b> & <i>", "{{ code }} {% if %}", "\u202eevil",
            "yes", "no", "5", "-3", "100%", "Europe/Paris", "UTC+13", "   ", "\n\n",
        ]
    ),
    st.integers(4000, 6000).map(lambda n: "long " * (n // 5)),
)  # fmt: skip
DUE_KINDS = sorted([*due.KINDS, due.OCCASION, due.OCCASION_REMINDER])  # every kind the scheduler can fire
KEYS = st.sampled_from(["1", "2", "3", "2:3", "3:7", "week-1", "week-9", "baseline", "post", "2026-03-03", "", "x:y"])
CRISIS = ["I want to kill myself", "i am going to end my life tonight", "I think about suicide every day"]


class PatientMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.patient = EnginePatient(CONTENT)

    def do(self, event: Event) -> None:
        self.patient.do(event)

    @rule()
    def start(self) -> None:
        self.do(Start())

    @rule(name=st.sampled_from(COMMANDS), args=st.sampled_from(["", "now please", "P-0001"]))
    def command(self, name: str, args: str) -> None:
        self.do(Command(name, args, message_id=self.patient.message_id + 1))

    @precondition(lambda self: any(s.buttons for s in self.patient.history))
    @rule(index=st.integers(0, 30))
    def tap_current(self, index: int) -> None:
        buttons = self.patient.prompt().buttons
        self.patient.message_id += 1
        self.do(Press(buttons[index % len(buttons)].data, self.patient.message_id))

    @precondition(lambda self: any(s.buttons for s in self.patient.history))
    @rule(back=st.integers(1, 40), index=st.integers(0, 30))
    def tap_stale(self, back: int, index: int) -> None:
        prompts = [s for s in self.patient.history if s.buttons]
        prompt = prompts[-min(back, len(prompts))]
        self.do(Press(prompt.buttons[index % len(prompt.buttons)].data, 1))

    @rule(data=st.one_of(st.text(max_size=80), st.sampled_from(["ack:1", "log:x:1:done", "checkin:post", "9:a:1"])))
    def tap_forged(self, data: str) -> None:
        self.do(Press(data, None))

    @rule(text=TEXTS)
    def type_text(self, text: str) -> None:
        self.patient.message_id += 1
        self.do(Text(text, self.patient.message_id))

    @rule(caption=st.one_of(st.just(""), TEXTS))
    def send_photo(self, caption: str) -> None:
        self.patient.message_id += 1
        self.do(NotText(self.patient.message_id, caption))

    @rule(text=TEXTS)
    def edit(self, text: str) -> None:
        self.do(Edited(text))

    @rule(kind=st.sampled_from(DUE_KINDS), key=KEYS)
    def something_due(self, kind: str, key: str) -> None:
        self.do(Due(kind, key))

    @rule(minutes=st.integers(0, 60 * 24 * 40))
    def time_passes(self, minutes: int) -> None:
        self.patient.now += timedelta(minutes=minutes)

    @rule(name=st.sampled_from(["help", "menu", "stop"]))
    def never_stuck(self, name: str) -> None:
        self.do(Command(name))
        sends = [a for a in self.patient.actions if isinstance(a, Send)]
        assert sends, f"/{name} got no answer in {self.patient.state.status}/{self.patient.state.flow}"
        assert all(plain(s.text).strip() for s in sends)

    @rule(text=st.sampled_from(CRISIS), kind=st.sampled_from(["text", "caption", "edit", "command"]))
    def crisis(self, text: str, kind: str) -> None:
        self.patient.message_id += 1
        events: dict[str, Event] = {
            "text": Text(text, self.patient.message_id),
            "caption": NotText(self.patient.message_id, text),
            "edit": Edited(text),
            "command": Command("guide", text, self.patient.message_id),
        }
        self.do(events[kind])
        actions = self.patient.actions
        assert any(isinstance(a, RaiseAlert) for a in actions), f"no alert for crisis language ({kind})"
        assert any(isinstance(a, Send) and a.urgent for a in actions), "no safety message"

    @invariant()
    def sound(self) -> None:
        state = self.patient.state
        assert state.status in set(Status)
        assert state.prompt >= 0
        for action in self.patient.actions:
            if isinstance(action, Send):
                for button in action.buttons:
                    assert len(button.data.encode()) <= 64
                    assert button.label.strip()


PatientMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestPatientMachine = PatientMachine.TestCase
