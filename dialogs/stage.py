"""What a stage of the engine is: what it declares it owns, and the hooks the router calls.

A stage owns a part of the clinic's course (onboarding, lessons, questionnaires ...). It declares
its places and the events that are its own; `dialogs/router.py` sends it exactly those. Every hook
has a harmless default, so a stage writes only the ones its declarations need.

Places (where a patient can be):
- an overlay: a question asked on top of the patient's place (`PatientState.overlay`);
- a menu page (`flow == MENU`, `step` the page); a name ending in "/" owns every page under it;
- one of the engine's own flows (`flow` a name that is no content flow, such as "questionnaire");
- a content flow, by its `kind`: walked step by step by dialogs/steps.py, whose step types a stage
  may add to (`step_types`); the stage hears when the patient arrives at a step, and its end-step
  `outcomes`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any, ClassVar

from content.schema import EndStep, Flow, Step
from dialogs.events import Command, Due
from dialogs.state import PatientState
from dialogs.steps import StepType
from dialogs.turn import MenuButton, MenuNote, ProgressPart, Turn

# The main menu's lesson choice: the lessons stage owns it; other stages offer it too (the
# questionnaires page, a lesson's release message). Stored in button data: keep it as it is.
LESSON_CHOICE = "lesson"

# Main-menu buttons and /progress parts go in order of rank, lowest first:
# 10 questionnaires, 20 the lesson, 30 progress, 40 tools, 50 extra reading, 60 read again,
# 70 message my guide, 80 help. Notes above the menu: 10 lessons, 20 questionnaires.
# /progress: 10 lessons, 20 tools, 30 questionnaires.


class Gate(Enum):
    """Who may use a command."""

    ANYONE = "anyone"  # any status, even before /start
    STARTED = "started"  # once the patient has begun (/start), even stopped or declined
    TAKING_PART = "taking part"  # onboarding or active; stopped and declined patients are told they paused
    CONSENTED = "consented"  # after consent; before it, "let's finish getting started first"


class Stage:
    """One part of the course; subclasses set the declarations and override the hooks they need."""

    name: ClassVar[str] = ""
    overlays: ClassVar[frozenset[str]] = frozenset()
    pages: ClassVar[frozenset[str]] = frozenset()
    own_flows: ClassVar[frozenset[str]] = frozenset()
    flow_kinds: ClassVar[frozenset[str]] = frozenset()
    step_types: ClassVar[Mapping[str, StepType[Any]]] = {}
    commands: ClassVar[Mapping[str, Gate]] = {}
    buttons: ClassVar[frozenset[str]] = frozenset()  # unprompted button data: "log:" a prefix, "go:lesson" exact
    due_kinds: ClassVar[frozenset[str]] = frozenset()
    outcomes: ClassVar[frozenset[str]] = frozenset()
    menu_choices: ClassVar[frozenset[str]] = frozenset()  # the main-menu buttons it puts there
    takes_unknown_commands: ClassVar[bool] = False  # exactly one stage answers commands nobody owns
    takes_messages_outside_steps: ClassVar[bool] = False  # exactly one stage hears messages typed on the menu

    # -- every event ----------------------------------------------------------------------

    def tidy(self, turn: Turn) -> None:
        """Before any event: let go of what the content no longer has."""

    def after(self, turn: Turn, before: PatientState) -> None:
        """After every event, with the state as it was before it."""

    def stopped(self, turn: Turn) -> None:
        """The patient chose to stop: cancel what this stage planned for them."""

    # -- its own events -------------------------------------------------------------------

    def on_command(self, turn: Turn, command: Command) -> None:
        raise NotImplementedError(f"{self.name} declares commands but does not handle /{command.name}")

    def on_unknown_command(self, turn: Turn, command: Command) -> None:
        raise NotImplementedError(f"{self.name} takes unknown commands but does not answer them")

    def on_button(self, turn: Turn, data: str, message_id: int | None) -> None:
        raise NotImplementedError(f"{self.name} declares buttons but does not handle {data!r}")

    def on_due(self, turn: Turn, event: Due) -> None:
        raise NotImplementedError(f"{self.name} declares due kinds but does not handle {event.kind!r}")

    def on_outcome(self, turn: Turn, flow: Flow, step: EndStep) -> None:
        raise NotImplementedError(f"{self.name} declares outcomes but does not handle {step.outcome!r}")

    def on_menu_choice(self, turn: Turn, choice: str, message_id: int | None) -> None:
        raise NotImplementedError(f"{self.name} declares menu choices but does not handle {choice!r}")

    def on_message_outside_steps(self, turn: Turn, message_id: int, unscreened: str = "") -> None:
        """A message typed (or sent) outside any step; `unscreened`: the kind of a message that
        could not be read for risk (a voice note, a sticker ...)."""
        raise NotImplementedError(f"{self.name} takes messages outside steps but does not handle them")

    def before_command(self, turn: Turn, name: str) -> None:
        """A command (or /start) came while this stage's overlay was open."""

    # -- an overlay of its own ------------------------------------------------------------

    def overlay_show(self, turn: Turn, *, fresh: bool) -> None:
        raise NotImplementedError(f"{self.name} declares overlays but cannot show them")

    def overlay_tap(self, turn: Turn, choice: str, message_id: int | None) -> None:
        turn.stale()

    def overlay_text(self, turn: Turn, text: str, message_id: int | None) -> None:
        turn.say("reprompt_buttons")
        turn.show_current()

    def overlay_not_text(self, turn: Turn, message_id: int, unscreened: str = "") -> bool:
        """A photo, voice note ... while the overlay is open; False: not for this overlay.
        `unscreened`: its kind when nothing in it could be read for risk (no caption)."""
        return False

    # -- a flow of the engine's own -------------------------------------------------------

    def flow_show(self, turn: Turn, *, fresh: bool) -> None:
        raise NotImplementedError(f"{self.name} declares own flows but cannot show them")

    def flow_tap(self, turn: Turn, choice: str, message_id: int | None) -> None:
        turn.stale()

    def flow_text(self, turn: Turn, text: str, message_id: int | None) -> bool:
        return False

    # -- content flows it walks -----------------------------------------------------------

    def on_arrive(self, turn: Turn, flow: Flow, step: Step) -> None:
        """The patient arrived at a step of a flow of one of this stage's kinds."""

    # -- menu pages -----------------------------------------------------------------------

    def page(self, turn: Turn, page: str) -> tuple[str, list[tuple[str, str]]] | None:
        """The text and buttons of one of its pages; None: there is nothing to show there (the
        main page is shown instead)."""
        return None

    def page_tap(self, turn: Turn, page: str, choice: str, message_id: int | None) -> None:
        turn.stale()

    def page_text(self, turn: Turn, page: str, text: str, message_id: int | None) -> bool:
        """Typed text on one of its pages; False: not taken (it may be meant for the guide)."""
        return False

    # -- what it adds to what other stages show --------------------------------------------

    def main_menu(self, turn: Turn) -> Sequence[MenuButton | MenuNote]:
        return ()

    def progress(self, turn: Turn) -> Sequence[ProgressPart]:
        return ()

    def interrupted(self, turn: Turn) -> str | None:
        """A menu page to show instead of the lesson, when something of this stage was left part way."""
        return None
