"""What the guides read about one patient: the card at the top of their topic, and /patient."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from content.calendar import staff_date, waited
from content.render import render

Texts = dict[str, str]


@dataclass(frozen=True)
class ScoreLine:
    """A questionnaire's latest result, with its change since baseline."""

    id: str  # the questionnaire: phq9
    title: str  # PHQ-9
    score: str  # as shown: "12", "4.3", "-"
    band: str | None
    change: str | None  # "+3", "-1.5"; None for the first result
    occasion: str
    at: datetime


@dataclass(frozen=True)
class FlagLine:
    """A stepped-care flag not yet reviewed."""

    reason: str
    occasion: str
    at: datetime


@dataclass(frozen=True)
class LessonPlace:
    number: int
    title: str
    step: str = ""


@dataclass(frozen=True)
class Contact:
    kind: str
    minutes: int
    at: datetime


@dataclass(frozen=True)
class Note:
    text: str
    at: datetime


@dataclass(frozen=True)
class Patient:
    """The plain facts the card is made of (no names: the guides see a code)."""

    code: str
    status: str
    consented_at: datetime | None
    lessons_done: tuple[int, ...]
    in_progress: LessonPlace | None  # the lesson they are taking
    last_done: LessonPlace | None  # the highest lesson finished
    scores: Sequence[ScoreLine] = ()
    flags: Sequence[FlagLine] = ()
    unreachable: bool = False
    emergency_contact: str | None = None  # or GP; recorded at enrolment (empty until then)


@dataclass(frozen=True)
class Case:
    """What /patient adds to the card: the open conversation, contacts, clinician time, notes."""

    patient: Patient
    waiting_since: datetime | None  # the patient waits for an answer since then
    ticket_open: bool
    last_contact: Contact | None
    minutes: int
    notes: Sequence[Note]


def score_lines(texts: Texts, scores: Sequence[ScoreLine], zone: str) -> list[str]:
    return [
        render(texts["staff_score_line"], {"title": s.title, "score": s.score, "band": s.band or "",
               "change": s.change or "", "occasion": s.occasion, "date": staff_date(texts, s.at, zone)})
        for s in scores
    ]  # fmt: skip


def flag_lines(texts: Texts, flags: Sequence[FlagLine], zone: str) -> list[str]:
    return [
        render(
            texts["staff_flag_line"],
            {"reason": f.reason, "occasion": f.occasion, "date": staff_date(texts, f.at, zone)},
        )
        for f in flags
    ]


def started(texts: Texts, patient: Patient, zone: str) -> str:
    if patient.consented_at is None:
        return render(texts["staff_not_started"], {})
    return staff_date(texts, patient.consented_at, zone)


def lesson_reached(texts: Texts, patient: Patient) -> str:
    if patient.in_progress is not None:
        place = patient.in_progress
        return render(texts["staff_lesson_in_progress"], {"number": place.number, "title": place.title})
    if patient.last_done is not None:
        place = patient.last_done
        return render(texts["staff_lesson_done"], {"number": place.number, "title": place.title})
    return render(texts["staff_lesson_none"], {})


def card(texts: Texts, patient: Patient, zone: str) -> str:
    """The patient card: status, start, lesson reached, latest scores, open flags."""
    return render(
        texts["staff_card"],
        {
            "code": patient.code,
            "status": patient.status,
            "started": started(texts, patient, zone),
            "lesson": lesson_reached(texts, patient),
            "scores": score_lines(texts, patient.scores, zone),
            "flags": flag_lines(texts, patient.flags, zone),
            "emergency_contact": patient.emergency_contact or "",
        },
    )


def case(texts: Texts, facts: Case, now: datetime, zone: str) -> str:
    """/patient: the card's facts, and the conversation, contacts, clinician time and notes."""
    patient = facts.patient
    place = patient.in_progress
    if facts.waiting_since is not None:
        ticket = render(texts["staff_ticket_waiting"], {"waited": waited(texts, facts.waiting_since, now)})
    elif facts.ticket_open:
        ticket = render(texts["staff_ticket_answered"], {})
    else:
        ticket = render(texts["staff_none"], {})
    contact = facts.last_contact
    return render(
        texts["staff_patient"],
        {
            "code": patient.code,
            "status": patient.status,
            "unreachable": patient.unreachable,
            "started": started(texts, patient, zone),
            "lessons_done": [str(n) for n in patient.lessons_done],
            "in_progress": render(texts["staff_in_progress"], {"number": place.number, "title": place.title,
                                                               "step": place.step}) if place else "",
            "scores": score_lines(texts, patient.scores, zone),
            "flags": flag_lines(texts, patient.flags, zone),
            "ticket": ticket,
            "last_contact": render(texts["staff_last_contact"], {"kind": contact.kind, "minutes": contact.minutes,
                                   "ago": waited(texts, contact.at, now)}) if contact else "",
            "minutes": facts.minutes,
            "notes": [render(texts["staff_note_line"], {"date": staff_date(texts, n.at, zone), "text": n.text})
                      for n in facts.notes],
        },
    )  # fmt: skip
