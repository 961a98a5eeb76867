"""Tickets (a patient waiting for their guide), contacts logged by guides, and clinical notes: the
rows, changed as the staff side's pure core decides (dialogs/desk/tickets.py, dialogs/desk/queue.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from dialogs.desk import tickets as transitions
from dialogs.desk.queue import InCourse, contacts_due
from dialogs.desk.tickets import TicketState
from dialogs.state import Status
from storage.models import ClinicalNote, Patient, StaffContact, Ticket

# -- tickets ------------------------------------------------------------------------------


def open_ticket(session: Session, patient_id: int) -> Ticket | None:
    return session.exec(
        select(Ticket).where(col(Ticket.patient_id) == patient_id, col(Ticket.answered_at).is_(None))
    ).first()


def state_of(ticket: Ticket) -> TicketState:
    return TicketState(
        ticket.opened_at, ticket.waiting_since, ticket.last_raised_at, ticket.raised_count, ticket.answered_at,
        ticket.answered_by,
    )  # fmt: skip


def _save(session: Session, ticket: Ticket, state: TicketState) -> Ticket:
    for name, value in asdict(state).items():
        setattr(ticket, name, value)
    session.add(ticket)
    return ticket


def patient_wrote(session: Session, patient_id: int, now: datetime) -> tuple[Ticket, bool]:
    """A message for the guide: the open ticket (opened now if there was none) and whether it is new."""
    ticket = open_ticket(session, patient_id)
    fresh = ticket is None
    row = ticket or Ticket(patient_id=patient_id, opened_at=now)
    _save(session, row, transitions.patient_wrote(state_of(ticket) if ticket else None, now))
    session.flush()
    return row, fresh


def guide_replied(session: Session, patient_id: int) -> None:
    """A guide answered: the patient is no longer waiting (the ticket stays open until marked done)."""
    ticket = open_ticket(session, patient_id)
    if ticket is not None and ticket.waiting_since is not None:
        _save(session, ticket, transitions.guide_replied(state_of(ticket)))


def mark_answered(session: Session, ticket: Ticket, staff_id: int, now: datetime) -> bool:
    """Close a ticket; False if it was already closed."""
    answered = transitions.answered(state_of(ticket), staff_id, now)
    if answered is None:
        return False
    _save(session, ticket, answered)
    return True


def open_tickets(session: Session) -> list[Ticket]:
    """Open tickets, the longest waiting first."""
    rows = {t.id or 0: t for t in session.exec(select(Ticket).where(col(Ticket.answered_at).is_(None))).all()}
    return [rows[ticket_id] for ticket_id, _ in transitions.queue_order([(i, state_of(t)) for i, t in rows.items()])]


def overdue(session: Session, now: datetime, deadline: Callable[[datetime], datetime]) -> list[Ticket]:
    """Open tickets whose patient is still waiting past `deadline(since)`, counted from the
    oldest unanswered message, or from the last time the ticket was raised again."""
    return [ticket for ticket in open_tickets(session) if transitions.is_overdue(state_of(ticket), now, deadline)]


def mark_raised(session: Session, ticket: Ticket, now: datetime) -> None:
    _save(session, ticket, transitions.raised_again(state_of(ticket), now))


# -- contacts (what guides log with /checkin) -----------------------------------------------


def log_contact(
    session: Session, patient_id: int, staff_id: int, kind: str, minutes: int, now: datetime, *,
    topics: Sequence[str] = (), risk_checked: bool | None = None,
) -> None:  # fmt: skip
    """A contact note: method (`kind`), minutes, topics, and whether risk was checked."""
    session.add(StaffContact(patient_id=patient_id, staff_id=staff_id, kind=kind, minutes=minutes, at=now,
                             topics=list(topics), risk_checked=risk_checked))  # fmt: skip


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


def contacts_due_now(session: Session, now: datetime) -> list[tuple[Patient, datetime]]:
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
    by_code = {patient.code or "": patient for patient, _ in rows}
    in_course = [InCourse(patient.code or "", patient.consented_at, at) for patient, at in rows if patient.consented_at]
    return [(by_code[code], since) for code, since in contacts_due(in_course, now)]


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
