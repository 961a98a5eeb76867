"""Enrolment's queries: invitations (made, listed, revoked, used), screenings, consent records, the
trial's seed and its allocations (each written once, audited), and the counts by CONSORT stage."""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from dialogs.allocation import Design, allocate
from storage.alerts import audit
from storage.models import Allocation, ConsentRecord, Invitation, Patient, Screening, TrialSeed

log = logging.getLogger(__name__)
TRIAL = "trial"
CODE_BYTES = 12  # 96 random bits: token_urlsafe gives 16 characters, within Telegram's 64 for /start


class Refusal(StrEnum):
    """Why a code does not let someone join (each has its own kind answer in ui.yaml)."""

    MISSING = "missing"  # /start with no code at all
    UNKNOWN = "unknown"  # no such code: mistyped, or made up
    EXPIRED = "expired"
    REVOKED = "revoked"
    USED_UP = "used_up"


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


def create_invitation(
    session: Session, now: datetime, *, actor: str, uses: int = 1, expires_at: datetime | None = None,
    site: str | None = None, note: str | None = None,
) -> Invitation:  # fmt: skip
    if uses < 1:
        raise ValueError("an invitation needs at least one use")
    invitation = Invitation(
        code=new_code(), site=site or None, note=note or None, max_uses=uses, expires_at=expires_at,
        created_at=now, created_by=actor,
    )  # fmt: skip
    session.add(invitation)
    session.flush()
    audit(session, now, actor, "invitation_created", None, invitation=invitation.id, site=site, uses=uses)
    return invitation


def invitations(session: Session) -> list[Invitation]:
    return list(session.exec(select(Invitation).order_by(col(Invitation.id))).all())


def invitation_state(invitation: Invitation, now: datetime) -> Refusal | None:
    """None when the code may be used now; otherwise why not."""
    if invitation.revoked_at is not None:
        return Refusal.REVOKED
    if invitation.expires_at is not None and invitation.expires_at <= now:
        return Refusal.EXPIRED
    if invitation.uses >= invitation.max_uses:
        return Refusal.USED_UP
    return None


def revoke(session: Session, code: str, now: datetime, *, actor: str) -> Invitation | None:
    invitation = session.exec(select(Invitation).where(Invitation.code == code)).first()
    if invitation is None:
        return None
    if invitation.revoked_at is None:
        invitation.revoked_at = now
        session.add(invitation)
        audit(session, now, actor, "invitation_revoked", None, invitation=invitation.id)
    return invitation


def use_invitation(session: Session, code: str, now: datetime) -> Invitation | Refusal:
    """Take one use of a code, if it is valid; safe against two people using the last use at once."""
    if not code:
        return Refusal.MISSING
    invitation = session.exec(select(Invitation).where(Invitation.code == code)).first()
    if invitation is None:
        return Refusal.UNKNOWN
    if (refused := invitation_state(invitation, now)) is not None:
        return refused
    taken = session.execute(
        update(Invitation)
        .where(col(Invitation.id) == invitation.id, col(Invitation.uses) < col(Invitation.max_uses))
        .values(uses=col(Invitation.uses) + 1)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return Refusal.USED_UP
    session.refresh(invitation)
    return invitation


# -- screening and consent -----------------------------------------------------------------

# The GP or emergency contact lives in `patient.emergency_contact` (the safety branch's migration
# 0007 adds the column). Until both are merged the column may be missing: then it is not stored,
# and an error (without the contact's words) says why.
CONTACT_COLUMN = "emergency_contact"


def has_contact_column() -> bool:
    return CONTACT_COLUMN in Patient.model_fields


def save_contact(session: Session, patient: Patient, text: str) -> bool:
    """Keep the contact on the patient's record, for the staff card only; never logged."""
    if not has_contact_column():
        log.error("the emergency contact of %s was not stored: patient.%s is missing (migration 0007)",
                  patient.code, CONTACT_COLUMN)  # fmt: skip
        return False
    setattr(patient, CONTACT_COLUMN, text)
    session.add(patient)
    return True


def contact_of(patient: Patient) -> str | None:
    value = getattr(patient, CONTACT_COLUMN, None)
    return str(value) if value else None


def record_screening(
    session: Session, patient: Patient, now: datetime, *, flow: str, decision: str, reason: str | None,
    answers: dict[str, Any],
) -> Screening:  # fmt: skip
    assert patient.id is not None
    row = Screening(
        patient_id=patient.id, flow=flow, site=patient.site, answers=answers, decision=decision, reason=reason,
        created_at=now,
    )  # fmt: skip
    session.add(row)
    patient.eligibility = decision
    session.add(patient)
    audit(session, now, "coach", "screened", patient.id, decision=decision, reason=reason)
    return row


def record_consent(
    session: Session, patient: Patient, now: datetime, *, given: bool, consent_version: str, content_version: str
) -> ConsentRecord:
    assert patient.id is not None
    decision = "given" if given else "declined"
    row = ConsentRecord(
        patient_id=patient.id, decision=decision, consent_version=consent_version, content_version=content_version,
        created_at=now,
    )  # fmt: skip
    session.add(row)
    if given:
        patient.consent_version = consent_version
        patient.content_version = content_version
        session.add(patient)
    audit(session, now, "coach", "consent", patient.id, decision=decision, consent_version=consent_version,
          content_version=content_version)  # fmt: skip
    return row


# -- the trial --------------------------------------------------------------------------------


def trial_seed(session: Session, design: Design, now: datetime) -> TrialSeed:
    """The trial's seed, made at the first allocation and kept; the design it was made with is kept beside it."""
    seed = session.get(TrialSeed, TRIAL)
    if seed is None:
        ratio, sizes = design.text
        seed = TrialSeed(name=TRIAL, seed=secrets.token_hex(32), ratio=ratio, block_sizes=sizes, created_at=now)
        session.add(seed)
        session.flush()
        audit(session, now, "coach", "trial_seed_made", None, ratio=ratio, block_sizes=sizes)
    return seed


class AlreadyAllocated(Exception):
    """Allocation is written once: a patient is never allocated again."""


def allocation_of(session: Session, patient_id: int) -> Allocation | None:
    return session.exec(select(Allocation).where(Allocation.patient_id == patient_id)).first()


def allocate_patient(session: Session, patient: Patient, stratum: str, design: Design, now: datetime) -> Allocation:
    """The next allocation of the stratum, from the stored seed, written once and audited.

    The design stored with the seed is used, so a changed setting never changes a running trial's list."""
    assert patient.id is not None
    if allocation_of(session, patient.id) is not None:
        raise AlreadyAllocated(patient.code)
    seed = trial_seed(session, design, now)
    stored = Design.parse(seed.ratio, seed.block_sizes)
    sequence = session.exec(select(func.count()).select_from(Allocation).where(Allocation.stratum == stratum)).one()
    arm = allocate(seed.seed, stratum, sequence, stored)
    row = Allocation(patient_id=patient.id, stratum=stratum, sequence=sequence, arm=arm, allocated_at=now)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise AlreadyAllocated(patient.code) from None
    patient.arm = arm
    session.add(patient)
    audit(session, now, "coach", "allocated", patient.id, stratum=stratum, sequence=sequence, arm=arm)
    return row


def verify_allocations(session: Session) -> list[str]:
    """Every stored allocation recomputed from the seed: the codes of any that do not match."""
    seed = session.get(TrialSeed, TRIAL)
    if seed is None:
        return []
    design = Design.parse(seed.ratio, seed.block_sizes)
    wrong = []
    for row, code in session.exec(select(Allocation, Patient.code).join(Patient)).all():
        if allocate(seed.seed, row.stratum, row.sequence, design) != row.arm:
            wrong.append(code or "?")
    return wrong


# -- counts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageCounts:
    """The CONSORT stages: people who joined with a code, screened, eligible ... allocated by arm."""

    invited: int
    joined: int
    screened: int
    decisions: dict[str, int]  # eligible | not_eligible | referred
    consented: int
    declined: int
    allocated: dict[str, int]  # arm -> count
    by_arm_status: dict[str, dict[str, int]]  # arm ("" none) -> patient status -> count


def stage_counts(session: Session) -> StageCounts:
    invited = session.exec(select(func.coalesce(func.sum(Invitation.uses), 0))).one()
    patients = session.exec(select(Patient)).all()
    latest: dict[int, str] = {}
    for row in session.exec(select(ConsentRecord).order_by(col(ConsentRecord.id))).all():
        latest[row.patient_id] = row.decision
    decisions: Counter[str] = Counter()
    screened_ids = set()
    for screening in session.exec(select(Screening).order_by(col(Screening.id))).all():
        screened_ids.add(screening.patient_id)
        decisions[screening.decision] += 0  # keep the key
    for patient in patients:
        if patient.id in screened_ids and patient.eligibility:
            decisions[patient.eligibility] += 1
    allocated = Counter(a.arm for a in session.exec(select(Allocation)).all())
    by_arm: dict[str, Counter[str]] = {}
    for patient in patients:
        by_arm.setdefault(patient.arm or "", Counter())[patient.status] += 1
    return StageCounts(
        invited=int(invited),
        joined=len(patients),
        screened=len(screened_ids),
        decisions=dict(decisions),
        consented=sum(1 for p in patients if p.consented_at is not None),
        declined=sum(1 for p in patients if p.consented_at is None and latest.get(p.id or 0) == "declined"),
        allocated=dict(allocated),
        by_arm_status={arm: dict(counts) for arm, counts in by_arm.items()},
    )
