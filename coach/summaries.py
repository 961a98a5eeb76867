"""The guides' weekly summaries: once a patient's course week is over, a summary of it in their
topic (lessons, tools and entries, tries logged, scores, flags, last activity), and in the main
thread one prompt naming who is due a contact. Also the patient's recent entries for /patient.

The pure core (dialogs/desk/summary.py) writes the texts; this shell reads the rows, posts in the
staff chat through the outbox and records each week posted, in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from jinja2 import TemplateError
from sqlmodel import Session

from coach.desk import GuideDesk
from content.render import escape, render
from dialogs.desk import summary as summaries
from dialogs.desk.card import EntryLine
from dialogs.desk.queue import CONTACT_EVERY
from storage import summaries as rows
from storage import tickets
from storage.alerts import audit
from storage.models import Patient, ToolEntry
from storage.outbox import Priority
from storage.patients import load_state

log = logging.getLogger(__name__)


def entry_lines(desk: GuideDesk, session: Session, patient: Patient, entries: Sequence[ToolEntry]) -> list[EntryLine]:
    """Tool entries as the guides read them: each tool's own summary of it, and how its planned try went."""
    content = desk.content.for_locale(patient.locale)
    state, _ = load_state(session, patient)
    logs = {(tool, e.get("_number")): next((v for k, v in reversed(e.items()) if k.startswith("_log")), None)
            for tool, kept in state.entries.items() for e in kept}  # fmt: skip
    lines = []
    for entry in entries:
        flow = content.flows.get(entry.tool)
        data = {str(k): str(v) for k, v in entry.data.items()}
        title = flow.title if flow else entry.tool
        try:
            text = render(flow.summary or "", {"answers": data, "code": patient.code, "crisis_contacts": [],
                                               "country_name": ""}) if flow else ""  # fmt: skip
        except TemplateError:  # an entry saved before its tool's questions changed
            text = ""
        if not text:
            text = escape("; ".join(v for k, v in data.items() if not k.startswith("_")))
        number = data.get("_number", "?")
        lines.append(EntryLine(title, number, entry.created_at, text, logs.get((entry.tool, number))))
    return lines


class WeeklySummaries:
    def __init__(self, desk: GuideDesk) -> None:
        self.desk = desk

    def post_due(self) -> int:
        """The sweep: post the summary of every patient whose course week just ended, and one
        prompt naming those due a contact. Returns how many summaries were posted."""
        desk, now = self.desk, self.desk.clock.now()
        with desk.database.transaction() as session:
            due: list[tuple[str, datetime]] = []
            posted = 0
            for patient in rows.in_course(session):
                assert patient.id is not None and patient.consented_at is not None
                week = summaries.summary_due(patient.consented_at, now, rows.posted_weeks(session, patient.id))
                if week is None:
                    continue
                last = tickets.last_contact(session, patient.id)
                since = max(patient.consented_at, last.at) if last else patient.consented_at
                contact_due = since <= now - CONTACT_EVERY
                text = self.summary(session, patient, week, contact_due, now)
                desk.ensure_topic(session, patient)
                desk.to_staff(session, text, patient=patient, priority=Priority.SCHEDULED)
                rows.record_posted(session, patient.id, week, contact_due, now)
                audit(session, now, "coach", "weekly_summary_posted", patient.id, week=week, contact_due=contact_due)
                posted += 1
                if contact_due:
                    due.append((patient.code or "?", since))
            if due:
                desk.to_staff(session, summaries.contacts_prompt(desk.texts, due, now), priority=Priority.SCHEDULED)
            if posted:
                log.info("%d weekly summaries posted, %d patients due a contact", posted, len(due))
            return posted

    def summary(self, session: Session, patient: Patient, week: int, contact_due: bool, now: datetime) -> str:
        desk = self.desk
        assert patient.id is not None and patient.consented_at is not None
        start, end = summaries.week_span(patient.consented_at, week)
        done, not_done = rows.tries_between(session, patient.id, start, end)
        facts = summaries.Week(
            patient=desk.facts(session, patient), week=week,
            entries=entry_lines(desk, session, patient, rows.entries_between(session, patient.id, start, end)),
            practice_done=done, practice_not=not_done, last_active=patient.last_seen_at, contact_due=contact_due,
            minutes=rows.minutes_between(session, patient.id, start, end),
        )  # fmt: skip
        return summaries.weekly_summary(desk.texts, facts, now, desk.hours.zone)
