"""The tables: patients, their dialog state, answers, the inbox of updates and the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.sealed import SealedJSON, SealedText  # free text, encrypted at rest (storage/sealed.py)
from storage.types import UTCDateTime


class Patient(SQLModel, table=True):
    """A person taking the course. Staff know them by `code` only (pseudonymous)."""

    id: int | None = Field(default=None, primary_key=True)
    code: str | None = Field(default=None, unique=True, index=True, max_length=16)
    telegram_user_id: int = Field(sa_type=BigInteger, unique=True, index=True)
    chat_id: int = Field(sa_type=BigInteger)
    locale: str = Field(max_length=16)
    timezone: str = Field(max_length=64)
    country: str | None = Field(default=None, max_length=16)
    status: str = Field(max_length=16, index=True)
    consented_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    unreachable_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    arm: str | None = Field(default=None, max_length=32, index=True)  # trial arm, once randomised
    last_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # last message or tap from them
    # Enrolment (issue 12): how they joined, their screening, consent versions and programme.
    invitation_id: int | None = Field(default=None, foreign_key="invitation.id", index=True)
    site: str | None = Field(default=None, max_length=64, index=True)
    programme: str = Field(default="service", max_length=16)  # service | trial, fixed when they joined
    eligibility: str | None = Field(default=None, max_length=16)  # pending|eligible|not_eligible|referred
    consent_version: str | None = Field(default=None, max_length=64)
    content_version: str | None = Field(default=None, max_length=64)  # the course content's hash at consent
    emergency_contact: str | None = Field(
        default=None, sa_column=Column(SealedText, nullable=True)
    )  # or GP, from the eligibility screening; sealed, shown to staff on the card only


class DialogState(SQLModel, table=True):
    """Where a patient is in the conversation; `version` guards against lost updates."""

    __tablename__ = "dialog_state"

    patient_id: int = Field(primary_key=True, foreign_key="patient.id")
    flow: str | None = Field(default=None, max_length=64)
    step: str | None = Field(default=None, max_length=64)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(SealedJSON, nullable=False))  # drafts, answers
    version: int = 0
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Answer(SQLModel, table=True):
    """Something a patient answered: a reflection, a choice, a quiz answer."""

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    flow: str = Field(max_length=64)
    step: str = Field(max_length=64)
    key: str = Field(max_length=64)
    value: str = Field(sa_column=Column(SealedText, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)


class InboundUpdate(SQLModel, table=True):
    """The inbox: every Telegram update, stored before it is acknowledged, handled once."""

    __tablename__ = "inbound_update"

    update_id: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    chat_id: int | None = Field(default=None, sa_type=BigInteger)
    payload: dict[str, Any] | None = Field(default=None, sa_column=Column(SealedJSON, nullable=True))
    received_at: datetime = Field(sa_type=UTCDateTime)
    handled_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    failed: bool = False


class OutboxMessage(SQLModel, table=True):
    """Everything the coach sends, written with the state change that caused it, sent later."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "priority", "id"),
        Index("ix_outbox_chat", "chat_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int | None = Field(default=None, foreign_key="patient.id", index=True)
    chat_id: int = Field(sa_type=BigInteger)
    kind: str = Field(max_length=16)  # message | edit
    payload: dict[str, Any] = Field(sa_column=Column(SealedJSON, nullable=False))
    priority: int = 20
    # pending|claimed|sending|sent|failed|blocked|cancelled|in_doubt (storage/outbox.py)
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    not_before: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    telegram_message_id: int | None = Field(default=None, sa_type=BigInteger)
    error: str | None = Field(default=None, max_length=200)
    cue_group: str | None = Field(default=None, max_length=64, index=True)  # timed edits that can be cancelled


class Alert(SQLModel, table=True):
    """A risk signal the guides must acknowledge; raised again until someone does."""

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    level: str = Field(max_length=16)  # urgent | review
    reason: str = Field(max_length=300)
    excerpt: str = Field(default="", sa_column=Column(SealedText, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)
    raised_count: int = 1
    last_raised_at: datetime = Field(sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    acknowledged_by: int | None = Field(default=None, sa_type=BigInteger)  # staff Telegram id
    # closed with an outcome (contacted_safe | urgent_care | false_alarm) and a note; raised again until then
    outcome: str | None = Field(default=None, max_length=32)
    outcome_note: str | None = Field(default=None, sa_column=Column(SealedText, nullable=True))
    closed_by: int | None = Field(default=None, sa_type=BigInteger)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)


class RiskQuestion(SQLModel, table=True):
    """The safety question asked after ambiguous words; unanswered for an hour, a review alert."""

    __tablename__ = "risk_question"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    reason: str = Field(max_length=300)
    excerpt: str = Field(default="", sa_column=Column(SealedText, nullable=False))
    asked_at: datetime = Field(sa_type=UTCDateTime)
    answer: str | None = Field(default=None, max_length=16)  # yes | no | unsure
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuditEvent(SQLModel, table=True):
    """What happened, who did it and when: alerts, acknowledgements, and later staff actions."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=64)  # "coach", or "staff:<telegram id>"
    action: str = Field(max_length=64)
    patient_id: int | None = Field(default=None, foreign_key="patient.id", index=True)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ToolEntry(SQLModel, table=True):
    """One use of a skills tool: a thought record, a pacing plan, a breathing session..."""

    __tablename__ = "tool_entry"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    tool: str = Field(max_length=64, index=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(SealedJSON, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)


class QuestionnaireResult(SQLModel, table=True):
    """A finished questionnaire: the answers, the score (None when too many items were missing)."""

    __tablename__ = "questionnaire_result"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    questionnaire: str = Field(max_length=64, index=True)
    title: str = Field(max_length=40)  # as the guides know it: "PHQ-9"
    occasion: str = Field(max_length=32)  # baseline, week-3, post, follow-up
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(SealedJSON, nullable=False))
    subscales: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    total: float | None = None
    shown: str = Field(max_length=16)  # the total as shown: "12", "4.3", "-"
    band: str | None = Field(default=None, max_length=32)
    change: float | None = None  # since the baseline result
    created_at: datetime = Field(sa_type=UTCDateTime)


class CareFlag(SQLModel, table=True):
    """Stepped care: a rule the patient's results met, for their guide to review."""

    __tablename__ = "care_flag"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    rule: str = Field(max_length=64)
    occasion: str = Field(max_length=32)
    reason: str = Field(max_length=300)
    created_at: datetime = Field(sa_type=UTCDateTime)
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    reviewed_by: int | None = Field(default=None, sa_type=BigInteger)  # staff Telegram id


# -- The guide's workspace: staff roles, patient topics, relayed messages, tickets, contacts, notes.


class StaffMember(SQLModel, table=True):
    """A member of the clinical team and their role: admin, coordinator or guide."""

    __tablename__ = "staff_member"

    telegram_user_id: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    role: str = Field(max_length=16)
    added_at: datetime = Field(sa_type=UTCDateTime)
    added_by: int | None = Field(default=None, sa_type=BigInteger)  # None: from ADMIN_IDS


class PatientTopic(SQLModel, table=True):
    """A patient's forum topic in the staff chat; its thread id is the creating outbox row's result."""

    __tablename__ = "patient_topic"

    patient_id: int = Field(primary_key=True, foreign_key="patient.id", sa_column_kwargs={"autoincrement": False})
    chat_id: int = Field(sa_type=BigInteger)
    created_row: int = Field(foreign_key="outbox.id")  # the outbox row that creates (or re-creates) the topic
    name: str = Field(max_length=128)  # as last set: code and status mark
    created_at: datetime = Field(sa_type=UTCDateTime)
    recreated: int = 0  # times staff deleted it and it was made again


class RelayedMessage(SQLModel, table=True):
    """One message relayed between a patient and the guides: where it came from, and its copy."""

    __tablename__ = "relayed_message"
    __table_args__ = (Index("ix_relayed_source", "source_chat_id", "source_message_id"),)

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    direction: str = Field(max_length=16)  # to_guides | to_patient
    source_chat_id: int = Field(sa_type=BigInteger)
    source_message_id: int = Field(sa_type=BigInteger)
    copy_row: int = Field(foreign_key="outbox.id", index=True)  # the copy's outbox row (its Telegram id, once sent)
    composed: bool = False  # the copy is a message the coach wrote (header + text), not a copyMessage
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    created_at: datetime = Field(sa_type=UTCDateTime)


class Ticket(SQLModel, table=True):
    """A conversation a patient opened with their guide; open until a guide marks it answered."""

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    opened_at: datetime = Field(sa_type=UTCDateTime)
    waiting_since: datetime | None = Field(default=None, sa_type=UTCDateTime)  # oldest unanswered message
    last_raised_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    raised_count: int = 0
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    answered_by: int | None = Field(default=None, sa_type=BigInteger)


class StaffContact(SQLModel, table=True):
    """A check-in a guide logged: by phone, message or video, and how many minutes it took."""

    __tablename__ = "staff_contact"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    staff_id: int = Field(sa_type=BigInteger)
    kind: str = Field(max_length=16)  # the method: phone, message, video, in_person
    minutes: int
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    # The contact note (issue 15): what was talked about, and whether risk was checked (None: not recorded).
    topics: list[str] = Field(default_factory=list, sa_column=Column(SealedJSON, nullable=False, server_default="[]"))
    risk_checked: bool | None = Field(default=None)


class ClinicalNote(SQLModel, table=True):
    """A guide's clinical note about a patient (health data: never logged)."""

    __tablename__ = "clinical_note"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    staff_id: int = Field(sa_type=BigInteger)
    text: str = Field(sa_column=Column(SealedText, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)


class DueEvent(SQLModel, table=True):
    """Something due for one patient at a moment: a lesson release, a nudge, a reminder, a check-in.

    Computed from the programme timetable in the patient's time zone (`dialogs/due.py`); the
    scheduler's sweep turns each into one engine event, and marks it done in that transaction.
    """

    __tablename__ = "due_event"
    __table_args__ = (
        UniqueConstraint("patient_id", "kind", "key", name="uq_due_event_patient_kind_key"),
        Index("ix_due_event_status_due_at", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    kind: str = Field(max_length=32)
    key: str = Field(max_length=64)
    due_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default="pending", max_length=16)  # pending | done | cancelled
    created_at: datetime = Field(sa_type=UTCDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SchedulerLease(SQLModel, table=True):
    """Who may run the scheduler now: one row per lease, renewed by its holder, taken over once expired."""

    __tablename__ = "scheduler_lease"

    name: str = Field(primary_key=True, max_length=32)
    holder: str = Field(max_length=128)
    acquired_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class Broadcast(SQLModel, table=True):
    """A message from the coordinators to many patients; its recipients become outbox rows at once."""

    id: int | None = Field(default=None, primary_key=True)
    created_by: int = Field(sa_type=BigInteger)  # staff Telegram id; 0 from the command line
    audience: str = Field(max_length=64)  # everyone | arm:<arm> | lesson:<n> | inactive:<days>
    text: str = Field(sa_column=Column(SealedText, nullable=False))
    send_at: datetime = Field(sa_type=UTCDateTime)
    quiet_hours: bool = False  # hold each patient's message until their quiet hours end
    status: str = Field(default="draft", max_length=16, index=True)  # draft|scheduled|sending|done|cancelled
    report_chat_id: int | None = Field(default=None, sa_type=BigInteger)  # where progress goes
    total: int = 0
    reported: int = 0  # how many were finished when progress was last reported
    created_at: datetime = Field(sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WeeklySummary(SQLModel, table=True):
    """A weekly summary posted in a patient's topic (issue 15): one per patient and course week."""

    __tablename__ = "weekly_summary"
    __table_args__ = (UniqueConstraint("patient_id", "week"),)

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    week: int  # the course week it covers: 1 is days 0-6 after consent
    contact_due: bool = False  # the guide was prompted to get in touch
    posted_at: datetime = Field(sa_type=UTCDateTime)


# -- Enrolment (issue 12): invitations, screening, consent, trial allocation.


class Invitation(SQLModel, table=True):
    """A code that lets someone join (`https://t.me/<bot>?start=<code>`): single or multi-use, expiring."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True, index=True)  # unguessable (secrets.token_urlsafe)
    site: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, max_length=200)  # for the coordinators, never shown to patients
    max_uses: int = 1
    uses: int = 0
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(max_length=64)  # "cli", or "staff:<telegram id>"
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Screening(SQLModel, table=True):
    """One eligibility screening: every answer (never the contact's words) and the decision."""

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    flow: str = Field(max_length=64)  # the screening flow used (per site)
    site: str | None = Field(default=None, max_length=64)
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(SealedJSON, nullable=False))
    decision: str = Field(max_length=16)  # eligible | not_eligible | referred
    reason: str | None = Field(default=None, max_length=64)  # the end step that decided it
    created_at: datetime = Field(sa_type=UTCDateTime)


class ConsentRecord(SQLModel, table=True):
    """A consent decision, with the version of the consent text and of the course content."""

    __tablename__ = "consent_record"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    decision: str = Field(max_length=16)  # given | declined
    consent_version: str = Field(max_length=64)
    content_version: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)


class TrialSeed(SQLModel, table=True):
    """The trial's allocation seed: made once, kept in the database, never shown."""

    __tablename__ = "trial_seed"

    name: str = Field(primary_key=True, max_length=32)  # "trial"
    seed: str = Field(max_length=128)
    ratio: str = Field(max_length=16)  # course:waitlist, as it was when the seed was made ("1:1")
    block_sizes: str = Field(max_length=64)  # "4,6"
    created_at: datetime = Field(sa_type=UTCDateTime)


class Allocation(SQLModel, table=True):
    """One patient's arm, written once: the `sequence`-th allocation in its stratum."""

    __table_args__ = (UniqueConstraint("stratum", "sequence", name="uq_allocation_stratum_sequence"),)

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int | None = Field(default=None, foreign_key="patient.id", unique=True)  # None once erased (issue 13)
    stratum: str = Field(max_length=128)  # "all", or "site=north|phq9=moderate"
    sequence: int  # 0, 1, 2 ... within the stratum
    arm: str = Field(max_length=32)  # course | waitlist
    allocated_at: datetime = Field(sa_type=UTCDateTime)


# -- Outcomes (issue 13): what an erased patient leaves behind.


class ErasureTally(SQLModel, table=True):
    """Anonymous counts a trial must keep when a patient is erased: how many reached each stage
    (consented, allocated:course, lesson:3 ...), and their clinician minutes; never who."""

    __tablename__ = "erasure_tally"

    stage: str = Field(primary_key=True, max_length=64)
    count: int = 0
