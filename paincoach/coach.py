"""The coach: runs one event through the engine and stores the new state, answers and outbox
messages in one transaction. Every transport (Telegram, the terminal chat) goes through here."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from clock import Clock
from content.render import plain, render, split_for_telegram
from content.schema import Content
from dialogs.actions import (
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
    Toast,
)
from dialogs.due import is_quiet, needs_new_plan, plan, quiet_ends
from dialogs.engine import handle
from dialogs.events import Due, Event
from dialogs.occasions import due, needs_reminder
from dialogs.programme import local_date
from dialogs.state import Status
from paincoach import charts
from paincoach.guide import GuideDesk
from paincoach.settings import Settings
from storage import alerts, inbox, outbox, results
from storage import due as due_events
from storage.database import Database
from storage.due import DueNow
from storage.inbox import Received
from storage.models import Alert, Answer, Patient, QuestionnaireResult, ToolEntry
from storage.outbox import Priority
from storage.patients import Defaults, Person, StateConflict, find_or_enrol, load_state, save_state

log = logging.getLogger(__name__)

ACK = "ack:"  # button data of an alert's Acknowledge button: ack:<alert id>
REVIEWED = "reviewed:"  # button data of a stepped-care flag's Reviewed button: reviewed:<flag id>
ATTEMPTS = 5  # tries when another worker changed the same patient at the same moment
T = TypeVar("T")


@dataclass(frozen=True)
class Reply:
    """What the transport needs to do at once: answer a button tap (None: just stop the spinner)."""

    toast: str | None = None
    duplicate: bool = False
    code: str | None = None


def priority_of(message: Send, *, scheduled: bool = False) -> Priority:
    if message.urgent:
        return Priority.URGENT
    return Priority.SCHEDULED if message.at or scheduled else Priority.INTERACTIVE


def retrying(work: Callable[[], T]) -> T:
    """Run one transaction's work, again if another worker changed the same patient meanwhile."""
    for attempt in range(ATTEMPTS):
        try:
            return work()
        except (StateConflict, IntegrityError):
            log.info("state changed under us; handling again (attempt %d)", attempt + 1)
    raise RuntimeError("could not save the patient's state after several attempts")


class Coach:
    def __init__(
        self,
        database: Database,
        content: Content,
        clock: Clock,
        *,
        default_locale: str,
        default_timezone: str,
        default_country: str = "other",
        staff_chat_id: int | None = None,
        review_alert_repeat: timedelta | None = None,
    ) -> None:
        self.database = database
        self.review_alert_repeat = review_alert_repeat  # "review" alerts: raised again after this
        self.content = content
        self.clock = clock
        self.staff_chat_id = staff_chat_id
        self.desk: GuideDesk | None = None  # the guides' side, when there is a staff chat
        self.defaults = Defaults(default_locale, default_timezone, default_country, frozenset(content.locales))

    # -- the inbox ------------------------------------------------------------------------

    def receive(self, updates: Sequence[Received]) -> list[Received]:
        """Store updates before they are acknowledged; return the ones not seen before."""
        with self.database.transaction() as session:
            return inbox.store(session, updates, self.clock.now())

    def unhandled(self) -> list[Received]:
        with self.database.transaction() as session:
            return inbox.unhandled(session)

    def mark_handled(self, update_id: int, *, failed: bool = False) -> None:
        with self.database.transaction() as session:
            inbox.mark_handled(session, update_id, self.clock.now(), failed=failed)

    # -- events ---------------------------------------------------------------------------

    def handle(self, person: Person, event: Event, update_id: int | None = None) -> Reply:
        """Handle one event from a patient, exactly once per update id."""
        return retrying(lambda: self._handle_once(person, event, update_id))

    def _handle_once(self, person: Person, event: Event, update_id: int | None) -> Reply:
        now = self.clock.now()
        with self.database.transaction() as session:
            if update_id is not None and inbox.is_handled(session, update_id):
                return Reply(duplicate=True)
            patient = find_or_enrol(session, person, self.defaults, now)
            patient.last_seen_at = now
            toast = self._run(session, patient, event)
            if update_id is not None:
                inbox.mark_handled(session, update_id, now)
            return Reply(toast=toast, code=patient.code)

    def handle_for_patient(self, patient_id: int, event: Event) -> Reply:
        """Run an event for a patient who did not write (the scheduler, the staff side)."""

        def once() -> Reply:
            with self.database.transaction() as session:
                patient = session.get(Patient, patient_id)
                if patient is None:
                    raise LookupError(f"no patient with id {patient_id}")
                toast = self._run(session, patient, event, scheduled=isinstance(event, Due))
                return Reply(toast=toast, code=patient.code)

        return retrying(once)

    def fire_due(self, row: DueNow) -> bool:
        """Turn one due row into its engine event, exactly once: the row is marked done in the same
        transaction as the messages it causes. False if it was done already, or must wait for the
        end of the patient's quiet hours."""
        now = self.clock.now()
        schedule = self.content.program.schedule
        if is_quiet(now, row.timezone, schedule):
            with self.database.transaction() as session:
                due_events.defer(session, row.id, quiet_ends(now, row.timezone, schedule))
            return False

        def once() -> bool:
            with self.database.transaction() as session:
                if not due_events.mark_done(session, row.id, self.clock.now()):
                    return False
                patient = session.get(Patient, row.patient_id)
                assert patient is not None
                self._run(session, patient, Due(row.kind, row.key), scheduled=True)
                return True

        return retrying(once)

    def plan_unplanned(self, limit: int = 200) -> int:
        """Plan what is due for patients taking part who have no due rows yet (enrolled before the
        scheduler existed); returns how many. Everyone else is re-planned as their state changes."""
        now = self.clock.now()
        with self.database.transaction() as session:
            patients = due_events.without_rows(session, limit)
            for patient in patients:
                assert patient.id is not None
                state, _ = load_state(session, patient)
                due_events.sync(session, patient.id, plan(state, self.content, now), now)
            return len(patients)

    def due_now(self, limit: int = 200) -> list[DueNow]:
        with self.database.transaction() as session:
            return due_events.due_now(session, self.clock.now(), limit)

    def _run(self, session: Session, patient: Patient, event: Event, *, scheduled: bool = False) -> str | None:
        """One event through the engine: new state saved, what is due re-planned, actions applied."""
        now = self.clock.now()
        state, version = load_state(session, patient)
        outcome = handle(state, event, now, self.content)
        save_state(session, patient, outcome.state, version, now)
        assert patient.id is not None
        if isinstance(event, Due) or needs_new_plan(state, outcome.state):
            due_events.sync(session, patient.id, plan(outcome.state, self.content, now), now)
        toast = self._apply(session, patient, outcome.actions, scheduled=scheduled)
        log.info(
            "patient %s: %s -> %s/%s, %d actions",
            patient.code,
            type(event).__name__,
            outcome.state.flow,
            outcome.state.step,
            len(outcome.actions),
        )
        return toast

    def _apply(
        self, session: Session, patient: Patient, actions: Sequence[object], *, scheduled: bool = False
    ) -> str | None:
        now = self.clock.now()
        toast: str | None = None
        named: dict[str, int] = {}  # Send.ref -> its outbox row, for timed edits of that message
        for action in actions:
            if isinstance(action, Send):
                named_row = self._send(session, patient, action, scheduled=scheduled)
                if action.ref is not None:
                    named[action.ref] = named_row
            elif isinstance(action, Edit):
                outbox.enqueue(
                    session, chat_id=patient.chat_id, kind="edit", now=now, patient_id=patient.id,
                    payload={
                        "message_id": action.message_id,
                        "text": split_for_telegram(action.text)[0],
                        "buttons": [[b.label, b.data] for b in action.buttons],
                        "per_row": action.per_row,
                    },
                )  # fmt: skip
            elif isinstance(action, ScheduleEdits):
                for edit in action.edits:
                    outbox.enqueue(
                        session, chat_id=patient.chat_id, kind="edit", patient_id=patient.id,
                        now=now, not_before=now + timedelta(seconds=edit.after_seconds), priority=Priority.SCHEDULED,
                        cue_group=f"{patient.id}:{action.group}",
                        payload={
                            "message_ref": named[action.ref],
                            "text": edit.text,
                            "buttons": [[b.label, b.data] for b in edit.buttons],
                        },
                    )  # fmt: skip
            elif isinstance(action, CancelEdits):
                outbox.cancel_group(session, f"{patient.id}:{action.group}")
            elif isinstance(action, SaveAnswer):
                assert patient.id is not None
                session.add(
                    Answer(patient_id=patient.id, flow=action.flow, step=action.step, key=action.key,
                           value=action.value, created_at=now)
                )  # fmt: skip
            elif isinstance(action, SaveEntry):
                assert patient.id is not None
                session.add(ToolEntry(patient_id=patient.id, tool=action.tool, data=action.answers, created_at=now))
            elif isinstance(action, NotifyStaff):
                self._to_guides(session, patient, action.text)
            elif isinstance(action, SaveResult):
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
            elif isinstance(action, FlagForReview):
                assert patient.id is not None
                care_flag = results.flag(session, patient.id, action.rule, action.occasion, action.reason, now)
                label = render(self.content.for_locale(None).ui["staff_flag_review"], {})
                self._to_guides(session, patient, action.text, buttons=[[label, f"{REVIEWED}{care_flag.id}"]])
            elif isinstance(action, SendChart):  # drawn when sent, so no database work waits for matplotlib
                outbox.enqueue(
                    session, chat_id=patient.chat_id, kind="photo", now=now, patient_id=patient.id,
                    payload={"chart": charts.series_payload(action.series), "caption": action.caption, "buttons": []},
                )  # fmt: skip
            elif isinstance(action, RaiseAlert):
                assert patient.id is not None
                alert = alerts.raise_alert(session, patient.id, action.level, action.reason, action.excerpt, now)
                self._send_alert(session, alert, patient.code or "")
                if self.desk is not None:
                    self.desk.alert_in_topic(session, patient, alert)
            elif isinstance(action, RelayToGuide):
                self._relay_to_guide(session, patient, action)
            elif isinstance(action, Toast):
                toast = action.text
        return toast

    def _send(self, session: Session, patient: Patient, action: Send, *, scheduled: bool = False) -> int:
        """Queue a message (split if too long, buttons on the last part); returns the last part's row."""
        parts = split_for_telegram(action.text)
        row = None
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            row = outbox.enqueue(
                session, chat_id=patient.chat_id, kind="message", now=self.clock.now(), not_before=action.at,
                patient_id=patient.id, cue_group=f"{patient.id}:{action.group}" if action.group else None,
                payload={
                    "text": part,
                    "buttons": [[b.label, b.data] for b in action.buttons] if last else [],
                    "per_row": action.per_row,
                    "typing": not action.urgent,
                },
                priority=priority_of(action, scheduled=scheduled),
            )  # fmt: skip
        assert row is not None
        session.flush()
        assert row.id is not None
        return row.id

    def _relay_to_guide(self, session: Session, patient: Patient, action: RelayToGuide) -> None:
        if self.desk is not None and action.message_ids:
            self.desk.relay_from_patient(session, patient, action.message_ids)
            return
        log.error("a message from %s for their guide cannot be passed on: STAFF_CHAT_ID is not set", patient.code)
        outbox.enqueue(
            session,
            chat_id=patient.chat_id,
            kind="message",
            now=self.clock.now(),
            patient_id=patient.id,
            payload={"text": self.content.for_locale(patient.locale).ui["something_wrong"], "buttons": []},
        )

    def _to_guides(self, session: Session, patient: Patient, text: str, buttons: list[list[str]] | None = None) -> None:
        """A message for the guides about one patient: into their topic when the staff chat has topics."""
        if self.desk is not None and self.desk.forum:
            self.desk.notify_about(session, patient, text, buttons=buttons)
        else:
            self._notify_staff(session, NotifyStaff(text), buttons=buttons)

    def _notify_staff(self, session: Session, action: NotifyStaff, buttons: list[list[str]] | None = None) -> None:
        if self.staff_chat_id is None:
            log.warning("a message for the guides was not sent: STAFF_CHAT_ID is not set")
            return
        parts = split_for_telegram(action.text)
        for index, part in enumerate(parts):
            outbox.enqueue(
                session,
                chat_id=self.staff_chat_id,
                kind="message",
                now=self.clock.now(),
                priority=Priority.INTERACTIVE,
                payload={"text": part, "buttons": (buttons or []) if index == len(parts) - 1 else []},
            )

    # -- questionnaires and stepped care -------------------------------------------------------

    def announce_due_questionnaires(self) -> int:
        """Tell each active patient once that a check-in is ready, and remind them once if it is still not
        done after a few days (engine events Due), outside their quiet hours; returns how many."""
        now = self.clock.now()
        waiting: list[tuple[int, Due]] = []
        with self.database.transaction() as session:
            patients = session.exec(
                select(Patient).where(col(Patient.status) == Status.ACTIVE.value, col(Patient.unreachable_at).is_(None))
            ).all()
            for patient in patients:
                if patient.id is None or is_quiet(now, patient.timezone, self.content.program.schedule):
                    continue  # told at a later sweep, once their quiet hours are over
                state, _ = load_state(session, patient)
                in_progress = state.survey.occasion if state.survey else None
                today = local_date(now, state.timezone)
                for occasion in due(self.content.program, state.consented_at, state.timezone, now, state.surveys_done):
                    key = occasion.occasion.key
                    if key == in_progress:
                        continue
                    if key not in state.announced:
                        waiting.append((patient.id, Due("questionnaire", key)))
                    elif needs_reminder(occasion, today, state.announced):
                        waiting.append((patient.id, Due("questionnaire_overdue", key)))
        told = 0
        for patient_id, event in waiting:
            try:
                self.handle_for_patient(patient_id, event)
                told += 1
            except Exception:  # one patient's problem must not keep the others from hearing
                log.exception("telling patient %d about check-in %s failed", patient_id, event.key)
        return told

    def review_flag(self, flag_id: int, staff_id: int, staff_name: str, message_id: int | None) -> str | None:
        """A guide marked a stepped-care flag reviewed; returns the short answer to their tap."""
        now = self.clock.now()
        with self.database.transaction() as session:
            care_flag = results.review_flag(session, flag_id, staff_id, now)
            if care_flag is None:
                return None
            ui = self.content.for_locale(None).ui
            reviewed = care_flag.reviewed_at or now
            done = render(ui["staff_flag_reviewed"], {"by": staff_name, "time": f"{reviewed:%Y-%m-%d %H:%M}"})
            if message_id is not None and self.staff_chat_id is not None:
                seen = render(ui["staff_flag_seen"], {"reason": care_flag.reason})
                outbox.enqueue(
                    session, chat_id=self.staff_chat_id, kind="edit", now=now,
                    payload={"message_id": message_id, "text": f"{seen}\n{done}"},
                )  # fmt: skip
            log.info("care flag %s reviewed", flag_id)
            return plain(done)

    # -- alerts ---------------------------------------------------------------------------

    def _alert_text(self, alert: Alert, code: str) -> str:
        texts = self.content.for_locale(None).ui
        return render(
            texts["staff_alert"],
            {
                "code": code,
                "level": alert.level,
                "reason": alert.reason,
                "excerpt": alert.excerpt,
                "count": alert.raised_count,
            },
        )

    def _send_alert(self, session: Session, alert: Alert, code: str) -> None:
        """The alert goes to the staff chat ahead of everything else, with an Acknowledge button."""
        if self.staff_chat_id is None:
            log.error("risk alert %s for %s cannot reach the guides: STAFF_CHAT_ID is not set", alert.id, code)
            return
        label = render(self.content.for_locale(None).ui["staff_alert_acknowledge"], {})
        outbox.enqueue(
            session,
            chat_id=self.staff_chat_id,
            kind="message",
            now=self.clock.now(),
            priority=Priority.URGENT,
            payload={"text": self._alert_text(alert, code), "buttons": [[label, f"{ACK}{alert.id}"]]},
        )
        log.warning("risk alert %s (%s) raised for %s", alert.id, alert.level, code)

    def acknowledge(self, alert_id: int, staff_id: int, staff_name: str, message_id: int | None) -> str | None:
        """A guide acknowledged an alert; returns the short answer to their tap."""
        now = self.clock.now()
        with self.database.transaction() as session:
            alert = alerts.acknowledge(session, alert_id, staff_id, now)
            if alert is None:
                return None
            patient = session.get(Patient, alert.patient_id)
            code = patient.code if patient else "?"
            ui = self.content.for_locale(None).ui
            acknowledged = alert.acknowledged_at or now
            done = render(ui["staff_alert_acknowledged"], {"by": staff_name, "time": f"{acknowledged:%Y-%m-%d %H:%M}"})
            if message_id is not None and self.staff_chat_id is not None:
                outbox.enqueue(
                    session,
                    chat_id=self.staff_chat_id,
                    kind="edit",
                    now=now,
                    priority=Priority.URGENT,
                    payload={"message_id": message_id, "text": f"{self._alert_text(alert, code or '')}\n\n{done}"},
                )
            log.info("risk alert %s acknowledged", alert_id)
            return plain(done)

    def raise_unacknowledged(self, after: timedelta) -> int:
        """Raise again every alert nobody acknowledged within `after` (review alerts: the review
        repeat, if set); returns how many."""
        now = self.clock.now()
        with self.database.transaction() as session:
            due = alerts.due_again(session, now, after, self.review_alert_repeat)
            for alert in due:
                alerts.mark_raised_again(session, alert, now)
                patient = session.get(Patient, alert.patient_id)
                self._send_alert(session, alert, patient.code if patient and patient.code else "?")
            return len(due)

    def apologise(self, person: Person) -> None:
        """Tell a patient something went wrong on our side (after an unexpected error)."""
        locale = self.content.for_locale(None)
        with self.database.transaction() as session:
            outbox.enqueue(
                session,
                chat_id=person.chat_id,
                kind="message",
                now=self.clock.now(),
                payload={"text": locale.ui["something_wrong"], "buttons": []},
            )


def open_database(settings: Settings) -> Database:
    """The database of these settings, migrated to the newest schema."""
    database = Database(settings.database_url)
    database.upgrade()
    return database


def make_coach(settings: Settings, database: Database, content: Content, clock: Clock) -> Coach:
    coach = Coach(
        database,
        content,
        clock,
        default_locale=settings.default_locale,
        default_timezone=settings.default_timezone,
        default_country=settings.default_country,
        staff_chat_id=settings.staff_chat_id,
        review_alert_repeat=timedelta(hours=settings.review_alert_repeat_hours),
    )
    if settings.staff_chat_id is not None:
        coach.desk = GuideDesk(
            database,
            content,
            clock,
            staff_chat_id=settings.staff_chat_id,
            hours=settings.guide_hours,
            answer_within=timedelta(hours=settings.ticket_answer_hours),
            names_visible=settings.guide_names_visible,
            scores=results.score_lines,
            flags=results.open_flags,
        )
    return coach
