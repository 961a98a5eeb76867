"""Patient topics in the staff chat and the map of relayed messages, both ways.

A topic's thread id is what Telegram answered to the outbox row that created it, so the
coach never waits for Telegram inside a transaction: rows meant for a topic carry
`topic_of` (the patient id) and the outbox fills in the thread once the topic exists.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlmodel import Session, col, select

from storage.models import OutboxMessage, PatientTopic, RelayedMessage

TO_GUIDES, TO_PATIENT = "to_guides", "to_patient"
Thread = int | None | Literal["wait"]  # a thread id, None for the main chat, or "not created yet"


def topic_of(session: Session, patient_id: int) -> PatientTopic | None:
    return session.get(PatientTopic, patient_id)


def thread_of(session: Session, topic: PatientTopic) -> Thread:
    """The topic's thread id; "wait" while it is being created; None if it could not be created."""
    row = session.get(OutboxMessage, topic.created_row)
    if row is None or row.status in ("failed", "blocked", "cancelled"):
        return None
    if row.status != "sent" or row.telegram_message_id is None:
        return "wait"
    return row.telegram_message_id


def thread_for_patient(session: Session, patient_id: int) -> Thread:
    topic = topic_of(session, patient_id)
    return None if topic is None else thread_of(session, topic)


def patient_for_thread(session: Session, chat_id: int, thread_id: int) -> int | None:
    """Whose topic this thread is (its latest incarnation), or None."""
    row = session.exec(
        select(PatientTopic.patient_id)
        .join(OutboxMessage, col(OutboxMessage.id) == col(PatientTopic.created_row))
        .where(
            col(PatientTopic.chat_id) == chat_id,
            col(OutboxMessage.status) == "sent",
            col(OutboxMessage.telegram_message_id) == thread_id,
        )
    ).first()
    return row


def save_topic(session: Session, patient_id: int, chat_id: int, created_row: int, name: str, now: datetime) -> None:
    topic = session.get(PatientTopic, patient_id)
    if topic is None:
        session.add(
            PatientTopic(patient_id=patient_id, chat_id=chat_id, created_row=created_row, name=name, created_at=now)
        )
        return
    topic.created_row = created_row
    topic.name = name
    topic.recreated += 1
    session.add(topic)


def record_relay(
    session: Session,
    *,
    patient_id: int,
    direction: str,
    source_chat_id: int,
    source_message_id: int,
    copy_row: int,
    now: datetime,
    composed: bool = False,
    ticket_id: int | None = None,
) -> RelayedMessage:
    relayed = RelayedMessage(
        patient_id=patient_id,
        direction=direction,
        source_chat_id=source_chat_id,
        source_message_id=source_message_id,
        copy_row=copy_row,
        composed=composed,
        ticket_id=ticket_id,
        created_at=now,
    )
    session.add(relayed)
    return relayed


def copies_of(session: Session, source_chat_id: int, source_message_id: int) -> list[RelayedMessage]:
    """The copies made of one message (a patient's, or a guide's), oldest first."""
    return list(
        session.exec(
            select(RelayedMessage)
            .where(
                col(RelayedMessage.source_chat_id) == source_chat_id,
                col(RelayedMessage.source_message_id) == source_message_id,
            )
            .order_by(col(RelayedMessage.id))
        )
    )


def relayed_as(session: Session, chat_id: int, telegram_message_id: int) -> RelayedMessage | None:
    """The relayed message whose copy is this message (e.g. the one a guide replied to)."""
    return session.exec(
        select(RelayedMessage)
        .join(OutboxMessage, col(OutboxMessage.id) == col(RelayedMessage.copy_row))
        .where(col(OutboxMessage.chat_id) == chat_id, col(OutboxMessage.telegram_message_id) == telegram_message_id)
    ).first()


def copies_in_ticket(session: Session, ticket_id: int) -> list[RelayedMessage]:
    """The guides' copies of a patient's messages in one ticket (each with a Mark answered button)."""
    return list(
        session.exec(
            select(RelayedMessage)
            .where(
                col(RelayedMessage.ticket_id) == ticket_id,
                col(RelayedMessage.direction) == TO_GUIDES,
                col(RelayedMessage.composed).is_(False),
            )
            .order_by(col(RelayedMessage.id))
        )
    )
