"""The scheduler: APScheduler jobs that act on time passing, run by whoever holds the scheduler lease.

Jobs (scheduler/jobs.py): renew the lease, the due sweep (lesson releases, nudges, reminders,
check-ins from the `due_event` table), the safety sweep (risk alerts nobody acknowledged) and
the broadcast sweep. All timed messages go through the outbox; the lease holder also runs the sender.
"""
