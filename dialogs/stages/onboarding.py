"""Onboarding and consent: /start (and welcome back), the consent outcomes, and /stop with its
question; patients who stopped or declined are told they are taking a break."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import ClassVar

from content.schema import EndStep, Flow
from dialogs import steps
from dialogs.actions import RecordConsent
from dialogs.enrolment import first_flow, onboarding_flow
from dialogs.events import Command
from dialogs.stage import Gate, Stage
from dialogs.state import MENU, Status
from dialogs.turn import Turn

STOP = "stop"  # the overlay of "do you want to stop?"
STOP_YES, STOP_NO = "yes", "no"  # its choices


class OnboardingStage(Stage):
    name = "onboarding"
    overlays = frozenset({STOP})
    flow_kinds = frozenset({"onboarding"})
    commands: ClassVar[Mapping[str, Gate]] = {"start": Gate.ANYONE, "stop": Gate.TAKING_PART}
    outcomes = frozenset({"consent_given", "consent_declined"})

    def on_command(self, turn: Turn, command: Command) -> None:
        if command.name == "stop":
            self.ask_stop(turn)
        else:
            self.start(turn)

    # -- /start ---------------------------------------------------------------------------

    def start(self, turn: Turn) -> None:
        status = turn.state.status
        if status in (Status.NEW, Status.DECLINED):
            turn.state = replace(turn.state, status=Status.ONBOARDING, overlay=None)
            first = first_flow(turn.content, turn.state)  # the screening first, while it is to do
            steps.go(turn, first, first.first)
        elif status == Status.NOT_ELIGIBLE:
            turn.say("screened_out", **turn.crisis_context())
        elif status == Status.STOPPED:
            resumed = Status.ACTIVE if turn.state.consented else Status.ONBOARDING
            turn.state = replace(turn.state, status=resumed, overlay=None)
            turn.say("welcome_back")
            self.resume(turn)
        elif status == Status.ONBOARDING:
            turn.state = replace(turn.state, overlay=None)
            turn.show_current()
        else:
            turn.state = replace(turn.state, overlay=None)
            turn.say("welcome_back")
            turn.show_menu()

    def resume(self, turn: Turn) -> None:
        """Back after a break: onboarding where it was, or the place in the course, or the menu."""
        if not turn.state.consented:
            place = turn.state.place
            first = first_flow(turn.content, turn.state)
            if place and place.flow in (first.id, self.onboarding(turn).id):
                turn.show_current(fresh=True)
            else:
                steps.go(turn, first, first.first)
        elif turn.state.flow and turn.state.flow != MENU and turn.state.place:
            turn.show_current(fresh=True)
        else:
            turn.show_menu()

    @staticmethod
    def onboarding(turn: Turn) -> Flow:
        return onboarding_flow(turn.content)

    def on_outcome(self, turn: Turn, flow: Flow, step: EndStep) -> None:
        given = step.outcome == "consent_given"
        turn.actions.append(RecordConsent(given, flow.version or ""))
        if given:
            turn.state = replace(turn.state, status=Status.ACTIVE, consented_at=turn.now)
            turn.show_menu()
        else:  # consent_declined
            turn.state = replace(turn.state, status=Status.DECLINED, flow=None, step=None, awaiting=None)

    # -- /stop ----------------------------------------------------------------------------

    def ask_stop(self, turn: Turn) -> None:
        prompt = turn.next_prompt()
        turn.state = replace(turn.state, overlay=STOP, awaiting="button")
        choices = [(turn.ui("stop_yes"), STOP_YES), (turn.ui("stop_no"), STOP_NO)]
        turn.send(turn.ui("stop_confirm"), choices, prompt)

    def overlay_show(self, turn: Turn, *, fresh: bool) -> None:
        self.ask_stop(turn)

    def overlay_tap(self, turn: Turn, choice: str, message_id: int | None) -> None:
        if choice not in (STOP_YES, STOP_NO):
            turn.toast("stale_button")
            return
        turn.toast(None)
        turn.mark_chosen(message_id, turn.ui("stop_confirm"), turn.ui("stop_yes" if choice == STOP_YES else "stop_no"))
        turn.state = replace(turn.state, overlay=None)
        if choice == STOP_YES:
            turn.state = replace(turn.state, status=Status.STOPPED, awaiting=None)
            turn.stopped()
            turn.say("stopped")
        else:
            turn.say("stop_cancelled")
            turn.show_current(fresh=True)
