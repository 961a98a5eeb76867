"""Office hours: when the guides work, and when a message sent now will usually be answered (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPEC = re.compile(r"^\s*([A-Za-z,\- ]+?)\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class OfficeHours:
    """Working days (0 = Monday) and one daily window, in the guides' time zone."""

    days: frozenset[int]
    start: time
    end: time
    zone: str = "UTC"

    def __post_init__(self) -> None:
        if not self.days or self.start >= self.end:
            raise ValueError("office hours need at least one day and a start before the end")


def parse_office_hours(spec: str, zone: str = "UTC") -> OfficeHours:
    """Read "Mon-Fri 09:00-17:00" (or "Mon,Wed,Fri 10:00-14:00"); ValueError when malformed."""
    match = _SPEC.match(spec)
    if match is None:
        raise ValueError("expected days and hours such as Mon-Fri 09:00-17:00")
    days: set[int] = set()
    for part in match.group(1).replace(" ", "").lower().split(","):
        first, _, last = part.partition("-")
        if first[:3] not in DAYS or (last and last[:3] not in DAYS):
            raise ValueError("expected days such as Mon-Fri or Mon,Wed,Fri")
        a, b = DAYS.index(first[:3]), DAYS.index((last or first)[:3])
        days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    h1, m1, h2, m2 = (int(match.group(i)) for i in range(2, 6))
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError("expected hours such as 09:00-17:00")
    end = time(23, 59, 59, 999999) if h2 == 24 else time(h2, m2)
    return OfficeHours(frozenset(days), time(h1, m1), end, zone)


def add_working_time(hours: OfficeHours, start: datetime, working: timedelta) -> datetime:
    """The moment `working` time inside office hours has passed since `start` (an aware datetime).

    With no working time left to add, the answer is `start` itself if the office is open then,
    or the next opening.
    """
    zone = ZoneInfo(hours.zone)
    local = start.astimezone(zone)
    left = working
    day = local.date()
    for _ in range(3660):  # ten years of days: the loop always ends far sooner
        if day.weekday() in hours.days:
            opens = datetime.combine(day, hours.start, tzinfo=zone)
            closes = datetime.combine(day, hours.end, tzinfo=zone)
            begin = max(opens, local)
            if begin < closes:
                if begin + left <= closes:
                    return (begin + left).astimezone(start.tzinfo)
                left -= closes - begin
        day += timedelta(days=1)
    raise ValueError("office hours never open")


def is_open(hours: OfficeHours, moment: datetime) -> bool:
    local = moment.astimezone(ZoneInfo(hours.zone))
    return local.weekday() in hours.days and hours.start <= local.time() < hours.end
