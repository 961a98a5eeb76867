"""Questionnaire results and stepped-care flags: stored, summarised for the guides, reviewed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from storage.alerts import audit
from storage.models import CareFlag, QuestionnaireResult


@dataclass(frozen=True)
class ResultSummary:
    """The latest result of one questionnaire, as the guides see it."""

    id: str  # the questionnaire: phq9
    title: str  # PHQ-9
    score: str  # as shown: "12", "4.3", "-" (not scored)
    band: str | None
    change: str | None  # since baseline: "+3", "-1.5"; None for the first result
    occasion: str
    at: datetime


def save_result(session: Session, result: QuestionnaireResult) -> QuestionnaireResult:
    session.add(result)
    session.flush()
    audit(
        session, result.created_at, "coach", "questionnaire_completed", result.patient_id,
        result_id=result.id, questionnaire=result.questionnaire, occasion=result.occasion, score=result.shown,
    )  # fmt: skip
    return result


def change_shown(change: float | None) -> str | None:
    if change is None:
        return None
    return f"{change:+.0f}" if float(change).is_integer() else f"{change:+.1f}"


def latest_results(session: Session, patient_id: int) -> list[ResultSummary]:
    """One summary per questionnaire the patient has done: the latest result, with its change since baseline."""
    rows = session.exec(
        select(QuestionnaireResult)
        .where(col(QuestionnaireResult.patient_id) == patient_id)
        .order_by(col(QuestionnaireResult.id))
    ).all()
    latest: dict[str, QuestionnaireResult] = {}
    for row in rows:
        latest[row.questionnaire] = row
    return [
        ResultSummary(r.questionnaire, r.title, r.shown, r.band, change_shown(r.change), r.occasion, r.created_at)
        for r in sorted(latest.values(), key=lambda r: r.title)
    ]


def score_lines(session: Session, patient_id: int) -> list[str]:
    """The latest results as short lines for the guides: "PHQ-9: 12 (moderate), +3 since baseline (week-3)"."""
    lines = []
    for result in latest_results(session, patient_id):
        band = f" ({result.band})" if result.band else ""
        change = f", {result.change} since baseline" if result.change is not None else ", baseline"
        lines.append(f"{result.title}: {result.score}{band}{change} ({result.occasion}, {result.at:%Y-%m-%d})")
    return lines


def flag(session: Session, patient_id: int, rule: str, occasion: str, reason: str, now: datetime) -> CareFlag:
    care_flag = CareFlag(patient_id=patient_id, rule=rule, occasion=occasion, reason=reason[:300], created_at=now)
    session.add(care_flag)
    session.flush()
    audit(session, now, "coach", "care_flag_raised", patient_id, flag_id=care_flag.id, rule=rule, occasion=occasion)
    return care_flag


def open_flags(session: Session, patient_id: int) -> list[str]:
    """Stepped-care flags not yet reviewed, as short lines: "PHQ-9 of 20 or more (week-3, 2026-03-23)"."""
    rows = session.exec(
        select(CareFlag)
        .where(col(CareFlag.patient_id) == patient_id, col(CareFlag.reviewed_at).is_(None))
        .order_by(col(CareFlag.id))
    ).all()
    return [f"{row.reason} ({row.occasion}, {row.created_at:%Y-%m-%d})" for row in rows]


def review_flag(session: Session, flag_id: int, staff_id: int, now: datetime) -> CareFlag | None:
    """A guide reviewed a flag; reviewing twice keeps the first. None if there is no such flag."""
    care_flag = session.get(CareFlag, flag_id)
    if care_flag is None:
        return None
    if care_flag.reviewed_at is None:
        care_flag.reviewed_at = now
        care_flag.reviewed_by = staff_id
        session.add(care_flag)
        audit(session, now, f"staff:{staff_id}", "care_flag_reviewed", care_flag.patient_id, flag_id=flag_id)
    return care_flag
