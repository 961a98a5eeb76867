"""What the engine's actions do: rows in the database and messages in the outbox, all in the
transaction of the event that caused them."""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session

from coach.alerts import Alerts
from coach.desk import GuideDesk
from coach.handouts import handout_pdf
from content.render import plain, visible_length
from content.schema import Content
from dialogs.actions import (
    Action,
    AnsweredAboutRisk,
    AskedAboutRisk,
    CancelEdits,
    Edit,
    FlagForReview,
    NotifyStaff,
    RaiseAlert,
    RelayToGuide,
    SaveAnswer,
    SaveEntry,
    SaveResult,
    ScheduleEdits,
    Send,
    SendChart,
    SendHandout,
    ShareEntry,
    Toast,
)
from storage import outbox, results
from storage.models import Answer, Patient, QuestionnaireResult, ToolEntry
from storage.outbox import Priority
from storage.payloads import Buttons, Document, Message, Photo
from storage.payloads import Edit as EditPayload

log = logging.getLogger(__name__)

# "typing..." comes before a message long enough to read as written for the patient; a short one
# arrives at once (a typing indicator is a Bot API call of its own, for a moment nobody sees).
TYPING_FROM = 280  # characters of the message as the patient reads it


def shows_typing(text: str, *, urgent: bool) -> bool:
    return not urgent and visible_length(text) >= TYPING_FROM


def priority_of(message: Send, *, scheduled: bool = False) -> Priority:
    if message.urgent:
        return Priority.URGENT
    return Priority.SCHEDULED if message.at or scheduled else Priority.INTERACTIVE


def buttons(action: Send | Edit) -> Buttons:
    return tuple((b.label, b.data) for b in action.buttons)


class Effects:
    def __init__(self, content: Content, alerts: Alerts, desk: GuideDesk | None) -> None:
        self.content = content
        self.alerts = alerts
        self.desk = desk  # the guides' side, when there is a staff chat

    def apply(
        self, session: Session, patient: Patient, actions: Sequence[Action], now: datetime, *, scheduled: bool = False
    ) -> str | None:
        """Carry out the actions in order; returns the answer to a tap (Toast), if any."""
        assert patient.id is not None
        toast: str | None = None
        named: dict[str, int] = {}  # Send.ref -> its outbox row, for timed edits of that message
        for action in actions:
            if isinstance(action, Send):
                group = action.replaces or action.group
                if action.replaces:
                    outbox.withdraw_latest(session, patient.chat_id, f"{patient.id}:{action.replaces}", now)
                typing = shows_typing(action.text, urgent=action.urgent)
                rows = outbox.enqueue(
                    session, patient.chat_id,
                    Message(action.text, buttons(action), action.per_row, typing=typing),
                    now, priority=priority_of(action, scheduled=scheduled), patient_id=patient.id,
                    group=f"{patient.id}:{group}" if group else None, not_before=action.at,
                )  # fmt: skip
                if action.ref is not None:
                    named[action.ref] = rows[-1]
            elif isinstance(action, Edit):
                edit = EditPayload(action.text, buttons(action), action.per_row, message_id=action.message_id)
                outbox.enqueue(session, patient.chat_id, edit, now, patient_id=patient.id)
            elif isinstance(action, ScheduleEdits):
                for timed in action.edits:
                    cue = EditPayload(timed.text, tuple((b.label, b.data) for b in timed.buttons),
                                      message_ref=named[action.ref])  # fmt: skip
                    outbox.enqueue(
                        session, patient.chat_id, cue, now, priority=Priority.SCHEDULED, patient_id=patient.id,
                        group=f"{patient.id}:{action.group}", not_before=now + timedelta(seconds=timed.after_seconds),
                    )  # fmt: skip
            elif isinstance(action, CancelEdits):
                outbox.cancel_group(session, f"{patient.id}:{action.group}")
            elif isinstance(action, SaveAnswer):
                session.add(
                    Answer(patient_id=patient.id, flow=action.flow, step=action.step, key=action.key,
                           value=action.value, created_at=now)
                )  # fmt: skip
            elif isinstance(action, SaveEntry):
                session.add(ToolEntry(patient_id=patient.id, tool=action.tool, data=action.answers, created_at=now))
            elif isinstance(action, NotifyStaff):
                self.to_guides(session, patient, action.text)
            elif isinstance(action, SaveResult):
                self._save_result(session, patient, action, now)
            elif isinstance(action, FlagForReview):
                label, data = self.alerts.flag_for_review(session, patient, action, now)
                self.to_guides(session, patient, action.text, ((label, data),))
            elif isinstance(action, SendChart):  # drawn when sent, so no database work waits for matplotlib
                photo = Photo(caption=action.caption, chart=action.series)
                outbox.enqueue(session, patient.chat_id, photo, now, patient_id=patient.id)
            elif isinstance(action, RaiseAlert):
                alert = self.alerts.raise_alert(session, patient, action, now)
                if self.desk is not None:
                    self.desk.alert_in_topic(session, patient, alert)
            elif isinstance(action, AskedAboutRisk):
                self.alerts.asked(session, patient, action, now)
            elif isinstance(action, AnsweredAboutRisk):
                self.alerts.answered(session, patient, action, now)
            elif isinstance(action, RelayToGuide):
                self._relay_to_guide(session, patient, action, now)
            elif isinstance(action, ShareEntry):
                self._share_entry(session, patient, action, now)
            elif isinstance(action, SendHandout):  # a few ms to make: made here, so the row holds the file
                footer = self.content.for_locale(patient.locale).ui["lesson_handout_footer"]
                pdf = handout_pdf(action.title, action.sections, plain(footer))
                document = Document(action.filename, base64.b64encode(pdf).decode("ascii"), action.caption)
                outbox.enqueue(session, patient.chat_id, document, now, patient_id=patient.id)
            elif isinstance(action, Toast):
                toast = action.text
        return toast

    def _save_result(self, session: Session, patient: Patient, action: SaveResult, now: datetime) -> None:
        assert patient.id is not None
        questionnaire = self.content.for_locale(patient.locale).questionnaires.get(action.questionnaire)
        results.save_result(
            session,
            QuestionnaireResult(
                patient_id=patient.id, questionnaire=action.questionnaire,
                title=questionnaire.title if questionnaire else action.questionnaire,
                occasion=action.occasion, answers=action.answers, subscales=action.subscales,
                total=action.total, shown=action.shown, band=action.band, change=action.change, created_at=now,
            ),
        )  # fmt: skip

    def _relay_to_guide(self, session: Session, patient: Patient, action: RelayToGuide, now: datetime) -> None:
        if self.desk is not None and action.message_ids:
            self.desk.relay_from_patient(session, patient, action.message_ids, action.unscreened)
            return
        log.error("a message from %s for their guide cannot be passed on: STAFF_CHAT_ID is not set", patient.code)
        text = self.content.for_locale(patient.locale).ui["something_wrong"]
        outbox.enqueue(session, patient.chat_id, Message(text), now, patient_id=patient.id)

    def _share_entry(self, session: Session, patient: Patient, action: ShareEntry, now: datetime) -> None:
        if self.desk is not None:
            self.desk.share_entry(session, patient, action)
            return
        log.error("an entry %s shared with their guide cannot be passed on: STAFF_CHAT_ID is not set", patient.code)
        text = self.content.for_locale(patient.locale).ui["something_wrong"]
        outbox.enqueue(session, patient.chat_id, Message(text), now, patient_id=patient.id)

    def to_guides(self, session: Session, patient: Patient, text: str, buttons: Buttons = ()) -> None:
        """A message for the guides about one patient: into their topic when the staff chat has topics."""
        if self.desk is None:
            log.warning("a message for the guides was not sent: STAFF_CHAT_ID is not set")
            return
        self.desk.notify_about(session, patient, text, buttons)
