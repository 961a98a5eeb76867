"""The coach for patients: one event through the engine, and the new state, answers and outbox
messages stored in one transaction, exactly once per update. Every transport (Telegram, the
terminal chat) and the scheduler go through here."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlmodel import Session

from clock import Clock
from coach import privacy
from coach.effects import Effects
from coach.enrolment import Enrolment, Policy
from coach.forgery import forged
from coach.inbox import Inbox, retrying
from content.schema import Content
from dialogs.actions import EraseMyData, ExportMyData
from dialogs.due import is_quiet, needs_new_plan, plan, quiet_ends
from dialogs.engine import handle
from dialogs.events import Command, Due, Edited, Event, Press
from dialogs.state import PatientState
from storage import due as due_events
from storage import outbox
from storage.alerts import audit
from storage.database import Database
from storage.due import DueNow
from storage.enrolment import Refusal
from storage.models import Patient
from storage.patients import Defaults, Person, enrol, find, load_state, save_state
from storage.payloads import Message

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reply:
    """What the transport needs to do at once: answer a button tap (None: just stop the spinner)."""

    toast: str | None = None
    duplicate: bool = False
    code: str | None = None


class Coach:
    def __init__(
        self,
        database: Database,
        content: Content,
        clock: Clock,
        inbox: Inbox,
        effects: Effects,
        defaults: Defaults,
        enrolment: Enrolment | None = None,
    ) -> None:
        self.database = database
        self.content = content
        self.clock = clock
        self.inbox = inbox
        self.effects = effects
        self.defaults = defaults
        self.enrolment = enrolment or Enrolment(content, Policy())

    # -- what patients send ---------------------------------------------------------------

    def handle(self, person: Person, event: Event, update_id: int | None = None) -> Reply:
        """Handle one event from a patient, exactly once per update id."""

        def work(session: Session) -> Reply:
            patient = self.admit(session, person, event)
            if patient is None:
                return Reply()
            loaded = load_state(session, patient)  # once: the forgery check reads it too
            self._audit_forgery(session, patient, event, loaded[0].prompt)
            toast = self.run(session, patient, event, seen=True, loaded=loaded)  # a forgery too: answered kindly
            return Reply(toast=toast, code=patient.code)

        return self.inbox.once(update_id, work, Reply(duplicate=True))

    def _audit_forgery(self, session: Session, patient: Patient, event: Event, prompt: int) -> None:
        """A staff button's data, another patient's prompt, a staff command: audited (coach/forgery.py)."""
        if not isinstance(event, Press | Command):
            return
        if (refused := forged(event, prompt if isinstance(event, Press) else 0)) is not None:
            action, detail = refused
            audit(session, self.clock.now(), "patient", action, patient.id, **detail)
            log.warning("refused from %s: %s (%s)", patient.code, action, ", ".join(detail.values()))

    def handle_edit(self, person: Person, message_id: int, written: str, html: str, is_caption: bool,
                    update_id: int | None = None) -> Reply:  # fmt: skip
        """A patient edited a message: their guide's copy is edited too, and the new words are
        checked for crisis language like any others, in one transaction."""

        def work(session: Session) -> Reply:
            patient = find(session, person)
            if patient is None:  # an edit from someone who never joined
                return Reply()
            if self.effects.desk is not None and written:
                self.effects.desk.mirror_patient_edit(session, patient, message_id, html, is_caption)
            self.run(session, patient, Edited(written), seen=True)
            return Reply(code=patient.code)

        return self.inbox.once(update_id, work, Reply(duplicate=True))

    def admit(self, session: Session, person: Person, event: Event) -> Patient | None:
        """The patient who wrote; someone new joins if they may (an invitation, or open enrolment),
        and is otherwise told kindly how to join, with nothing about them stored."""
        patient = find(session, person)
        if patient is not None:
            return patient
        now = self.clock.now()
        joining = self.enrolment.admission(session, event, now)
        if isinstance(joining, Refusal):
            self.enrolment.refuse(session, person, joining, now)
            return None
        patient = enrol(session, person, self.defaults, now, joining)
        self.enrolment.joined(session, patient, now)
        return patient

    def handle_for_patient(self, patient_id: int, event: Event) -> Reply:
        """Run an event for a patient who did not write (the scheduler, the staff side)."""

        def once() -> Reply:
            with self.database.transaction() as session:
                patient = session.get(Patient, patient_id)
                if patient is None:
                    raise LookupError(f"no patient with id {patient_id}")
                toast = self.run(session, patient, event, scheduled=isinstance(event, Due))
                return Reply(toast=toast, code=patient.code)

        return retrying(once)

    def apologise(self, person: Person) -> None:
        """Tell a patient something went wrong on our side (after an unexpected error)."""
        text = self.content.for_locale(None).ui["something_wrong"]
        with self.database.transaction() as session:
            outbox.enqueue(session, person.chat_id, Message(text), self.clock.now())

    # -- what the scheduler finds due -----------------------------------------------------

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
                self.run(session, patient, Due(row.kind, row.key), scheduled=True)
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

    # -- one event ------------------------------------------------------------------------

    def run(
        self,
        session: Session,
        patient: Patient,
        event: Event,
        *,
        scheduled: bool = False,
        seen: bool = False,
        loaded: tuple[PatientState, int] | None = None,
    ) -> str | None:
        """One event through the engine: new state saved, what is due re-planned, actions applied;
        returns the answer to a tap. `seen`: the event is the patient's own (they were last seen
        now); `loaded`: their state and its version, if just read."""
        now = self.clock.now()
        state, version = loaded or load_state(session, patient)
        outcome = handle(state, event, now, self.content)
        save_state(session, patient, outcome.state, version, now, seen_at=now if seen else None)
        assert patient.id is not None
        if isinstance(event, Due) or needs_new_plan(state, outcome.state):
            due_events.sync(session, patient.id, plan(outcome.state, self.content, now), now)
        toast = self.effects.apply(session, patient, outcome.actions, now, scheduled=scheduled)
        follow = self.enrolment.apply(session, patient, outcome.actions, now)
        log.info(
            "patient %s: %s -> %s/%s, %d actions", patient.code, type(event).__name__, outcome.state.flow,
            outcome.state.step, len(outcome.actions), extra={"patient": patient.code, "event": type(event).__name__},
        )  # fmt: skip
        if follow is not None:  # the arm, once allocated: in this same transaction
            self.run(session, patient, follow, scheduled=scheduled)
        if any(isinstance(action, ExportMyData) for action in outcome.actions):
            privacy.send_export(session, self.content, patient, now)
        if any(isinstance(action, EraseMyData) for action in outcome.actions):
            privacy.erase(session, self.content, patient, now)  # last: nothing of theirs is written after it
        return toast
