"""The router: which stage owns an event, and the order in which one event is worked.

Every stage declares what it owns (dialogs/stage.py): overlays, menu pages, the engine's own flows
and the content flow kinds it walks, commands, unprompted button data, due kinds, end-step
outcomes, main-menu choices and step types. The router indexes those declarations once and refuses
two stages claiming the same thing. One event, in order:

1. every stage tidies the state (a questionnaire the content no longer has is let go);
2. the safety watch (dialogs/safety.py) reads what the patient wrote, before any stage sees it;
3. a command or /start tells the open overlay's stage (a command leaves a note to the guide unsent);
4. the event goes to its owner:
   - Start and Command: the command's stage, once its `Gate` lets the patient through; a command
     nobody owns goes to the stage that `takes_unknown_commands`;
   - Press: unprompted button data (`log:`, `checkin:`, `weekly:`, `go:lesson`) to its stage, for an
     active patient; otherwise the prompt number is checked (stale buttons, double taps), then the
     open overlay's stage, or the stage of the patient's place (menu page, own flow), or the step
     type of the content step the patient is at;
   - Text and NotText: the overlay's stage, or the place's; text nobody takes on the menu (or
     nowhere) goes to the stage that `takes_messages_outside_steps` (the guide);
   - Due: the stage of its kind; Edited: nobody (the watch has seen it);
5. every stage looks at what changed (a breathing exercise left behind is stopped).

Adding a flow, for example an eligibility screening flow, is one module and one registration:
1. write `dialogs/stages/screening.py`: a `Stage` subclass with a `name`, its flow kind
   (`flow_kinds = frozenset({"screening"})`: content flows of `kind: screening`, which
   dialogs/steps.py walks step by step), its end-step `outcomes` (say "eligible", "not_eligible")
   with `on_outcome`, and whatever else it needs: a command with its `Gate` and `on_command`, a menu
   page (`pages`, `page`, `page_tap`), a main-menu button (`menu_choices`, `main_menu`,
   `on_menu_choice`), due kinds (`on_due`), unprompted buttons (`on_button`), step types of its own;
2. add an instance of it to `STAGES` at the end of this file.
The content schema must accept what the content then says: the kind in `Flow.kind` and the
outcomes in `Outcome` (content/schema.py). tests/test_router.py fails until every outcome, flow
kind, step type, due kind and patient command has exactly one stage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from content import buttons as callbacks
from content.schema import Content, EndStep, Flow, Step
from dialogs import steps
from dialogs.events import Command, Due, Edited, Event, NotText, Press, Start, Text
from dialogs.safety import watch_for_crisis
from dialogs.stage import Gate, Stage
from dialogs.stages.eligibility import EligibilityStage
from dialogs.stages.guide import GuideStage
from dialogs.stages.lessons import LessonsStage
from dialogs.stages.menu import MenuStage
from dialogs.stages.onboarding import OnboardingStage
from dialogs.stages.privacy import PrivacyStage
from dialogs.stages.questionnaires import QuestionnairesStage
from dialogs.stages.safety_check import SafetyCheckStage
from dialogs.stages.timetable import TimetableStage
from dialogs.stages.tools import ToolsStage
from dialogs.stages.trial import TrialStage
from dialogs.state import MENU, MENU_STEP, PatientState, Status
from dialogs.steps import StepType
from dialogs.turn import MenuButton, MenuNote, ProgressPart, Turn

K = TypeVar("K")
NOT_TAKING_PART = (Status.NEW, Status.STOPPED, Status.DECLINED, Status.NOT_ELIGIBLE)


def say_paused(turn: Turn) -> None:
    """What someone not taking part is told: they are on a break, or the course is not for them."""
    if turn.state.status == Status.NOT_ELIGIBLE:
        turn.say("screened_out", **turn.crisis_context())
    else:
        turn.say("paused")


def _index(claims: str, keys: Iterable[tuple[Stage, K]]) -> dict[K, Stage]:
    found: dict[K, Stage] = {}
    for stage, key in keys:
        if key in found:
            raise ValueError(f"{claims} {key!r} is claimed by both {found[key].name} and {stage.name}")
        found[key] = stage
    return found


def _one(stages: Sequence[Stage], what: str, flag: str) -> Stage:
    """The one stage with `flag` set."""
    chosen = [s for s in stages if getattr(s, flag)]
    if len(chosen) != 1:
        raise ValueError(f"exactly one stage must take {what}, not {[s.name for s in chosen]}")
    return chosen[0]


def _owner(entries: Mapping[str, Stage], name: str, prefix_mark: str) -> Stage | None:
    return next(
        (s for key, s in entries.items() if name == key or (key.endswith(prefix_mark) and name.startswith(key))), None
    )


def _no_overlaps(claims: str, entries: Mapping[str, Stage], prefix_mark: str) -> None:
    """A prefix may not cover another stage's entry (two owners for one button or page)."""
    for key, stage in entries.items():
        for other, other_stage in entries.items():
            if key != other and key.endswith(prefix_mark) and other.startswith(key) and stage is not other_stage:
                raise ValueError(f"{claims} {other!r} of {other_stage.name} is under {key!r} of {stage.name}")


class Router:
    def __init__(self, stages: Sequence[Stage], general_steps: Mapping[str, StepType[Any]] = steps.GENERAL) -> None:
        self.stages = tuple(stages)
        _index("stage name", ((s, s.name) for s in self.stages))

        def each(attribute: str) -> Iterable[tuple[Stage, Any]]:
            return ((s, key) for s in self.stages for key in getattr(s, attribute))

        self.overlays = _index("overlay", each("overlays"))
        self.pages = _index("menu page", each("pages"))
        self.own_flows = _index("flow", each("own_flows"))
        self.flow_kinds = _index("flow kind", each("flow_kinds"))
        self.commands = _index("command", each("commands"))
        self.buttons = _index("button", each("buttons"))
        self.due_kinds = _index("due kind", each("due_kinds"))
        self.outcomes = _index("outcome", each("outcomes"))
        self.menu_choices = _index("menu choice", each("menu_choices"))
        _no_overlaps("button", self.buttons, ":")
        _no_overlaps("menu page", self.pages, "/")
        self.step_types: dict[str, StepType[Any]] = dict(general_steps)
        for stage, kind in each("step_types"):
            if kind in self.step_types:
                raise ValueError(f"step type {kind!r} is claimed twice (by {stage.name})")
            self.step_types[kind] = stage.step_types[kind]
        self.unknown_commands = _one(self.stages, "unknown commands", "takes_unknown_commands")
        self.messages_outside_steps = _one(self.stages, "messages outside steps", "takes_messages_outside_steps")
        if "start" not in self.commands or MENU_STEP not in self.pages:
            raise ValueError("a stage must own /start, and one the menu's main page")

    # -- owners -------------------------------------------------------------------------

    def button_owner(self, data: str) -> Stage | None:
        """An entry ending in ":" ("log:") owns all data that starts with it; others ("go:lesson") their own."""
        return _owner(self.buttons, data, ":")

    def page_owner(self, page: str) -> Stage | None:
        """An entry ending in "/" ("tools/") owns every page under it; others one page."""
        return _owner(self.pages, page, "/")

    def overlay_owner(self, turn: Turn) -> Stage | None:
        return self.overlays.get(turn.state.overlay or "")

    def own_flow_owner(self, turn: Turn) -> Stage | None:
        return self.own_flows.get(turn.state.flow or "") if turn.state.flow != MENU else None

    # -- one event ------------------------------------------------------------------------

    def run(self, state: PatientState, event: Event, now: datetime, content: Content) -> Turn:
        turn = Turn(state, content, now, self)
        for stage in self.stages:
            stage.tidy(turn)
        watch_for_crisis(turn, event)
        if isinstance(event, Start | Command) and (owner := self.overlay_owner(turn)) is not None:
            owner.before_command(turn, "start" if isinstance(event, Start) else event.name)
        if isinstance(event, Start):
            self.command(turn, Command("start", event.payload))
        elif isinstance(event, Command):
            self.command(turn, event)
        elif isinstance(event, Press):
            self.press(turn, event)
        elif isinstance(event, Text):
            self.text(turn, event.text, event.message_id)
        elif isinstance(event, NotText):
            self.not_text(turn, event)
        elif isinstance(event, Due):
            if (due_stage := self.due_kinds.get(event.kind)) is not None:
                due_stage.on_due(turn, event)
        elif isinstance(event, Edited):
            pass  # an edit changes nothing in the conversation
        for stage in self.stages:
            stage.after(turn, state)
        return turn

    def command(self, turn: Turn, command: Command) -> None:
        stage = self.commands.get(command.name)
        if stage is None:
            self.unknown_commands.on_unknown_command(turn, command)
        elif self.admits(turn, stage.commands[command.name]):
            stage.on_command(turn, command)

    def admits(self, turn: Turn, gate: Gate) -> bool:
        status = turn.state.status
        if gate is Gate.ANYONE:
            return True
        if status == Status.NEW and gate is not Gate.TAKING_PART:
            self.start(turn)
            return False
        if gate is Gate.STARTED:
            return True
        if status in NOT_TAKING_PART:
            say_paused(turn)
            return False
        if gate is Gate.TAKING_PART or turn.state.consented:
            return True
        turn.say("finish_onboarding_first")
        self.show_current(turn, fresh=True)
        return False

    def press(self, turn: Turn, event: Press) -> None:
        state = turn.state
        if state.status == Status.ACTIVE and (owner := self.button_owner(event.data)) is not None:
            owner.on_button(turn, event.data, event.message_id)  # not tied to a prompt
            return
        overlay = self.overlay_owner(turn)
        if state.status in NOT_TAKING_PART and overlay is None:
            turn.toast(None)
            if state.status == Status.NEW:
                self.start(turn)
            else:
                say_paused(turn)
            return
        press = callbacks.decode(event.data)
        if press is None or press.prompt > state.prompt:
            turn.stale()
            return
        if press.prompt < state.prompt:
            if press.prompt == state.prompt - 1:
                turn.toast("already_noted")  # most likely a double tap
            else:
                turn.stale()
            return
        choice, message_id = press.choice, event.message_id
        flow, step = steps.current(turn)
        if overlay is not None:
            overlay.overlay_tap(turn, choice, message_id)
        elif state.flow == MENU:
            page = state.step or MENU_STEP
            if (owner := self.page_owner(page)) is not None:
                owner.page_tap(turn, page, choice, message_id)
            else:
                turn.stale()
        elif (owner := self.own_flow_owner(turn)) is not None:
            owner.flow_tap(turn, choice, message_id)
        elif flow is not None and step is not None:
            steps.tap(turn, flow, step, choice, message_id)
        else:
            turn.stale()

    def text(self, turn: Turn, text: str, message_id: int | None) -> None:
        if turn.state.status == Status.NEW:
            self.start(turn)
            return
        if (overlay := self.overlay_owner(turn)) is not None:
            overlay.overlay_text(turn, text, message_id)  # heard whatever the status (a note for the guide)
            return
        if turn.state.status in NOT_TAKING_PART:
            say_paused(turn)
            return
        if self.place_text(turn, text, message_id):
            return
        if self.outside_any_step(turn) and message_id is not None:
            self.messages_outside_steps.on_message_outside_steps(turn, message_id)
            return
        turn.say("reprompt_buttons")
        self.show_current(turn, fresh=False)

    def place_text(self, turn: Turn, text: str, message_id: int | None) -> bool:
        if turn.state.flow == MENU:
            page = turn.state.step or MENU_STEP
            owner = self.page_owner(page)
            return owner is not None and owner.page_text(turn, page, text, message_id)
        if (owner := self.own_flow_owner(turn)) is not None:
            return owner.flow_text(turn, text, message_id)
        flow, step = steps.current(turn)
        return flow is not None and step is not None and steps.typed(turn, flow, step, text, message_id)

    def not_text(self, turn: Turn, event: NotText) -> None:
        """A photo, voice note, sticker...: the guide can see it, the coach cannot read it."""
        if turn.state.status != Status.NEW and event.message_id is not None:
            overlay = self.overlay_owner(turn)
            unscreened = event.unscreened
            if overlay is not None and overlay.overlay_not_text(turn, event.message_id, unscreened):
                return
            if overlay is None and self.outside_any_step(turn):
                self.messages_outside_steps.on_message_outside_steps(turn, event.message_id, unscreened)
                return
        turn.say("not_text")
        self.show_current(turn, fresh=False)

    @staticmethod
    def outside_any_step(turn: Turn) -> bool:
        """On the menu (or at no content step): what is typed there is most likely meant for a person."""
        return (
            turn.state.status == Status.ACTIVE
            and turn.state.overlay is None
            and (turn.state.flow == MENU or steps.current(turn) == (None, None))
        )

    # -- places, for Turn ---------------------------------------------------------------------

    def show_current(self, turn: Turn, *, fresh: bool) -> None:
        flow, step = steps.current(turn)
        if (overlay := self.overlay_owner(turn)) is not None:
            overlay.overlay_show(turn, fresh=fresh)
        elif turn.state.flow == MENU:
            self.show_page(turn, turn.state.step or MENU_STEP, fresh=fresh)
        elif (owner := self.own_flow_owner(turn)) is not None:
            owner.flow_show(turn, fresh=fresh)
        elif flow is not None and step is not None:
            steps.show(turn, flow, step, fresh=fresh)
        elif turn.state.status == Status.NEW:
            self.start(turn)
        else:
            self.show_page(turn, MENU_STEP)

    def show_page(self, turn: Turn, page: str, *, fresh: bool = True) -> None:
        """A menu page (its stage writes it); a page with nothing to show is the main page."""
        prompt = turn.next_prompt() if fresh else turn.state.prompt
        turn.state = replace(turn.state, flow=MENU, step=page, awaiting="button")
        owner = self.page_owner(page)
        shown = owner.page(turn, page) if owner is not None else None
        if shown is None:
            turn.state = replace(turn.state, step=MENU_STEP)
            shown = self.pages[MENU_STEP].page(turn, MENU_STEP)
            assert shown is not None, "the main page always has something to show"
        text, choices = shown
        turn.send(text, choices, prompt)

    def start(self, turn: Turn) -> None:
        self.commands["start"].on_command(turn, Command("start"))

    def choose(self, turn: Turn, choice: str, message_id: int | None) -> bool:
        stage = self.menu_choices.get(choice)
        if stage is None:
            return False
        stage.on_menu_choice(turn, choice, message_id)
        return True

    def finish(self, turn: Turn, flow: Flow, step: EndStep) -> None:
        if (stage := self.outcomes.get(step.outcome)) is not None:
            stage.on_outcome(turn, flow, step)

    def arrive(self, turn: Turn, flow: Flow, step: Step) -> None:
        if (stage := self.flow_kinds.get(flow.kind)) is not None:
            stage.on_arrive(turn, flow, step)

    def stopped(self, turn: Turn) -> None:
        for stage in self.stages:
            stage.stopped(turn)

    def interrupted_page(self, turn: Turn) -> str | None:
        return next((page for s in self.stages if (page := s.interrupted(turn)) is not None), None)

    def main_menu(self, turn: Turn) -> tuple[list[MenuNote], list[MenuButton]]:
        """What every stage puts on the main menu, in order of rank."""
        parts = [part for stage in self.stages for part in stage.main_menu(turn)]
        notes = sorted((p for p in parts if isinstance(p, MenuNote)), key=lambda p: p.rank)
        buttons = sorted((p for p in parts if isinstance(p, MenuButton)), key=lambda p: p.rank)
        return notes, buttons

    def progress(self, turn: Turn) -> list[ProgressPart]:
        return sorted((part for stage in self.stages for part in stage.progress(turn)), key=lambda p: p.rank)


# Every stage of the engine, registered once, here.
STAGES: list[Stage] = [
    OnboardingStage(),
    EligibilityStage(),
    LessonsStage(),
    ToolsStage(),
    QuestionnairesStage(),
    GuideStage(),
    MenuStage(),
    TimetableStage(),
    TrialStage(),
    SafetyCheckStage(),
    PrivacyStage(),
]
ROUTER = Router(STAGES)
