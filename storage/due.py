"""Per-patient due times (`due_event`): kept in step with the plan, found when due, marked done once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from dialogs.due import Planned
from storage.models import DueEvent, Patient


@dataclass(frozen=True)
class DueNow:
    id: int
    patient_id: int
    kind: str
    key: str
    due_at: datetime
    timezone: str


def sync(session: Session, patient_id: int, planned: Sequence[Planned], now: datetime) -> None:
    """Make the patient's waiting rows match the plan: add what is new, move what moved, cancel what
    is no longer planned. Rows already due are left alone (the engine decides if they still apply),
    and rows done stay done, so nothing is ever sent twice."""
    rows = {
        (row.kind, row.key): row
        for row in session.exec(select(DueEvent).where(DueEvent.patient_id == patient_id)).all()
    }
    wanted = {(p.kind, p.key): p for p in planned}
    for identity, plan in wanted.items():
        row = rows.get(identity)
        if row is None:
            session.add(
                DueEvent(patient_id=patient_id, kind=plan.kind, key=plan.key, due_at=plan.due_at, created_at=now)
            )
        elif row.status == "cancelled" and plan.due_at > now:
            row.status, row.due_at = "pending", plan.due_at
            session.add(row)
        elif row.status == "pending" and row.due_at != plan.due_at and row.due_at > now:
            row.due_at = plan.due_at
            session.add(row)
    for identity, row in rows.items():
        if identity not in wanted and row.status == "pending" and row.due_at > now:
            row.status = "cancelled"
            session.add(row)


def due_now(session: Session, now: datetime, limit: int) -> list[DueNow]:
    """Rows whose time has come, oldest first, with the patient's time zone."""
    rows = session.exec(
        select(DueEvent, Patient.timezone)
        .join(Patient, col(Patient.id) == col(DueEvent.patient_id))
        .where(col(DueEvent.status) == "pending", col(DueEvent.due_at) <= now)
        .order_by(col(DueEvent.due_at), col(DueEvent.id))
        .limit(limit)
    ).all()
    return [DueNow(r.id or 0, r.patient_id, r.kind, r.key, r.due_at, zone) for r, zone in rows]


def mark_done(session: Session, due_id: int, now: datetime) -> bool:
    """Mark one row done; False if someone else already did (so its event must not run again)."""
    result = session.execute(
        update(DueEvent)
        .where(col(DueEvent.id) == due_id, col(DueEvent.status) == "pending")
        .values(status="done", done_at=now)
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


def defer(session: Session, due_id: int, until: datetime) -> None:
    """Wait until `until` (the end of the patient's quiet hours)."""
    session.execute(
        update(DueEvent).where(col(DueEvent.id) == due_id, col(DueEvent.status) == "pending").values(due_at=until)
    )


def without_rows(session: Session, limit: int) -> list[Patient]:
    """Patients taking part who have no due rows at all (a few at a time). NOT EXISTS on the
    indexed patient_id, so each patient costs one index probe rather than a scan of every row."""
    planned = select(DueEvent.id).where(col(DueEvent.patient_id) == col(Patient.id)).exists()
    return list(
        session.exec(
            select(Patient)
            .where(
                col(Patient.status) == "active",
                col(Patient.consented_at).is_not(None),
                ~planned,
            )
            .order_by(col(Patient.id))
            .limit(limit)
        ).all()
    )


def for_patient(session: Session, patient_id: int) -> list[DueEvent]:
    return list(
        session.exec(
            select(DueEvent).where(DueEvent.patient_id == patient_id).order_by(col(DueEvent.due_at), col(DueEvent.id))
        ).all()
    )
