"""Risk alerts and stepped-care flags for the guides: raised in the staff chat, raised again while
nobody acknowledges an alert, acknowledged or reviewed with a tap (each tap handled once)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel import Session

from clock import Clock
from coach.inbox import Inbox
from content.calendar import staff_time
from content.render import plain, render
from content.schema import Content
from dialogs.actions import AnsweredAboutRisk, AskedAboutRisk, FlagForReview, RaiseAlert
from storage import alerts, outbox, results, staff
from storage.database import Database
from storage.models import Alert, Patient
from storage.outbox import Priority
from storage.payloads import Edit, Message

log = logging.getLogger(__name__)

ACK = "ack:"  # button data of an alert's Acknowledge button: ack:<alert id>
OUTCOME = "outcome:"  # an alert's outcome buttons, after Acknowledge: outcome:<alert id>:<outcome>
PROTOCOL = "protocol:"  # the safety protocol button on every alert: protocol:<alert id>
QUESTION_WAIT = timedelta(hours=1)  # a safety question unanswered this long becomes a review alert
REVIEWED = "reviewed:"  # button data of a stepped-care flag's Reviewed button: reviewed:<flag id>


class Alerts:
    def __init__(
        self,
        database: Database,
        content: Content,
        clock: Clock,
        inbox: Inbox,
        *,
        staff_chat_id: int | None,
        repeat: timedelta,
        review_repeat: timedelta | None = None,
    ) -> None:
        self.database = database
        self.content = content
        self.clock = clock
        self.inbox = inbox
        self.staff_chat_id = staff_chat_id
        self.repeat = repeat  # an urgent alert nobody acknowledged is raised again after this
        self.review_repeat = review_repeat  # "review" alerts: raised again after this

    @property
    def _texts(self) -> dict[str, str]:
        return self.content.for_locale(None).ui

    def _ui(self, key: str, **context: object) -> str:
        return render(self._texts[key], dict(context))

    # -- risk alerts ----------------------------------------------------------------------

    def raise_alert(self, session: Session, patient: Patient, action: RaiseAlert, now: datetime) -> Alert:
        """Store the alert and its audit event, and put it in the staff chat ahead of everything."""
        assert patient.id is not None
        alert = alerts.raise_alert(session, patient.id, action.level, action.reason, action.excerpt, now)
        self._post(session, alert, patient.code or "?", now)
        return alert

    def _text(self, alert: Alert, code: str) -> str:
        return self._ui(
            "staff_alert", code=code, level=alert.level, reason=alert.reason, excerpt=alert.excerpt,
            count=alert.raised_count,
        )  # fmt: skip

    def _post(self, session: Session, alert: Alert, code: str, now: datetime) -> None:
        if self.staff_chat_id is None:
            log.error("risk alert %s for %s cannot reach the guides: STAFF_CHAT_ID is not set", alert.id, code)
            return
        protocol = (plain(self._ui("staff_alert_protocol")), f"{PROTOCOL}{alert.id}")
        if alert.acknowledged_at is None:
            message = Message(
                self._text(alert, code), ((plain(self._ui("staff_alert_acknowledge")), f"{ACK}{alert.id}"), protocol)
            )
        else:  # acknowledged, and still waiting for its outcome
            message = Message(
                f"{self._text(alert, code)}\n\n{self._ui('staff_alert_needs_outcome')}",
                (*self._outcome_buttons(alert), protocol),
            )
        outbox.enqueue(session, self.staff_chat_id, message, now, priority=Priority.URGENT)
        log.warning("risk alert %s (%s) raised for %s", alert.id, alert.level, code)

    def _outcome_buttons(self, alert: Alert) -> tuple[tuple[str, str], ...]:
        return tuple(
            (plain(self._ui(f"staff_alert_outcome_{outcome}")), f"{OUTCOME}{alert.id}:{outcome}")
            for outcome in alerts.OUTCOMES
        )

    def _refuse(self, session: Session, staff_id: int, staff_name: str, what: str, now: datetime) -> str:
        """Someone not on the staff list tapped an alert's button: nothing changes (the alert keeps
        repeating), they are told how to be added, and the admins are told."""
        alerts.audit(session, now, f"staff:{staff_id}", "alert_tap_refused", None, tapped=what)
        if self.staff_chat_id is not None:
            admins = ", ".join(f"{m.telegram_user_id}" for m in staff.members(session) if m.role == "admin") or "-"
            notice = self._ui("staff_alert_refused_admins", name=staff_name, user_id=staff_id, admins=admins)
            outbox.enqueue(session, self.staff_chat_id, Message(notice), now, priority=Priority.URGENT)
        log.warning("a tap on a risk alert from someone not on the staff list was refused")
        return plain(self._ui("staff_alert_refused", user_id=staff_id))

    def acknowledge(
        self, update_id: int | None, alert_id: int, staff_id: int, staff_name: str, message_id: int | None
    ) -> str | None:
        """A guide acknowledged an alert; returns the short answer to their tap. Next: its outcome."""

        def work(session: Session) -> str | None:
            now = self.clock.now()
            if staff.role_of(session, staff_id) is None:
                return self._refuse(session, staff_id, staff_name, f"{ACK}{alert_id}", now)
            alert = alerts.acknowledge(session, alert_id, staff_id, now)
            if alert is None:
                return None
            patient = session.get(Patient, alert.patient_id)
            code = (patient.code if patient else None) or "?"
            done = self._ui(
                "staff_alert_acknowledged", by=staff_name, time=staff_time(self._texts, alert.acknowledged_at or now)
            )
            if message_id is not None and self.staff_chat_id is not None and alert.closed_at is None:
                protocol = (plain(self._ui("staff_alert_protocol")), f"{PROTOCOL}{alert.id}")
                text = f"{self._text(alert, code)}\n\n{done}\n{self._ui('staff_alert_needs_outcome')}"
                edit = Edit(text, (*self._outcome_buttons(alert), protocol), message_id=message_id)
                outbox.enqueue(session, self.staff_chat_id, edit, now, priority=Priority.URGENT)
            log.info("risk alert %s acknowledged", alert_id)
            return plain(done)

        return self.inbox.once(update_id, work, None)

    def close(
        self, update_id: int | None, data: str, staff_id: int, staff_name: str, message_id: int | None
    ) -> str | None:
        """A guide recorded an alert's outcome (`outcome:<id>:<outcome>`); the alert is closed."""
        ident, _, outcome = data.removeprefix(OUTCOME).partition(":")

        def work(session: Session) -> str | None:
            now = self.clock.now()
            if staff.role_of(session, staff_id) is None:
                return self._refuse(session, staff_id, staff_name, data, now)
            if not ident.isdigit():
                return None
            note = self._ui("staff_alert_outcome_note", by=staff_name)
            alert = alerts.close(session, int(ident), staff_id, outcome, plain(note), now)
            if alert is None or alert.outcome is None:
                return None
            patient = session.get(Patient, alert.patient_id)
            code = (patient.code if patient else None) or "?"
            closed = self._ui(
                "staff_alert_closed", by=staff_name, time=staff_time(self._texts, alert.closed_at or now),
                outcome=self._ui(f"staff_alert_outcome_{alert.outcome}"), alert=alert.id,
            )  # fmt: skip
            if message_id is not None and self.staff_chat_id is not None:
                edit = Edit(f"{self._text(alert, code)}\n\n{closed}", message_id=message_id)
                outbox.enqueue(session, self.staff_chat_id, edit, now, priority=Priority.URGENT)
            log.info("risk alert %s closed: %s", alert.id, alert.outcome)
            return plain(closed)

        return self.inbox.once(update_id, work, None)

    def protocol(self, update_id: int | None, staff_id: int, thread_id: int | None = None) -> str | None:
        """The safety protocol (content: `safety_protocol` in ui.yaml), posted in the staff chat."""

        def work(session: Session) -> str | None:
            if self.staff_chat_id is not None:
                outbox.enqueue(session, self.staff_chat_id, Message(self._ui("safety_protocol")), self.clock.now(),
                               priority=Priority.URGENT)  # fmt: skip
            return None

        return self.inbox.once(update_id, work, None)

    # -- the safety question ----------------------------------------------------------------

    def asked(self, session: Session, patient: Patient, action: AskedAboutRisk, now: datetime) -> None:
        assert patient.id is not None
        alerts.ask(session, patient.id, action.reason, action.excerpt, now)

    def answered(self, session: Session, patient: Patient, action: AnsweredAboutRisk, now: datetime) -> None:
        """Yes or Not sure: an urgent alert; No: a review alert, with what the patient had written."""
        assert patient.id is not None
        question = alerts.answer(session, patient.id, action.answer, now)
        words = question.excerpt if question else ""
        why = question.reason if question else "the safety question"
        level = "review" if action.answer == "no" else "urgent"
        reason = self._ui("staff_risk_answer", answer=action.answer, reason=why)
        self.raise_alert(session, patient, RaiseAlert(level, plain(reason), words), now)

    def raise_unanswered(self, after: timedelta = QUESTION_WAIT) -> int:
        """Every safety question left unanswered for `after` becomes a review alert; returns how many."""
        now = self.clock.now()
        with self.database.transaction() as session:
            late = alerts.unanswered(session, now, after)
            for question in late:
                question.escalated_at = now
                session.add(question)
                patient = session.get(Patient, question.patient_id)
                if patient is not None:
                    reason = plain(self._ui("staff_risk_unanswered", reason=question.reason))
                    self.raise_alert(session, patient, RaiseAlert("review", reason, question.excerpt), now)
            return len(late)

    def raise_unacknowledged(self, after: timedelta | None = None) -> int:
        """Raise again every alert nobody acknowledged within `after` (default: the configured
        repeat; review alerts: the review repeat, if set); returns how many."""
        now = self.clock.now()
        with self.database.transaction() as session:
            due = alerts.due_again(session, now, after or self.repeat, self.review_repeat)
            for alert in due:
                alerts.mark_raised_again(session, alert, now)
                patient = session.get(Patient, alert.patient_id)
                self._post(session, alert, (patient.code if patient else None) or "?", now)
        return len(due) + self.raise_unanswered()

    # -- stepped-care flags ---------------------------------------------------------------

    def flag_for_review(
        self, session: Session, patient: Patient, action: FlagForReview, now: datetime
    ) -> tuple[str, str]:
        """Store a stepped-care flag; returns its Reviewed button (label, data) for the guides' message."""
        assert patient.id is not None
        care_flag = results.flag(session, patient.id, action.rule, action.occasion, action.reason, now)
        return plain(self._ui("staff_flag_review")), f"{REVIEWED}{care_flag.id}"

    def review_flag(
        self, update_id: int | None, flag_id: int, staff_id: int, staff_name: str, message_id: int | None
    ) -> str | None:
        """A guide marked a stepped-care flag reviewed; returns the short answer to their tap."""

        def work(session: Session) -> str | None:
            now = self.clock.now()
            care_flag = results.review_flag(session, flag_id, staff_id, now)
            if care_flag is None:
                return None
            done = self._ui(
                "staff_flag_reviewed", by=staff_name, time=staff_time(self._texts, care_flag.reviewed_at or now)
            )
            if message_id is not None and self.staff_chat_id is not None:
                seen = self._ui("staff_flag_seen", reason=care_flag.reason)
                outbox.enqueue(session, self.staff_chat_id, Edit(f"{seen}\n{done}", message_id=message_id), now)
            log.info("care flag %s reviewed", flag_id)
            return plain(done)

        return self.inbox.once(update_id, work, None)
