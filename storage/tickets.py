"""Tickets (a patient waiting for their guide), check-ins logged by guides, and clinical notes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from dialogs.state import Status
from storage.models import ClinicalNote, Patient, StaffContact, Ticket

CHECKIN_EVERY = timedelta(days=7)
CONTACT_KINDS = ("phone", "message", "video", "in_person")


# -- tickets ------------------------------------------------------------------------------


def open_ticket(session: Session, patient_id: int) -> Ticket | None:
    return session.exec(
        select(Ticket).where(col(Ticket.patient_id) == patient_id, col(Ticket.answered_at).is_(None))
    ).first()


def patient_wrote(session: Session, patient_id: int, now: datetime) -> tuple[Ticket, bool]:
    """A message for the guide: the open ticket (opened now if there was none) and whether it is new."""
    ticket = open_ticket(session, patient_id)
    fresh = ticket is None
    if ticket is None:
        ticket = Ticket(patient_id=patient_id, opened_at=now)
    if ticket.waiting_since is None:
        ticket.waiting_since = now
        ticket.last_raised_at = None
    session.add(ticket)
    session.flush()
    return ticket, fresh


def guide_replied(session: Session, patient_id: int) -> None:
    """A guide answered: the patient is no longer waiting (the ticket stays open until marked done)."""
    ticket = open_ticket(session, patient_id)
    if ticket is not None and ticket.waiting_since is not None:
        ticket.waiting_since = None
        session.add(ticket)


def mark_answered(session: Session, ticket: Ticket, staff_id: int, now: datetime) -> bool:
    """Close a ticket; False if it was already closed."""
    if ticket.answered_at is not None:
        return False
    ticket.answered_at = now
    ticket.answered_by = staff_id
    ticket.waiting_since = None
    session.add(ticket)
    return True


def open_tickets(session: Session) -> list[Ticket]:
    """Open tickets, the longest waiting first."""
    tickets = session.exec(select(Ticket).where(col(Ticket.answered_at).is_(None))).all()
    return sorted(tickets, key=lambda t: (t.waiting_since or t.opened_at, t.id or 0))


def overdue(session: Session, now: datetime, deadline: Callable[[datetime], datetime]) -> list[Ticket]:
    """Open tickets whose patient is still waiting past `deadline(since)`, counted from the
    oldest unanswered message, or from the last time the ticket was raised again."""
    return [
        ticket
        for ticket in open_tickets(session)
        if ticket.waiting_since is not None and deadline(ticket.last_raised_at or ticket.waiting_since) <= now
    ]


def mark_raised(session: Session, ticket: Ticket, now: datetime) -> None:
    ticket.raised_count += 1
    ticket.last_raised_at = now
    session.add(ticket)


# -- check-ins ------------------------------------------------------------------------------


def log_contact(session: Session, patient_id: int, staff_id: int, kind: str, minutes: int, now: datetime) -> None:
    session.add(StaffContact(patient_id=patient_id, staff_id=staff_id, kind=kind, minutes=minutes, at=now))


def last_contact(session: Session, patient_id: int) -> StaffContact | None:
    return session.exec(
        select(StaffContact)
        .where(col(StaffContact.patient_id) == patient_id)
        .order_by(col(StaffContact.at).desc(), col(StaffContact.id).desc())
    ).first()


def clinician_minutes(session: Session, patient_id: int) -> int:
    total = session.exec(select(func.sum(StaffContact.minutes)).where(col(StaffContact.patient_id) == patient_id)).one()
    return int(total or 0)


def clinician_time(session: Session) -> list[tuple[Patient, int, int]]:
    """Every patient with a logged contact: (patient, contacts, minutes), most minutes first."""
    rows = session.exec(
        select(Patient, func.count(col(StaffContact.id)), func.sum(StaffContact.minutes))
        .join(StaffContact, col(StaffContact.patient_id) == col(Patient.id))
        .group_by(col(Patient.id))
    ).all()
    return sorted(((p, int(n), int(m or 0)) for p, n, m in rows), key=lambda r: (-r[2], r[0].code or ""))


def due_checkins(session: Session, now: datetime) -> list[tuple[Patient, datetime]]:
    """Active patients with no logged contact in the last week (counted from consent), with
    the moment the last contact (or consent) was, the longest since first."""
    latest = (
        select(StaffContact.patient_id, func.max(StaffContact.at).label("at"))
        .group_by(col(StaffContact.patient_id))
        .subquery()
    )
    rows = session.exec(
        select(Patient, latest.c.at)
        .outerjoin(latest, latest.c.patient_id == col(Patient.id))
        .where(col(Patient.status) == Status.ACTIVE.value, col(Patient.consented_at).is_not(None))
    ).all()
    due: list[tuple[Patient, datetime]] = []
    for patient, contacted in rows:
        assert patient.consented_at is not None
        since = max(patient.consented_at, contacted) if contacted else patient.consented_at
        if since <= now - CHECKIN_EVERY:
            due.append((patient, since))
    return sorted(due, key=lambda pair: pair[1])


# -- clinical notes -----------------------------------------------------------------------


def add_note(session: Session, patient_id: int, staff_id: int, text: str, now: datetime) -> ClinicalNote:
    note = ClinicalNote(patient_id=patient_id, staff_id=staff_id, text=text, created_at=now)
    session.add(note)
    session.flush()
    return note


def recent_notes(session: Session, patient_id: int, limit: int = 5) -> list[ClinicalNote]:
    return list(
        session.exec(
            select(ClinicalNote)
            .where(col(ClinicalNote.patient_id) == patient_id)
            .order_by(col(ClinicalNote.created_at).desc(), col(ClinicalNote.id).desc())
            .limit(limit)
        )
    )
