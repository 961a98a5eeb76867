"""APScheduler set-up: periodic jobs over state kept in the database, so a restart loses nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from paincoach.coach import Coach
from paincoach.guide import GuideDesk
from storage.database import Database

log = logging.getLogger(__name__)

SAFETY_SWEEP_SECONDS = 60
QUESTIONNAIRE_SWEEP_SECONDS = 300  # a check-in opens on a local day, so a few minutes late is fine
TICKET_SWEEP_SECONDS = 60


async def raise_unacknowledged_alerts(
    coach: Coach, database: Database, after: timedelta, wake_sender: Callable[[], None]
) -> int:
    raised = await database.run(coach.raise_unacknowledged, after)
    if raised:
        log.warning("raised %d unacknowledged risk alert(s) again", raised)
        wake_sender()
    return raised


async def announce_due_questionnaires(coach: Coach, database: Database, wake_sender: Callable[[], None]) -> int:
    """Tell every patient with a check-in due that it is ready, once per occasion."""
    announced = await database.run(coach.announce_due_questionnaires)
    if announced:
        log.info("told %d patient(s) a check-in is ready", announced)
        wake_sender()
    return announced


async def raise_overdue_tickets(desk: GuideDesk, database: Database, wake_sender: Callable[[], None]) -> int:
    """Patients left waiting for their guide past the answer time are raised again in the staff chat."""
    raised = await database.run(desk.raise_overdue)
    if raised:
        log.warning("raised %d unanswered conversation(s) again", raised)
        wake_sender()
    return raised


def build_scheduler(
    coach: Coach,
    database: Database,
    alert_repeat: timedelta,
    wake_sender: Callable[[], None],
    *,
    desk: GuideDesk | None = None,
) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        raise_unacknowledged_alerts,
        "interval",
        seconds=SAFETY_SWEEP_SECONDS,
        args=(coach, database, alert_repeat, wake_sender),
        id="safety-sweep",
        replace_existing=True,
        coalesce=True,  # after downtime, one sweep catches everything up
        max_instances=1,
        misfire_grace_time=SAFETY_SWEEP_SECONDS,
    )
    scheduler.add_job(
        announce_due_questionnaires,
        "interval",
        seconds=QUESTIONNAIRE_SWEEP_SECONDS,
        args=(coach, database, wake_sender),
        id="questionnaire-sweep",
        replace_existing=True,
        coalesce=True,  # after downtime one sweep is enough: each occasion is announced once anyway
        max_instances=1,  # a slow sweep is never run twice at once
        misfire_grace_time=QUESTIONNAIRE_SWEEP_SECONDS,  # a sweep missed by more than a period is skipped
    )
    if desk is not None:
        scheduler.add_job(
            raise_overdue_tickets,
            "interval",
            seconds=TICKET_SWEEP_SECONDS,
            args=(desk, database, wake_sender),
            id="ticket-sweep",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=TICKET_SWEEP_SECONDS,
        )
    return scheduler
