"""What the guides' weekly summary and /patient read about a patient's own work: tool entries,
logged tries, guide minutes in a span of time, and which weeks' summaries were posted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from dialogs.state import Status
from storage.models import Answer, Patient, StaffContact, ToolEntry, WeeklySummary

REMINDER_STEP = "reminder"  # the step of the Answer rows a Done / Not this time tap writes (dialogs/stages/tools.py)


def recent_entries(session: Session, patient_id: int, limit: int) -> list[ToolEntry]:
    """The patient's latest tool entries, newest first."""
    return list(
        session.exec(
            select(ToolEntry)
            .where(col(ToolEntry.patient_id) == patient_id)
            .order_by(col(ToolEntry.created_at).desc(), col(ToolEntry.id).desc())
            .limit(limit)
        )
    )


def entries_between(session: Session, patient_id: int, start: datetime, end: datetime) -> list[ToolEntry]:
    """Tool entries saved in [start, end), oldest first."""
    return list(
        session.exec(
            select(ToolEntry)
            .where(col(ToolEntry.patient_id) == patient_id, col(ToolEntry.created_at) >= start,
                   col(ToolEntry.created_at) < end)
            .order_by(col(ToolEntry.created_at), col(ToolEntry.id))
        )
    )  # fmt: skip


def tries_between(session: Session, patient_id: int, start: datetime, end: datetime) -> tuple[int, int]:
    """Planned tries logged in [start, end): (done, not this time)."""
    rows = session.exec(
        select(Answer.value, func.count(col(Answer.id)))
        .where(col(Answer.patient_id) == patient_id, col(Answer.step) == REMINDER_STEP,
               col(Answer.created_at) >= start, col(Answer.created_at) < end)
        .group_by(col(Answer.value))
    ).all()  # fmt: skip
    counts = {value: int(count) for value, count in rows}
    return counts.get("done", 0), counts.get("not", 0)


def minutes_between(session: Session, patient_id: int, start: datetime, end: datetime) -> int:
    total = session.exec(
        select(func.sum(StaffContact.minutes)).where(
            col(StaffContact.patient_id) == patient_id, col(StaffContact.at) >= start, col(StaffContact.at) < end
        )
    ).one()
    return int(total or 0)


def contacts_of(session: Session, patient_id: int) -> list[tuple[datetime, int]]:
    """Every logged contact of a patient: (when, minutes), oldest first."""
    rows = session.exec(
        select(StaffContact.at, StaffContact.minutes)
        .where(col(StaffContact.patient_id) == patient_id)
        .order_by(col(StaffContact.at))
    ).all()
    return [(at, int(minutes)) for at, minutes in rows]


def in_course(session: Session) -> list[Patient]:
    """Active patients who consented: the ones a weekly summary is written for."""
    return list(
        session.exec(
            select(Patient)
            .where(col(Patient.status) == Status.ACTIVE.value, col(Patient.consented_at).is_not(None))
            .order_by(col(Patient.id))
        )
    )


def posted_weeks(session: Session, patient_id: int) -> set[int]:
    return set(session.exec(select(WeeklySummary.week).where(col(WeeklySummary.patient_id) == patient_id)).all())


def record_posted(session: Session, patient_id: int, week: int, contact_due: bool, now: datetime) -> None:
    session.add(WeeklySummary(patient_id=patient_id, week=week, contact_due=contact_due, posted_at=now))
