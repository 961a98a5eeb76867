"""The engine: (patient state, event, now, content) -> (new state, actions). Pure: no I/O, no clock."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from content.render import plain, render
from content.schema import (
    ChoiceStep,
    Content,
    EndStep,
    Flow,
    LocaleContent,
    MessageStep,
    QuestionStep,
    QuizStep,
    Step,
)
from dialogs import callbacks
from dialogs.actions import Action, Button, Edit, NotifyStaff, RaiseAlert, SaveAnswer, Send, Toast
from dialogs.events import Command, Event, NotText, Press, Start, Text
from dialogs.programme import LessonStatus, LessonView, lesson_to_take, lesson_views, next_to_open
from dialogs.safety import crisis_phrase
from dialogs.state import MENU, MENU_STEP, PatientState, Place, Status

MAX_ANSWER = 4096  # longest answer kept; Telegram itself never sends a longer message
SHOWN_ANSWER = 500  # longest answer quoted back in a message
MAX_HOPS = 100  # steps one event may walk through; content check rules out loops

# Choices on the coach's own prompts (the menu and the stop question), and menu pages.
LESSON, HELP, PROGRESS, BACK, OPEN = "lesson", "help", "progress", "back", "open:"
RESOURCES, REREAD = "resources", "reread"
STOP_YES, STOP_NO = "yes", "no"


@dataclass(frozen=True)
class Outcome:
    state: PatientState
    actions: tuple[Action, ...]


def handle(state: PatientState, event: Event, now: datetime, content: Content) -> Outcome:
    """Decide what one event does to a patient's conversation."""
    turn = _Turn(state, content, now)
    turn.dispatch(event)
    return Outcome(turn.state, tuple(turn.actions))


class _Turn:
    """The working of one event; mutable inside, invisible outside `handle`."""

    def __init__(self, state: PatientState, content: Content, now: datetime) -> None:
        self.state = state
        self.full_content = content
        self.content: LocaleContent = content.for_locale(state.locale)
        self.now = now
        self.actions: list[Action] = []

    # -- dispatch -------------------------------------------------------------------------

    def dispatch(self, event: Event) -> None:
        written = event.text if isinstance(event, Text) else getattr(event, "args", "") or getattr(event, "payload", "")
        if written:
            self.watch_for_crisis(written)
        if isinstance(event, Start):
            self.on_start()
        elif isinstance(event, Command):
            self.on_command(event)
        elif isinstance(event, Press):
            self.on_press(event)
        elif isinstance(event, Text):
            self.on_text(event.text)
        elif isinstance(event, NotText):
            self.say("not_text")
            self.show_current()

    def on_command(self, command: Command) -> None:
        name = command.name
        if name == "start":
            self.on_start()
        elif name == "help":
            self.say("help", **self.crisis_context())
        elif name not in ("menu", "lesson", "stop", "progress", "resources"):
            self.say("unknown_command", command="/" + name)
        elif self.state.status == Status.NEW and name != "stop":
            self.on_start()
        elif self.state.status in (Status.NEW, Status.STOPPED, Status.DECLINED):
            self.say("paused")
        elif name == "stop":
            self.ask_stop()
        elif self.require_consent():
            if name == "menu":
                self.show_menu()
            elif name == "progress":
                self.send(self.progress())
            elif name == "resources":
                self.open_resources()
            else:
                self.open_lesson()

    # -- safety ---------------------------------------------------------------------------

    def watch_for_crisis(self, text: str) -> None:
        """Crisis language anywhere: the safety message first, an urgent alert to the guides,
        and then the patient's message is handled as usual, so their flow is not broken."""
        phrase = crisis_phrase(text, self.content.safety.phrases)
        if phrase is None:
            return
        place = f"{self.state.flow or 'start'}/{self.state.step or '-'}"
        self.actions.append(Send(self.ui("safety_message", **self.crisis_context()), urgent=True))
        self.actions.append(RaiseAlert("urgent", f"crisis language ({phrase!r}) at {place}", text[:SHOWN_ANSWER]))

    # -- /start and consent ---------------------------------------------------------------

    def on_start(self) -> None:
        status = self.state.status
        if status in (Status.NEW, Status.DECLINED):
            self.state = replace(self.state, status=Status.ONBOARDING, overlay=None)
            self.go(self.onboarding(), self.onboarding().first)
        elif status == Status.STOPPED:
            resumed = Status.ACTIVE if self.state.consented else Status.ONBOARDING
            self.state = replace(self.state, status=resumed, overlay=None)
            self.say("welcome_back")
            self.resume()
        elif status == Status.ONBOARDING:
            self.state = replace(self.state, overlay=None)
            self.show_current()
        else:
            self.state = replace(self.state, overlay=None)
            self.say("welcome_back")
            self.show_menu()

    def require_consent(self) -> bool:
        if self.state.consented:
            return True
        self.say("finish_onboarding_first")
        self.show_current(fresh=True)
        return False

    def resume(self) -> None:
        if not self.state.consented:
            place = self.state.place
            if place and place.flow == self.onboarding().id:
                self.show_current(fresh=True)
            else:
                self.go(self.onboarding(), self.onboarding().first)
        elif self.state.flow and self.state.flow != MENU and self.state.place:
            self.show_current(fresh=True)
        else:
            self.show_menu()

    # -- /stop ----------------------------------------------------------------------------

    def ask_stop(self) -> None:
        prompt = self.next_prompt()
        self.state = replace(self.state, overlay="stop", awaiting="button")
        self.send(
            self.ui("stop_confirm"),
            [(self.ui("stop_yes"), STOP_YES), (self.ui("stop_no"), STOP_NO)],
            prompt,
        )

    def answer_stop(self, choice: str) -> None:
        self.state = replace(self.state, overlay=None)
        if choice == STOP_YES:
            self.state = replace(self.state, status=Status.STOPPED, awaiting=None)
            self.say("stopped")
        else:
            self.say("stop_cancelled")
            self.show_current(fresh=True)

    # -- buttons --------------------------------------------------------------------------

    def on_press(self, event: Press) -> None:
        press = callbacks.decode(event.data)
        if self.state.status in (Status.STOPPED, Status.DECLINED, Status.NEW):
            self.toast(None)
            if self.state.status == Status.NEW:
                self.on_start()
            else:
                self.say("paused")
            return
        if press is None or press.prompt > self.state.prompt:
            self.toast("stale_button")
            self.show_current()
            return
        if press.prompt < self.state.prompt:
            if press.prompt == self.state.prompt - 1:
                self.toast("already_noted")  # most likely a double tap
            else:
                self.toast("stale_button")
                self.show_current()
            return
        if self.state.overlay == "stop":
            if press.choice in (STOP_YES, STOP_NO):
                self.toast(None)
                self.mark_chosen(event.message_id, self.ui("stop_confirm"), self.stop_label(press.choice))
                self.answer_stop(press.choice)
            else:
                self.toast("stale_button")
            return
        if self.state.flow == MENU:
            self.on_menu_choice(press.choice, event.message_id)
            return
        flow, step = self.current()
        if flow is None or step is None:
            self.toast("stale_button")
            self.show_current()
            return
        self.on_step_choice(flow, step, press.choice, event.message_id)

    def on_step_choice(self, flow: Flow, step: Step, choice: str, message_id: int | None) -> None:
        if isinstance(step, MessageStep) and step.waits:
            button_next = self.button_target(flow, step, choice)
            if button_next is None:
                self.toast("stale_button")
                return
            label, target = button_next
            self.toast(None)
            self.mark_chosen(message_id, self.text(step.text), label)
            self.go(flow, target)
        elif isinstance(step, ChoiceStep):
            option = next((o for o in step.options if o.id == choice), None)
            if option is None:
                self.toast("stale_button")
                return
            self.toast(None)
            self.mark_chosen(message_id, self.text(step.text), option.label)
            if step.save_as:
                self.save(flow, step, step.save_as, option.id)
            if step.profile == "country":
                self.state = replace(self.state, country=option.id)
            chosen_target = option.next or flow.next_of(step)
            if chosen_target:
                self.go(flow, chosen_target)
        elif isinstance(step, QuizStep):
            quiz_option = next((o for o in step.options if o.id == choice), None)
            if quiz_option is None:
                self.toast("stale_button")
                return
            self.toast(None)
            self.mark_chosen(message_id, self.text(step.text), quiz_option.label)
            verdict = "correct" if quiz_option.correct else "incorrect"
            self.save(flow, step, step.id, f"{quiz_option.id} ({verdict})")
            self.send(self.text(quiz_option.feedback))
            self.go_on(flow, step)
        elif isinstance(step, QuestionStep) and step.skip and choice == "skip":
            self.toast(None)
            self.mark_chosen(message_id, self.text(step.text), step.skip)
            self.say("answer_skipped")
            self.go_on(flow, step)
        else:
            self.toast("stale_button")
            self.show_current()

    def button_target(self, flow: Flow, step: MessageStep, choice: str) -> tuple[str, str] | None:
        default = flow.next_of(step)
        if step.button is not None and choice == "next" and default:
            return step.button, default
        for button in step.buttons or ():
            if button.id == choice and (button.next or default):
                return button.label, button.next or default  # type: ignore[return-value]
        return None

    # -- typed text -----------------------------------------------------------------------

    def on_text(self, text: str) -> None:
        status = self.state.status
        if status == Status.NEW:
            self.on_start()
            return
        if status in (Status.STOPPED, Status.DECLINED):
            self.say("paused")
            return
        flow, step = self.current()
        if self.state.overlay is None and isinstance(step, QuestionStep) and flow is not None:
            self.answer_question(flow, step, text)
            return
        self.say("reprompt_buttons")
        self.show_current()

    def answer_question(self, flow: Flow, step: QuestionStep, text: str) -> None:
        answer = text.strip()[:MAX_ANSWER]
        if len(text.strip()) > MAX_ANSWER:
            self.say("answer_too_long", limit=MAX_ANSWER)
        self.save(flow, step, step.save_as, answer)
        if step.forward_to_guide:
            self.actions.append(
                NotifyStaff(render(self.content.ui["staff_question"], {"code": self.state.code, "text": answer}))
            )
        if step.reply:
            self.send(self.text(step.reply))
        else:
            self.say("answer_saved")
        self.go_on(flow, step)

    # -- the menu, lessons and resources ---------------------------------------------------

    def show_menu(self, *, fresh: bool = True, step: str = MENU_STEP) -> None:
        prompt = self.next_prompt() if fresh else self.state.prompt
        self.state = replace(self.state, flow=MENU, step=step, awaiting="button")
        choices: list[tuple[str, str]] = []
        if step == RESOURCES:
            text = self.ui("resources_intro")
            choices = [(flow.title, OPEN + flow.id) for flow in self.resources()]
            choices.append((self.ui("menu_back"), BACK))
        elif step == REREAD:
            text = self.ui("reread_intro")
            choices = [
                (self.ui("reread_lesson", number=v.number, title=v.lesson.title), OPEN + v.lesson.id)
                for v in self.views()
                if v.status == LessonStatus.DONE
            ]
            choices.append((self.ui("menu_back"), BACK))
        else:
            text, choices = self.main_menu()
        self.send(text, choices, prompt)

    def main_menu(self) -> tuple[str, list[tuple[str, str]]]:
        views = self.views()
        text = self.ui("menu")
        choices: list[tuple[str, str]] = []
        take = lesson_to_take(views)
        if take is not None:
            key = "menu_continue_lesson" if take.status == LessonStatus.IN_PROGRESS else "menu_start_lesson"
            choices.append((self.ui(key, number=take.number, title=take.lesson.title), LESSON))
        elif (upcoming := next_to_open(views)) is not None:
            text = self.not_open_yet(upcoming) + "\n\n" + text
        elif views:
            text = self.ui("all_lessons_done") + "\n\n" + text
        choices.append((self.ui("menu_progress"), PROGRESS))
        if self.resources():
            choices.append((self.ui("menu_resources"), RESOURCES))
        if any(v.status == LessonStatus.DONE for v in views):
            choices.append((self.ui("menu_reread"), REREAD))
        choices.append((self.ui("menu_help"), HELP))
        return text, choices

    def on_menu_choice(self, choice: str, message_id: int | None) -> None:
        step = self.state.step
        if step == MENU_STEP and choice == LESSON:
            self.toast(None)
            self.clear_buttons(message_id, self.ui("menu"))
            self.open_lesson()
        elif step == MENU_STEP and choice == PROGRESS:
            self.toast(None)
            self.send(self.progress())
        elif step == MENU_STEP and choice in (RESOURCES, REREAD):
            self.toast(None)
            self.clear_buttons(message_id, self.ui("menu"))
            self.show_menu(step=choice)
        elif step == MENU_STEP and choice == HELP:
            self.toast(None)
            self.say("help", **self.crisis_context())
        elif step in (RESOURCES, REREAD) and choice == BACK:
            self.toast(None)
            self.show_menu()
        elif step in (RESOURCES, REREAD) and choice.startswith(OPEN) and self.may_open(step, choice[len(OPEN) :]):
            flow = self.content.flows[choice[len(OPEN) :]]
            self.toast(None)
            self.clear_buttons(message_id, self.ui("reread_intro" if step == REREAD else "resources_intro"))
            self.go(flow, flow.first)
        else:
            self.toast("stale_button")
            self.show_current()

    def may_open(self, step: str, flow_id: str) -> bool:
        flow = self.content.flows.get(flow_id)
        if flow is None:
            return False
        if step == RESOURCES:
            return flow.kind == "resource"
        return flow.kind == "lesson" and flow.number in self.state.lessons_done

    def open_lesson(self) -> None:
        place = self.state.lesson_place
        if place is not None and self.state.place == place:
            self.show_current(fresh=True)
            return
        if place is not None and place.flow in self.content.flows:
            self.state = replace(self.state, flow=place.flow, step=place.step)
            self.show_current(fresh=True)
            return
        views = self.views()
        take = lesson_to_take(views)
        if take is not None:
            self.go(take.lesson, take.lesson.first)
            return
        upcoming = next_to_open(views)
        self.send(self.not_open_yet(upcoming) if upcoming else self.ui("all_lessons_done"))
        self.show_menu()

    def open_resources(self) -> None:
        self.show_menu(step=RESOURCES)

    def views(self) -> list[LessonView]:
        return lesson_views(self.full_content, self.content, self.state, self.now)

    def resources(self) -> list[Flow]:
        return sorted((f for f in self.content.flows.values() if f.kind == "resource"), key=lambda f: f.title)

    def not_open_yet(self, view: LessonView) -> str:
        if view.status == LessonStatus.WAITING or view.opens is None:
            return self.ui("finish_previous_lesson", number=view.number, previous=view.number - 1)
        return self.ui("next_lesson_not_open", number=view.number, date=self.day(view.opens))

    def progress(self) -> str:
        lines = [self.ui("progress_title")]
        for view in self.views():
            context = {"number": view.number, "title": view.lesson.title}
            if view.status == LessonStatus.LOCKED and view.opens is not None:
                context["date"] = self.day(view.opens)
            lines.append(self.ui(f"progress_{view.status.value}", **context))
        return "\n".join(lines)

    @staticmethod
    def day(moment: date) -> str:
        return f"{moment:%A} {moment.day} {moment:%B}"

    # -- walking a flow -------------------------------------------------------------------

    def go(self, flow: Flow, step_id: str) -> None:
        """Enter a step and carry on through steps that need no tap, up to the next prompt."""
        target: str | None = step_id
        for _ in range(MAX_HOPS):
            if target is None:
                return
            step = flow.step(target)
            self.state = replace(self.state, flow=flow.id, step=step.id)
            if flow.kind == "lesson" and flow.number not in self.state.lessons_done:
                self.state = replace(self.state, lesson_place=Place(flow.id, step.id))
            if isinstance(step, EndStep):
                self.send(self.text(step.text))
                self.finish(flow, step)
                return
            if isinstance(step, MessageStep) and not step.waits:
                self.send(self.text(step.text))
                target = flow.next_of(step)
                continue
            self.prompt_step(flow, step, self.next_prompt())
            return
        raise RuntimeError(f"{flow.id}: more than {MAX_HOPS} steps without a tap")

    def go_on(self, flow: Flow, step: Step) -> None:
        target = flow.next_of(step)
        if target:
            self.go(flow, target)

    def prompt_step(self, flow: Flow, step: Step, prompt: int) -> None:
        """Send a step that waits for the patient, its buttons carrying `prompt`."""
        choices: list[tuple[str, str]] = []
        awaiting = "button"
        if isinstance(step, MessageStep):
            if step.button is not None:
                choices = [(step.button, "next")]
            else:
                choices = [(b.label, b.id) for b in step.buttons or ()]
        elif isinstance(step, ChoiceStep | QuizStep):
            choices = [(o.label, o.id) for o in step.options]
        elif isinstance(step, QuestionStep):
            awaiting = "text"
            if step.skip:
                choices = [(step.skip, "skip")]
        self.state = replace(self.state, awaiting=awaiting)  # type: ignore[arg-type]
        self.send(self.text(step.text), [(self.text(label), data) for label, data in choices], prompt)

    def finish(self, flow: Flow, step: EndStep) -> None:
        if step.outcome == "consent_given":
            self.state = replace(self.state, status=Status.ACTIVE, consented_at=self.now)
            self.show_menu()
        elif step.outcome == "consent_declined":
            self.state = replace(self.state, status=Status.DECLINED, flow=None, step=None, awaiting=None)
        elif step.outcome == "lesson_complete":
            done = tuple(sorted({*self.state.lessons_done, flow.number or 0}))
            place = self.state.lesson_place
            finished_here = place is not None and place.flow == flow.id
            self.state = replace(self.state, lessons_done=done, lesson_place=None if finished_here else place)
            self.show_menu()
        elif step.outcome == "resource_done":
            self.show_menu()

    def show_current(self, *, fresh: bool = False) -> None:
        """Show again what the patient is being asked now; `fresh` makes older buttons stale."""
        if self.state.overlay == "stop":
            self.ask_stop()
            return
        if self.state.flow == MENU:
            self.show_menu(fresh=fresh, step=self.state.step or MENU_STEP)
            return
        flow, step = self.current()
        if flow is None or step is None:
            if self.state.status == Status.NEW:
                self.on_start()
            else:
                self.show_menu()
            return
        if (isinstance(step, MessageStep) and not step.waits) or isinstance(step, EndStep):
            self.go(flow, step.id)
            return
        self.prompt_step(flow, step, self.next_prompt() if fresh else self.state.prompt)

    def current(self) -> tuple[Flow | None, Step | None]:
        flow = self.content.flows.get(self.state.flow or "")
        if flow is None or not self.state.step or not flow.has_step(self.state.step):
            return None, None
        return flow, flow.step(self.state.step)

    def onboarding(self) -> Flow:
        return next(f for f in self.content.flows.values() if f.kind == "onboarding")

    # -- output helpers -------------------------------------------------------------------

    def next_prompt(self) -> int:
        self.state = replace(self.state, prompt=self.state.prompt + 1)
        return self.state.prompt

    def send(self, text: str, choices: list[tuple[str, str]] | None = None, prompt: int = 0) -> None:
        buttons = tuple(Button(plain(label), callbacks.encode(prompt, data)) for label, data in choices or ())
        self.actions.append(Send(text, buttons))

    def say(self, key: str, **context: Any) -> None:
        self.send(self.ui(key, **context))

    def toast(self, key: str | None) -> None:
        self.actions.append(Toast(plain(self.ui(key)) if key else None))

    def mark_chosen(self, message_id: int | None, text: str, label: str) -> None:
        if message_id is not None:
            chosen = render("{{ label }}", {"label": plain(label)})
            self.actions.append(Edit(message_id, f"{text}\n\n<i>» {chosen}</i>"))

    def clear_buttons(self, message_id: int | None, text: str) -> None:
        if message_id is not None:
            self.actions.append(Edit(message_id, text))

    def stop_label(self, choice: str) -> str:
        return self.ui("stop_yes" if choice == STOP_YES else "stop_no")

    def save(self, flow: Flow, step: Step, key: str, value: str) -> None:
        self.actions.append(SaveAnswer(flow.id, step.id, key, value))
        self.state = self.state.with_answer(flow.id, key, value[:SHOWN_ANSWER])

    def ui(self, key: str, **context: Any) -> str:
        return render(self.content.ui[key], context)

    def crisis_context(self) -> dict[str, Any]:
        country = self.content.crisis.for_country(self.state.country)
        return {"crisis_contacts": country.contacts, "country_name": country.name}

    def text(self, template: str) -> str:
        context = {
            **self.crisis_context(),
            "answers": self.state.answers.get(self.state.flow or "", {}),
            "code": self.state.code,
        }
        return render(template, context)
