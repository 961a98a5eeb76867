"""Drive the pure engine like a patient would, with no I/O: for engine unit tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from content.render import plain
from content.schema import Content
from dialogs.actions import Action, Edit, NotifyStaff, SaveAnswer, Send, Toast
from dialogs.engine import Outcome, handle
from dialogs.events import Command, Event, Press, Start, Text
from dialogs.state import PatientState

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@dataclass
class EnginePatient:
    content: Content
    state: PatientState = field(default_factory=lambda: PatientState(code="P-0007", locale="en"))
    actions: tuple[Action, ...] = ()
    history: list[Send] = field(default_factory=list)
    message_id: int = 0
    now: datetime = NOW

    def do(self, event: Event) -> Outcome:
        outcome = handle(self.state, event, self.now, self.content)
        self.state = outcome.state
        self.actions = outcome.actions
        self.history.extend(self.sends)
        return outcome

    def start(self) -> Outcome:
        return self.do(Start())

    def command(self, name: str) -> Outcome:
        return self.do(Command(name))

    def type(self, text: str) -> Outcome:
        return self.do(Text(text))

    @property
    def sends(self) -> list[Send]:
        return [a for a in self.actions if isinstance(a, Send)]

    @property
    def texts(self) -> list[str]:
        return [plain(s.text) for s in self.sends]

    @property
    def toast(self) -> Toast | None:
        return next((a for a in self.actions if isinstance(a, Toast)), None)

    @property
    def saved(self) -> list[SaveAnswer]:
        return [a for a in self.actions if isinstance(a, SaveAnswer)]

    @property
    def staff(self) -> list[NotifyStaff]:
        return [a for a in self.actions if isinstance(a, NotifyStaff)]

    @property
    def edits(self) -> list[Edit]:
        return [a for a in self.actions if isinstance(a, Edit)]

    def prompt(self) -> Send:
        """The latest message with buttons the patient has seen."""
        return next(s for s in reversed(self.history) if s.buttons)

    def labels(self) -> list[str]:
        return [b.label for b in self.prompt().buttons]

    def data_for(self, label: str, prompt: Send | None = None) -> str:
        prompt = prompt or self.prompt()
        for button in prompt.buttons:
            if button.label == label or label.lower() in button.label.lower():
                return button.data
        raise AssertionError(f"no button {label!r}; have {[b.label for b in prompt.buttons]}")

    def press(self, label: str, prompt: Send | None = None) -> Outcome:
        self.message_id += 1
        return self.do(Press(self.data_for(label, prompt), self.message_id))

    def press_first(self) -> Outcome:
        return self.press(self.prompt().buttons[0].label)
