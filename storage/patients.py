"""Patients and their dialog state: enrolment on first contact, loading and saving state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, update
from sqlalchemy import select as select_columns
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from dialogs.state import PatientState, Status
from storage.models import DialogState, Patient

# Built once: these run for every event, and building a statement costs more than running it.
_BY_TELEGRAM_USER = select(Patient).where(Patient.telegram_user_id == bindparam("user_id"))
_SAVED_WITH_STATE = ("status", "country", "consented_at", "locale", "timezone", "eligibility", "last_seen_at")
_dialog = DialogState.__table__  # type: ignore[attr-defined]
_SAVE_STATE = (
    update(_dialog)
    .where(_dialog.c.patient_id == bindparam("id"), _dialog.c.version == bindparam("seen"))
    .values(
        flow=bindparam("flow"),
        step=bindparam("step"),
        data=bindparam("data"),
        version=bindparam("seen") + 1,
        updated_at=bindparam("now"),
    )
)

_LOAD_STATE = select_columns(_dialog.c.flow, _dialog.c.step, _dialog.c.data, _dialog.c.version).where(
    _dialog.c.patient_id == bindparam("id")
)
_patient = Patient.__table__  # type: ignore[attr-defined]
_SAVE_PATIENT = (
    update(_patient)
    .where(_patient.c.id == bindparam("patient_id"))
    .values(**{name: bindparam(name) for name in _SAVED_WITH_STATE})
)


@dataclass(frozen=True)
class Person:
    """Who an update came from, as Telegram tells it."""

    user_id: int
    chat_id: int
    language_code: str | None = None


@dataclass(frozen=True)
class Defaults:
    locale: str
    timezone: str
    country: str
    locales: frozenset[str]


class StateConflict(Exception):
    """Someone else saved this patient's state first; the event must be handled again."""


def code_for(patient_id: int) -> str:
    return f"P-{patient_id:04d}"


@dataclass(frozen=True)
class Joining:
    """How a new patient joins: the invitation they used (if any), its site, the programme they
    join (service | trial) and their eligibility to start with (pending: to be screened)."""

    invitation_id: int | None = None
    site: str | None = None
    programme: str = "service"
    eligibility: str | None = None


def find(session: Session, person: Person) -> Patient | None:
    patient = session.scalars(_BY_TELEGRAM_USER, {"user_id": person.user_id}).first()
    if patient is not None and (patient.unreachable_at is not None or patient.chat_id != person.chat_id):
        patient.unreachable_at = None  # they wrote to us, so they can be reached again
        patient.chat_id = person.chat_id
        session.add(patient)
    return patient


def find_or_enrol(
    session: Session, person: Person, defaults: Defaults, now: datetime, joining: Joining | None = None
) -> Patient:
    patient = find(session, person)
    if patient is not None:
        return patient
    return enrol(session, person, defaults, now, joining or Joining())


def enrol(session: Session, person: Person, defaults: Defaults, now: datetime, joining: Joining) -> Patient:
    language = (person.language_code or "").split("-")[0].lower()
    patient = Patient(
        telegram_user_id=person.user_id,
        chat_id=person.chat_id,
        locale=language if language in defaults.locales else defaults.locale,
        timezone=defaults.timezone,
        country=None if defaults.country == "other" else defaults.country,
        status=Status.NEW.value,
        created_at=now,
        invitation_id=joining.invitation_id,
        site=joining.site,
        programme=joining.programme,
        eligibility=joining.eligibility,
    )
    session.add(patient)
    session.flush()
    assert patient.id is not None
    patient.code = code_for(patient.id)
    session.add(DialogState(patient_id=patient.id, data={}, version=0, updated_at=now))
    session.flush()
    return patient


def load_state(session: Session, patient: Patient) -> tuple[PatientState, int]:
    row = session.execute(_LOAD_STATE, {"id": patient.id}).first()
    if row is None:
        raise LookupError(f"patient {patient.code} has no dialog state")
    return state_of(patient, row), row.version


def state_of(patient: Patient, row: DialogState | Row[Any]) -> PatientState:
    """The engine's view of a patient, from their row and their dialog state row."""
    return PatientState(
        code=patient.code or "",
        locale=patient.locale,
        timezone=patient.timezone,
        status=Status(patient.status),
        country=patient.country,
        consented_at=patient.consented_at,
        site=patient.site,
        programme=patient.programme,
        arm=patient.arm,
        eligibility=patient.eligibility,
        flow=row.flow,
        step=row.step,
        **PatientState.dialog_fields(row.data),
    )


def save_state(
    session: Session,
    patient: Patient,
    state: PatientState,
    version: int,
    now: datetime,
    *,
    seen_at: datetime | None = None,
) -> None:
    """Save the new state if nobody saved another since `version` was read, and what of it the
    patient's row holds; `seen_at`: when they last wrote or tapped, if this event is theirs."""
    values = {"flow": state.flow, "step": state.step, "data": state.dialog_data(), "now": now}
    changed = session.execute(_SAVE_STATE, {"id": patient.id, "seen": version, **values})
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise StateConflict(patient.code)
    columns = {
        "status": state.status.value,
        "country": state.country,
        "consented_at": state.consented_at,
        "locale": state.locale,
        "timezone": state.timezone,
        "eligibility": state.eligibility,  # site, programme and arm are the coach's to set
        "last_seen_at": seen_at or patient.last_seen_at,
    }
    session.execute(_SAVE_PATIENT, {"patient_id": patient.id, **columns})
    for name, value in columns.items():  # the loaded patient as saved, with nothing left to flush
        set_committed_value(patient, name, value)


def patient_by_code(session: Session, code: str) -> Patient | None:
    return session.exec(select(Patient).where(Patient.code == code.upper())).first()
