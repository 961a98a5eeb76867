"""Is the coach well? The database answers, a scheduler holds the lease, no urgent message has
waited too long, and how many risk alerts nobody has acknowledged (`/healthz`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, text
from sqlmodel import col, select

from clock import Clock
from storage import outbox
from storage.database import Database
from storage.lease import current
from storage.models import Alert, OutboxMessage
from storage.outbox import Priority

URGENT_WAIT = timedelta(seconds=60)  # an urgent message waiting longer than this is a failure


@dataclass(frozen=True)
class Health:
    ok: bool
    checks: dict[str, Any] = field(default_factory=dict)
    problems: tuple[str, ...] = ()


def check(database: Database, clock: Clock, *, needs_lease: bool = True) -> Health:
    now = clock.now()
    checks: dict[str, Any] = {}
    problems: list[str] = []
    try:
        with database.transaction() as session:
            session.execute(text("SELECT 1"))
            checks["database"] = "ok"
            lease = current(session)
            left = None if lease is None else (_aware(lease.expires_at) - now).total_seconds()
            checks["scheduler_lease_seconds_left"] = left
            if needs_lease and (left is None or left <= 0):
                problems.append("no scheduler holds the lease: nothing timed is sent")
            oldest = session.exec(
                select(func.min(OutboxMessage.created_at)).where(
                    col(OutboxMessage.priority) == int(Priority.URGENT),
                    col(OutboxMessage.status).in_(outbox.WAITING),
                    col(OutboxMessage.not_before) <= now + timedelta(seconds=60),
                )
            ).one()
            waited = None if oldest is None else (now - _aware(oldest)).total_seconds()
            checks["oldest_urgent_message_seconds"] = waited
            if waited is not None and waited > URGENT_WAIT.total_seconds():
                problems.append("an urgent message has waited more than a minute")
            count, first = session.exec(
                select(func.count(), func.min(Alert.created_at)).where(col(Alert.acknowledged_at).is_(None))
            ).one()
            checks["alerts_unacknowledged"] = count
            checks["oldest_unacknowledged_alert_seconds"] = (
                None if first is None else (now - _aware(first)).total_seconds()
            )
    except Exception as error:  # the database is down or unreachable
        checks["database"] = type(error).__name__
        problems.append("the database cannot be reached")
    return Health(not problems, checks, tuple(problems))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
