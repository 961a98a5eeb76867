"""When questionnaires are due (pure): the occasions of program.yaml, in the patient's local days."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from content.schema import Program
from dialogs.programme import local_date


@dataclass(frozen=True)
class Occasion:
    """One time questionnaires are given: "baseline", "week-3", "post" ..."""

    key: str
    day: int  # days from consent
    give: tuple[str, ...]
    open_days: int | None  # None: stays on offer until done
    remind_after: int | None = None  # days after it opens for one reminder, if it is not done

    def is_open(self, day: int) -> bool:
        return self.day <= day and (self.open_days is None or day < self.day + self.open_days)


@dataclass(frozen=True)
class DueOccasion:
    occasion: Occasion
    remaining: tuple[str, ...]  # questionnaires of it not yet done, in order
    opened_on: date


def occasions(program: Program) -> list[Occasion]:
    """Every occasion of the timetable, repeated ones numbered (week-1, week-2 ...), by day."""
    found: list[Occasion] = []
    for spec in program.questionnaires:
        if spec.every is None or spec.until_day is None:
            found.append(Occasion(spec.id, spec.day, spec.give, spec.open_days, spec.remind_after_days))
            continue
        for number, day in enumerate(range(spec.day, spec.until_day + 1, spec.every), start=1):
            found.append(Occasion(f"{spec.id}-{number}", day, spec.give, spec.open_days, spec.remind_after_days))
    return sorted(found, key=lambda o: o.day)


def reminded_key(occasion: str) -> str:
    """How `announced` records that the patient was reminded of an occasion not yet done."""
    return f"{occasion}/reminded"


def needs_reminder(due: DueOccasion, today: date, announced: Iterable[str]) -> bool:
    """Announced, not done, open for `remind_after` days or more, and not reminded yet."""
    told = set(announced)
    after = due.occasion.remind_after
    return (
        after is not None
        and due.occasion.key in told
        and reminded_key(due.occasion.key) not in told
        and today >= due.opened_on + timedelta(days=after)
    )


def done_key(occasion: str, questionnaire: str) -> str:
    return f"{occasion}/{questionnaire}"


def due(
    program: Program, consented_at: datetime | None, timezone: str, now: datetime, done: Iterable[str]
) -> list[DueOccasion]:
    """The occasions open for this patient at `now` with questionnaires left, earliest first."""
    if consented_at is None:
        return []
    start = local_date(consented_at, timezone)
    day = (local_date(now, timezone) - start).days
    finished = set(done)
    result: list[DueOccasion] = []
    for occasion in occasions(program):
        if not occasion.is_open(day):
            continue
        remaining = tuple(q for q in occasion.give if done_key(occasion.key, q) not in finished)
        if remaining:
            result.append(DueOccasion(occasion, remaining, start + timedelta(days=occasion.day)))
    return result


def find(program: Program, key: str) -> Occasion | None:
    return next((o for o in occasions(program) if o.key == key), None)
