"""A patient's own data: everything stored about them as one document (`paincoach patient export`,
"Export my data" in /privacy), and erasure (`paincoach patient erase`, "Delete my data"): every row
of every table that names them is deleted, the staff chat's messages about them and the Telegram
updates they sent too (their forum topic in the staff chat goes by deleteForumTopic, a row that
is itself deleted once sent), and what a trial must keep stays only as anonymous counts (erasure_tally:
how many reached each stage of the flow, their clinician minutes), with an audit entry that does
not say who. Tables are found from the models (every table with a `patient_id`), so a table added
later is covered without changing this module."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, select, update
from sqlmodel import Session, SQLModel

from content.schema import Program
from research.consort import erased_stages
from research.dataset import load
from research.exports import given
from storage import outbox
from storage.alerts import audit
from storage.models import ErasureTally, InboundUpdate, OutboxMessage, Patient, PatientTopic, RelayedMessage
from storage.outbox import Priority
from storage.payloads import DeleteTopic
from storage.topics import thread_of, topic_of

# Rows a trial must keep, without the patient: an allocation holds its place in the stratum's
# sequence (the next allocation is counted from them), so it stays, unlinked.
KEPT_WITHOUT_PATIENT = frozenset({"allocation"})
# Columns that hold someone's Telegram id: left out of a patient's own export (a staff member's
# id is theirs, not the patient's; the patient's own needs no copy).
TELEGRAM_ID_COLUMNS = frozenset({
    "telegram_user_id", "chat_id", "staff_id", "acknowledged_by", "reviewed_by", "answered_by",
    "source_chat_id", "source_message_id", "telegram_message_id", "created_by", "added_by",
})  # fmt: skip


def patient_tables() -> list[Table]:
    """Every table with a patient_id column, in an order that deletes referring rows first."""
    tables = [t for t in SQLModel.metadata.sorted_tables if "patient_id" in t.c and t.name != "patient"]
    return list(reversed(tables))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def export_patient(session: Session, patient: Patient) -> dict[str, Any]:
    """Everything stored about one patient, table by table, without Telegram ids."""
    assert patient.id is not None
    document: dict[str, Any] = {
        "patient": {k: _plain(v) for k, v in patient.model_dump().items() if k not in TELEGRAM_ID_COLUMNS},
    }
    for table in sorted(patient_tables(), key=lambda t: t.name):
        rows = session.execute(select(table).where(table.c.patient_id == patient.id)).mappings().all()
        if table.name == "outbox":
            rows = [r for r in rows if r["chat_id"] == patient.chat_id]  # what was sent to them
        document[table.name] = [
            {k: _plain(v) for k, v in row.items() if k not in TELEGRAM_ID_COLUMNS and k != "patient_id"} for row in rows
        ]
    return document


def _mentions(payload: Any, needles: tuple[str, ...]) -> bool:
    text = json.dumps(payload, ensure_ascii=False)
    return any(needle in text for needle in needles)


def erase_patient(session: Session, patient: Patient, program: Program, actor: str, now: datetime) -> dict[str, int]:
    """Erase one patient for good, in the caller's transaction; returns how many rows went, by table."""
    assert patient.id is not None and patient.code is not None
    pid, code = patient.id, patient.code
    # The counts a trial keeps: the stages they reached, before anything goes.
    dataset = load(session, given(program))
    participant = [p for p in dataset.participants if p.code == code]
    tally = erased_stages(participant, program)
    tally["erased"] += 1
    removed: Counter[str] = Counter()

    # Messages about them in the staff chat (their copies, alerts, notes in their topic) and everything
    # sent to them; Telegram updates they sent, and handled ones that name them.
    needles = (code, str(patient.telegram_user_id))
    outbox_ids = set(session.scalars(select(OutboxMessage.id).where(OutboxMessage.chat_id == patient.chat_id)))  # type: ignore[call-overload]
    outbox_ids |= set(session.scalars(select(OutboxMessage.id).where(OutboxMessage.patient_id == pid)))  # type: ignore[call-overload]
    outbox_ids |= set(session.scalars(select(RelayedMessage.copy_row).where(RelayedMessage.patient_id == pid)))  # type: ignore[call-overload]
    outbox_ids |= set(session.scalars(select(PatientTopic.created_row).where(PatientTopic.patient_id == pid)))  # type: ignore[call-overload]
    topic = topic_of(session, pid)
    thread = thread_of(session, topic) if topic is not None else None
    topic_chat = topic.chat_id if topic is not None else None
    for row in session.execute(select(OutboxMessage.id, OutboxMessage.payload)).all():  # type: ignore[call-overload]
        if row.payload.get("topic_of") == pid or _mentions(row.payload, (code,)):
            outbox_ids.add(row.id)
    update_ids = set(session.scalars(select(InboundUpdate.update_id).where(InboundUpdate.chat_id == patient.chat_id)))  # type: ignore[call-overload]
    for row in session.execute(select(InboundUpdate.update_id, InboundUpdate.payload)).all():  # type: ignore[call-overload]
        if row.payload is not None and _mentions(row.payload, needles):
            update_ids.add(row.update_id)

    for table in patient_tables():
        if table.name == "outbox":
            continue
        if table.name in KEPT_WITHOUT_PATIENT:
            result = session.execute(update(table).where(table.c.patient_id == pid).values(patient_id=None))
            removed[f"{table.name}_unlinked"] += result.rowcount  # type: ignore[attr-defined]
            continue
        result = session.execute(delete(table).where(table.c.patient_id == pid))
        removed[table.name] += result.rowcount  # type: ignore[attr-defined]
    queued = OutboxMessage.__table__  # type: ignore[attr-defined]
    for chunk in _chunks(sorted(outbox_ids)):
        removed["outbox"] += session.execute(delete(queued).where(queued.c.id.in_(chunk))).rowcount  # type: ignore[attr-defined]
    inbox = InboundUpdate.__table__  # type: ignore[attr-defined]
    for chunk in _chunks(sorted(update_ids)):
        removed["inbound_update"] += session.execute(delete(inbox).where(inbox.c.update_id.in_(chunk))).rowcount  # type: ignore[attr-defined]
    session.delete(patient)
    session.flush()
    removed["patient"] += 1
    if isinstance(thread, int) and topic_chat is not None:  # their topic in the staff chat, and all in it
        outbox.enqueue(session, topic_chat, DeleteTopic(thread), now, priority=Priority.URGENT)
        removed["forum_topic"] += 1

    for stage, count in tally.items():
        if count:
            kept = session.get(ErasureTally, stage) or ErasureTally(stage=stage, count=0)
            kept.count += count
            session.add(kept)
    audit(session, now, actor, "patient_erased", None, **{f"rows_{k}": v for k, v in sorted(removed.items()) if v})
    return dict(removed)


def _chunks(ids: list[Any], size: int = 500) -> list[list[Any]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]
