"""Questionnaire results and stepped-care flags: stored, summarised for the guides, reviewed."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from dialogs.desk.card import FlagLine, ScoreLine
from storage.alerts import audit
from storage.models import CareFlag, QuestionnaireResult


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


def latest_results(session: Session, patient_id: int) -> list[ScoreLine]:
    """One line per questionnaire the patient has done: the latest result, with its change since baseline."""
    rows = session.exec(
        select(QuestionnaireResult)
        .where(col(QuestionnaireResult.patient_id) == patient_id)
        .order_by(col(QuestionnaireResult.id))
    ).all()
    latest: dict[str, QuestionnaireResult] = {}
    for row in rows:
        latest[row.questionnaire] = row
    return [
        ScoreLine(r.questionnaire, r.title, r.shown, r.band, change_shown(r.change), r.occasion, r.created_at)
        for r in sorted(latest.values(), key=lambda r: r.title)
    ]


def flag(session: Session, patient_id: int, rule: str, occasion: str, reason: str, now: datetime) -> CareFlag:
    care_flag = CareFlag(patient_id=patient_id, rule=rule, occasion=occasion, reason=reason[:300], created_at=now)
    session.add(care_flag)
    session.flush()
    audit(session, now, "coach", "care_flag_raised", patient_id, flag_id=care_flag.id, rule=rule, occasion=occasion)
    return care_flag


def open_flags(session: Session, patient_id: int) -> list[FlagLine]:
    """Stepped-care flags not yet reviewed, oldest first."""
    rows = session.exec(
        select(CareFlag)
        .where(col(CareFlag.patient_id) == patient_id, col(CareFlag.reviewed_at).is_(None))
        .order_by(col(CareFlag.id))
    ).all()
    return [FlagLine(row.reason, row.occasion, row.created_at) for row in rows]


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


def latest_answers(session: Session, questionnaire: str) -> list[tuple[int, dict[str, object]]]:
    """Each patient's latest answers to one questionnaire: (patient id, answers)."""
    rows = session.exec(
        select(QuestionnaireResult)
        .where(col(QuestionnaireResult.questionnaire) == questionnaire)
        .order_by(col(QuestionnaireResult.id))
    ).all()
    latest = {row.patient_id: dict(row.answers) for row in rows}
    return sorted(latest.items())
