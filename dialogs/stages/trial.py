"""A programme run as a trial: allocation once the baseline is done (the coach allocates, then
tells the engine the arm), the waiting list's kind notes while they wait, and the course offered
to them once their follow-up is done, on a timetable of their own from the day they start it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from dialogs.actions import Allocate
from dialogs.allocation import COURSE, WAITLIST
from dialogs.enrolment import baseline, last_occasion, occasion_done
from dialogs.events import Due
from dialogs.programme import local_date
from dialogs.scoring import band_for
from dialogs.stage import Stage
from dialogs.state import PatientState, Status
from dialogs.turn import MenuButton, MenuNote, Turn

ALLOCATED = "allocated"  # the due kind the coach sends once it has allocated (key: the arm)
START_COURSE = "start_course"  # the waiting list's main-menu choice, after follow-up
START_BUTTON = "course:start"  # the same, on the message that offers it (not tied to a prompt)


class TrialStage(Stage):
    name = "trial"
    due_kinds = frozenset({ALLOCATED})
    menu_choices = frozenset({START_COURSE})
    buttons = frozenset({START_BUTTON})

    # -- allocation ------------------------------------------------------------------------

    def after(self, turn: Turn, before: PatientState) -> None:
        state = turn.state
        if state.programme != "trial" or state.status != Status.ACTIVE:
            return
        first = baseline(turn.full_content.program)
        if state.arm is None and first is not None and occasion_done(state, first) and not occasion_done(before, first):
            turn.actions.append(Allocate(state.site, self.phq9_band(turn)))
        last = last_occasion(turn.full_content.program)
        if (
            state.waiting_list and state.course_from is None and last is not None
            and occasion_done(state, last) and not occasion_done(before, last)
        ):  # fmt: skip
            turn.send(turn.ui("waitlist_course_ready"), [(turn.ui("waitlist_start_course"), START_BUTTON)])

    @staticmethod
    def phq9_band(turn: Turn) -> str | None:
        questionnaire = turn.content.questionnaires.get("phq9")
        rows = turn.state.scores.get("phq9", [])
        if questionnaire is None or not rows:
            return None
        band = band_for(questionnaire, float(rows[0]["total"]))
        return band.id if band else None

    def on_due(self, turn: Turn, event: Due) -> None:
        if turn.state.programme != "trial" or event.key not in (COURSE, WAITLIST):
            return
        turn.state = replace(turn.state, arm=event.key, course_from=turn.now if event.key == COURSE else None)
        if event.key == COURSE:
            turn.say("allocated_course")
        else:
            turn.say("allocated_waitlist", date=self.follow_up_date(turn))
        turn.show_menu()

    def follow_up_date(self, turn: Turn) -> str:
        last = last_occasion(turn.full_content.program)
        consented = turn.state.consented_at or turn.now
        if last is None:
            return ""
        return turn.day(local_date(consented, turn.state.timezone) + timedelta(days=last.day))

    # -- the waiting list --------------------------------------------------------------------

    def ready_for_course(self, turn: Turn) -> bool:
        last = last_occasion(turn.full_content.program)
        state = turn.state
        return state.waiting_list and state.course_from is None and last is not None and occasion_done(state, last)

    def main_menu(self, turn: Turn) -> Sequence[MenuButton | MenuNote]:
        state = turn.state
        if state.programme != "trial" or not state.consented:
            return ()
        if self.ready_for_course(turn):
            return (MenuButton(15, turn.ui("waitlist_start_course"), START_COURSE),)
        if state.waiting_list and state.course_from is None:
            return (MenuNote(5, turn.ui("waitlist_note", date=self.follow_up_date(turn))),)
        return ()

    def on_menu_choice(self, turn: Turn, choice: str, message_id: int | None) -> None:
        turn.toast(None)
        self.start_course(turn)

    def on_button(self, turn: Turn, data: str, message_id: int | None) -> None:
        turn.toast(None)
        turn.clear_buttons(message_id, turn.ui("waitlist_course_ready"))
        self.start_course(turn)

    def start_course(self, turn: Turn) -> None:
        if not self.ready_for_course(turn):
            if turn.state.lessons_from is None:
                turn.say("lessons_waiting_list")
            turn.show_menu()
            return
        turn.state = replace(turn.state, course_from=turn.now)
        turn.say("waitlist_course_started")
        turn.show_menu()
