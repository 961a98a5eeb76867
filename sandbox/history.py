"""A patient's history as the database holds it: what the coach sent them, and what they answered,
from before the sandbox started (a trial run by `paincoach simulate`, or an earlier sandbox), so
that opening a database shows each patient's whole course, not only what happens from now on."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select

from content.render import plain
from storage.database import Database
from storage.models import Answer, OutboxMessage, Patient

if TYPE_CHECKING:
    from sandbox.web import Show

LIMIT = 2000  # entries shown per patient, at most (the newest)


def history_of(database: Database, user_id: int, show: Show) -> list[dict[str, Any]]:
    """What happened before `show.sandbox.started_at`, oldest first: the coach's messages that
    were sent and the patient's answers."""
    before = show.sandbox.started_at
    with database.transaction() as session:
        patient = session.exec(select(Patient).where(Patient.telegram_user_id == user_id)).first()
        if patient is None:
            return []
        sent = session.exec(
            select(OutboxMessage)
            .where(
                OutboxMessage.chat_id == patient.chat_id,
                col(OutboxMessage.status) == "sent",
                col(OutboxMessage.sent_at) < before,
            )
            .order_by(col(OutboxMessage.sent_at), col(OutboxMessage.id))
        ).all()
        answers = session.exec(
            select(Answer)
            .where(Answer.patient_id == patient.id, col(Answer.created_at) < before)
            .order_by(col(Answer.created_at), col(Answer.id))
        ).all()
    entries: list[tuple[datetime, int, dict[str, Any]]] = []
    for row in sent:
        payload = row.payload
        text = payload.get("text") or payload.get("caption") or ""
        what = "edit" if row.kind != "message" else ("photo" if "filename" in payload or "png" in payload else "")
        moment = row.sent_at or row.created_at
        shown = {"from_bot": True, "kind": what, "text": plain(str(text)), "at": show.moment(moment)}
        entries.append((moment, 0, shown))
    for answer in answers:
        entries.append(
            (
                answer.created_at,
                1,
                {
                    "from_bot": False,
                    "kind": f"{answer.flow} · {answer.key}",
                    "text": answer.value,
                    "at": show.moment(answer.created_at),
                },
            )
        )
    entries.sort(key=lambda entry: (entry[0], entry[1]))
    return [entry for _, _, entry in entries[-LIMIT:]]
