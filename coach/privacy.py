"""A patient's own data, from /privacy: everything stored about them sent to them as one JSON file
(`my-data-P-0042.json`, the document `paincoach patient export` writes), or everything erased
(research/erasure.py), in the transaction of the tap that asked for it."""

from __future__ import annotations

import base64
import json
from datetime import datetime

from sqlmodel import Session

from content.render import render
from content.schema import Content
from research.erasure import erase_patient, export_patient
from storage import outbox
from storage.alerts import audit
from storage.models import Patient
from storage.payloads import Document, Message


def export_file(session: Session, patient: Patient) -> tuple[str, bytes]:
    """The patient's data as a file: its name and its bytes (UTF-8 JSON, as `paincoach patient export`)."""
    document = json.dumps(export_patient(session, patient), indent=2, ensure_ascii=False, default=str) + "\n"
    return f"my-data-{patient.code}.json", document.encode("utf-8")


def send_export(session: Session, content: Content, patient: Patient, now: datetime) -> int:
    """Queue the patient's data to them, as one JSON file; returns its size in bytes."""
    filename, data = export_file(session, patient)
    caption = render(content.for_locale(patient.locale).ui["privacy_export_caption"], {"code": patient.code})
    file = Document(filename, base64.b64encode(data).decode("ascii"), caption)
    outbox.enqueue(session, patient.chat_id, file, now, patient_id=patient.id)
    audit(session, now, "patient", "patient_exported", patient.id, bytes=len(data))
    return len(data)


def erase(session: Session, content: Content, patient: Patient, now: datetime) -> dict[str, int]:
    """Erase them, then queue their goodbye: a row naming no patient, deleted once it is sent
    (`forget`), so the last message they get leaves nothing of theirs behind."""
    chat, goodbye = patient.chat_id, content.for_locale(patient.locale).ui["privacy_erased"]
    removed = erase_patient(session, patient, content.program, "patient", now)
    outbox.enqueue(session, chat, Message(goodbye, forget=True), now)
    return removed
