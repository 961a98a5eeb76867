"""Risk alerts and the audit log: raised, raised again while unacknowledged, acknowledged."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from storage.models import Alert, AuditEvent, RiskQuestion


def audit(session: Session, now: datetime, actor: str, action: str, patient_id: int | None, **detail: Any) -> None:
    session.add(AuditEvent(at=now, actor=actor, action=action, patient_id=patient_id, detail=detail))


def raise_alert(session: Session, patient_id: int, level: str, reason: str, excerpt: str, now: datetime) -> Alert:
    alert = Alert(
        patient_id=patient_id, level=level, reason=reason[:300], excerpt=excerpt, created_at=now, last_raised_at=now
    )
    session.add(alert)
    session.flush()
    audit(session, now, "coach", "alert_raised", patient_id, alert_id=alert.id, level=level, reason=alert.reason)
    return alert


def acknowledge(session: Session, alert_id: int, staff_id: int, now: datetime) -> Alert | None:
    """Mark an alert acknowledged; None if there is no such alert. Acknowledging twice keeps the first."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        return None
    if alert.acknowledged_at is None:
        alert.acknowledged_at = now
        alert.acknowledged_by = staff_id
        session.add(alert)
        audit(session, now, f"staff:{staff_id}", "alert_acknowledged", alert.patient_id, alert_id=alert_id)
    return alert


def due_again(session: Session, now: datetime, after: timedelta, review_after: timedelta | None = None) -> list[Alert]:
    """Alerts without an outcome, raised again: urgent ones nobody acknowledged after `after`;
    review alerts, and acknowledged ones still waiting for their outcome, after `review_after`
    (if given, else `after`)."""
    review_after = review_after or after
    slow = or_(col(Alert.level) == "review", col(Alert.acknowledged_at).is_not(None))
    late = or_(
        and_(~slow, col(Alert.last_raised_at) <= now - after),
        and_(slow, col(Alert.last_raised_at) <= now - review_after),
    )
    return list(session.exec(select(Alert).where(col(Alert.closed_at).is_(None), late).order_by(col(Alert.id))).all())


OUTCOMES = ("contacted_safe", "urgent_care", "false_alarm")


def close(session: Session, alert_id: int, staff_id: int, outcome: str, note: str, now: datetime) -> Alert | None:
    """Record an alert's outcome (and acknowledge it, if nobody had); closing twice keeps the first."""
    alert = session.get(Alert, alert_id)
    if alert is None or outcome not in OUTCOMES:
        return None
    if alert.acknowledged_at is None:
        acknowledge(session, alert_id, staff_id, now)
    if alert.closed_at is None:
        alert.outcome, alert.outcome_note, alert.closed_by, alert.closed_at = outcome, note, staff_id, now
        session.add(alert)
        audit(session, now, f"staff:{staff_id}", "alert_closed", alert.patient_id, alert_id=alert_id, outcome=outcome)
    return alert


def add_outcome_note(session: Session, alert_id: int, staff_id: int, text: str, now: datetime) -> Alert | None:
    """Add the guide's note to a closed alert's outcome (sealed at rest, like the rest of the
    note); the audit row has its length, never its text. None if there is no such alert; an alert
    not yet closed is returned unchanged."""
    alert = session.get(Alert, alert_id)
    if alert is None or alert.closed_at is None:
        return alert
    alert.outcome_note = f"{alert.outcome_note}\n{text}" if alert.outcome_note else text
    session.add(alert)
    audit(session, now, f"staff:{staff_id}", "alert_outcome_noted", alert.patient_id, alert_id=alert_id,
          length=len(text))  # fmt: skip
    return alert


def false_alarms(session: Session) -> int:
    """How many alerts were closed as false alarms (to tune the phrase lists)."""
    return len(session.exec(select(Alert.id).where(col(Alert.outcome) == "false_alarm")).all())


# -- the safety question --------------------------------------------------------------------


def ask(session: Session, patient_id: int, reason: str, excerpt: str, now: datetime) -> RiskQuestion:
    question = RiskQuestion(patient_id=patient_id, reason=reason[:300], excerpt=excerpt, asked_at=now)
    session.add(question)
    session.flush()
    audit(session, now, "coach", "risk_question_asked", patient_id, question_id=question.id)
    return question


def answer(session: Session, patient_id: int, given: str, now: datetime) -> RiskQuestion | None:
    """The patient's answer to their latest question still open."""
    question = session.exec(
        select(RiskQuestion)
        .where(col(RiskQuestion.patient_id) == patient_id, col(RiskQuestion.answered_at).is_(None))
        .order_by(col(RiskQuestion.id).desc())
    ).first()
    if question is not None:
        question.answer, question.answered_at = given, now
        session.add(question)
        audit(session, now, "patient", "risk_question_answered", patient_id, question_id=question.id, answer=given)
    return question


def unanswered(session: Session, now: datetime, after: timedelta) -> list[RiskQuestion]:
    """Questions left unanswered for `after`, not yet passed to the guides."""
    return list(
        session.exec(
            select(RiskQuestion).where(
                col(RiskQuestion.answered_at).is_(None),
                col(RiskQuestion.escalated_at).is_(None),
                col(RiskQuestion.asked_at) <= now - after,
            )
        ).all()
    )


def mark_raised_again(session: Session, alert: Alert, now: datetime) -> None:
    alert.raised_count += 1
    alert.last_raised_at = now
    session.add(alert)
    audit(session, now, "coach", "alert_raised_again", alert.patient_id, alert_id=alert.id, count=alert.raised_count)
