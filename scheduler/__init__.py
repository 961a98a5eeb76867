"""The scheduler: APScheduler jobs that act on time passing.

Today one job: raise again every risk alert nobody acknowledged in time. Lesson releases,
reminders and broadcasts join it (issue 5); all timed messages go through the outbox.
"""
