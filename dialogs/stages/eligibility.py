"""Eligibility screening (flows/eligibility.yaml, one per site if a site wants its own): its
outcomes (eligible: on to onboarding; not eligible: a kind explanation; referred: never enrolled,
an urgent alert and a referral), and the `contact` step for a GP or emergency contact, which goes
to the patient's record for staff only: never into answers, the state or the logs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from content.schema import ContactStep, EndStep, Flow
from dialogs import steps
from dialogs.actions import RecordScreening, SaveContact
from dialogs.enrolment import ELIGIBLE, onboarding_flow
from dialogs.stage import Stage
from dialogs.state import Status
from dialogs.steps import StepType
from dialogs.turn import Turn

MAX_CONTACT = 300


class ContactType(StepType[ContactStep]):
    """Typed words kept for staff alone: the step's reply, and the screening goes on."""

    def prompt(self, turn: Turn, flow: Flow, step: ContactStep, prompt: int) -> None:
        steps.ask(turn, step.text, [], prompt, "text")

    def typed(self, turn: Turn, flow: Flow, step: ContactStep, text: str, message_id: int | None) -> bool:
        contact = " ".join(text.split())
        if not contact:
            turn.say("reprompt_contact")
            return True
        turn.actions.append(SaveContact(contact[:MAX_CONTACT]))
        turn.send(turn.text(step.reply) if step.reply else turn.ui("answer_saved"))
        steps.go_on(turn, flow, step)
        return True


class EligibilityStage(Stage):
    name = "eligibility"
    flow_kinds = frozenset({"eligibility"})
    outcomes = frozenset({"eligible", "not_eligible", "referred"})
    step_types: ClassVar[Mapping[str, StepType[Any]]] = {"contact": ContactType()}

    def on_outcome(self, turn: Turn, flow: Flow, step: EndStep) -> None:
        answers = dict(turn.state.answers.get(flow.id, {}))
        turn.actions.append(RecordScreening(flow.id, step.outcome, step.id, answers))
        if step.outcome == ELIGIBLE:
            turn.state = replace(turn.state, eligibility=ELIGIBLE)
            onboarding = onboarding_flow(turn.content)
            steps.go(turn, onboarding, onboarding.first)
            return
        # not eligible, or referred (its end step raised the urgent alert): never enrolled
        turn.state = replace(
            turn.state, eligibility=step.outcome, status=Status.NOT_ELIGIBLE, flow=None, step=None, awaiting=None
        )
