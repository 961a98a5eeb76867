"""What the research outputs read from the database, as plain data: each participant (by their
pseudonymous code only), their questionnaire results, lessons and clinician minutes. The report and
the exports are pure functions of a `Dataset`, so they can be checked on a fixture by hand."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from storage.enrolment import export_fields
from storage.models import DialogState, ErasureTally, Patient, QuestionnaireResult, StaffContact


@dataclass(frozen=True)
class Result:
    """One finished questionnaire on one occasion."""

    questionnaire: str
    occasion: str
    answers: dict[str, int]
    total: float | None
    at: datetime


@dataclass(frozen=True)
class Participant:
    code: str
    status: str  # new | onboarding | active | declined | stopped
    joined_at: datetime
    consented_at: datetime | None = None
    arm: str | None = None
    site: str | None = None
    programme: str | None = None  # service | trial (from enrolment, where recorded)
    eligibility: str | None = None  # eligible | not_eligible | referred | pending (from screening)
    consent_version: str | None = None
    content_version: str | None = None
    lessons_done: tuple[int, ...] = ()
    started: bool = False  # began lesson 1
    occasions_done: tuple[str, ...] = ()  # occasions whose questionnaires were all done
    results: tuple[Result, ...] = ()
    clinician_minutes: int = 0

    @property
    def withdrawn(self) -> bool:
        return self.status == "stopped"

    def result(self, questionnaire: str, occasion: str) -> Result | None:
        found = [r for r in self.results if r.questionnaire == questionnaire and r.occasion == occasion]
        return found[-1] if found else None


@dataclass(frozen=True)
class Dataset:
    participants: tuple[Participant, ...]
    # What erased patients left behind: anonymous counts only (stage -> how many), see research/erasure.py.
    tallies: dict[str, int] = field(default_factory=dict)


def _occasions_done(surveys_done: list[str], given: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    done = set(surveys_done)
    finished = []
    for occasion, questionnaires in given.items():
        if questionnaires and all(f"{occasion}/{q}" in done for q in questionnaires):
            finished.append(occasion)
    return tuple(finished)


def load(session: Session, given: dict[str, tuple[str, ...]]) -> Dataset:
    """Everyone who joined, in code order. `given`: each occasion id and the questionnaires it
    gives (from the programme), to tell which occasions a patient finished."""
    results: dict[int, list[Result]] = defaultdict(list)
    rows = session.exec(select(QuestionnaireResult).order_by(QuestionnaireResult.id)).all()  # type: ignore[arg-type]
    for row in rows:
        answers = {k: int(v) for k, v in row.answers.items() if v is not None}
        results[row.patient_id].append(Result(row.questionnaire, row.occasion, answers, row.total, row.created_at))
    minutes: dict[int, int] = defaultdict(int)
    for contact in session.exec(select(StaffContact)).all():
        minutes[contact.patient_id] += contact.minutes
    states = {row.patient_id: row.data for row in session.exec(select(DialogState)).all()}
    participants = []
    for patient in session.exec(select(Patient).order_by(Patient.id)).all():  # type: ignore[arg-type]
        assert patient.id is not None
        data: dict[str, Any] = states.get(patient.id, {})
        lessons = tuple(sorted(int(n) for n in data.get("lessons_done", [])))
        # site, programme, arm, eligibility and the consent and content versions (issue 12)
        enrolment = export_fields(patient)
        participants.append(
            Participant(
                code=patient.code or "",
                status=patient.status,
                joined_at=patient.created_at,
                consented_at=patient.consented_at,
                **enrolment,
                lessons_done=lessons,
                started=bool(lessons) or data.get("lesson_place") is not None,
                occasions_done=_occasions_done(data.get("surveys_done", []), given),
                results=tuple(results.get(patient.id, [])),
                clinician_minutes=minutes.get(patient.id, 0),
            )
        )
    tallies = {row.stage: row.count for row in session.exec(select(ErasureTally)).all()}
    return Dataset(tuple(participants), tallies)
