"""The scheduler: APScheduler jobs for lesson releases, reminders, follow-ups and broadcasts.

Its jobs arrive with the scheduling work (issue 5); timed messages will go through the same
outbox as everything else, at `storage.outbox.Priority.SCHEDULED` or `BROADCAST`.
"""
