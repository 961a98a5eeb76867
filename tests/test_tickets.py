"""Tickets, check-ins and roles in the database: the queue's order, what is overdue, who is due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session

from dialogs.state import Status
from storage import staff, tickets
from storage.models import Patient
from storage.patients import Defaults, Person, find_or_enrol
from tests.support import make_database

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DEFAULTS = Defaults("en", "UTC", "other", frozenset({"en"}))


def active_patient(session: Session, user_id: int, consented: datetime) -> Patient:
    patient = find_or_enrol(session, Person(user_id, user_id), DEFAULTS, NOW)
    patient.status, patient.consented_at = Status.ACTIVE.value, consented
    session.add(patient)
    session.flush()
    return patient


def test_the_queue_is_longest_waiting_first_and_overdue_counts_from_the_oldest_message(tmp_path: Path) -> None:
    database = make_database(tmp_path)
    try:
        with database.transaction() as session:
            first, second = active_patient(session, 1, NOW), active_patient(session, 2, NOW)
            assert first.id is not None and second.id is not None
            tickets.patient_wrote(session, second.id, NOW)
            tickets.patient_wrote(session, first.id, NOW + timedelta(hours=1))
            ticket, fresh = tickets.patient_wrote(session, second.id, NOW + timedelta(hours=2))
            assert not fresh and ticket.waiting_since == NOW, "a second message keeps the first's waiting time"
            assert [t.patient_id for t in tickets.open_tickets(session)] == [second.id, first.id]

            def within(hours: int) -> list[int]:
                due = tickets.overdue(session, NOW + timedelta(hours=hours), lambda since: since + timedelta(hours=3))
                return [t.patient_id for t in due]

            assert within(2) == [] and within(3) == [second.id] and within(4) == [second.id, first.id]
            tickets.guide_replied(session, second.id)
            assert within(10) == [first.id], "answered: no longer overdue, though still open"
            assert tickets.mark_answered(session, ticket, 9, NOW) and not tickets.mark_answered(session, ticket, 9, NOW)
            assert [t.patient_id for t in tickets.open_tickets(session)] == [first.id]
    finally:
        database.dispose()


def test_weekly_check_ins_are_due_a_week_after_consent_or_the_last_contact(tmp_path: Path) -> None:
    database = make_database(tmp_path)
    try:
        with database.transaction() as session:
            old = active_patient(session, 1, NOW - timedelta(days=20))
            new = active_patient(session, 2, NOW - timedelta(days=2))
            called = active_patient(session, 3, NOW - timedelta(days=20))
            assert old.id is not None and called.id is not None
            tickets.log_contact(session, called.id, 9, "phone", 15, NOW - timedelta(days=3))
            tickets.log_contact(session, called.id, 9, "message", 5, NOW - timedelta(days=10))
            session.flush()
            assert [p.id for p, _ in tickets.contacts_due_now(session, NOW)] == [old.id], "nobody else is due"
            assert tickets.clinician_minutes(session, called.id) == 20
            assert tickets.clinician_minutes(session, new.id or 0) == 0
    finally:
        database.dispose()


def test_an_admin_passes_every_role_check_and_admin_ids_stay_admins(tmp_path: Path) -> None:
    database = make_database(tmp_path)
    try:
        with database.transaction() as session:
            assert staff.ensure_admins(session, (1,), NOW) == [1]
            staff.set_role(session, 2, staff.GUIDE, 1, NOW)
            staff.set_role(session, 3, staff.COORDINATOR, 1, NOW)
            session.flush()
            assert staff.has_role(session, 1, staff.GUIDE) and staff.has_role(session, 1, staff.COORDINATOR)
            assert staff.has_role(session, 2, staff.GUIDE) and not staff.has_role(session, 2, staff.ADMIN)
            assert not staff.has_role(session, 3, staff.GUIDE) and staff.has_role(session, 3, staff.COORDINATOR)
            assert not staff.has_role(session, 4, staff.GUIDE), "not staff at all"
            staff.set_role(session, 1, staff.GUIDE, 1, NOW)
            session.flush()
            assert staff.ensure_admins(session, (1,), NOW) == [1], "ADMIN_IDS are admins again at start-up"
            assert staff.remove(session, 2) == staff.GUIDE and staff.remove(session, 2) is None
    finally:
        database.dispose()
