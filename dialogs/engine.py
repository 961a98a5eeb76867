"""The engine: (patient state, event, now, content) -> (new state, actions). Pure: no I/O, no clock."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from content import buttons as callbacks
from content.render import plain, render, shortened
from content.schema import (
    BreathingStep,
    ChoiceStep,
    Content,
    EndStep,
    Flow,
    LocaleContent,
    MessageStep,
    PickStep,
    Questionnaire,
    QuestionStep,
    QuizStep,
    ScaleStep,
    Step,
)
from dialogs import due, occasions, scoring, stepped_care
from dialogs.actions import (
    Action,
    Button,
    CancelEdits,
    ChartSeries,
    Edit,
    FlagForReview,
    NotifyStaff,
    RaiseAlert,
    RelayToGuide,
    SaveAnswer,
    SaveEntry,
    SaveResult,
    ScheduleEdits,
    Send,
    SendChart,
    TimedEdit,
    Toast,
)
from dialogs.events import Command, Due, Edited, Event, NotText, Press, Start, Text
from dialogs.programme import LessonStatus, LessonView, lesson_to_take, lesson_views, local_date, next_to_open
from dialogs.safety import crisis_phrase
from dialogs.state import MENU, MENU_STEP, PatientState, Place, Status, Survey
from dialogs.timezones import describe, parse_timezone

MAX_ANSWER = 4096  # longest answer kept; Telegram itself never sends a longer message
MAX_HOPS = 100  # steps one event may walk through; content check rules out loops

# Choices on the coach's own prompts (the menu and the stop question), and menu pages.
LESSON, HELP, PROGRESS, BACK, OPEN = "lesson", "help", "progress", "back", "open:"
RESOURCES, REREAD, TOOLS = "resources", "reread", "tools"
TOOL, PAST, TYPED, LOG = "tool:", "past:", "typed:", "log:"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
REMINDERS = "reminders"  # the group of a patient's planned reminders, cancelled by /stop
KEEP_ENTRIES = 20  # recent entries per tool kept in the state for "My past entries"
SHOW_ENTRIES = 5
STOP_YES, STOP_NO = "yes", "no"
SURVEY = "questionnaire"  # the flow name while a questionnaire item is being asked
CHECKIN = "checkin"  # the menu choice (and page) of a due or unfinished questionnaire
ANSWER, ITEM_BACK = "a:", "back"  # choices on a questionnaire item
READY = "checkin:"  # the Start button of "your check-in is ready": checkin:<occasion>, not tied to a prompt
KEEP_SCORES = 30  # results per questionnaire kept in the state for /progress, charts and stepped care
GUIDE, GUIDE_SEND, GUIDE_KEEP, GUIDE_CANCEL = "guide", "guide-send", "guide-keep", "guide-cancel"
GUIDE_OVERLAYS = ("guide", "guide_confirm")
MAX_DRAFT = 10  # messages a patient may gather before saying whether to send them
# Scheduled messages (issue 5): their buttons work whatever the patient is doing meanwhile.
GO_LESSON, WEEKLY = "go:lesson", "weekly:"  # weekly: the guide's weekly check-in, weekly:<week>:<answer>
WEEKLY_ANSWERS = ("well", "okay", "hard")
REMINDERS_PAGE, TIMEZONE_PAGE = "reminders", "reminders/timezone"
ZONE, ZONE_KEEP, ZONE_TYPED = "tz-", "tz-keep", "typed"
SET_TIME, PAUSE, RESUME, OFF, ON = "time:", "pause", "resume", "off", "on"


@dataclass(frozen=True)
class Outcome:
    state: PatientState
    actions: tuple[Action, ...]


def handle(state: PatientState, event: Event, now: datetime, content: Content) -> Outcome:
    """Decide what one event does to a patient's conversation."""
    turn = _Turn(state, content, now)
    turn.dispatch(event)
    turn.stop_exercise_left_behind(state)
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
        self.forget_unknown_survey()
        if isinstance(event, Text | Edited):
            written = event.text
        elif isinstance(event, NotText):
            written = event.caption
        else:
            written = getattr(event, "args", "") or getattr(event, "payload", "")
        if written:
            self.watch_for_crisis(written)
        leaves_note = isinstance(event, Start) or (isinstance(event, Command) and event.name != GUIDE)
        if leaves_note and self.state.overlay in GUIDE_OVERLAYS:
            self.state = replace(self.state, overlay=None, guide_draft=())  # a command leaves the note unsent
        if isinstance(event, Edited):
            return  # an edit changes nothing in the conversation
        if isinstance(event, Start):
            self.on_start()
        elif isinstance(event, Command):
            self.on_command(event)
        elif isinstance(event, Press):
            self.on_press(event)
        elif isinstance(event, Text):
            self.on_text(event.text, event.message_id)
        elif isinstance(event, NotText):
            self.on_not_text(event)
        elif isinstance(event, Due):
            self.on_due(event)

    def on_command(self, command: Command) -> None:
        name = command.name
        if name == "start":
            self.on_start()
        elif name == "help":
            self.say("help", **self.crisis_context())
        elif name not in ("menu", "lesson", "stop", "progress", "resources", "tools", "reminders", GUIDE):
            self.say("unknown_command", command="/" + name)
        elif self.state.status == Status.NEW and name != "stop":
            self.on_start()
        elif name == GUIDE:
            self.on_guide_command(command)
        elif self.state.status in (Status.NEW, Status.STOPPED, Status.DECLINED):
            self.say("paused")
        elif name == "stop":
            self.ask_stop()
        elif self.require_consent():
            if name == "menu":
                self.show_menu()
            elif name == "progress":
                self.send_progress()
            elif name == "resources":
                self.open_resources()
            elif name == "tools":
                self.show_menu(step=TOOLS)
            elif name == "reminders":
                self.show_menu(step=REMINDERS_PAGE)
            elif self.state.survey is not None:
                self.show_menu(step=CHECKIN)  # a check-in was left part way: offer to carry on
            else:
                self.open_lesson()  # when no lesson can be taken yet, the menu it shows offers a due check-in

    # -- safety ---------------------------------------------------------------------------

    def watch_for_crisis(self, text: str) -> None:
        """Crisis language anywhere: the safety message first, an urgent alert to the guides,
        and then the patient's message is handled as usual, so their flow is not broken."""
        phrase = crisis_phrase(text, self.content.safety.phrases)
        if phrase is None:
            return
        place = f"{self.state.flow or 'start'}/{self.state.step or '-'}"
        self.actions.append(Send(self.ui("safety_message", **self.crisis_context()), urgent=True))
        self.actions.append(RaiseAlert("urgent", f"crisis language ({phrase!r}) at {place}", shortened(text, 1000)))

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
            self.actions.append(CancelEdits(REMINDERS))
            self.say("stopped")
        else:
            self.say("stop_cancelled")
            self.show_current(fresh=True)

    # -- buttons --------------------------------------------------------------------------

    def on_press(self, event: Press) -> None:
        if event.data.startswith(LOG) and self.state.status == Status.ACTIVE:
            self.log_reminder(event.data.removeprefix(LOG), event.message_id)
            return
        if event.data.startswith(READY) and self.state.status == Status.ACTIVE:
            self.start_when_ready(event.data.removeprefix(READY), event.message_id)
            return
        if event.data == GO_LESSON and self.state.status == Status.ACTIVE:
            self.toast(None)
            self.state = replace(self.state, overlay=None)
            self.open_lesson()
            return
        if event.data.startswith(WEEKLY) and self.state.status == Status.ACTIVE:
            self.answer_guide_checkin(event.data.removeprefix(WEEKLY), event.message_id)
            return
        press = callbacks.decode(event.data)
        if (
            self.state.status in (Status.STOPPED, Status.DECLINED, Status.NEW)
            and self.state.overlay not in GUIDE_OVERLAYS
        ):
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
        if self.state.overlay in GUIDE_OVERLAYS:
            self.on_guide_choice(press.choice, event.message_id)
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
        if self.state.flow == SURVEY:
            self.on_item_choice(press.choice, event.message_id)
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
        elif isinstance(step, ChoiceStep) and step.profile == "timezone" and choice.startswith(ZONE):
            zone = self.zone_of(choice)
            if zone is None:
                self.toast("stale_button")
                return
            self.toast(None)
            self.mark_chosen(message_id, self.text(step.text), describe(zone))
            self.set_zone(zone)
            self.go_on(flow, step)
        elif isinstance(step, ChoiceStep) and step.profile == "timezone" and choice == ZONE_TYPED:
            self.toast(None)
            self.say("timezone_type_it")
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
        elif isinstance(step, ScaleStep):
            if choice.lstrip("-").isdigit() and int(choice) in step.values():
                self.toast(None)
                self.mark_chosen(message_id, self.text(step.text), choice)
                self.save(flow, step, step.save_as, choice)
                self.go_on(flow, step)
            else:
                self.toast("stale_button")
        elif isinstance(step, PickStep):
            self.on_pick(flow, step, choice, message_id)
        elif isinstance(step, BreathingStep) and choice in ("stop", "carry-on"):
            self.toast(None)
            head = self.text(step.text)
            if choice == "stop":
                self.actions.append(CancelEdits(self.exercise_group()))
                self.edit(message_id, f"{head}\n\n{self.text(step.stopped)}")
            else:
                self.edit(message_id, f"{head}\n\n{self.text(step.finished)}")
            self.save(flow, step, "completed", "yes" if choice == "carry-on" else "stopped")
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

    def on_text(self, text: str, message_id: int | None = None) -> None:
        status = self.state.status
        if status == Status.NEW:
            self.on_start()
            return
        if self.state.overlay in GUIDE_OVERLAYS:
            if message_id is not None:
                self.on_message_for_guide(message_id)
            else:  # a transport with no message ids (the terminal chat) cannot relay
                self.state = replace(self.state, overlay=None, guide_draft=())
                self.say("guide_not_sent")
                self.carry_on()
            return
        if status in (Status.STOPPED, Status.DECLINED):
            self.say("paused")
            return
        if self.state.overlay is None and self.state.flow == SURVEY:
            self.say("survey_reprompt")
            self.show_current()
            return
        flow, step = self.current()
        if self.state.overlay is None and isinstance(step, QuestionStep) and flow is not None:
            self.answer_question(flow, step, text)
            return
        if self.state.overlay is None and isinstance(step, PickStep) and text.strip():
            item = TYPED + " ".join(text.split())[:200]
            if item not in self.state.picking:
                self.state = replace(self.state, picking=(*self.state.picking, item))
            self.show_current()
            return
        if self.state.overlay is None and isinstance(step, ScaleStep) and flow is not None:
            number = text.strip().rstrip("%")
            if number.lstrip("-").isdigit() and step.min <= int(number) <= step.max:
                self.save(flow, step, step.save_as, str(int(number)))
                self.go_on(flow, step)
                return
        if self.state.overlay is None and isinstance(step, BreathingStep):
            self.say("breathing_in_progress")
            return
        timezone_page = self.state.flow == MENU and self.state.step == TIMEZONE_PAGE
        if self.state.overlay is None and (
            timezone_page or (isinstance(step, ChoiceStep) and step.profile == "timezone")
        ):
            zone = parse_timezone(text)
            if zone is None:
                self.say("timezone_unknown")
                self.show_current()
            elif timezone_page:
                self.set_zone(zone)
                self.show_menu(step=REMINDERS_PAGE)
            elif flow is not None and step is not None:
                self.set_zone(zone)
                self.go_on(flow, step)
            return
        if self.outside_any_step() and message_id is not None:
            self.offer_to_guide(message_id)
            return
        self.say("reprompt_buttons")
        self.show_current()

    # -- messages for the guide -------------------------------------------------------------

    def outside_any_step(self) -> bool:
        """On the menu (or nowhere): typed text there is most likely meant for a person."""
        return (
            self.state.status == Status.ACTIVE
            and self.state.overlay is None
            and (self.state.flow == MENU or self.current() == (None, None))
        )

    def on_not_text(self, event: NotText) -> None:
        """A photo, voice note, sticker...: the guide can see it, the coach cannot read it."""
        for_guide = self.state.overlay in GUIDE_OVERLAYS or self.outside_any_step()
        if self.state.status != Status.NEW and event.message_id is not None and for_guide:
            self.on_message_for_guide(event.message_id)
            return
        self.say("not_text")
        self.show_current()

    def on_guide_command(self, command: Command) -> None:
        """/guide: write to the guide; `/guide <message>` sends that message at once."""
        if command.args and command.message_id is not None:
            self.state = replace(self.state, overlay=None, guide_draft=())
            self.relay_to_guide((command.message_id,))
            return
        self.ask_for_guide_message()

    def ask_for_guide_message(self, *, fresh: bool = True) -> None:
        prompt = self.next_prompt() if fresh else self.state.prompt
        self.state = replace(self.state, overlay="guide", awaiting="text", guide_draft=())
        self.send(self.ui("guide_write"), [(self.ui("guide_cancel"), GUIDE_CANCEL)], prompt)

    def offer_to_guide(self, message_id: int, *, fresh: bool = True) -> None:
        """Ask before anything typed outside a step goes to the guide: nothing is sent by accident."""
        draft = self.state.guide_draft if self.state.overlay == "guide_confirm" else ()
        if message_id not in draft:
            draft = (*draft, message_id)[-MAX_DRAFT:]
        prompt = self.next_prompt() if fresh else self.state.prompt
        self.state = replace(self.state, overlay="guide_confirm", awaiting="button", guide_draft=draft)
        self.send_offer(prompt)

    def send_offer(self, prompt: int) -> None:
        choices = [(self.ui("guide_offer_send"), GUIDE_SEND), (self.ui("guide_offer_keep"), GUIDE_KEEP)]
        self.send(self.ui("guide_offer", count=len(self.state.guide_draft)), choices, prompt)

    def on_message_for_guide(self, message_id: int) -> None:
        if self.state.overlay == "guide_confirm" or (self.state.overlay is None and self.outside_any_step()):
            self.offer_to_guide(message_id)
        else:  # the patient chose to write to their guide: this is the message
            self.state = replace(self.state, overlay=None, guide_draft=())
            self.relay_to_guide((message_id,))

    def on_guide_choice(self, choice: str, message_id: int | None) -> None:
        overlay, draft = self.state.overlay, self.state.guide_draft
        if (overlay, choice) not in (
            ("guide_confirm", GUIDE_SEND),
            ("guide_confirm", GUIDE_KEEP),
            ("guide", GUIDE_CANCEL),
        ):
            self.toast("stale_button")
            self.show_current()
            return
        self.toast(None)
        self.state = replace(self.state, overlay=None, guide_draft=())
        if choice == GUIDE_SEND:
            self.mark_chosen(message_id, self.ui("guide_offer", count=len(draft)), self.ui("guide_offer_send"))
            self.relay_to_guide(draft)
            return
        if choice == GUIDE_KEEP:
            self.mark_chosen(message_id, self.ui("guide_offer", count=len(draft)), self.ui("guide_offer_keep"))
        else:
            self.mark_chosen(message_id, self.ui("guide_write"), self.ui("guide_cancel"))
        self.say("guide_not_sent")
        self.carry_on()

    def relay_to_guide(self, message_ids: tuple[int, ...]) -> None:
        self.actions.append(RelayToGuide(message_ids))
        self.carry_on()

    def carry_on(self) -> None:
        """After a message for the guide: back to where the patient was."""
        if self.state.status in (Status.ACTIVE, Status.ONBOARDING):
            self.show_current(fresh=True)

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
        elif step == TOOLS:
            tools = self.unlocked_tools()
            text = self.ui("tools_intro" if tools else "tools_locked")
            choices = [(flow.title, TOOL + flow.id) for flow in tools]
            choices.append((self.ui("menu_back"), BACK))
        elif step == CHECKIN and self.state.survey is not None:
            number, total, questionnaire = self.survey_place()
            text = self.ui("checkin_paused", name=questionnaire.name, number=number, total=total)
            choices = [
                (self.ui("menu_checkin_continue", number=number, total=total), CHECKIN),
                (self.ui("checkin_lesson_instead"), LESSON),
            ]
        elif step.startswith(TOOLS + "/") and step.removeprefix(TOOLS + "/") in self.content.flows:
            tool = self.content.flows[step.removeprefix(TOOLS + "/")]
            count = len(self.state.entries.get(tool.id, []))
            text = f"<b>{self.text(tool.title)}</b>\n" + self.ui("tool_page", count=count)
            choices = [(self.ui("tool_start"), OPEN + tool.id)]
            if count:
                choices.append((self.ui("tool_past", count=count), PAST + tool.id))
            choices.append((self.ui("menu_back"), BACK))
        elif step == REMINDERS_PAGE:
            text, choices = self.reminders_page()
        elif step == TIMEZONE_PAGE:
            text = self.ui("timezone_question", zone=describe(self.state.timezone))
            choices = [*self.zone_choices(), (self.ui("menu_back"), BACK)]
        else:
            self.state = replace(self.state, step=MENU_STEP)
            text, choices = self.main_menu()
        self.send(text, choices, prompt)

    def main_menu(self) -> tuple[str, list[tuple[str, str]]]:
        views = self.views()
        text = self.ui("menu")
        choices: list[tuple[str, str]] = []
        if self.state.survey is not None:
            number, total, _ = self.survey_place()
            choices.append((self.ui("menu_checkin_continue", number=number, total=total), CHECKIN))
        elif due := self.due_now():
            text = self.ui("menu_checkin_note") + "\n\n" + text
            choices.append((self.ui("menu_checkin_start", count=len(due[0].remaining)), CHECKIN))
        take = lesson_to_take(views)
        if take is not None:
            key = "menu_continue_lesson" if take.status == LessonStatus.IN_PROGRESS else "menu_start_lesson"
            choices.append((self.ui(key, number=take.number, title=take.lesson.title), LESSON))
        elif (upcoming := next_to_open(views)) is not None:
            text = self.not_open_yet(upcoming) + "\n\n" + text
        elif views:
            text = self.ui("all_lessons_done") + "\n\n" + text
        choices.append((self.ui("menu_progress"), PROGRESS))
        if self.unlocked_tools():
            choices.append((self.ui("menu_tools"), TOOLS))
        if self.resources():
            choices.append((self.ui("menu_resources"), RESOURCES))
        if any(v.status == LessonStatus.DONE for v in views):
            choices.append((self.ui("menu_reread"), REREAD))
        choices.append((self.ui("menu_guide"), GUIDE))
        choices.append((self.ui("menu_help"), HELP))
        return text, choices

    def on_menu_choice(self, choice: str, message_id: int | None) -> None:
        step = self.state.step
        if step in (MENU_STEP, CHECKIN) and choice == CHECKIN:
            self.toast(None)
            self.clear_buttons(message_id, self.ui("menu"))
            if self.state.survey is not None:
                self.ask_item(fresh=True)
            elif due := self.due_now():
                self.begin_survey(due[0])
            else:
                self.say("checkin_nothing_due")
                self.show_menu()
        elif (step == CHECKIN and choice == LESSON) or (step == MENU_STEP and choice == LESSON):
            self.toast(None)
            self.clear_buttons(message_id, self.ui("menu"))
            self.open_lesson()
        elif step == MENU_STEP and choice == PROGRESS:
            self.toast(None)
            self.send_progress()
        elif step == MENU_STEP and choice in (RESOURCES, REREAD, TOOLS):
            self.toast(None)
            self.clear_buttons(message_id, self.ui("menu"))
            self.show_menu(step=choice)
        elif step == MENU_STEP and choice == GUIDE:
            self.toast(None)
            self.clear_buttons(message_id, self.ui("menu"))
            self.ask_for_guide_message()
        elif step == MENU_STEP and choice == HELP:
            self.toast(None)
            self.say("help", **self.crisis_context())
        elif step in (REMINDERS_PAGE, TIMEZONE_PAGE):
            self.on_reminders_choice(step, choice, message_id)
        elif step in (RESOURCES, REREAD, TOOLS) and choice == BACK:
            self.toast(None)
            self.show_menu()
        elif step and step.startswith(TOOLS + "/") and choice == BACK:
            self.toast(None)
            self.show_menu(step=TOOLS)
        elif step == TOOLS and choice.startswith(TOOL) and self.is_unlocked(choice.removeprefix(TOOL)):
            self.toast(None)
            self.show_menu(step=f"{TOOLS}/{choice.removeprefix(TOOL)}")
        elif step == f"{TOOLS}/{choice.removeprefix(PAST)}" and choice.startswith(PAST):
            self.toast(None)
            self.send(self.past_entries(self.content.flows[choice.removeprefix(PAST)]))
        elif step == f"{TOOLS}/{choice.removeprefix(OPEN)}" and self.is_unlocked(choice.removeprefix(OPEN)):
            tool = self.content.flows[choice.removeprefix(OPEN)]
            self.toast(None)
            self.clear_buttons(message_id, f"<b>{self.text(tool.title)}</b>")
            self.state = replace(self.state, answers={**self.state.answers, tool.id: {}}, picking=())
            self.go(tool, tool.first)
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
        used = [(tool.title, self.state.entries.get(tool.id, [])) for tool in self.tools()]
        if any(entries for _, entries in used):
            lines.append("")
            for title, entries in used:
                if entries:
                    done = sum(1 for e in entries if e.get("_log") == "done")
                    lines.append(self.ui("progress_tool", title=title, count=len(entries), done=done))
        results = [(q, self.state.scores.get(q.id, [])) for q in self.content.questionnaires.values()]
        if any(rows for _, rows in results):
            lines += ["", self.ui("progress_scores_title")]
            for questionnaire, rows in results:
                if rows:
                    first, latest = rows[0], rows[-1]
                    lines.append(
                        self.ui(
                            "progress_score",
                            name=questionnaire.name,
                            title=questionnaire.title,
                            score=latest["shown"],
                            first=first["shown"] if len(rows) > 1 else "",
                        )
                    )
        return "\n".join(lines)

    def send_progress(self) -> None:
        """Lessons, tools and results in words, then a chart of the scores over time."""
        self.send(self.progress())
        series = []
        for questionnaire in self.content.questionnaires.values():
            rows = self.state.scores.get(questionnaire.id, [])
            if questionnaire.chart and rows:
                low, high = questionnaire.score_range()
                points = tuple((row["date"], float(row["total"])) for row in rows)
                series.append(ChartSeries(f"{questionnaire.name} ({questionnaire.title})", points, low, high))
        if series:
            self.actions.append(SendChart(tuple(series), self.ui("chart_caption")))

    @staticmethod
    def day(moment: date) -> str:
        return f"{moment:%A} {moment.day} {moment:%B}"

    # -- skills tools -------------------------------------------------------------------

    def tools(self) -> list[Flow]:
        return sorted(
            (f for f in self.content.flows.values() if f.kind == "tool"), key=lambda f: (f.unlocked_by or 0, f.title)
        )

    def reached(self) -> int:
        """The highest lesson the patient has started or finished."""
        place = self.state.lesson_place
        current = self.content.flows[place.flow].number or 0 if place and place.flow in self.content.flows else 0
        return max([current, *self.state.lessons_done])

    def unlocked_tools(self) -> list[Flow]:
        reached = self.reached()
        return [tool for tool in self.tools() if (tool.unlocked_by or 0) <= reached]

    def is_unlocked(self, flow_id: str) -> bool:
        return any(tool.id == flow_id for tool in self.unlocked_tools())

    def past_entries(self, tool: Flow) -> str:
        parts = []
        for entry in reversed(self.state.entries.get(tool.id, [])[-SHOW_ENTRIES:]):
            header = self.ui("tool_entry_header", number=entry.get("_number", "?"), date=entry.get("_saved", ""))
            body = render(tool.summary or "", {**self.template_context(), "answers": entry})
            log = entry.get("_log")
            if log:
                body += "\n" + self.ui("log_done" if log == "done" else "log_not")
            parts.append(f"{header}\n{body}")
        return "\n\n".join(parts)

    def pick_view(self, step: PickStep) -> tuple[str, list[tuple[str, str]]]:
        picked = self.state.picking
        choices = [(("✅ " if o.id in picked else "▫️ ") + plain(self.text(o.label)), o.id) for o in step.options]
        choices.append((self.text(step.done), "done"))
        text = self.text(step.text)
        typed = [p.removeprefix(TYPED) for p in picked if p.startswith(TYPED)]
        if typed:
            text += "\n\n" + self.ui("pick_added", items=typed)
        return text, choices

    def on_pick(self, flow: Flow, step: PickStep, choice: str, message_id: int | None) -> None:
        labels = {o.id: plain(self.text(o.label)) for o in step.options}
        if choice == "done":
            chosen = [labels.get(p, p.removeprefix(TYPED)) for p in self.state.picking]
            if not chosen:
                self.toast("pick_something")
                return
            self.toast(None)
            answer = "; ".join(chosen)
            self.state = replace(self.state, picking=())
            self.mark_chosen(message_id, self.text(step.text), answer)
            self.save(flow, step, step.save_as, answer)
            self.go_on(flow, step)
        elif choice in labels:
            self.toast(None)
            picked = self.state.picking
            picked = tuple(p for p in picked if p != choice) if choice in picked else (*picked, choice)
            self.state = replace(self.state, picking=picked)
            text, choices = self.pick_view(step)
            self.edit(message_id, text, choices)
        else:
            self.toast("stale_button")

    def reminder_time(self, day: str, time_of_day: str) -> datetime:
        """The next moment matching the patient's plan, in their time zone (soon, if it has passed)."""
        zone = ZoneInfo(self.state.timezone)
        local_now = self.now.astimezone(zone)
        hours, _, minutes = self.full_content.program.times_of_day.get(time_of_day, "09:30").partition(":")
        date = local_now.date()
        if day == "tomorrow":
            date += timedelta(days=1)
        elif day in WEEKDAYS:
            date += timedelta(days=(WEEKDAYS.index(day) - local_now.weekday()) % 7)
        moment = datetime.combine(date, time(int(hours), int(minutes)), tzinfo=zone)
        if moment <= local_now:
            moment = moment + timedelta(days=7) if day in WEEKDAYS else local_now + timedelta(minutes=5)
        return moment.astimezone(UTC)

    def plan_reminder(self, flow: Flow, entry: dict[str, str], number: int) -> None:
        spec = flow.reminder
        assert spec is not None
        at = self.reminder_time(entry.get(spec.day, "today"), entry.get(spec.time, "morning"))
        text = render(spec.text, {**self.template_context(), "answers": entry})
        data = f"{LOG}{flow.id}:{number}:"
        buttons = (Button(plain(self.ui("log_done")), data + "done"), Button(plain(self.ui("log_not")), data + "not"))
        self.actions.append(Send(text, buttons, at=at, group=REMINDERS))
        local = at.astimezone(ZoneInfo(self.state.timezone))
        self.say("reminder_set", date=self.day(local.date()), time=f"{local:%H:%M}")

    def log_reminder(self, data: str, message_id: int | None) -> None:
        """Done / Not this time on a planned reminder: logged once, whenever it is tapped."""
        tool_id, _, rest = data.partition(":")
        number, _, outcome = rest.partition(":")
        tool = self.content.flows.get(tool_id)
        entries = self.state.entries.get(tool_id, [])
        entry = next((e for e in entries if e.get("_number") == number), None)
        if tool is None or tool.reminder is None or entry is None or outcome not in ("done", "not"):
            self.toast("stale_button")
            return
        if entry.get("_log"):
            self.toast("already_noted")
            return
        logged = {**entry, "_log": outcome}
        updated = [logged if e is entry else e for e in entries]
        self.state = replace(self.state, entries={**self.state.entries, tool_id: updated})
        self.actions.append(SaveAnswer(tool_id, "reminder", f"entry-{number}", outcome))
        self.toast("log_thanks_done" if outcome == "done" else "log_thanks_not")
        label = self.ui("log_done" if outcome == "done" else "log_not")
        self.mark_chosen(message_id, render(tool.reminder.text, {**self.template_context(), "answers": entry}), label)

    def exercise_group(self) -> str:
        return f"breathing-{self.state.prompt}"

    def start_breathing(self, flow: Flow, step: BreathingStep, prompt: int) -> None:
        """One message, its cue rewritten on a timer: in, out, rest, for the minutes chosen."""
        chosen = self.state.answers.get(flow.id, {}).get(step.minutes_from, "3")
        minutes = min(max(int(chosen) if chosen.isdigit() else 3, 1), 10)
        head = self.text(step.text)
        stop = [(self.text(step.stop), "stop")]
        cycle = step.breathe_in + step.breathe_out + step.rest
        breaths = max(1, minutes * 60 // cycle)

        def cue(text: str, breath: int) -> str:
            return f"{head}\n\n<b>{self.text(text)}</b>\n{self.ui('breath_count', number=breath, total=breaths)}"

        group = self.exercise_group()
        edits: list[TimedEdit] = []
        buttons = self.buttons(stop, prompt)
        for breath in range(1, breaths + 1):
            start = (breath - 1) * cycle
            if breath > 1:
                edits.append(TimedEdit(start, cue(step.cue_in, breath), buttons))
            edits.append(TimedEdit(start + step.breathe_in, cue(step.cue_out, breath), buttons))
            if step.rest:
                edits.append(TimedEdit(start + step.breathe_in + step.breathe_out, cue(step.cue_rest, breath), buttons))
        finished = f"{head}\n\n{self.text(step.finished)}"
        edits.append(
            TimedEdit(breaths * cycle, finished, self.buttons([(self.text(step.carry_on), "carry-on")], prompt))
        )
        self.send(cue(step.cue_in, 1), stop, prompt, ref=group)
        self.actions.append(ScheduleEdits(group, group, tuple(edits)))

    def stop_exercise_left_behind(self, before: PatientState) -> None:
        """Leaving a running exercise any other way (menu, /stop, a command) stops its cues."""
        flow = self.content.flows.get(before.flow or "")
        if flow is None or not before.step or not flow.has_step(before.step):
            return
        if not isinstance(flow.step(before.step), BreathingStep):
            return
        moved = (self.state.flow, self.state.step, self.state.prompt) != (before.flow, before.step, before.prompt)
        group = f"breathing-{before.prompt}"
        if moved and not any(isinstance(a, CancelEdits) and a.group == group for a in self.actions):
            self.actions.append(CancelEdits(group))

    # -- questionnaires -------------------------------------------------------------------

    def forget_unknown_survey(self) -> None:
        """A questionnaire in progress that the content no longer has (or has fewer items) is let go."""
        survey = self.state.survey
        if survey is None:
            if self.state.flow == SURVEY:
                self.state = replace(self.state, flow=None, step=None)
            return
        questionnaire = self.content.questionnaires.get(survey.questionnaire)
        if questionnaire is None or survey.index >= len(questionnaire.items):
            flow, step = (None, None) if self.state.flow == SURVEY else (self.state.flow, self.state.step)
            self.state = replace(self.state, survey=None, flow=flow, step=step)

    def due_now(self) -> list[occasions.DueOccasion]:
        """Occasions open now with questionnaires left (that this language has)."""
        if self.state.status != Status.ACTIVE:
            return []
        found = occasions.due(
            self.full_content.program, self.state.consented_at, self.state.timezone, self.now, self.state.surveys_done
        )
        known = self.content.questionnaires
        return [
            replace(d, remaining=tuple(q for q in d.remaining if q in known))
            for d in found
            if any(q in known for q in d.remaining)
        ]

    def announce_checkin(self, event: Due) -> None:
        """A questionnaire occasion has opened: "your check-in is ready", once per occasion."""
        if event.key in self.state.announced:
            return
        ready = next((d for d in self.due_now() if d.occasion.key == event.key), None)
        survey = self.state.survey
        if ready is None or (survey is not None and survey.occasion == event.key):
            return
        self.state = replace(self.state, announced=(*self.state.announced, event.key))
        label = plain(self.ui("checkin_start"))
        text = self.ui("checkin_ready", count=len(ready.remaining))
        self.actions.append(Send(text, (Button(label, READY + event.key),), at=self.now))

    def remind_checkin(self, event: Due) -> None:
        """A check-in announced days ago and not done yet: one gentle reminder, with the same Start button."""
        ready = next((d for d in self.due_now() if d.occasion.key == event.key), None)
        survey = self.state.survey
        if ready is None or (survey is not None and survey.occasion == event.key):
            return
        if not occasions.needs_reminder(ready, local_date(self.now, self.state.timezone), self.state.announced):
            return
        self.state = replace(self.state, announced=(*self.state.announced, occasions.reminded_key(event.key)))
        label = plain(self.ui("checkin_start"))
        text = self.ui("checkin_reminder", count=len(ready.remaining))
        self.actions.append(Send(text, (Button(label, READY + event.key),), at=self.now))

    def start_when_ready(self, key: str, message_id: int | None) -> None:
        """Start on "your check-in is ready": works whenever tapped, unless that check-in is done."""
        survey = self.state.survey
        due = next((d for d in self.due_now() if d.occasion.key == key), None)
        occasion = occasions.find(self.full_content.program, key)
        announced = self.ui("checkin_ready", count=len(due.remaining) if due else len(occasion.give) if occasion else 1)
        if survey is None and due is None:
            self.toast("checkin_already_done")
            self.clear_buttons(message_id, announced)
            return
        self.toast(None)
        self.mark_chosen(message_id, announced, self.ui("checkin_start"))
        if survey is not None:
            self.ask_item(fresh=True)
        elif due is not None:
            self.begin_survey(due)

    def questionnaire(self) -> tuple[Survey, Questionnaire]:
        survey = self.state.survey
        assert survey is not None
        return survey, self.content.questionnaires[survey.questionnaire]

    def survey_place(self) -> tuple[int, int, Questionnaire]:
        survey, questionnaire = self.questionnaire()
        return survey.index + 1, len(questionnaire.items), questionnaire

    def begin_survey(self, due: occasions.DueOccasion) -> None:
        name, *rest = due.remaining
        self.state = replace(self.state, survey=Survey(due.occasion.key, name, queue=tuple(rest)))
        self.send(self.text(self.content.questionnaires[name].intro))
        self.ask_item(fresh=True)

    def ask_item(self, *, fresh: bool) -> None:
        """One item per message: where we are ("3 of 9"), the stem, the item, its answers and Back."""
        survey, questionnaire = self.questionnaire()
        item = questionnaire.items[survey.index]
        prompt = self.next_prompt() if fresh else self.state.prompt
        self.state = replace(self.state, flow=SURVEY, step=f"{questionnaire.id}/{item.id}"[:64], awaiting="button")
        choices = [(option.label, f"{ANSWER}{option.value}") for option in questionnaire.answers(item)]
        if survey.index > 0:
            choices.append((self.ui("survey_back"), ITEM_BACK))
        self.send(self.item_text(), choices, prompt, per_row=6 if item.scale else 1)

    def item_text(self) -> str:
        survey, questionnaire = self.questionnaire()
        item = questionnaire.items[survey.index]
        parts = [self.ui("survey_progress", number=survey.index + 1, total=len(questionnaire.items))]
        if questionnaire.stem:
            parts.append(self.text(questionnaire.stem))
        parts.append(f"<b>{self.text(item.text)}</b>")
        if item.scale:
            parts.append(
                self.ui(
                    "survey_scale", min=item.scale.min, max=item.scale.max, low=item.scale.low, high=item.scale.high
                )
            )
        return "\n\n".join(parts)

    def on_item_choice(self, choice: str, message_id: int | None) -> None:
        survey, questionnaire = self.questionnaire()
        item = questionnaire.items[survey.index]
        if choice == ITEM_BACK and survey.index > 0:
            self.toast(None)
            self.clear_buttons(message_id, self.item_text())
            self.state = replace(self.state, survey=replace(survey, index=survey.index - 1))
            self.ask_item(fresh=True)
            return
        value = choice.removeprefix(ANSWER) if choice.startswith(ANSWER) else None
        option = next((o for o in questionnaire.answers(item) if str(o.value) == value), None)
        if option is None:
            self.toast("stale_button")
            return
        self.toast(None)
        self.mark_chosen(message_id, self.item_text(), option.label)
        survey = replace(survey, answers={**survey.answers, item.id: option.value})
        survey = self.watch_answers(questionnaire, survey, option.label)
        if survey.index + 1 < len(questionnaire.items):
            self.state = replace(self.state, survey=replace(survey, index=survey.index + 1))
            self.ask_item(fresh=True)
        else:
            self.state = replace(self.state, survey=survey)
            self.finish_questionnaire()

    def watch_answers(self, questionnaire: Questionnaire, survey: Survey, label: str) -> Survey:
        """A risk answer (PHQ-9 item 9 above 0): the safety message at once and an alert to the guides;
        raised once per questionnaire, again only if a later answer is more urgent."""
        rule = scoring.risk(questionnaire, survey.answers)
        if rule is None or scoring.LEVELS[rule.level] <= scoring.LEVELS.get(survey.alerted or "", 0):
            return survey
        self.actions.append(Send(self.ui("survey_safety_message", **self.crisis_context()), urgent=True))
        reason = f"{rule.reason}: answered “{plain(label)}” ({questionnaire.title}, {survey.occasion})"
        self.actions.append(RaiseAlert(rule.level, reason))
        return replace(survey, alerted=rule.level)

    def finish_questionnaire(self) -> None:
        survey, questionnaire = self.questionnaire()
        result = scoring.score(questionnaire, survey.answers)
        history = self.state.scores.get(questionnaire.id, [])
        baseline = next((row for row in history if row["occasion"] == "baseline"), history[0] if history else None)
        change = result.total - float(baseline["total"]) if result.total is not None and baseline else None
        shown = scoring.shown(questionnaire, result.total)
        self.actions.append(
            SaveResult(questionnaire.id, survey.occasion, dict(survey.answers), result.total, shown,
                       result.band.id if result.band else None, dict(result.subscales), change)
        )  # fmt: skip
        done = (*self.state.surveys_done, occasions.done_key(survey.occasion, questionnaire.id))
        self.state = replace(self.state, surveys_done=done)
        if result.total is not None:
            row = {
                "occasion": survey.occasion,
                "date": local_date(self.now, self.state.timezone).isoformat(),
                "total": f"{result.total:.4g}",
                "shown": shown,
            }
            self.state = replace(
                self.state, scores={**self.state.scores, questionnaire.id: [*history, row][-KEEP_SCORES:]}
            )
        self.send(self.text(result.band.message) if result.band else self.ui("survey_thanks"))
        if change is None:
            change_text = self.ui("staff_result_first") if result.total is not None else ""
        else:
            change_text = self.ui("staff_result_change", change=f"{change:+.{questionnaire.scoring.decimals}f}",
                                  baseline=baseline["shown"] if baseline else "")  # fmt: skip
        self.actions.append(
            NotifyStaff(
                self.ui("staff_result", code=self.state.code, title=questionnaire.title, occasion=survey.occasion,
                        score=shown, band=result.band.label if result.band else result.problem, change=change_text)
            )
        )  # fmt: skip
        if result.total is not None:
            self.check_stepped_care(questionnaire, survey.occasion, shown)
        if survey.queue:
            following = self.content.questionnaires.get(survey.queue[0])
            rest = survey.queue[1:]
            if following is None:
                self.state = replace(self.state, survey=replace(survey, queue=rest))
                self.finish_questionnaire_queue()
                return
            self.state = replace(self.state, survey=Survey(survey.occasion, following.id, queue=rest))
            self.send(self.text(following.intro))
            self.ask_item(fresh=True)
            return
        self.finish_questionnaire_queue()

    def finish_questionnaire_queue(self) -> None:
        self.state = replace(self.state, survey=None)
        self.say("checkin_done")
        self.show_menu()

    def check_stepped_care(self, questionnaire: Questionnaire, occasion: str, shown: str) -> None:
        """Rules met by this patient's results (PHQ-9 of 20+, a rise since baseline ...): flag once per occasion."""
        history = {q: [float(row["total"]) for row in rows] for q, rows in self.state.scores.items()}
        for rule in stepped_care.rules_met(self.full_content.program.stepped_care, history, questionnaire.id):
            key = f"{rule.id}/{occasion}"
            if key in self.state.flagged:
                continue
            self.state = replace(self.state, flagged=(*self.state.flagged, key))
            text = self.ui("staff_flag", code=self.state.code, reason=rule.reason, title=questionnaire.title,
                           score=shown, occasion=occasion)  # fmt: skip
            self.actions.append(FlagForReview(rule.id, occasion, rule.reason, text))

    # -- what the scheduler found due, and /reminders -------------------------------------

    def on_due(self, event: Due) -> None:
        """Something the scheduler found due: a message of the timetable, or a check-in that is ready."""
        if event.kind in due.KINDS:
            self.on_timetable(event)
        elif event.kind == "questionnaire":
            self.announce_checkin(event)
        elif event.kind == "questionnaire_overdue":
            self.remind_checkin(event)

    def on_timetable(self, event: Due) -> None:
        """A timed message from the timetable: sent only if it still applies; it never moves the
        patient's place."""
        if not due.applies(self.state, self.full_content, event.kind, event.key, self.now):
            return
        number = event.key.partition(":")[0]
        if event.kind in (due.RELEASE, due.NUDGE):
            lesson = self.content.lesson(int(number))
            title = lesson.title if lesson else ""
            days = event.key.partition(":")[2]
            key = "due_lesson_released" if event.kind == due.RELEASE else "due_nudge"
            button = Button(plain(self.ui("due_start_lesson", number=number)), GO_LESSON)
            self.actions.append(Send(self.ui(key, number=number, title=title, days=days), (button,)))
        elif event.kind == due.BEHIND:
            button = Button(plain(self.ui("due_continue_lesson")), GO_LESSON)
            self.actions.append(Send(self.ui("due_behind"), (button,)))
        elif event.kind == due.PRACTICE:
            self.say("due_practice")
        elif event.kind == due.CHECKIN:
            week = event.key.removeprefix("week-")
            buttons = tuple(
                Button(plain(self.ui(f"guide_checkin_{answer}")), f"{WEEKLY}{week}:{answer}")
                for answer in WEEKLY_ANSWERS
            )
            self.actions.append(Send(self.ui("due_guide_checkin", week=week), buttons, per_row=3))

    def answer_guide_checkin(self, data: str, message_id: int | None) -> None:
        """A tap on the weekly check-in: noted once, and passed to the guides."""
        week, _, answer = data.partition(":")
        if not week.isdigit() or answer not in WEEKLY_ANSWERS:
            self.toast("stale_button")
            return
        key = f"week-{week}"
        if key in self.state.answers.get("guide_checkin", {}):
            self.toast("already_noted")
            return
        label = self.ui(f"guide_checkin_{answer}")
        self.state = self.state.with_answer("guide_checkin", key, answer)
        self.actions.append(SaveAnswer("guide_checkin", key, "answer", answer))
        self.actions.append(
            NotifyStaff(
                render(
                    self.content.ui["staff_guide_checkin"],
                    {"code": self.state.code, "week": week, "answer": plain(label)},
                )
            )
        )
        self.toast("guide_checkin_thanks")
        self.mark_chosen(message_id, self.ui("due_guide_checkin", week=week), label)
        if answer == "hard":
            self.say("guide_checkin_hard_reply")

    def reminders_page(self) -> tuple[str, list[tuple[str, str]]]:
        schedule = self.full_content.program.schedule
        chosen = self.state.reminder_time or schedule.practice_at
        paused_until = self.state.reminders_paused_until
        is_paused = paused_until is not None and self.now < paused_until
        mode = "off" if self.state.reminders_off else "paused" if is_paused else "on"
        until = self.day(local_date(paused_until, self.state.timezone)) if paused_until and is_paused else ""
        text = self.ui("reminders_page", time=chosen, mode=mode, until=until, zone=describe(self.state.timezone))
        choices = [
            (("✅ " if t == chosen else "") + self.ui("reminders_time", time=t), SET_TIME + t)
            for t in schedule.practice_times
        ]
        if self.state.reminders_off:
            choices.append((self.ui("reminders_on"), ON))
        else:
            choices.append((self.ui("reminders_resume"), RESUME) if is_paused else (self.ui("reminders_pause"), PAUSE))
            choices.append((self.ui("reminders_off"), OFF))
        choices.append((self.ui("reminders_timezone", zone=describe(self.state.timezone)), TIMEZONE_PAGE))
        choices.append((self.ui("menu_back"), BACK))
        return text, choices

    def on_reminders_choice(self, step: str, choice: str, message_id: int | None) -> None:
        schedule = self.full_content.program.schedule
        if choice == BACK:
            self.toast(None)
            self.show_menu(step=REMINDERS_PAGE if step == TIMEZONE_PAGE else MENU_STEP)
            return
        if step == TIMEZONE_PAGE:
            zone = self.zone_of(choice)
            if zone is None:
                self.toast("stale_button")
                return
            self.toast(None)
            self.set_zone(zone)
            self.show_menu(step=REMINDERS_PAGE)
            return
        if choice.startswith(SET_TIME) and choice.removeprefix(SET_TIME) in schedule.practice_times:
            chosen = choice.removeprefix(SET_TIME)
            self.state = replace(self.state, reminder_time=chosen, reminders_off=False)
            self.toast(None)
            self.say("reminders_time_set", time=chosen)
        elif choice == PAUSE:
            until = self.now + due.PAUSE
            self.state = replace(self.state, reminders_paused_until=until)
            self.toast(None)
            self.say("reminders_paused", date=self.day(local_date(until, self.state.timezone)))
        elif choice == RESUME:
            self.state = replace(self.state, reminders_paused_until=None)
            self.toast(None)
            self.say("reminders_resumed")
        elif choice == OFF:
            self.state = replace(self.state, reminders_off=True, reminders_paused_until=None)
            self.toast(None)
            self.say("reminders_turned_off")
        elif choice == ON:
            self.state = replace(self.state, reminders_off=False)
            self.toast(None)
            self.say("reminders_turned_on")
        elif choice == TIMEZONE_PAGE:
            self.toast(None)
            self.show_menu(step=TIMEZONE_PAGE)
            return
        else:
            self.toast("stale_button")
            self.show_current()
            return
        self.show_menu(step=REMINDERS_PAGE)

    def zone_choices(self) -> list[tuple[str, str]]:
        """The time zones of the patient's country, and the one they have now if it is not among them."""
        zones = self.content.crisis.for_country(self.state.country).timezones
        choices = [(z.label, f"{ZONE}{i}") for i, z in enumerate(zones)]
        if all(z.zone != self.state.timezone for z in zones):
            choices.insert(0, (self.ui("timezone_keep", zone=describe(self.state.timezone)), ZONE_KEEP))
        return choices

    def zone_of(self, choice: str) -> str | None:
        if choice == ZONE_KEEP:
            return self.state.timezone
        zones = self.content.crisis.for_country(self.state.country).timezones
        index = choice.removeprefix(ZONE)
        return zones[int(index)].zone if index.isdigit() and int(index) < len(zones) else None

    def set_zone(self, zone: str) -> None:
        self.state = replace(self.state, timezone=zone)
        local = self.now.astimezone(ZoneInfo(zone))
        self.say("timezone_set", zone=describe(zone), time=f"{local:%H:%M}")

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
        elif isinstance(step, ChoiceStep) and step.profile == "timezone":
            choices = [*self.zone_choices(), *((o.label, o.id) for o in step.options)]
        elif isinstance(step, ChoiceStep | QuizStep):
            choices = [(o.label, o.id) for o in step.options]
        elif isinstance(step, QuestionStep):
            awaiting = "text"
            if step.skip:
                choices = [(step.skip, "skip")]
        elif isinstance(step, ScaleStep):
            self.state = replace(self.state, awaiting="button")
            values = [(str(v), str(v)) for v in step.values()]
            self.send(self.text(step.text), values, prompt, per_row=6 if len(values) > 6 else len(values))
            return
        elif isinstance(step, PickStep):
            self.state = replace(self.state, awaiting="button")
            text, picks = self.pick_view(step)
            self.send(text, picks, prompt)
            return
        elif isinstance(step, BreathingStep):
            self.state = replace(self.state, awaiting="button")
            self.start_breathing(flow, step, prompt)
            return
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
            finished_at = {str(flow.number or 0): self.now.isoformat(), **self.state.lessons_finished_at}
            self.state = replace(
                self.state,
                lessons_done=done,
                lesson_place=None if finished_here else place,
                lessons_finished_at=finished_at,
            )
            self.show_menu()
        elif step.outcome == "resource_done":
            self.show_menu()
        elif step.outcome == "entry_saved":
            earlier = self.state.entries.get(flow.id, [])
            number = int(earlier[-1].get("_number", len(earlier))) + 1 if earlier else 1
            entry = {
                **self.state.answers.get(flow.id, {}),
                "_saved": self.day(local_date(self.now, self.state.timezone)),
                "_number": str(number),
            }
            recent = [*earlier, entry][-KEEP_ENTRIES:]
            self.actions.append(SaveEntry(flow.id, entry))
            if flow.reminder is not None:
                self.plan_reminder(flow, entry, number)
            self.state = replace(self.state, entries={**self.state.entries, flow.id: recent}, picking=())
            self.show_menu(step=f"{TOOLS}/{flow.id}")

    def show_current(self, *, fresh: bool = False) -> None:
        """Show again what the patient is being asked now; `fresh` makes older buttons stale."""
        if self.state.overlay == "stop":
            self.ask_stop()
            return
        if self.state.overlay == "guide":
            self.ask_for_guide_message(fresh=fresh)
            return
        if self.state.overlay == "guide_confirm":
            self.state = replace(self.state, awaiting="button")
            self.send_offer(self.next_prompt() if fresh else self.state.prompt)
            return
        if self.state.flow == MENU:
            self.show_menu(fresh=fresh, step=self.state.step or MENU_STEP)
            return
        if self.state.flow == SURVEY and self.state.survey is not None:
            self.ask_item(fresh=fresh)
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

    def send(
        self,
        text: str,
        choices: list[tuple[str, str]] | None = None,
        prompt: int = 0,
        *,
        per_row: int = 1,
        ref: str | None = None,
    ) -> None:
        self.actions.append(Send(text, self.buttons(choices, prompt), per_row=per_row, ref=ref))

    @staticmethod
    def buttons(choices: list[tuple[str, str]] | None, prompt: int) -> tuple[Button, ...]:
        return tuple(Button(plain(label), callbacks.encode(prompt, data)) for label, data in choices or ())

    def edit(self, message_id: int | None, text: str, choices: list[tuple[str, str]] | None = None) -> None:
        if message_id is not None:
            self.actions.append(Edit(message_id, text, self.buttons(choices, self.state.prompt)))

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
        }

    def text(self, template: str) -> str:
        return render(template, self.template_context())
