"""The coach on a real database: enrolment, exactly-once handling, state, answers and outbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import inspect
from sqlmodel import col, select

from coach.services import Services
from content.schema import Content
from dialogs.events import Press, Start, Text
from dialogs.state import PatientState
from storage import outbox
from storage.database import Database
from storage.inbox import Received
from storage.models import Answer, DialogState, InboundUpdate, OutboxMessage, Patient
from storage.outbox import Priority
from storage.patients import Person, StateConflict, load_state, save_state
from storage.payloads import Message
from tests.support import make_services, migrated

ANNA = Person(user_id=501, chat_id=501, language_code="en")
BEN = Person(user_id=502, chat_id=502, language_code="de")


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = migrated(database_url)
    yield database
    database.dispose()


@pytest.fixture
def services(database: Database, content: Content) -> Services:
    return make_services(database, content)


def outbox_rows(database: Database) -> list[OutboxMessage]:
    with database.transaction() as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())


def test_the_database_is_migrated_and_sqlite_is_in_wal_mode(database: Database) -> None:
    tables = set(inspect(database.engine).get_table_names())
    assert {"patient", "dialog_state", "answer", "inbound_update", "outbox", "alembic_version"} <= tables
    if database.is_sqlite:
        with database.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    database.upgrade()  # running it again is harmless


def test_first_contact_enrols_a_patient_with_a_pseudonymous_code(services: Services, database: Database) -> None:
    services.coach.handle(ANNA, Start(), update_id=1)
    services.coach.handle(BEN, Start(), update_id=2)
    with database.transaction() as session:
        patients = session.exec(select(Patient).order_by(col(Patient.id))).all()
        assert [p.code for p in patients] == ["P-0001", "P-0002"]
        assert patients[0].status == "onboarding"
        assert patients[0].timezone == "Europe/London"
        assert patients[1].locale == "en", "no German content: the default language"
        state = session.get(DialogState, patients[0].id)
        assert state is not None and state.flow == "onboarding" and state.version == 1
    assert all(row.chat_id in (501, 502) and row.kind == "message" for row in outbox_rows(database))


def test_an_update_is_handled_once_even_if_delivered_twice(services: Services, database: Database) -> None:
    services.inbox.receive([Received(7, 501, {"update_id": 7})])
    first = services.coach.handle(ANNA, Start(), update_id=7)
    sent = len(outbox_rows(database))
    second = services.coach.handle(ANNA, Start(), update_id=7)
    assert not first.duplicate and second.duplicate
    assert len(outbox_rows(database)) == sent


def test_the_inbox_keeps_updates_until_handled_and_then_drops_their_text(
    services: Services, database: Database
) -> None:
    fresh = services.inbox.receive([Received(10, 501, {"update_id": 10, "message": {"text": "private"}})])
    again = services.inbox.receive([Received(10, 501, {"update_id": 10}), Received(11, 501, {"update_id": 11})])
    assert [r.update_id for r in fresh] == [10]
    assert [r.update_id for r in again] == [11]
    assert [r.update_id for r in services.inbox.unhandled()] == [10, 11]
    services.coach.handle(ANNA, Start(), update_id=10)
    assert [r.update_id for r in services.inbox.unhandled()] == [11]
    with database.transaction() as session:
        row = session.get(InboundUpdate, 10)
        assert row is not None and row.payload is None and row.handled_at is not None


def test_a_stale_version_is_refused(services: Services, database: Database) -> None:
    services.coach.handle(ANNA, Start(), update_id=1)
    with database.transaction() as session:
        patient = session.exec(select(Patient)).one()
        state, version = load_state(session, patient)
        save_state(session, patient, state, version, services.clock.now())
    with pytest.raises(StateConflict), database.transaction() as session:
        patient = session.exec(select(Patient)).one()
        save_state(session, patient, state, version, services.clock.now())


def latest_buttons(database: Database) -> list[list[str]]:
    rows = [r for r in outbox_rows(database) if r.kind == "message" and r.payload["buttons"]]
    return rows[-1].payload["buttons"]  # type: ignore[no-any-return]


def test_answers_are_stored_and_the_guide_gets_the_question(services: Services, database: Database) -> None:
    services.coach.handle(ANNA, Start())
    for _ in range(30):
        labels = {label: data for label, data in latest_buttons(database)}
        if "I have a question" in labels:
            services.coach.handle(ANNA, Press(labels["I have a question"], 1))
            break
        services.coach.handle(ANNA, Press(next(iter(labels.values())), 1))
    services.coach.handle(ANNA, Text("Can I do this while working?"))
    with database.transaction() as session:
        answers = session.exec(select(Answer)).all()
        assert ("consent_question", "Can I do this while working?") in [(a.key, a.value) for a in answers]
    staff = [r for r in outbox_rows(database) if r.chat_id == -100500]
    assert len(staff) == 1
    assert "P-0001" in staff[0].payload["text"]


def test_outbox_sends_the_head_of_each_chat_most_urgent_first(database: Database, services: Services) -> None:
    now = services.clock.now()
    with database.transaction() as session:
        for chat, priority, text in [
            (1, Priority.BROADCAST, "news"),
            (1, Priority.INTERACTIVE, "reply-a"),
            (2, Priority.INTERACTIVE, "reply-b"),
            (1, Priority.INTERACTIVE, "reply-c"),
            (3, Priority.URGENT, "alert"),
        ]:
            outbox.enqueue(session, chat, Message(text), now, priority=priority)
    with database.transaction() as session:
        first = outbox.claim_due(session, now, limit=10)
    assert [c.payload.text for c in first] == ["alert", "reply-a", "reply-b"]
    with database.transaction() as session:
        assert outbox.claim_due(session, now, limit=10) == [], "nothing more while heads are in flight"
        for claimed in first:
            outbox.mark_sent(session, claimed.id, 1, now)
    with database.transaction() as session:
        assert [c.payload.text for c in outbox.claim_due(session, now, limit=10)] == ["reply-c"]


def test_a_claimed_message_whose_sender_died_is_claimed_again(database: Database, services: Services) -> None:
    now = services.clock.now()
    with database.transaction() as session:
        outbox.enqueue(session, 1, Message("hi"), now)
    with database.transaction() as session:
        assert len(outbox.claim_due(session, now, limit=5)) == 1
    with database.transaction() as session:
        assert outbox.claim_due(session, now + outbox.LEASE / 2, limit=5) == []
        assert len(outbox.claim_due(session, now + outbox.LEASE * 2, limit=5)) == 1


def test_state_is_saved_as_plain_json(services: Services, database: Database) -> None:
    services.coach.handle(ANNA, Start())
    with database.transaction() as session:
        row = session.exec(select(DialogState)).one()
        rebuilt = PatientState.dialog_fields(row.data)
    assert rebuilt["prompt"] >= 1
    assert row.flow == "onboarding"


def test_a_message_timed_for_later_holds_nobody_up_and_can_be_cancelled(database: Database, services: Services) -> None:
    now = services.clock.now()
    with database.transaction() as session:
        outbox.enqueue(
            session, 1, Message("reminder"), now,
            not_before=now + timedelta(days=2), priority=Priority.SCHEDULED, group="7:reminders",
        )  # fmt: skip
        outbox.enqueue(session, 1, Message("cue"), now, priority=Priority.SCHEDULED)
    with database.transaction() as session:
        claimed = outbox.claim_due(session, now, limit=5)
        assert [c.payload.text for c in claimed] == ["cue"], "the reminder two days away holds nothing up"
        outbox.mark_sent(session, claimed[0].id, 1, now)
    with database.transaction() as session:
        assert outbox.cancel_group(session, "7:reminders") == 1
        assert outbox.claim_due(session, now + timedelta(days=3), limit=5) == []
