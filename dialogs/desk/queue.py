"""/queue and /report: who waits for an answer, who is due a contact, and clinician time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from content.calendar import waited
from content.render import render
from dialogs.desk.tickets import TicketState, queue_order
from dialogs.satisfaction import Rate

Texts = dict[str, str]
CONTACT_EVERY = timedelta(days=7)  # a guide is in touch with every active patient at least weekly


@dataclass(frozen=True)
class InCourse:
    """An active patient: when they consented, and when a guide last logged a contact with them."""

    code: str
    consented_at: datetime
    last_contact: datetime | None


@dataclass(frozen=True)
class Minutes:
    code: str
    contacts: int
    minutes: int
    weeks: tuple[tuple[int, int], ...] = ()  # (course week, minutes) for each week with a contact


def minutes_by_week(
    consented_at: datetime | None, contacts: Sequence[tuple[datetime, int]]
) -> tuple[tuple[int, int], ...]:
    """A patient's logged minutes per course week (week 1 from consent; a contact before consent
    counts in week 1), in week order."""
    weeks: dict[int, int] = {}
    for at, minutes in contacts:
        week = max(1, (at - consented_at) // CONTACT_EVERY + 1) if consented_at is not None else 1
        weeks[week] = weeks.get(week, 0) + minutes
    return tuple(sorted(weeks.items()))


def contacts_due(patients: Sequence[InCourse], now: datetime) -> list[tuple[str, datetime]]:
    """Patients with no contact for a week (counted from consent), with the moment of the last
    contact (or consent), the longest since first."""
    due = []
    for patient in patients:
        since = max(patient.consented_at, patient.last_contact) if patient.last_contact else patient.consented_at
        if since <= now - CONTACT_EVERY:
            due.append((patient.code, since))
    return sorted(due, key=lambda pair: pair[1])


def queue(texts: Texts, tickets: Sequence[tuple[int, str, TicketState]], due: Sequence[tuple[str, datetime]],
          now: datetime) -> str:  # fmt: skip
    """Open conversations, the longest waiting first, then patients due a contact."""
    codes = {ticket_id: code for ticket_id, code, _ in tickets}
    waiting = []
    for ticket_id, ticket in queue_order([(ticket_id, t) for ticket_id, _, t in tickets]):
        if ticket.waiting_since is not None:
            line = render(texts["staff_queue_waiting"], {"code": codes[ticket_id],
                          "waited": waited(texts, ticket.waiting_since, now)})  # fmt: skip
        else:
            line = render(texts["staff_queue_answered"], {"code": codes[ticket_id],
                          "open": waited(texts, ticket.opened_at, now)})  # fmt: skip
        waiting.append(line)
    contacts = [render(texts["staff_queue_contact"], {"code": code, "waited": waited(texts, since, now)})
                for code, since in due]  # fmt: skip
    return render(texts["staff_queue"], {"tickets": waiting, "contacts": contacts})


def report(texts: Texts, rows: Sequence[Minutes], satisfaction: Rate | None = None) -> str:
    """Clinician time per patient from the logged contacts, most minutes first, with their minutes
    in each course week, total and average; and how many are satisfied with the course."""
    ordered = sorted(rows, key=lambda r: (-r.minutes, r.code))
    lines = [render(texts["staff_report_line"], {"code": r.code, "minutes": r.minutes, "contacts": r.contacts,
             "weeks": [render(texts["staff_report_week"], {"week": w, "minutes": m}) for w, m in r.weeks]})
             for r in ordered]  # fmt: skip
    total = sum(r.minutes for r in rows)
    average = round(total / len(rows)) if rows else 0
    rate = satisfaction or Rate(0, 0)
    return render(texts["staff_report"], {"patients": lines, "total": total, "average": average,
                  "satisfied": rate.satisfied, "answered": rate.answered, "percent": rate.percent or 0})  # fmt: skip
