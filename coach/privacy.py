"""A patient's own data, from /privacy: everything stored about them sent to them (as it is
stored, in parts that fit a Telegram message), or everything erased (research/erasure.py), in
the transaction of the tap that asked for it."""

from __future__ import annotations

import html
import json
from datetime import datetime

from sqlmodel import Session

from content.render import render
from content.schema import Content
from research.erasure import erase_patient, export_patient
from storage import outbox
from storage.alerts import audit
from storage.models import Patient
from storage.payloads import Message

PART = 3000  # characters of data per message, inside <pre>, escaped: well under Telegram's 4096


def send_export(session: Session, content: Content, patient: Patient, now: datetime) -> int:
    """Queue the patient's data to them; returns how many messages."""
    document = json.dumps(export_patient(session, patient), indent=1, ensure_ascii=False, default=str)
    lines, parts, current = document.splitlines(), [], ""
    for line in lines:
        if current and len(current) + len(line) + 1 > PART:
            parts.append(current)
            current = ""
        current += line[:PART] + "\n"
    if current:
        parts.append(current)
    texts = content.for_locale(patient.locale).ui
    for number, part in enumerate(parts, start=1):
        header = render(texts["privacy_export_part"], {"number": number, "total": len(parts)})
        text = f"{header}\n<pre>{html.escape(part.rstrip(), quote=False)}</pre>"
        outbox.enqueue(session, patient.chat_id, Message(text), now, patient_id=patient.id)
    audit(session, now, "patient", "patient_exported", patient.id, messages=len(parts))
    return len(parts)


def erase(session: Session, content: Content, patient: Patient, now: datetime) -> dict[str, int]:
    return erase_patient(session, patient, content.program, "patient", now)
