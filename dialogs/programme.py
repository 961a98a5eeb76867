"""Where a patient stands in the programme: which lessons are done, open, or open on which day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from content.schema import Content, Flow, LocaleContent
from dialogs.state import PatientState


class LessonStatus(StrEnum):
    DONE = "done"
    IN_PROGRESS = "in_progress"
    OPEN = "open"
    WAITING = "waiting"  # its day has come, but the lesson before it is not finished
    LOCKED = "locked"  # its day has not come yet


@dataclass(frozen=True)
class LessonView:
    lesson: Flow
    status: LessonStatus
    opens: date | None  # the local date it opens, once the patient has started

    @property
    def number(self) -> int:
        return self.lesson.number or 0


def local_date(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def lesson_views(content: Content, texts: LocaleContent, state: PatientState, now: datetime) -> list[LessonView]:
    today = local_date(now, state.timezone)
    start = local_date(state.lessons_from, state.timezone) if state.lessons_from else None
    views: list[LessonView] = []
    previous_done = True
    for lesson in texts.lessons():
        number = lesson.number or 0
        day = content.program.opens_on_day(number)
        opens = start + timedelta(days=day) if start is not None and day is not None else None
        if number in state.lessons_done:
            status = LessonStatus.DONE
        elif state.lesson_place is not None and state.lesson_place.flow == lesson.id:
            status = LessonStatus.IN_PROGRESS
        elif opens is None or opens > today:
            status = LessonStatus.LOCKED
        elif previous_done:
            status = LessonStatus.OPEN
        else:
            status = LessonStatus.WAITING
        views.append(LessonView(lesson, status, opens))
        previous_done = status == LessonStatus.DONE
    return views


def lesson_to_take(views: list[LessonView]) -> LessonView | None:
    """The lesson the patient can take now: the one in progress, or the next open one."""
    return next((v for v in views if v.status in (LessonStatus.IN_PROGRESS, LessonStatus.OPEN)), None)


def next_to_open(views: list[LessonView]) -> LessonView | None:
    """The first lesson not finished, when it cannot be taken yet."""
    return next((v for v in views if v.status in (LessonStatus.LOCKED, LessonStatus.WAITING)), None)
