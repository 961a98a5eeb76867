"""Walking a content flow: going to a step and on through steps that need no tap, showing the
current step again, and what each step type does (its prompt, a tap on its buttons, typed text),
in a registry keyed by step type.

The types here are the general ones (message, question, choice, quiz, end); a stage adds its own
through `Stage.step_types` (the tools stage adds scale, pick and breathing). `dialogs/router.py`
joins them into one registry; every step type of content/schema.py must be in it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Generic, TypeVar

from content.render import render
from content.schema import ChoiceStep, EndStep, Flow, MessageStep, QuestionStep, QuizStep, Step, Strict
from dialogs import profile, progressions
from dialogs.actions import NotifyStaff, RaiseAlert, Send
from dialogs.state import Awaiting
from dialogs.timezones import describe, parse_timezone
from dialogs.turn import Choices, Turn

MAX_ANSWER = 4096  # longest answer kept; Telegram itself never sends a longer message
MAX_HOPS = 100  # steps one event may walk through; content check rules out loops

S = TypeVar("S", bound=Strict)


class StepType(Generic[S]):
    """What one type of step does. The defaults: it waits for the patient, a tap it does not
    know is stale, typed text is not its to take (the patient is asked to tap)."""

    def waits(self, step: S) -> bool:
        return True

    def pass_through(self, turn: Turn, flow: Flow, step: S) -> str | None:
        """A step that does not wait: do it, and say where the flow goes next (None: nowhere)."""
        raise NotImplementedError(f"{type(step).__name__} waits for the patient")

    def prompt(self, turn: Turn, flow: Flow, step: S, prompt: int) -> None:
        """Send the step, its buttons carrying `prompt`."""
        raise NotImplementedError(f"{type(step).__name__} has no prompt")

    def tap(self, turn: Turn, flow: Flow, step: S, choice: str, message_id: int | None) -> None:
        turn.stale()

    def typed(self, turn: Turn, flow: Flow, step: S, text: str, message_id: int | None) -> bool:
        return False


def ask(turn: Turn, text: str, choices: Choices, prompt: int, awaiting: Awaiting = "button") -> None:
    """The usual prompt: the step's text and buttons, both templates over the patient's answers."""
    turn.state = replace(turn.state, awaiting=awaiting)
    turn.send(turn.text(text), [(turn.text(label), data) for label, data in choices], prompt)


# -- walking ---------------------------------------------------------------------------------


def go(turn: Turn, flow: Flow, step_id: str) -> None:
    """Enter a step and carry on through steps that need no tap, up to the next prompt."""
    target: str | None = step_id
    for _ in range(MAX_HOPS):
        if target is None:
            return
        step = flow.step(target)
        turn.state = replace(turn.state, flow=flow.id, step=step.id)
        turn.arrive(flow, step)
        kind = turn.step_type(step)
        if not kind.waits(step):
            target = kind.pass_through(turn, flow, step)
            continue
        kind.prompt(turn, flow, step, turn.next_prompt())
        return
    raise RuntimeError(f"{flow.id}: more than {MAX_HOPS} steps without a tap")


def go_on(turn: Turn, flow: Flow, step: Step) -> None:
    target = flow.next_of(step)
    if target:
        go(turn, flow, target)


def current(turn: Turn) -> tuple[Flow | None, Step | None]:
    """The content flow and step the patient is at, if the content still has them."""
    flow = turn.content.flows.get(turn.state.flow or "")
    if flow is None or not turn.state.step or not flow.has_step(turn.state.step):
        return None, None
    return flow, flow.step(turn.state.step)


def show(turn: Turn, flow: Flow, step: Step, *, fresh: bool) -> None:
    kind = turn.step_type(step)
    if not kind.waits(step):
        go(turn, flow, step.id)
        return
    kind.prompt(turn, flow, step, turn.next_prompt() if fresh else turn.state.prompt)


def tap(turn: Turn, flow: Flow, step: Step, choice: str, message_id: int | None) -> None:
    turn.step_type(step).tap(turn, flow, step, choice, message_id)


def typed(turn: Turn, flow: Flow, step: Step, text: str, message_id: int | None) -> bool:
    return turn.step_type(step).typed(turn, flow, step, text, message_id)


# -- the general step types ------------------------------------------------------------------


class MessageType(StepType[MessageStep]):
    """Text to read; with a button (or several) it waits for a tap, without one the flow goes on."""

    def waits(self, step: MessageStep) -> bool:
        return step.waits

    def pass_through(self, turn: Turn, flow: Flow, step: MessageStep) -> str | None:
        turn.send(turn.text(step.text))
        return flow.next_of(step)

    def prompt(self, turn: Turn, flow: Flow, step: MessageStep, prompt: int) -> None:
        buttons = [(b.label, b.id) for b in step.buttons or ()]
        ask(turn, step.text, [(step.button, "next")] if step.button is not None else buttons, prompt)

    def tap(self, turn: Turn, flow: Flow, step: MessageStep, choice: str, message_id: int | None) -> None:
        if not step.waits:
            turn.stale()
            return
        button_next = self.target(flow, step, choice)
        if button_next is None:
            turn.toast("stale_button")
            return
        label, target = button_next
        turn.toast(None)
        turn.mark_chosen(message_id, turn.text(step.text), label)
        go(turn, flow, target)

    @staticmethod
    def target(flow: Flow, step: MessageStep, choice: str) -> tuple[str, str] | None:
        default = flow.next_of(step)
        if step.button is not None and choice == "next" and default:
            return step.button, default
        for button in step.buttons or ():
            if button.id == choice and (button.next or default):
                return button.label, button.next or default  # type: ignore[return-value]
        return None


class QuestionType(StepType[QuestionStep]):
    """A question answered in the patient's own words (kept, quoted back, maybe sent to the guide)."""

    def prompt(self, turn: Turn, flow: Flow, step: QuestionStep, prompt: int) -> None:
        ask(turn, step.text, [(step.skip, "skip")] if step.skip else [], prompt, "text")

    def tap(self, turn: Turn, flow: Flow, step: QuestionStep, choice: str, message_id: int | None) -> None:
        if not (step.skip and choice == "skip"):
            turn.stale()
            return
        turn.toast(None)
        turn.mark_chosen(message_id, turn.text(step.text), step.skip)
        turn.say("answer_skipped")
        go_on(turn, flow, step)

    def typed(self, turn: Turn, flow: Flow, step: QuestionStep, text: str, message_id: int | None) -> bool:
        answer = text.strip()[:MAX_ANSWER]
        if step.numeric and progressions.number_of(answer) is None:
            turn.say("answer_not_a_number")  # nothing saved: the same question is still open
            return True
        if len(text.strip()) > MAX_ANSWER:
            turn.say("answer_too_long", limit=MAX_ANSWER)
        turn.save(flow, step, step.save_as, answer)
        if step.forward_to_guide:
            staff = render(turn.content.ui["staff_question"], {"code": turn.state.code, "text": answer})
            turn.actions.append(NotifyStaff(staff))
        if step.reply:
            turn.send(turn.text(step.reply))
        else:
            turn.say("answer_saved")
        go_on(turn, flow, step)
        return True


class ChoiceType(StepType[ChoiceStep]):
    """One option of several; `profile` steps also set the patient's country or time zone."""

    def prompt(self, turn: Turn, flow: Flow, step: ChoiceStep, prompt: int) -> None:
        options = [(o.label, o.id) for o in step.options]
        if step.profile == "timezone":
            options = [*profile.zone_choices(turn), *options]
        ask(turn, step.text, options, prompt)

    def tap(self, turn: Turn, flow: Flow, step: ChoiceStep, choice: str, message_id: int | None) -> None:
        if step.profile == "timezone" and choice.startswith(profile.ZONE):
            zone = profile.zone_of(turn, choice)
            if zone is None:
                turn.toast("stale_button")
                return
            turn.toast(None)
            turn.mark_chosen(message_id, turn.text(step.text), describe(zone))
            profile.set_zone(turn, zone)
            go_on(turn, flow, step)
            return
        if step.profile == "timezone" and choice == profile.ZONE_TYPED:
            turn.toast(None)
            turn.say("timezone_type_it")
            return
        option = next((o for o in step.options if o.id == choice), None)
        if option is None:
            turn.toast("stale_button")
            return
        turn.toast(None)
        turn.mark_chosen(message_id, turn.text(step.text), option.label)
        if step.save_as:
            turn.save(flow, step, step.save_as, option.id)
        if step.profile == "country":
            turn.state = replace(turn.state, country=option.id)
        chosen_target = option.next or flow.next_of(step)
        if chosen_target:
            go(turn, flow, chosen_target)

    def typed(self, turn: Turn, flow: Flow, step: ChoiceStep, text: str, message_id: int | None) -> bool:
        if step.profile != "timezone":
            return False
        zone = parse_timezone(text)
        if zone is None:
            turn.say("timezone_unknown")
            turn.show_current()
        else:
            profile.set_zone(turn, zone)
            go_on(turn, flow, step)
        return True


class QuizType(StepType[QuizStep]):
    """A question with a right answer: each option has its feedback, and the verdict is kept."""

    def prompt(self, turn: Turn, flow: Flow, step: QuizStep, prompt: int) -> None:
        ask(turn, step.text, [(o.label, o.id) for o in step.options], prompt)

    def tap(self, turn: Turn, flow: Flow, step: QuizStep, choice: str, message_id: int | None) -> None:
        option = next((o for o in step.options if o.id == choice), None)
        if option is None:
            turn.toast("stale_button")
            return
        turn.toast(None)
        turn.mark_chosen(message_id, turn.text(step.text), option.label)
        verdict = "correct" if option.correct else "incorrect"
        turn.save(flow, step, step.id, f"{option.id} ({verdict})")
        turn.send(turn.text(option.feedback))
        go_on(turn, flow, step)


class EndType(StepType[EndStep]):
    """The end of a flow: its text, then its outcome, which the outcome's stage acts on."""

    def waits(self, step: EndStep) -> bool:
        return False

    def pass_through(self, turn: Turn, flow: Flow, step: EndStep) -> str | None:
        if step.alert:  # a risk: the text goes ahead of everything, and the guides are alerted at once
            turn.actions.append(Send(turn.text(step.text), urgent=True))
            turn.actions.append(RaiseAlert("urgent", step.alert))
        else:
            turn.send(turn.text(step.text))
        turn.finish(flow, step)
        return None


GENERAL: dict[str, StepType[Any]] = {
    "message": MessageType(),
    "question": QuestionType(),
    "choice": ChoiceType(),
    "quiz": QuizType(),
    "end": EndType(),
}
