"""The timetable: what the scheduler found due (a lesson released, nudges, the week-2 note, the
daily practice reminder, the guide's weekly message and its answers), the Start button of those
messages, and /reminders with its time-zone page. What is due and when is dialogs/due.py; here,
what the patient gets when it comes, if it still applies. A timed message never moves the
patient's place, and its buttons carry no prompt number, so they work whatever they do meanwhile."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import ClassVar

from content.render import plain, render
from dialogs import due, profile
from dialogs.actions import Button, NotifyStaff, SaveAnswer, Send
from dialogs.events import Command, Due
from dialogs.programme import local_date
from dialogs.stage import LESSON_CHOICE, Gate, Stage
from dialogs.state import MENU_STEP
from dialogs.timezones import describe, parse_timezone
from dialogs.turn import Choices, Turn

# Stored names, kept for compatibility (in the buttons of patients' old messages, answer rows and
# due_event rows): the weekly message was once the guide's "check-in".
GO_LESSON = "go:lesson"  # Start on a lesson's release (and nudge) message
WEEKLY = "weekly:"  # an answer to the guide's weekly message: weekly:<week>:<answer>
WEEKLY_MESSAGE = due.WEEKLY_MESSAGE  # the due kind of the guide's weekly message ("guide_checkin")
WEEKLY_ANSWERS_FLOW = "guide_checkin"  # where weekly answers are kept (state answers, answer rows)
WEEKLY_ANSWERS = ("well", "okay", "hard")

REMINDERS_PAGE, TIMEZONE_PAGE = "reminders", "reminders/timezone"  # menu pages
SET_TIME, PAUSE, RESUME, OFF, ON, BACK = "time:", "pause", "resume", "off", "on", "back"  # choices on them


class TimetableStage(Stage):
    name = "timetable"
    pages = frozenset({REMINDERS_PAGE, TIMEZONE_PAGE})
    commands: ClassVar[Mapping[str, Gate]] = {"reminders": Gate.CONSENTED}
    buttons = frozenset({GO_LESSON, WEEKLY})
    due_kinds = due.KINDS

    # -- what came due --------------------------------------------------------------------

    def on_due(self, turn: Turn, event: Due) -> None:
        """A timed message from the timetable: sent only if it still applies."""
        if not due.applies(turn.state, turn.full_content, event.kind, event.key, turn.now):
            return
        number = event.key.partition(":")[0]
        if event.kind in (due.RELEASE, due.NUDGE):
            lesson = turn.content.lesson(int(number))
            title = lesson.title if lesson else ""
            days = event.key.partition(":")[2]
            key = "due_lesson_released" if event.kind == due.RELEASE else "due_nudge"
            button = Button(plain(turn.ui("due_start_lesson", number=number)), GO_LESSON)
            turn.actions.append(Send(turn.ui(key, number=number, title=title, days=days), (button,)))
        elif event.kind == due.BEHIND:
            button = Button(plain(turn.ui("due_continue_lesson")), GO_LESSON)
            turn.actions.append(Send(turn.ui("due_behind"), (button,)))
        elif event.kind == due.PRACTICE:
            turn.say("due_practice")
        elif event.kind == WEEKLY_MESSAGE:
            week = event.key.removeprefix("week-")
            buttons = tuple(
                Button(plain(turn.ui(f"guide_weekly_{answer}")), f"{WEEKLY}{week}:{answer}")
                for answer in WEEKLY_ANSWERS
            )
            turn.actions.append(Send(turn.ui("guide_weekly_message", week=week), buttons, per_row=3))

    def on_button(self, turn: Turn, data: str, message_id: int | None) -> None:
        if data == GO_LESSON:
            turn.state = replace(turn.state, overlay=None)
            turn.choose(LESSON_CHOICE, None)  # as the menu's lesson button does
        else:
            self.answer_weekly(turn, data.removeprefix(WEEKLY), message_id)

    def answer_weekly(self, turn: Turn, data: str, message_id: int | None) -> None:
        """A tap on the guide's weekly message: noted once, and passed to the guides."""
        week, _, answer = data.partition(":")
        if not week.isdigit() or answer not in WEEKLY_ANSWERS:
            turn.toast("stale_button")
            return
        key = f"week-{week}"
        if key in turn.state.answers.get(WEEKLY_ANSWERS_FLOW, {}):
            turn.toast("already_noted")
            return
        label = turn.ui(f"guide_weekly_{answer}")
        turn.state = turn.state.with_answer(WEEKLY_ANSWERS_FLOW, key, answer)
        turn.actions.append(SaveAnswer(WEEKLY_ANSWERS_FLOW, key, "answer", answer))
        context = {"code": turn.state.code, "week": week, "answer": plain(label)}
        turn.actions.append(NotifyStaff(render(turn.content.ui["staff_guide_weekly"], context)))
        turn.toast("guide_weekly_thanks")
        turn.mark_chosen(message_id, turn.ui("guide_weekly_message", week=week), label)
        if answer == "hard":
            turn.say("guide_weekly_hard_reply")

    # -- /reminders -----------------------------------------------------------------------

    def on_command(self, turn: Turn, command: Command) -> None:
        turn.show_menu(page=REMINDERS_PAGE)

    def page(self, turn: Turn, page: str) -> tuple[str, Choices] | None:
        if page == TIMEZONE_PAGE:
            text = turn.ui("timezone_question", zone=describe(turn.state.timezone))
            return text, [*profile.zone_choices(turn), (turn.ui("menu_back"), BACK)]
        schedule = turn.full_content.program.schedule
        state = turn.state
        chosen = state.reminder_time or schedule.practice_at
        paused_until = state.reminders_paused_until
        is_paused = paused_until is not None and turn.now < paused_until
        mode = "off" if state.reminders_off else "paused" if is_paused else "on"
        until = turn.day(local_date(paused_until, state.timezone)) if paused_until and is_paused else ""
        text = turn.ui("reminders_page", time=chosen, mode=mode, until=until, zone=describe(state.timezone))
        choices = [
            (("✅ " if t == chosen else "") + turn.ui("reminders_time", time=t), SET_TIME + t)
            for t in schedule.practice_times
        ]
        if state.reminders_off:
            choices.append((turn.ui("reminders_on"), ON))
        else:
            choices.append((turn.ui("reminders_resume"), RESUME) if is_paused else (turn.ui("reminders_pause"), PAUSE))
            choices.append((turn.ui("reminders_off"), OFF))
        choices.append((turn.ui("reminders_timezone", zone=describe(state.timezone)), TIMEZONE_PAGE))
        choices.append((turn.ui("menu_back"), BACK))
        return text, choices

    def page_tap(self, turn: Turn, page: str, choice: str, message_id: int | None) -> None:
        if choice == BACK:
            turn.toast(None)
            turn.show_menu(page=REMINDERS_PAGE if page == TIMEZONE_PAGE else MENU_STEP)
            return
        if page == TIMEZONE_PAGE:
            zone = profile.zone_of(turn, choice)
            if zone is None:
                turn.toast("stale_button")
                return
            turn.toast(None)
            profile.set_zone(turn, zone)
            turn.show_menu(page=REMINDERS_PAGE)
            return
        times = turn.full_content.program.schedule.practice_times
        if choice.startswith(SET_TIME) and choice.removeprefix(SET_TIME) in times:
            chosen = choice.removeprefix(SET_TIME)
            turn.state = replace(turn.state, reminder_time=chosen, reminders_off=False)
            turn.toast(None)
            turn.say("reminders_time_set", time=chosen)
        elif choice == PAUSE:
            until = turn.now + due.PAUSE
            turn.state = replace(turn.state, reminders_paused_until=until)
            turn.toast(None)
            turn.say("reminders_paused", date=turn.day(local_date(until, turn.state.timezone)))
        elif choice == RESUME:
            turn.state = replace(turn.state, reminders_paused_until=None)
            turn.toast(None)
            turn.say("reminders_resumed")
        elif choice == OFF:
            turn.state = replace(turn.state, reminders_off=True, reminders_paused_until=None)
            turn.toast(None)
            turn.say("reminders_turned_off")
        elif choice == ON:
            turn.state = replace(turn.state, reminders_off=False)
            turn.toast(None)
            turn.say("reminders_turned_on")
        elif choice == TIMEZONE_PAGE:
            turn.toast(None)
            turn.show_menu(page=TIMEZONE_PAGE)
            return
        else:
            turn.stale()
            return
        turn.show_menu(page=REMINDERS_PAGE)

    def page_text(self, turn: Turn, page: str, text: str, message_id: int | None) -> bool:
        """A city or UTC offset typed on the time-zone page."""
        if page != TIMEZONE_PAGE:
            return False
        zone = parse_timezone(text)
        if zone is None:
            turn.say("timezone_unknown")
            turn.show_current()
        else:
            profile.set_zone(turn, zone)
            turn.show_menu(page=REMINDERS_PAGE)
        return True
