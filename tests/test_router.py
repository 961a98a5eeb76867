"""The router: every event has exactly one owner, and a stage registered in one place gets its
events. Pure: the real stages and a toy one, no mocks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import ClassVar, get_args

import pytest

from bot.menus import COMMANDS
from content.schema import Content, EndStep, Flow, MessageStep, Outcome, Step
from dialogs import due, steps
from dialogs.actions import NotifyStaff, Send
from dialogs.events import Command, Due, Event, Press
from dialogs.router import STAGES, Router
from dialogs.stage import Gate, Stage
from dialogs.state import MENU, PatientState, Status
from dialogs.turn import MenuButton, MenuNote, Turn

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CLAIMS = ("overlays", "pages", "own_flows", "flow_kinds", "step_types", "commands", "buttons", "due_kinds",
          "outcomes", "menu_choices")  # fmt: skip


@pytest.mark.parametrize("claim", CLAIMS)
def test_no_two_stages_claim_the_same_thing(claim: str) -> None:
    seen: dict[str, str] = {}
    for stage in STAGES:
        for key in getattr(stage, claim):
            assert key not in seen, f"{claim} {key!r}: {seen.get(key)} and {stage.name}"
            seen[key] = stage.name


def test_every_command_in_the_patients_menu_has_an_owner() -> None:
    owned = {name for stage in STAGES for name in stage.commands}
    assert set(COMMANDS) <= owned, set(COMMANDS) - owned


def test_every_outcome_flow_kind_and_step_type_of_the_content_has_an_owner() -> None:
    router = Router(STAGES)
    assert set(get_args(Outcome)) == set(router.outcomes)
    assert set(get_args(Flow.model_fields["kind"].annotation)) == set(router.flow_kinds)
    union = get_args(Step)[0]
    assert {get_args(model.model_fields["type"].annotation)[0] for model in get_args(union)} == set(router.step_types)


def test_every_due_kind_has_an_owner() -> None:
    owned = Router(STAGES).due_kinds
    assert due.KINDS | {"questionnaire", "questionnaire_overdue", "allocated"} == set(
        owned
    )  # allocated: from the coach


def test_two_stages_claiming_one_command_are_refused() -> None:
    class Other(Stage):
        name = "other"
        commands: ClassVar[Mapping[str, Gate]] = {"menu": Gate.ANYONE}

    with pytest.raises(ValueError, match="command 'menu' is claimed by both menu and other"):
        Router([*STAGES, Other()])


def test_a_button_under_another_stages_prefix_is_refused() -> None:
    class Other(Stage):
        name = "other"
        buttons = frozenset({"log:special"})

    with pytest.raises(ValueError, match="button 'log:special' of other is under 'log:' of tools"):
        Router([*STAGES, Other()])


# -- a stage registered in a test gets its events ---------------------------------------------

SCREENING = "screening"


class ScreeningStage(Stage):
    """A toy eligibility screening: a flow kind of its own, its outcome, a command, an unprompted
    button, a due kind, and a button on the main menu."""

    name = SCREENING
    flow_kinds = frozenset({SCREENING})
    outcomes = frozenset({"checked"})  # a toy's own ("eligible" belongs to the real eligibility stage)
    commands: ClassVar[Mapping[str, Gate]] = {"screen": Gate.CONSENTED}
    buttons = frozenset({"screen:"})
    due_kinds = frozenset({"screening_due"})
    menu_choices = frozenset({SCREENING})
    arrived: ClassVar[list[str]] = []

    def on_command(self, turn: Turn, command: Command) -> None:
        flow = turn.content.flows[SCREENING]
        steps.go(turn, flow, flow.first)

    def on_arrive(self, turn: Turn, flow: Flow, step: Step) -> None:
        self.arrived.append(step.id)

    def on_outcome(self, turn: Turn, flow: Flow, step: EndStep) -> None:
        turn.actions.append(NotifyStaff(f"{turn.state.code} is {step.outcome}"))
        turn.show_menu()

    def on_button(self, turn: Turn, data: str, message_id: int | None) -> None:
        turn.toast(None)
        turn.send(f"button {data}")

    def on_due(self, turn: Turn, event: Due) -> None:
        turn.send(f"due {event.key}")

    def on_menu_choice(self, turn: Turn, choice: str, message_id: int | None) -> None:
        turn.toast(None)
        self.on_command(turn, Command("screen"))

    def main_menu(self, turn: Turn) -> Sequence[MenuButton | MenuNote]:
        return [MenuButton(75, "Am I eligible?", SCREENING)]


def with_screening(content: Content) -> Content:
    locale = content.for_locale("en")
    flow = Flow.model_construct(
        id=SCREENING,
        kind=SCREENING,
        title="Screening",
        number=None,
        unlocked_by=None,
        summary=None,
        reminder=None,
        steps=(
            MessageStep(type="message", id="ask", text="Shall we check?", button="Yes"),
            EndStep.model_construct(type="end", id="done", text="Thank you.", outcome="checked"),
        ),
    )
    flows = {**locale.flows, SCREENING: flow}
    return content.model_copy(update={"locales": {**content.locales, "en": locale.model_copy(update={"flows": flows})}})


def run(router: Router, state: PatientState, event: Event, content: Content) -> Turn:
    return router.run(state, event, NOW, content)


def sent(turn: Turn) -> list[str]:
    return [a.text for a in turn.actions if isinstance(a, Send)]


def test_a_stage_registered_in_one_list_gets_its_commands_flows_outcomes_buttons_and_due_events(
    content: Content,
) -> None:
    router = Router([*STAGES, ScreeningStage()])
    content = with_screening(content)
    state = PatientState(code="P-0009", locale="en", status=Status.ACTIVE, consented_at=NOW, country="gb")

    turn = run(router, state, Command("screen"), content)
    assert (turn.state.flow, turn.state.step) == (SCREENING, "ask")
    assert ScreeningStage.arrived[-1] == "ask"
    button = next(a for a in turn.actions if isinstance(a, Send)).buttons[0]

    turn = run(router, turn.state, Press(button.data, 1), content)
    assert ScreeningStage.arrived[-1] == "done"
    assert [a.text for a in turn.actions if isinstance(a, NotifyStaff)] == ["P-0009 is checked"]
    assert turn.state.flow == MENU
    menu = [a for a in turn.actions if isinstance(a, Send)][-1]
    assert "Am I eligible?" in [b.label for b in menu.buttons]

    tap = next(b for b in menu.buttons if b.label == "Am I eligible?")
    assert run(router, turn.state, Press(tap.data, 2), content).state.flow == SCREENING

    assert sent(run(router, state, Press("screen:again", 3), content)) == ["button screen:again"]
    assert sent(run(router, state, Due("screening_due", "week-1"), content)) == ["due week-1"]


def test_a_stages_command_waits_for_consent_like_the_others(content: Content) -> None:
    router = Router([*STAGES, ScreeningStage()])
    state = PatientState(code="P-0009", locale="en", status=Status.ONBOARDING, flow="onboarding", step="welcome")
    turn = run(router, state, Command("screen"), with_screening(content))
    assert turn.state.flow == "onboarding"
    assert "finish getting started first" in sent(turn)[0]


def test_the_engine_itself_does_not_know_the_toy_stage(content: Content) -> None:
    """Registering is what makes a stage: without it, its command is an unknown command."""
    from dialogs.engine import handle

    state = PatientState(code="P-0009", locale="en", status=Status.ACTIVE, consented_at=NOW)
    outcome = handle(state, Command("screen"), NOW, content)
    assert "/screen" in next(a for a in outcome.actions if isinstance(a, Send)).text
    assert outcome.state == state
