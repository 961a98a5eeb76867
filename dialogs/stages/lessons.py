"""Lessons and extra reading: opening the lesson to take (or saying when the next one opens),
reading finished lessons again, the extra reading and read-again pages, and what the end of a
lesson or a resource means."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import ClassVar

from content.render import plain
from content.schema import EndStep, Flow, MessageStep, Step
from dialogs import steps
from dialogs.actions import Button, Send, SendHandout
from dialogs.events import Command
from dialogs.programme import LessonStatus, LessonView, lesson_to_take, lesson_views, next_to_open
from dialogs.stage import LESSON_CHOICE, Gate, Stage
from dialogs.state import Place
from dialogs.turn import Choices, MenuButton, MenuNote, ProgressPart, Turn

RESOURCES, REREAD = "resources", "reread"  # menu pages, and the main-menu choices that open them
READ, HANDOUT = (
    "read:",
    "pdf:",
)  # a lesson's extra reading (read:<resource>) and its PDF (pdf:<lesson>), not tied to a prompt
OPEN, BACK = "open:", "back"  # choices on those pages: open:<flow>, and back to the main page


class LessonsStage(Stage):
    name = "lessons"
    pages = frozenset({RESOURCES, REREAD})
    flow_kinds = frozenset({"lesson", "resource"})
    commands: ClassVar[Mapping[str, Gate]] = {"lesson": Gate.CONSENTED, "resources": Gate.CONSENTED}
    outcomes = frozenset({"lesson_complete", "resource_done"})
    buttons = frozenset({READ, HANDOUT})
    menu_choices = frozenset({LESSON_CHOICE, RESOURCES, REREAD})

    def on_command(self, turn: Turn, command: Command) -> None:
        if command.name == "resources":
            turn.show_menu(page=RESOURCES)
        elif (page := turn.interrupted_page()) is not None:
            turn.show_menu(page=page)  # a questionnaire was left part way: offer to carry on
        else:
            self.open_lesson(turn)  # when no lesson can be taken yet, the menu it shows offers a due questionnaire

    def on_menu_choice(self, turn: Turn, choice: str, message_id: int | None) -> None:
        turn.toast(None)
        turn.clear_buttons(message_id, turn.ui("menu"))
        if choice == LESSON_CHOICE:
            self.open_lesson(turn)
        else:
            turn.show_menu(page=choice)

    def open_lesson(self, turn: Turn) -> None:
        """The lesson the patient is taking, where they left it; or the next open one; or when it opens."""
        place = turn.state.lesson_place
        if place is not None and turn.state.place == place:
            turn.show_current(fresh=True)
            return
        if place is not None and place.flow in turn.content.flows:
            turn.state = replace(turn.state, flow=place.flow, step=place.step)
            turn.show_current(fresh=True)
            return
        views = self.views(turn)
        take = lesson_to_take(views)
        if take is not None:
            steps.go(turn, take.lesson, take.lesson.first)
            return
        upcoming = next_to_open(views)
        turn.send(self.not_open_yet(turn, upcoming) if upcoming else turn.ui("all_lessons_done"))
        turn.show_menu()

    def on_arrive(self, turn: Turn, flow: Flow, step: Step) -> None:
        """Where the patient is in the lesson they are taking (not in one they read again)."""
        if flow.kind == "lesson" and flow.number not in turn.state.lessons_done:
            turn.state = replace(turn.state, lesson_place=Place(flow.id, step.id))

    def on_outcome(self, turn: Turn, flow: Flow, step: EndStep) -> None:
        if step.outcome == "lesson_complete":
            done = tuple(sorted({*turn.state.lessons_done, flow.number or 0}))
            place = turn.state.lesson_place
            finished_here = place is not None and place.flow == flow.id
            finished_at = {str(flow.number or 0): turn.now.isoformat(), **turn.state.lessons_finished_at}
            turn.state = replace(
                turn.state,
                lessons_done=done,
                lesson_place=None if finished_here else place,
                lessons_finished_at=finished_at,
            )
            self.offer_extras(turn, flow)
        turn.show_menu()

    # -- a lesson's extra reading and its handout -----------------------------------------

    def offer_extras(self, turn: Turn, lesson: Flow) -> None:
        """After a lesson: the extra reading that fits it, and its key points and DIY guide as a PDF."""
        readings = [turn.content.flows[r] for r in lesson.reading if r in turn.content.flows]
        buttons = [Button(plain(r.title), READ + r.id) for r in readings]
        if lesson.handout is not None:
            buttons.append(Button(plain(turn.ui("lesson_handout_button")), HANDOUT + lesson.id))
        if buttons:
            text = turn.ui("lesson_extras", number=lesson.number, readings=[r.title for r in readings])
            turn.actions.append(Send(text, tuple(buttons)))

    def on_button(self, turn: Turn, data: str, message_id: int | None) -> None:
        if data.startswith(READ):
            resource = turn.content.flows.get(data.removeprefix(READ))
            if resource is None or resource.kind != "resource":
                turn.toast("stale_button")
                return
            turn.toast(None)
            steps.go(turn, resource, resource.first)
            return
        lesson = turn.content.flows.get(data.removeprefix(HANDOUT))
        place = turn.state.lesson_place
        reached = lesson is not None and (
            (lesson.number or 0) in turn.state.lessons_done or (place is not None and place.flow == lesson.id)
        )
        if lesson is None or lesson.handout is None or not reached:
            turn.toast("stale_button")
            return
        turn.toast("lesson_handout_coming")
        turn.actions.append(self.handout(turn, lesson))

    @staticmethod
    def handout(turn: Turn, lesson: Flow) -> SendHandout:
        """The lesson's key points and DIY guide, their texts as the lesson shows them, as plain text."""
        assert lesson.handout is not None

        def texts(step_ids: tuple[str, ...]) -> str:
            parts = []
            for step_id in step_ids:
                step = lesson.step(step_id)
                text = getattr(step, "text", "")
                parts.append(plain(turn.text(text)).strip() if isinstance(step, MessageStep) or text else "")
            return "\n\n".join(p for p in parts if p)

        number = lesson.number or 0
        return SendHandout(
            filename=f"lesson-{number}.pdf",
            title=plain(turn.ui("lesson_handout_title", number=number, title=lesson.title)),
            sections=(
                (plain(turn.ui("lesson_handout_key_points")), texts(lesson.handout.key_points)),
                (plain(turn.ui("lesson_handout_diy")), texts(lesson.handout.diy)),
            ),
            caption=turn.ui("lesson_handout_caption", number=number, title=lesson.title),
        )

    # -- the pages ------------------------------------------------------------------------

    def page(self, turn: Turn, page: str) -> tuple[str, Choices] | None:
        if page == RESOURCES:
            text = turn.ui("resources_intro")
            choices = [(flow.title, OPEN + flow.id) for flow in self.resources(turn)]
        else:
            text = turn.ui("reread_intro")
            choices = [
                (turn.ui("reread_lesson", number=v.number, title=v.lesson.title), OPEN + v.lesson.id)
                for v in self.views(turn)
                if v.status == LessonStatus.DONE
            ]
        choices.append((turn.ui("menu_back"), BACK))
        return text, choices

    def page_tap(self, turn: Turn, page: str, choice: str, message_id: int | None) -> None:
        if choice == BACK:
            turn.toast(None)
            turn.show_menu()
        elif choice.startswith(OPEN) and self.may_open(turn, page, choice.removeprefix(OPEN)):
            flow = turn.content.flows[choice.removeprefix(OPEN)]
            turn.toast(None)
            turn.clear_buttons(message_id, turn.ui("reread_intro" if page == REREAD else "resources_intro"))
            steps.go(turn, flow, flow.first)
        else:
            turn.stale()

    @staticmethod
    def may_open(turn: Turn, page: str, flow_id: str) -> bool:
        flow = turn.content.flows.get(flow_id)
        if flow is None:
            return False
        if page == RESOURCES:
            return flow.kind == "resource"
        return flow.kind == "lesson" and flow.number in turn.state.lessons_done

    # -- what it adds to the menu and /progress ---------------------------------------------

    def main_menu(self, turn: Turn) -> Sequence[MenuButton | MenuNote]:
        views = self.views(turn)
        parts: list[MenuButton | MenuNote] = []
        take = lesson_to_take(views)
        if take is not None:
            key = "menu_continue_lesson" if take.status == LessonStatus.IN_PROGRESS else "menu_start_lesson"
            parts.append(MenuButton(20, turn.ui(key, number=take.number, title=take.lesson.title), LESSON_CHOICE))
        elif (upcoming := next_to_open(views)) is not None:
            parts.append(MenuNote(10, self.not_open_yet(turn, upcoming)))
        elif views:
            parts.append(MenuNote(10, turn.ui("all_lessons_done")))
        if self.resources(turn) and turn.state.lessons_from is not None:  # the waiting list has no course yet
            parts.append(MenuButton(50, turn.ui("menu_resources"), RESOURCES))
        if any(v.status == LessonStatus.DONE for v in views):
            parts.append(MenuButton(60, turn.ui("menu_reread"), REREAD))
        return parts

    def progress(self, turn: Turn) -> Sequence[ProgressPart]:
        lines = []
        for view in self.views(turn):
            context = {"number": view.number, "title": view.lesson.title}
            key = f"progress_{view.status.value}"
            if view.status == LessonStatus.LOCKED and view.opens is not None:
                context["date"] = turn.day(view.opens)
            elif view.status == LessonStatus.LOCKED:  # no date yet: a trial before allocation, or the waiting list
                key = self.undated_progress_key(turn)
            lines.append(turn.ui(key, **context))
        return [ProgressPart(10, tuple(lines))]

    # -- reading the programme --------------------------------------------------------------

    @staticmethod
    def views(turn: Turn) -> list[LessonView]:
        return lesson_views(turn.full_content, turn.content, turn.state, turn.now)

    @staticmethod
    def resources(turn: Turn) -> list[Flow]:
        return sorted((f for f in turn.content.flows.values() if f.kind == "resource"), key=lambda f: f.title)

    @staticmethod
    def undated_progress_key(turn: Turn) -> str:
        """/progress's line for a lesson with no opening date yet."""
        if turn.state.waiting_list:
            return "progress_locked_waiting_list"
        if turn.state.lessons_from is None:
            return "progress_locked_after_baseline"
        return "progress_waiting"  # a lesson the programme gives no day: it follows the one before it

    @staticmethod
    def not_open_yet(turn: Turn, view: LessonView) -> str:
        if turn.state.lessons_from is None:  # a trial: not allocated yet, or on the waiting list
            return turn.ui("lessons_waiting_list" if turn.state.waiting_list else "lessons_after_baseline")
        if view.status == LessonStatus.WAITING or view.opens is None:
            return turn.ui("finish_previous_lesson", number=view.number, previous=view.number - 1)
        return turn.ui("next_lesson_not_open", number=view.number, date=turn.day(view.opens))
