"""The scheduler lease: one row saying which process may run the scheduler, until when."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from storage.models import SchedulerLease

SCHEDULER = "scheduler"


def take(
    session: Session,
    holder: str,
    now: datetime,
    ttl: timedelta,
    name: str = SCHEDULER,
    gone: Callable[[str], bool] = lambda _holder: False,
) -> bool:
    """Take or renew the lease; True if `holder` holds it until now + ttl. An expired lease is taken
    over, and so is one whose holder is known to be `gone` (a crashed process on this machine)."""
    row = session.exec(select(SchedulerLease).where(SchedulerLease.name == name).with_for_update()).first()
    if row is None:
        session.add(SchedulerLease(name=name, holder=holder, acquired_at=now, expires_at=now + ttl))
        session.flush()  # a second process inserting at the same moment fails here, and does not hold it
        return True
    if row.holder != holder and row.expires_at > now and not gone(row.holder):
        return False
    if row.holder != holder:
        row.holder, row.acquired_at = holder, now
    row.expires_at = now + ttl
    session.add(row)
    return True


def release(session: Session, holder: str, name: str = SCHEDULER) -> None:
    """Give the lease up at a clean stop, so a waiting process need not wait for it to expire."""
    session.execute(
        delete(SchedulerLease).where(col(SchedulerLease.name) == name, col(SchedulerLease.holder) == holder)
    )


def current(session: Session, name: str = SCHEDULER) -> SchedulerLease | None:
    return session.get(SchedulerLease, name)
