"""Dates, times and durations in the words of a course's language, from its `ui.yaml`.

Day and month names are content (`calendar_weekdays`, `calendar_months`: comma-separated, Monday
and January first), and so is the shape of each date (`date_long`, `staff_date`, `staff_time`,
`staff_waited`), so a course in another language reads its own dates. Python formats none of it.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from content.render import render

WEEKDAYS, MONTHS = "calendar_weekdays", "calendar_months"
Texts = dict[str, str]


def names(texts: Texts, key: str) -> list[str]:
    return [name.strip() for name in texts[key].split(",")]


def long_date(texts: Texts, day: date) -> str:
    """A day as patients read it: "Monday 2 March"."""
    return render(
        texts["date_long"],
        {
            "weekday": names(texts, WEEKDAYS)[day.weekday()],
            "day": day.day,
            "month": names(texts, MONTHS)[day.month - 1],
            "year": day.year,
        },
    )


def _parts(moment: datetime, zone: str) -> dict[str, str]:
    local = moment.astimezone(ZoneInfo(zone))
    return {
        "year": f"{local.year:04d}",
        "month": f"{local.month:02d}",
        "day": f"{local.day:02d}",
        "hour": f"{local.hour:02d}",
        "minute": f"{local.minute:02d}",
    }


def staff_date(texts: Texts, moment: datetime, zone: str = "UTC") -> str:
    """A date as the guides read it: "2026-03-02"."""
    return render(texts["staff_date"], _parts(moment, zone))


def staff_time(texts: Texts, moment: datetime, zone: str = "UTC") -> str:
    """A moment as the guides read it: "2026-03-02 10:00"."""
    return render(texts["staff_time"], _parts(moment, zone))


def waited(texts: Texts, since: datetime, now: datetime) -> str:
    """How long, for people: "45 min", "3 h 20 min", "2 d 4 h"."""
    minutes = max(0, int((now - since).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    return render(texts["staff_waited"], {"days": days, "hours": hours, "minutes": minutes})
