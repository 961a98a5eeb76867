"""What is due for one patient, and when: lesson releases, nudges, the week-2 check, daily practice
reminders, the guide's weekly message, and questionnaire occasions (announced, and reminded once
if not done), from the programme timetable in the patient's own time zone (pure). The scheduler
keeps the plan in the `due_event` table; the engine decides at the moment each comes due whether
it still applies.

Adding a kind: a name below, its rows in `plan`, its rule in `applies` (or its stage's own check),
and the stage of the engine that owns that due kind (dialogs/router.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from content.schema import Content, Schedule
from dialogs.occasions import done_key, occasions
from dialogs.state import PatientState, Status

# Stored in due_event rows, so the names stay as they are: "guide_checkin" is the guide's weekly message.
RELEASE, NUDGE, BEHIND, PRACTICE = "lesson_released", "nudge", "behind_schedule", "practice"
WEEKLY_MESSAGE = "guide_checkin"
KINDS = frozenset({RELEASE, NUDGE, BEHIND, PRACTICE, WEEKLY_MESSAGE})  # the timetable's own kinds
OCCASION, OCCASION_REMINDER = "questionnaire", "questionnaire_overdue"  # a questionnaire occasion opens; its reminder
NON_ESSENTIAL = frozenset({NUDGE, BEHIND, PRACTICE})  # what /reminders can pause or turn off
PAUSE = timedelta(days=7)


@dataclass(frozen=True, order=True)
class Planned:
    due_at: datetime  # UTC
    kind: str
    key: str


def clock_time(value: str) -> time:
    hours, _, minutes = value.partition(":")
    return time(int(hours), int(minutes))


def at_local(day: date, clock: str, timezone: str) -> datetime:
    """The UTC moment of `clock` on `day` in `timezone`; daylight-saving changes are followed."""
    return datetime.combine(day, clock_time(clock), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def local_date(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def is_quiet(moment: datetime, timezone: str, schedule: Schedule) -> bool:
    """Inside the patient's quiet hours (which may run past midnight)?"""
    now = moment.astimezone(ZoneInfo(timezone)).time()
    start, end = clock_time(schedule.quiet_start), clock_time(schedule.quiet_end)
    if start == end:
        return False
    return start <= now or now < end if start > end else start <= now < end


def quiet_ends(moment: datetime, timezone: str, schedule: Schedule) -> datetime:
    """`moment`, or when the quiet hours around it end."""
    if not is_quiet(moment, timezone, schedule):
        return moment
    day = local_date(moment, timezone)
    end = at_local(day, schedule.quiet_end, timezone)
    return end if end > moment else at_local(day + timedelta(days=1), schedule.quiet_end, timezone)


def lesson_numbers(content: Content) -> dict[str, int]:
    """Flow id -> lesson number, for every lesson of every language."""
    return {f.id: f.number or 0 for texts in content.locales.values() for f in texts.lessons()}


def started(state: PatientState, content: Content, number: int) -> bool:
    """Begun or finished."""
    if number in state.lessons_done:
        return True
    place = state.lesson_place
    return place is not None and lesson_numbers(content).get(place.flow) == number


def opens_at(state: PatientState, content: Content, number: int) -> datetime | None:
    """When lesson `number` opens by the timetable (its day, at the release hour), if it ever does."""
    day = content.program.opens_on_day(number)
    if day is None or state.lessons_from is None:
        return None
    if day == 0:
        return state.lessons_from
    start = local_date(state.lessons_from, state.timezone)
    return at_local(start + timedelta(days=day), content.program.schedule.release_at, state.timezone)


def released_at(state: PatientState, content: Content, number: int) -> datetime | None:
    """When the lesson became open to this patient: its day, or later when they finished the one before."""
    opens = opens_at(state, content, number)
    numbers = [r.lesson for r in content.program.lessons]
    if opens is None or number not in numbers:
        return None
    index = numbers.index(number)
    if index == 0:
        return opens
    previous = numbers[index - 1]
    if previous not in state.lessons_done:
        return None
    finished = state.lessons_finished_at.get(str(previous))
    return max(opens, datetime.fromisoformat(finished)) if finished else opens


def nudge_times(state: PatientState, content: Content, number: int) -> list[tuple[int, datetime]]:
    released = released_at(state, content, number)
    if released is None:
        return []
    schedule = content.program.schedule
    day = local_date(released, state.timezone)
    return [
        (after, at_local(day + timedelta(days=after), schedule.release_at, state.timezone))
        for after in schedule.nudge_after_days
    ]


def weekly_message_at(state: PatientState, content: Content, week: int) -> datetime | None:
    if state.lessons_from is None:  # the guide's weekly message goes with the lessons
        return None
    start = local_date(state.lessons_from, state.timezone)
    return at_local(start + timedelta(days=7 * week), content.program.schedule.weekly_message_at, state.timezone)


def course_ends(state: PatientState, content: Content) -> datetime | None:
    return weekly_message_at(state, content, max(content.program.schedule.weekly_message_weeks, 1))


def paused(state: PatientState, moment: datetime) -> bool:
    until = state.reminders_paused_until
    return until is not None and moment < until


def next_practice(state: PatientState, content: Content, now: datetime) -> datetime | None:
    """The next daily practice reminder after `now`, outside any pause, before the course ends."""
    end = course_ends(state, content)
    clock = state.reminder_time or content.program.schedule.practice_at
    day = local_date(now, state.timezone)
    for offset in range(0, 15):
        moment = at_local(day + timedelta(days=offset), clock, state.timezone)
        if end is not None and moment >= end:
            return None
        if moment > now and not paused(state, moment):
            return moment
    return None


def plan_inputs(state: PatientState) -> tuple[object, ...]:
    """What `plan` reads from the state: while none of it changes, the plan stays the same
    (apart from the next practice reminder, which moves on when the one before comes due)."""
    return (
        state.status,
        state.consented_at,
        state.timezone,
        state.lessons_done,
        state.lesson_place.flow if state.lesson_place else None,
        tuple(sorted(state.lessons_finished_at.items())),
        state.reminder_time,
        state.reminders_paused_until,
        state.reminders_off,
        state.surveys_done,
        state.course_from,
        state.arm,
    )


def needs_new_plan(before: PatientState, after: PatientState) -> bool:
    if plan_inputs(before) == plan_inputs(after):
        return False
    return Status.ACTIVE in (before.status, after.status)


def plan(state: PatientState, content: Content, now: datetime) -> list[Planned]:
    """Everything that should be due for this patient, as things stand at `now`."""
    if state.status != Status.ACTIVE or state.consented_at is None:
        return []
    schedule = content.program.schedule
    rows: list[Planned] = []
    numbers = [r.lesson for r in content.program.lessons]
    for number in numbers:
        if started(state, content, number):
            continue
        opens = opens_at(state, content, number)
        if opens is not None and number != numbers[0]:
            rows.append(Planned(opens, RELEASE, str(number)))
        for after, moment in nudge_times(state, content, number):
            rows.append(Planned(moment, NUDGE, f"{number}:{after}"))
    if numbers and numbers[0] not in state.lessons_done and state.lessons_from is not None:
        start = local_date(state.lessons_from, state.timezone)
        day = start + timedelta(days=schedule.behind_check_day)
        rows.append(Planned(at_local(day, schedule.release_at, state.timezone), BEHIND, "week-2"))
    for week in range(1, schedule.weekly_message_weeks + 1):
        weekly = weekly_message_at(state, content, week)
        if weekly is not None:
            rows.append(Planned(weekly, WEEKLY_MESSAGE, f"week-{week}"))
    if state.lessons_done and not state.reminders_off:
        practice = next_practice(state, content, now)
        if practice is not None:
            rows.append(Planned(practice, PRACTICE, local_date(practice, state.timezone).isoformat()))
    rows.extend(occasion_rows(state, content))
    kept = [
        row for row in rows if row.kind not in NON_ESSENTIAL or not (state.reminders_off or paused(state, row.due_at))
    ]
    return sorted(kept)


def first_waking_moment(day: date, timezone: str, schedule: Schedule) -> datetime:
    """The start of a local day, or the end of the quiet hours that day begins in."""
    return quiet_ends(at_local(day, "00:00", timezone), timezone, schedule)


def occasion_rows(state: PatientState, content: Content) -> list[Planned]:
    """Each questionnaire occasion not yet done: announced when it opens (at consent for day 0, else
    as its day starts), never in the quiet hours, and reminded once `remind_after_days` later."""
    assert state.consented_at is not None
    schedule = content.program.schedule
    start = local_date(state.consented_at, state.timezone)
    done = set(state.surveys_done)
    rows: list[Planned] = []
    for occasion in occasions(content.program):
        if all(done_key(occasion.key, q) in done for q in occasion.give):
            continue
        day = start + timedelta(days=occasion.day)
        if occasion.day == 0:
            opens = quiet_ends(state.consented_at, state.timezone, schedule)
        else:
            opens = first_waking_moment(day, state.timezone, schedule)
        rows.append(Planned(opens, OCCASION, occasion.key))
        if occasion.remind_after is not None:
            remind = first_waking_moment(day + timedelta(days=occasion.remind_after), state.timezone, schedule)
            rows.append(Planned(remind, OCCASION_REMINDER, occasion.key))
    return rows


def applies(state: PatientState, content: Content, kind: str, key: str, now: datetime) -> bool:
    """Does something that came due still apply now? A later one of the same kind supersedes it,
    so after downtime the patient gets one message, not one per missed moment."""
    if state.status != Status.ACTIVE or state.consented_at is None:
        return False
    if kind in NON_ESSENTIAL and (state.reminders_off or paused(state, now)):
        return False
    if kind in (RELEASE, NUDGE):
        number_text, _, after_text = key.partition(":")
        if not number_text.isdigit() or started(state, content, int(number_text)):
            return False
        number = int(number_text)
        released = released_at(state, content, number)
        if released is None or released > now:
            return False  # the lesson before is not finished yet, so it has not opened
        nudges = nudge_times(state, content, number)
        if kind == NUDGE:
            own = [moment for after, moment in nudges if str(after) == after_text]
            if not own or own[0] > now:
                return False  # not its time yet (or no such nudge in the timetable)
        later = [moment for after, moment in nudges if kind == RELEASE or after > int(after_text or 0)]
        return not any(moment <= now for moment in later)
    if kind == BEHIND:
        numbers = [r.lesson for r in content.program.lessons]
        return bool(numbers) and numbers[0] not in state.lessons_done and state.lessons_from is not None
    if kind == WEEKLY_MESSAGE:
        week = key.removeprefix("week-")
        following = weekly_message_at(state, content, int(week) + 1) if week.isdigit() else None
        return following is None or now < following
    if kind == PRACTICE:
        return bool(state.lessons_done)
    return False
