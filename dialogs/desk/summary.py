"""The weekly summary a guide reads in about two minutes, the entries /patient lists, and the card
of an entry a patient shared (pure, from plain facts and content texts).

A course week is counted from consent: week 1 is days 0-6, week 2 days 7-13 ... The summary of
week N is posted once week N is over (day 7N), and covers those seven days."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from markupsafe import Markup

from content.calendar import waited
from content.render import render
from dialogs.desk import card as cards
from dialogs.desk.card import EntryLine, entry_lines

Texts = dict[str, str]
WEEK = timedelta(days=7)
SHOW_IN_SUMMARY = 6  # entries named in a summary: enough to review, short enough to read in two minutes


@dataclass(frozen=True)
class Week:
    """What happened in one course week, for the summary."""

    patient: cards.Patient
    week: int
    entries: Sequence[EntryLine]  # saved that week, oldest first
    practice_done: int  # planned tries logged "done" that week
    practice_not: int  # ... and "not this time"
    last_active: datetime | None  # the patient's last message or tap
    contact_due: bool  # no logged guide contact for a week
    minutes: int  # guide minutes logged that week


def course_week(consented_at: datetime, now: datetime) -> int:
    """The course week `now` falls in (1 from consent); 0 before consent."""
    if now < consented_at:
        return 0
    return (now - consented_at) // WEEK + 1


def week_span(consented_at: datetime, week: int) -> tuple[datetime, datetime]:
    """The start (inclusive) and end (exclusive) of a course week."""
    start = consented_at + (week - 1) * WEEK
    return start, start + WEEK


def summary_due(consented_at: datetime, now: datetime, posted: Collection[int]) -> int | None:
    """The latest finished course week whose summary is not posted yet (None: nothing to post).
    After downtime only the latest is posted: the guide needs this week's picture, not a backlog."""
    finished = course_week(consented_at, now) - 1
    if finished < 1 or finished in posted:
        return None
    return finished


def tools_used(entries: Sequence[EntryLine]) -> dict[str, int]:
    """How many entries each tool got, in the order first used."""
    counts: dict[str, int] = {}
    for entry in sorted(entries, key=lambda e: e.at):
        counts[entry.tool] = counts.get(entry.tool, 0) + 1
    return counts


def weekly_summary(texts: Texts, week: Week, now: datetime, zone: str) -> str:
    """The weekly summary: lessons, tools and their entries, practice, scores and their change,
    open flags, days since the last activity, and whether a contact is due."""
    patient = week.patient
    lines, more = entry_lines(texts, week.entries, zone, SHOW_IN_SUMMARY)
    used = [render(texts["staff_summary_tool"], {"tool": tool, "count": count})
            for tool, count in tools_used(week.entries).items()]  # fmt: skip
    idle = None if week.last_active is None else max(0, (now - week.last_active) // timedelta(days=1))
    return render(
        texts["staff_weekly_summary"],
        {
            "code": patient.code,
            "week": week.week,
            "lesson": cards.lesson_reached(texts, patient),
            "lessons_done": len(patient.lessons_done),
            "tools": used,
            "entries": lines,
            "more": more,
            "practice_done": week.practice_done,
            "practice_not": week.practice_not,
            "scores": cards.score_lines(texts, patient.scores, zone),
            "flags": cards.flag_lines(texts, patient.flags, zone),
            "idle_days": "" if idle is None else idle,
            "last_active": "" if week.last_active is None else waited(texts, week.last_active, now),
            "contact_due": week.contact_due,
            "minutes": week.minutes,
        },
    )


def contacts_prompt(texts: Texts, due: Sequence[tuple[str, datetime]], now: datetime) -> str:
    """The weekly prompt in the main thread: who is due a contact, the longest waiting first."""
    lines = [render(texts["staff_queue_contact"], {"code": code, "waited": waited(texts, since, now)})
             for code, since in sorted(due, key=lambda pair: pair[1])]  # fmt: skip
    return render(texts["staff_contacts_prompt"], {"contacts": lines})


def shared_card(texts: Texts, code: str, tool: str, number: str, saved: str, summary: str) -> str:
    """An entry a patient chose to share with their guide, as a card in their topic; `saved` is
    the day it was saved, `summary` the tool's summary of it (Telegram HTML, already escaped)."""
    return render(
        texts["staff_shared_entry"],
        {"code": code, "tool": tool, "number": number, "date": saved, "summary": Markup(summary)},
    )
