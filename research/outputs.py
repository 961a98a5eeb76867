"""Writing the research outputs of one database to a folder: the report and the exports."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from sqlmodel import select

from content.schema import Content
from research import fhir, report
from research.dataset import Dataset, load
from research.exports import AuditLine, audit_csv, dictionary_csv, given, long_csv, wide_csv
from storage.database import Database
from storage.models import AuditEvent, Patient


def dataset_of(database: Database, content: Content) -> Dataset:
    with database.transaction() as session:
        return load(session, given(content.program))


def guess_mode(dataset: Dataset) -> str:
    """trial when anyone was allocated an arm (or the enrolment recorded a trial), else service."""
    trial = any(p.arm or p.programme == "trial" for p in dataset.participants)
    return "trial" if trial or any(k.startswith("allocated:course") for k in dataset.tallies) else "service"


def write_report(database: Database, content: Content, out: Path, mode: str | None = None) -> list[Path]:
    dataset = dataset_of(database, content)
    questionnaires = content.for_locale(None).questionnaires
    built = report.build(dataset, questionnaires, content.program, mode or guess_mode(dataset))
    return report.write(built, questionnaires, out)


def write_exports(database: Database, content: Content, out: Path, now: datetime) -> list[Path]:
    """wide.csv, long.csv, dictionary.csv, audit.csv and fhir.json (validated before it is written)."""
    questionnaires = content.for_locale(None).questionnaires
    program = content.program
    with database.transaction() as session:
        dataset = load(session, given(program))
        codes = {p.id: p.code for p in session.exec(select(Patient)).all()}
        lines = [
            AuditLine(e.at, e.actor, e.action, codes.get(e.patient_id) if e.patient_id else None, e.detail)
            for e in session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()  # type: ignore[arg-type]
        ]
    bundle = fhir.bundle(dataset, questionnaires, now)
    fhir.validate(bundle)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "wide.csv": wide_csv(dataset, questionnaires, program),
        "long.csv": long_csv(dataset, questionnaires, program),
        "dictionary.csv": dictionary_csv(questionnaires, program),
        "audit.csv": audit_csv(lines),
        "fhir.json": json.dumps(bundle, indent=2, ensure_ascii=False) + "\n",
    }
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    return [out / name for name in files]
