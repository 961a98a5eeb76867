"""Rows meant for a patient's topic wait for the topic, without holding up anything else."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from storage import outbox, topics
from storage.models import OutboxMessage
from storage.outbox import Priority
from storage.patients import Defaults, Person, find_or_enrol
from storage.payloads import CreateTopic, Message, Where
from tests.support import make_database

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
STAFF = -100777


def test_a_topic_row_waits_for_its_topic_and_then_gets_its_thread(tmp_path: Path) -> None:
    database = make_database(tmp_path)
    try:
        with database.transaction() as session:
            patient = find_or_enrol(session, Person(1, 1), Defaults("en", "UTC", "other", frozenset({"en"})), NOW)
            assert patient.id is not None
            [made] = outbox.enqueue(session, STAFF, CreateTopic("P-0001 🔴"), NOW, priority=Priority.URGENT)
            topics.save_topic(session, patient.id, STAFF, made, "P-0001 🔴", NOW)
            [for_topic] = outbox.enqueue(session, STAFF, Message("card", where=Where(topic_of=patient.id)), NOW)
            creating = outbox.claim_due(session, NOW, limit=10)
            assert [c.kind for c in creating] == ["topic"], "the topic first; its card waits"

            [elsewhere] = outbox.enqueue(session, STAFF, Message("queue"), NOW)
            outbox.mark_sent(session, made, 501, NOW)
            session.expire_all()
            claimed = outbox.claim_due(session, NOW, limit=10)
            assert [(c.id, c.payload.where.thread_id) for c in claimed] == [(for_topic, 501)]
            assert topics.patient_for_thread(session, STAFF, 501) == patient.id
            waiting = session.get(OutboxMessage, elsewhere)
            assert waiting is not None and waiting.status == "pending", "one message at a time per chat, as before"
    finally:
        database.dispose()


def test_a_topic_that_could_not_be_made_sends_to_the_main_thread(tmp_path: Path) -> None:
    database = make_database(tmp_path)
    try:
        with database.transaction() as session:
            patient = find_or_enrol(session, Person(2, 2), Defaults("en", "UTC", "other", frozenset({"en"})), NOW)
            assert patient.id is not None
            [made] = outbox.enqueue(session, STAFF, CreateTopic("P-0001"), NOW)
            topics.save_topic(session, patient.id, STAFF, made, "P-0001", NOW)
            outbox.mark_failed(session, made, "Bad Request: not enough rights to create a topic")
            outbox.enqueue(session, STAFF, Message("x", where=Where(topic_of=patient.id)), NOW)
            session.expire_all()
            [claimed] = outbox.claim_due(session, NOW, limit=10)
            assert claimed.payload.where.thread_id is None, "the main thread rather than never"
    finally:
        database.dispose()
