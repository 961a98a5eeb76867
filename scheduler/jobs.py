"""APScheduler set-up: a few periodic jobs over state kept in the database, so a restart loses nothing.

APScheduler 3 keeps only these jobs (in memory); every per-patient due time lives in the
`due_event` table and every broadcast in `broadcast`, so the job store stays small and is never
shared between processes. Jobs are module-level functions with explicit ids and
`replace_existing=True`. Each is `coalesce=True` with `max_instances=1`: after the event loop was
held up, one run catches everything up, never several at once; `misfire_grace_time` is one
interval, since a run skipped beyond that loses nothing (the next one finds the same rows).
The lease is taken at start (scheduler/service.py: renew) before the jobs begin.
"""

from __future__ import annotations

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from coach.services import Services
from coach.summaries import WeeklySummaries
from scheduler.service import Periodic, SchedulerService

LEASE_SECONDS = 5  # renewed this often; it lasts LEASE_TTL (20 s)
DUE_SWEEP_SECONDS = 10  # with nothing due, a sweep is one index probe (make bench: sweep_ms)
SAFETY_SWEEP_SECONDS = 60
BROADCAST_SWEEP_SECONDS = 5
TICKET_SWEEP_SECONDS = 60
SUMMARY_SWEEP_SECONDS = 300  # weekly summaries: a course week ends at the minute of consent, so within 5 min


async def renew_lease(service: SchedulerService) -> None:
    await service.renew()


async def sweep_due(service: SchedulerService) -> None:
    await service.sweep_due()


async def raise_unacknowledged_alerts(service: SchedulerService) -> None:
    await service.sweep_alerts()


async def sweep_broadcasts(service: SchedulerService) -> None:
    await service.sweep_broadcasts()


async def run_periodic(service: SchedulerService, job_id: str) -> None:
    await service.run_periodic(job_id)


JOBS = (
    ("scheduler-lease", renew_lease, LEASE_SECONDS),
    ("due-sweep", sweep_due, DUE_SWEEP_SECONDS),
    ("safety-sweep", raise_unacknowledged_alerts, SAFETY_SWEEP_SECONDS),
    ("broadcast-sweep", sweep_broadcasts, BROADCAST_SWEEP_SECONDS),
)


def periodic_sweeps(services: Services) -> tuple[Periodic, ...]:
    """The sweeps of the guides' desk, run by the lease holder only, when there is a staff chat:
    tickets (raise conversations left unanswered) and the weekly summaries with their contact prompt."""
    if services.desk is None:
        return ()
    return (
        Periodic("ticket-sweep", TICKET_SWEEP_SECONDS, services.desk.raise_overdue),
        Periodic("summary-sweep", SUMMARY_SWEEP_SECONDS, WeeklySummaries(services.desk).post_due),
    )


def build_scheduler(service: SchedulerService) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    for job_id, job, seconds in JOBS:
        scheduler.add_job(
            job,
            "interval",
            seconds=seconds,
            args=(service,),
            id=job_id,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=seconds,
        )
    for periodic in service.periodic:  # more sweeps under the same lease (tickets)
        scheduler.add_job(
            run_periodic,
            "interval",
            seconds=periodic.seconds,
            args=(service, periodic.job_id),
            id=periodic.job_id,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=periodic.seconds,
        )
    return scheduler
