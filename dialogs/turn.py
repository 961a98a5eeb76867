"""The working of one event: the patient's state, the content, the moment, the actions so far, and
the helpers every stage uses to answer (send, say, toast, edit ...). Mutable inside, invisible
outside `dialogs.engine.handle`.

A stage never calls another stage. Where it needs something another stage owns (show the menu,
show where the patient is, walk to the end of a flow) it asks the turn, and the turn asks the router.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from content import buttons as callbacks
from content.render import plain, render, shortened
from content.schema import Content, EndStep, Flow, LocaleContent, Step
from dialogs.actions import Action, Button, Edit, SaveAnswer, Send, Toast
from dialogs.state import MENU_STEP, PatientState

if TYPE_CHECKING:
    from dialogs.router import Router
    from dialogs.steps import StepType

Choices = list[tuple[str, str]]  # (label, choice) of the buttons of one prompt


@dataclass(frozen=True)
class MenuButton:
    """A button a stage puts on the main menu; `rank` orders them (see dialogs/stage.py)."""

    rank: int
    label: str
    choice: str


@dataclass(frozen=True)
class MenuNote:
    """A paragraph a stage puts above the main menu's question ("Lesson 2 opens on ...")."""

    rank: int
    text: str


@dataclass(frozen=True)
class ProgressPart:
    """What a stage adds to /progress: lines of the message, then actions after it (a chart)."""

    rank: int
    lines: tuple[str, ...] = ()
    then: tuple[Action, ...] = ()


class Turn:
    def __init__(self, state: PatientState, content: Content, now: datetime, router: Router) -> None:
        self.state = state
        self.full_content = content
        self.content: LocaleContent = content.for_locale(state.locale)
        self.now = now
        self.actions: list[Action] = []
        self.router = router

    # -- places other stages own, through the router ----------------------------------------

    def show_current(self, *, fresh: bool = False) -> None:
        """Show again what the patient is being asked now; `fresh` makes older buttons stale."""
        self.router.show_current(self, fresh=fresh)

    def show_menu(self, *, fresh: bool = True, page: str = MENU_STEP) -> None:
        """The menu, at one of its pages (the main page unless told)."""
        self.router.show_page(self, page, fresh=fresh)

    def start(self) -> None:
        """What /start does: begin onboarding, or welcome the patient back."""
        self.router.start(self)

    def choose(self, choice: str, message_id: int | None) -> bool:
        """Do what a main-menu button does (also offered elsewhere); False if no stage has it."""
        return self.router.choose(self, choice, message_id)

    def finish(self, flow: Flow, step: EndStep) -> None:
        """A flow reached its end: its outcome's stage decides what it means."""
        self.router.finish(self, flow, step)

    def arrive(self, flow: Flow, step: Step) -> None:
        self.router.arrive(self, flow, step)

    def stopped(self) -> None:
        """The patient chose to stop: every stage cancels what it planned."""
        self.router.stopped(self)

    def interrupted_page(self) -> str | None:
        """The menu page offering to carry on with something left part way, if there is one."""
        return self.router.interrupted_page(self)

    def main_menu(self) -> tuple[list[MenuNote], list[MenuButton]]:
        """What every stage puts on the main menu, in order of rank."""
        return self.router.main_menu(self)

    def progress(self) -> list[ProgressPart]:
        """What every stage adds to /progress, in order of rank."""
        return self.router.progress(self)

    def step_type(self, step: Step) -> StepType[Any]:
        return self.router.step_types[step.type]

    # -- output helpers -----------------------------------------------------------------

    def next_prompt(self) -> int:
        """A new prompt's number: its buttons carry it, older ones are stale. A new prompt takes
        the place of any question asked on top of the patient's place (the stop question, a note
        for the guide), so a stage that asks one sets its overlay after taking the number."""
        if self.state.overlay is not None:
            self.state = replace(self.state, overlay=None, guide_draft=())
        self.state = replace(self.state, prompt=self.state.prompt + 1)
        return self.state.prompt

    def send(
        self,
        text: str,
        choices: Choices | None = None,
        prompt: int = 0,
        *,
        per_row: int = 1,
        ref: str | None = None,
        replaces: str | None = None,
    ) -> None:
        self.actions.append(Send(text, self.buttons(choices, prompt), per_row=per_row, ref=ref, replaces=replaces))

    @staticmethod
    def buttons(choices: Choices | None, prompt: int) -> tuple[Button, ...]:
        return tuple(Button(plain(label), callbacks.encode(prompt, data)) for label, data in choices or ())

    def edit(self, message_id: int | None, text: str, choices: Choices | None = None) -> None:
        if message_id is not None:
            self.actions.append(Edit(message_id, text, self.buttons(choices, self.state.prompt)))

    def say(self, key: str, **context: Any) -> None:
        self.send(self.ui(key, **context))

    def toast(self, key: str | None) -> None:
        self.actions.append(Toast(plain(self.ui(key)) if key else None))

    def stale(self) -> None:
        """A tap on a button that does not belong here: say so, and show where we are."""
        self.toast("stale_button")
        self.show_current()

    def mark_chosen(self, message_id: int | None, text: str, label: str) -> None:
        if message_id is not None:
            chosen = render("{{ label }}", {"label": plain(label)})
            self.actions.append(Edit(message_id, f"{text}\n\n<i>» {chosen}</i>"))

    def clear_buttons(self, message_id: int | None, text: str) -> None:
        if message_id is not None:
            self.actions.append(Edit(message_id, text))

    def save(self, flow: Flow, step: Step, key: str, value: str) -> None:
        self.actions.append(SaveAnswer(flow.id, step.id, key, value))
        self.state = self.state.with_answer(flow.id, key, shortened(value))

    def ui(self, key: str, **context: Any) -> str:
        return render(self.content.ui[key], context)

    def crisis_context(self) -> dict[str, Any]:
        country = self.content.crisis.for_country(self.state.country)
        return {"crisis_contacts": country.contacts, "country_name": country.name}

    def template_context(self) -> dict[str, Any]:
        return {
            **self.crisis_context(),
            "answers": self.state.answers.get(self.state.flow or "", {}),
            "code": self.state.code,
            "trial": self.state.programme == "trial",
        }

    def text(self, template: str) -> str:
        return render(template, self.template_context())

    @staticmethod
    def day(moment: date) -> str:
        return f"{moment:%A} {moment.day} {moment:%B}"
