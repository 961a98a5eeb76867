"""Enrolment in the coach: who may join (ENROLMENT=invite: an unguessable code; open: anyone),
how they join (site, programme, screening to do), what the screening and consent actions store,
and a trial's allocation once the baseline is done (the seed and the sequence are the database's;
the engine learns the arm from a `Due("allocated", arm)` event in the same transaction)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sqlmodel import Session

from content.render import render
from content.schema import Content
from dialogs.actions import Action, Allocate, RecordConsent, RecordScreening, SaveContact
from dialogs.allocation import Design, stratum_of
from dialogs.enrolment import PENDING
from dialogs.events import Due, Event, Start
from dialogs.stages.trial import ALLOCATED
from storage import enrolment as store
from storage import outbox
from storage.alerts import audit
from storage.enrolment import Refusal
from storage.models import Invitation, Patient
from storage.patients import Joining, Person
from storage.payloads import Message

log = logging.getLogger(__name__)

Stratifier = Literal["site", "phq9"]


@dataclass(frozen=True)
class Policy:
    """How a clinic enrols (from the settings; the defaults here are for tests and the terminal chat)."""

    mode: Literal["invite", "open"] = "open"
    screening: bool = False  # ask the eligibility questions before onboarding
    programme: Literal["service", "trial"] = "service"
    design: Design = field(default_factory=Design)
    stratify: tuple[Stratifier, ...] = ()
    bot_username: str | None = None  # BOT_USERNAME: for links made offline; getMe's answer wins at start-up


class Enrolment:
    def __init__(self, content: Content, policy: Policy) -> None:
        self.content = content
        self.policy = policy
        self.bot_username = policy.bot_username

    # -- invitations ----------------------------------------------------------------------------

    def link(self, code: str) -> str:
        if not self.bot_username:
            raise LookupError("the bot's username is not known: set BOT_USERNAME (or start the bot once)")
        return f"https://t.me/{self.bot_username}?start={code}"

    def invite(
        self, session: Session, now: datetime, *, actor: str, uses: int = 1, expires_days: int | None = None,
        site: str | None = None, note: str | None = None,
    ) -> Invitation:  # fmt: skip
        expires = now + timedelta(days=expires_days) if expires_days else None
        return store.create_invitation(session, now, actor=actor, uses=uses, expires_at=expires, site=site, note=note)

    def admission(self, session: Session, event: Event, now: datetime) -> Joining | Refusal:
        """Someone the coach does not know wrote: may they join, and how? A code is used up here."""
        payload = event.payload.strip() if isinstance(event, Start) else ""
        eligibility = PENDING if self.policy.screening else None
        if self.policy.mode == "open" and not payload:
            return Joining(None, None, self.policy.programme, eligibility)
        used = store.use_invitation(session, payload, now)
        if isinstance(used, Refusal):
            if self.policy.mode == "open" and used is Refusal.UNKNOWN:
                return Joining(None, None, self.policy.programme, eligibility)  # a stray payload: let them in
            return used
        return Joining(used.id, used.site, self.policy.programme, eligibility)

    def refuse(self, session: Session, person: Person, refusal: Refusal, now: datetime) -> None:
        """A kind answer on how to join; nothing about the person is kept beyond the answer itself."""
        texts = self.content.for_locale(None).ui
        outbox.enqueue(session, person.chat_id, Message(render(texts[f"join_{refusal.value}"], {})), now)
        audit(session, now, "coach", "invitation_refused", None, reason=refusal.value)
        log.info("someone without a valid invitation was told how to join", extra={"reason": refusal.value})

    def joined(self, session: Session, patient: Patient, now: datetime) -> None:
        if patient.invitation_id is not None:
            audit(session, now, "coach", "invitation_used", patient.id, invitation=patient.invitation_id)

    # -- the engine's enrolment actions ----------------------------------------------------------

    def apply(self, session: Session, patient: Patient, actions: Sequence[Action], now: datetime) -> Event | None:
        """Store what the screening and consent decided; allocate. Returns the event the engine must
        hear next (the arm), if any."""
        follow: Event | None = None
        for action in actions:
            if isinstance(action, RecordScreening):
                store.record_screening(session, patient, now, flow=action.flow, decision=action.decision,
                                       reason=action.reason, answers=action.answers)  # fmt: skip
            elif isinstance(action, SaveContact):
                store.save_contact(session, patient, action.text)  # for the staff card only; never logged
            elif isinstance(action, RecordConsent):
                store.record_consent(session, patient, now, given=action.given, consent_version=action.consent_version,
                                     content_version=self.content.version)  # fmt: skip
            elif isinstance(action, Allocate):
                follow = self.allocate(session, patient, action, now)
        return follow

    def stratum(self, action: Allocate) -> str:
        factors: list[tuple[str, str | None]] = []
        for name in self.policy.stratify:
            factors.append((name, action.site if name == "site" else action.phq9_band))
        return stratum_of(factors)

    def allocate(self, session: Session, patient: Patient, action: Allocate, now: datetime) -> Event | None:
        assert patient.id is not None
        if patient.programme != "trial":
            return None
        existing = store.allocation_of(session, patient.id)
        if existing is None:
            existing = store.allocate_patient(session, patient, self.stratum(action), self.policy.design, now)
            log.info("patient %s allocated", patient.code, extra={"patient": patient.code})
        return Due(ALLOCATED, existing.arm)
