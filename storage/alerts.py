"""Risk alerts and the audit log: raised, raised again while unacknowledged, acknowledged."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from storage.models import Alert, AuditEvent


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
    """Unacknowledged alerts last raised more than `after` ago (`review` alerts: `review_after`, if given)."""
    review_after = review_after or after
    late = or_(
        and_(col(Alert.level) != "review", col(Alert.last_raised_at) <= now - after),
        and_(col(Alert.level) == "review", col(Alert.last_raised_at) <= now - review_after),
    )
    return list(
        session.exec(select(Alert).where(col(Alert.acknowledged_at).is_(None), late).order_by(col(Alert.id))).all()
    )


def mark_raised_again(session: Session, alert: Alert, now: datetime) -> None:
    alert.raised_count += 1
    alert.last_raised_at = now
    session.add(alert)
    audit(session, now, "coach", "alert_raised_again", alert.patient_id, alert_id=alert.id, count=alert.raised_count)
